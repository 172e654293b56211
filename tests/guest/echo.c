/* echo: serial input end to end with interrupts. COM1's received-data
 * interrupt (IER bit 0) on IOAPIC pin 4 (edge, to the BSP, vector 0x24); the
 * handler drains RBR while LSR.DR and echoes every complete line as
 * "echo: got <line>". The line "quit" ends the run; no input for
 * timeout_ms (default 10000, measured with PIT ticks) ends it too. The CPU
 * waits in hlt between interrupts: ring-0 code is emulated here, so no
 * polling loops. With flush_ms=N the guest first waits N ms, then clears the
 * receive FIFO (FCR) and prints "echo: flushed", as Linux's 8250 driver
 * does at start-up: host input queued behind a full FIFO must then flow
 * again. */
#include "io.h"
#include "rt.h"

#define COM1 0x3f8
#define UART_RX 0
#define UART_IER 1
#define UART_FCR 2
#define UART_MCR 4
#define UART_LSR 5
#define IER_RDI 0x01
#define MCR_DTR_RTS_OUT2 0x0b
#define LSR_DR 0x01
#define FCR_ENABLE_CLEAR 0x07	/* FIFO enable, clear receive and transmit */

#define SERIAL_VECTOR 0x24
#define SERIAL_PIN 4
#define TIMER_VECTOR 0x30
/* PIT channel 0 -> GSI 0. KVM's default routing sends GSI 0 to IOAPIC pin
 * 0; QEMU (and the MP/ACPI interrupt override) to pin 2. Route both. */
#define PIT_PIN_A 0
#define PIT_PIN_B 2
#define PIT_HZ 1193182u
#define TICK_MS 10u
#define PIT_COUNT ((PIT_HZ * TICK_MS + 500u) / 1000u)	/* 11932 */

#define LINE_MAX 4096

const char rt_guest_name[] = "echo";

static volatile uint32_t ticks;		/* PIT interrupts */
static volatile uint32_t last_rx_tick;	/* ticks at the last byte received */
static volatile uint32_t serial_irqs;
static volatile bool quit;
static char line[LINE_MAX];
static size_t line_len;
static uint64_t line_dropped;		/* bytes beyond LINE_MAX - 1 */

/* Interrupts are off in handlers, and the main code prints only through
 * rt_printf (interrupts off while it writes): lines never interleave. */
static void line_done(void)
{
	line[line_len] = 0;
	rt_puts("echo: got ");
	rt_puts(line);
	rt_putc('\n');
	if (line_dropped)
		rt_printf("echo: truncated %lu bytes\n", line_dropped);
	if (line_len == 4 && memcmp(line, "quit", 4) == 0)
		quit = true;
	line_len = 0;
	line_dropped = 0;
}

static void serial_irq(struct rt_frame *f)
{
	(void)f;
	serial_irqs++;
	/* Drain the FIFO: the interrupt is an edge, raised again only once
	 * the UART's interrupt output has gone idle (FIFO empty). After
	 * "quit" the rest stays unread. */
	while (!quit && (inb(COM1 + UART_LSR) & LSR_DR)) {
		uint8_t c = inb(COM1 + UART_RX);
		last_rx_tick = ticks;
		if (c == '\r')
			continue;
		if (c == '\n') {
			line_done();
			continue;
		}
		if (line_len < LINE_MAX - 1)
			line[line_len++] = (char)c;
		else
			line_dropped++;
	}
	rt_lapic_eoi();
}

static void timer_irq(struct rt_frame *f)
{
	(void)f;
	ticks++;
	rt_lapic_eoi();
}

/* Sleep n PIT ticks with interrupts on (only the timer is routed yet). */
static void wait_ticks(uint32_t n)
{
	uint32_t t0 = ticks;
	for (;;) {
		cpu_cli();
		if ((uint32_t)(ticks - t0) >= n)
			break;
		asm volatile("sti; hlt; cli" ::: "memory");
	}
}

void guest_main(const struct boot_info *bi)
{
	(void)bi;
	uint64_t timeout_ms = rt_cmdline_u64("timeout_ms", 10000);
	uint64_t limit = (timeout_ms + TICK_MS - 1) / TICK_MS;
	if (limit == 0)
		limit = 1;

	rt_pic_mask_all();
	rt_lapic_enable();
	rt_irq_register(SERIAL_VECTOR, serial_irq);
	rt_irq_register(TIMER_VECTOR, timer_irq);
	unsigned bsp = rt_lapic_id();
	rt_ioapic_route(SERIAL_PIN, SERIAL_VECTOR, bsp, 0);
	rt_ioapic_route(PIT_PIN_A, TIMER_VECTOR, bsp, 0);
	rt_ioapic_route(PIT_PIN_B, TIMER_VECTOR, bsp, 0);
	/* PIT channel 0, lobyte/hibyte, mode 2 (rate generator), binary. */
	outb(0x43, 0x34);
	outb(0x40, PIT_COUNT & 0xff);
	outb(0x40, PIT_COUNT >> 8);
	uint64_t flush_ms = rt_cmdline_u64("flush_ms", 0);
	if (flush_ms) {
		wait_ticks((uint32_t)((flush_ms + TICK_MS - 1) / TICK_MS));
		outb(COM1 + UART_FCR, FCR_ENABLE_CLEAR);
		rt_printf("echo: flushed\n");
	}
	/* No FCR write otherwise: clearing the FIFO would drop input the
	 * host already queued before the guest got here. Pending data raises
	 * the interrupt as soon as RDI is enabled. */
	outb(COM1 + UART_MCR, MCR_DTR_RTS_OUT2);
	outb(COM1 + UART_IER, IER_RDI);
	rt_printf("echo: ready\n");

	last_rx_tick = ticks;
	bool timed_out = false;
	for (;;) {
		cpu_cli();
		if (quit)
			break;
		if ((uint32_t)(ticks - last_rx_tick) >= limit) {
			timed_out = true;
			break;
		}
		/* sti's one-instruction shadow: no wakeup lost before hlt. */
		asm volatile("sti; hlt; cli" ::: "memory");
	}
	outb(COM1 + UART_IER, 0);
	outb(0x43, 0x30);	/* channel 0 mode 0, count never loaded: quiet */
	if (timed_out)	/* DR set here: input the interrupt never reported */
		rt_printf("echo: lsr=0x%x\n", inb(COM1 + UART_LSR));
	rt_printf("echo: irqs=%u\n", serial_irqs);
	rt_printf("echo: %s\n", timed_out ? "timeout" : "bye");
	guest_reset();
}
