/* irq: end-to-end interrupt path. COM1's THR-empty interrupt (IER bit 1) on
 * IOAPIC pin 4, edge, fixed, to the BSP at vector 0x24; waits up to ~1 s. */
#include "io.h"
#include "rt.h"

#define COM1 0x3f8
#define IRQ_VECTOR 0x24
#define SERIAL_PIN 4

const char rt_guest_name[] = "irq";

static volatile unsigned got_vector;
static volatile uint8_t got_iir;

static void serial_irq(struct rt_frame *f)
{
	got_iir = inb(COM1 + 2);	/* reading IIR acks THRE */
	outb(COM1 + 1, 0);		/* IER off: no more THRE interrupts */
	got_vector = (unsigned)f->vector;
	rt_lapic_eoi();
}

void guest_main(const struct boot_info *bi)
{
	(void)bi;
	rt_pic_mask_all();
	rt_lapic_enable();
	rt_irq_register(IRQ_VECTOR, serial_irq);
	rt_ioapic_route(SERIAL_PIN, IRQ_VECTOR, rt_lapic_id(), 0);
	outb(COM1 + 4, 0x0b);		/* MCR: DTR | RTS | OUT2 (IRQ enable) */
	outb(COM1 + 1, 0x02);		/* IER: THR empty */
	cpu_sti();
	uint64_t deadline = rt_deadline_ms(1000);
	while (!got_vector && !rt_expired(deadline))
		cpu_pause();
	cpu_cli();
	outb(COM1 + 1, 0);
	if (got_vector)
		rt_printf("irq: serial interrupt ok vector=%u\n", got_vector);
	else
		rt_printf("irq: FAIL no interrupt (ioapic pin4 redir=%x iir=%x)\n",
			  rt_ioapic_read(0x10 + 2 * SERIAL_PIN), inb(COM1 + 2));
	guest_reset();
}
