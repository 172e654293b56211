/* 10 ms PIT tick for bounded waits in hlt (the TSC deadlines in lib.c need
 * a busy loop, too many emulated instructions here). PIT channel 0, mode 2
 * (rate generator), reaches the IOAPIC as GSI 0: pin 0 under KVM's default
 * routing, pin 2 where the MP table / MADT override says so (QEMU). */
#include "io.h"
#include "rt.h"

#define PIT_HZ 1193182u
#define PIT_COUNT ((PIT_HZ * RT_TICK_MS + 500u) / 1000u)	/* 11932 */

volatile uint32_t rt_ticks;

static void tick(struct rt_frame *f)
{
	(void)f;
	rt_ticks++;
	rt_lapic_eoi();
}

void rt_pit_start(void)
{
	unsigned bsp;

	rt_lapic_enable();
	rt_irq_register(RT_TICK_VECTOR, tick);
	bsp = rt_lapic_id();
	rt_ioapic_route(0, RT_TICK_VECTOR, bsp, 0);
	rt_ioapic_route(2, RT_TICK_VECTOR, bsp, 0);
	outb(0x43, 0x34);	/* channel 0, lobyte/hibyte, mode 2, binary */
	outb(0x40, PIT_COUNT & 0xff);
	outb(0x40, PIT_COUNT >> 8);
}

void rt_pit_stop(void)
{
	outb(0x43, 0x30);	/* channel 0 mode 0, count never loaded: quiet */
}

void rt_sleep_ticks(uint32_t n)
{
	uint32_t t0 = rt_ticks;

	for (;;) {
		cpu_cli();
		if ((uint32_t)(rt_ticks - t0) >= n)
			break;
		rt_idle();
	}
}
