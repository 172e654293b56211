/* Unit tests for the 16550A model through the PIO bus: output to an fd,
 * LSR/IIR/IER interrupt logic with edges counted on the irq eventfd, the
 * 64-byte receive FIFO, DLAB registers, loopback and scratch registers. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/serial_reg.h>
#include <unistd.h>

#include "vmm/layout.h"
#include "vmm/serial.h"

#define COM1 LAYOUT_COM1_PORT

static struct serial s;
static struct irq_line irq;
static struct bus pio;
static int pfd[2];
static unsigned space_calls;

static void on_space(void *opaque)
{
	cr_assert_eq(opaque, &s);
	space_calls++;
}

static void setup(void)
{
	cr_assert_eq(pipe2(pfd, O_NONBLOCK), 0);
	cr_assert_eq(irq_line_init(&irq, NULL, LAYOUT_COM1_IRQ), 0);
	cr_assert_geq(irq.efd, 0);
	cr_assert_eq(irq.gsi, 4);
	serial_init(&s, pfd[1], &irq);
	s.rx_space = on_space;
	s.rx_opaque = &s;
	space_calls = 0;
	bus_init(&pio, "pio");
	cr_assert_eq(bus_register(&pio, COM1, 8, &serial_ops, &s, "com1"), 0);
}

static void teardown(void)
{
	serial_destroy(&s);
	irq_line_destroy(&irq);
	close(pfd[0]);
	close(pfd[1]);
}

TestSuite(serial, .init = setup, .fini = teardown);

static void out(unsigned reg, uint8_t v)
{
	cr_assert_eq(bus_write(&pio, COM1 + reg, &v, 1), 0);
}

static uint8_t in(unsigned reg)
{
	uint8_t v = 0xcc;

	cr_assert_eq(bus_read(&pio, COM1 + reg, &v, 1), 0);
	return v;
}

/* Interrupt edges since the last call (eventfd counter). */
static uint64_t edges(void)
{
	uint64_t n = 0;

	if (read(irq.efd, &n, sizeof(n)) < 0) {
		cr_assert_eq(errno, EAGAIN);
		return 0;
	}
	return n;
}

static size_t drain(char *buf, size_t cap)
{
	ssize_t n = read(pfd[0], buf, cap);

	return n < 0 ? 0 : (size_t)n;
}

Test(serial, thr_output_goes_to_fd)
{
	char buf[16];

	out(UART_TX, 'h');
	out(UART_TX, 'i');
	out(UART_TX, '\n');
	cr_assert_eq(drain(buf, sizeof(buf)), 3);
	cr_assert_arr_eq(buf, "hi\n", 3);
	cr_assert_eq(s.tx_bytes, 3);
	cr_assert_eq(edges(), 0, "no interrupt with IER = 0");
}

Test(serial, output_discarded_without_fd)
{
	char buf[4];

	s.out_fd = -1;
	out(UART_TX, 'x');
	cr_assert_eq(drain(buf, sizeof(buf)), 0);
	cr_assert_eq(s.tx_bytes, 1);
}

Test(serial, reset_values)
{
	cr_assert_eq(in(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	cr_assert_eq(in(UART_IIR), UART_IIR_NO_INT | 0xc0);
	cr_assert_eq(in(UART_IER), 0);
	cr_assert_eq(in(UART_MCR), UART_MCR_OUT2);
	cr_assert_eq(in(UART_MSR), UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	cr_assert_eq(in(UART_RX), 0, "empty FIFO reads 0");
	cr_assert_eq(in(UART_LCR), 0);
}

Test(serial, thri_raises_iir_read_acks)
{
	out(UART_IER, UART_IER_THRI);
	cr_assert_eq(edges(), 1, "enabling THRI with THR empty interrupts");
	cr_assert_eq(in(UART_IIR), UART_IIR_THRI | 0xc0);
	cr_assert_eq(in(UART_IIR), UART_IIR_NO_INT | 0xc0, "IIR read acknowledged THRI");
	cr_assert_eq(edges(), 0);
	out(UART_TX, 'a');
	cr_assert_eq(edges(), 1, "THR write: transmitter empty again");
	out(UART_TX, 'b');
	cr_assert_eq(edges(), 0, "still pending: no new edge");
	cr_assert_eq(in(UART_IIR), UART_IIR_THRI | 0xc0);
	out(UART_TX, 'c');
	cr_assert_eq(edges(), 1);
	/* re-writing IER with THRI already on does not re-raise */
	cr_assert_eq(in(UART_IIR), UART_IIR_THRI | 0xc0);
	out(UART_IER, UART_IER_THRI);
	cr_assert_eq(edges(), 0);
	cr_assert_eq(in(UART_IIR), UART_IIR_NO_INT | 0xc0);
}

Test(serial, thri_masked_then_enabled)
{
	out(UART_TX, 'a'); /* THR empty interrupt pending internally, masked */
	cr_assert_eq(edges(), 0);
	cr_assert_eq(in(UART_IIR), UART_IIR_NO_INT | 0xc0);
	out(UART_IER, UART_IER_THRI);
	cr_assert_eq(edges(), 1);
	out(UART_IER, 0);
	cr_assert_eq(in(UART_IIR), UART_IIR_NO_INT | 0xc0);
}

Test(serial, rdi_with_input)
{
	const uint8_t msg[] = "ab";

	out(UART_IER, UART_IER_RDI);
	cr_assert_eq(edges(), 0);
	cr_assert_eq(serial_push_input(&s, msg, 2), 2);
	cr_assert_eq(edges(), 1);
	cr_assert_eq(in(UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	cr_assert_eq(in(UART_IIR), UART_IIR_RDI | 0xc0);
	cr_assert_eq(in(UART_IIR), UART_IIR_RDI | 0xc0, "IIR read does not ack RDI");
	cr_assert_eq(in(UART_RX), 'a');
	cr_assert_eq(in(UART_RX), 'b');
	cr_assert_eq(in(UART_LSR) & UART_LSR_DR, 0);
	cr_assert_eq(in(UART_IIR), UART_IIR_NO_INT | 0xc0);
	cr_assert_eq(s.rx_bytes, 2);
	cr_assert_eq(serial_push_input(&s, msg, 1), 1);
	cr_assert_eq(edges(), 1, "new edge after the line went idle");
}

Test(serial, rdi_has_priority_over_thri)
{
	const uint8_t c = 'z';

	out(UART_IER, UART_IER_RDI | UART_IER_THRI);
	serial_push_input(&s, &c, 1);
	cr_assert_eq(in(UART_IIR), UART_IIR_RDI | 0xc0);
	cr_assert_eq(in(UART_RX), 'z');
	cr_assert_eq(in(UART_IIR), UART_IIR_THRI | 0xc0);
	cr_assert_eq(in(UART_IIR), UART_IIR_NO_INT | 0xc0);
}

Test(serial, input_fifo_full_accepts_64)
{
	uint8_t buf[100];

	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	cr_assert_eq(serial_push_input(&s, buf, sizeof(buf)), SERIAL_RX_FIFO);
	cr_assert_eq(serial_rx_space(&s), 0);
	cr_assert_eq(serial_push_input(&s, buf, 1), 0);
	cr_assert_eq(space_calls, 0);
	cr_assert_eq(in(UART_RX), 0);
	cr_assert_eq(space_calls, 1, "draining a full FIFO signals space");
	cr_assert_eq(serial_rx_space(&s), 1);
	cr_assert_eq(in(UART_RX), 1);
	cr_assert_eq(space_calls, 1);
	cr_assert_eq(serial_push_input(&s, buf + 70, 5), 2);
	for (unsigned i = 2; i < SERIAL_RX_FIFO; i++)
		cr_assert_eq(in(UART_RX), i, "byte %u in order", i);
	cr_assert_eq(in(UART_RX), 70, "wrapped ring keeps order");
	cr_assert_eq(in(UART_RX), 71);
	cr_assert_eq(in(UART_LSR) & UART_LSR_DR, 0);
	cr_assert_eq(serial_rx_space(&s), SERIAL_RX_FIFO);
}

Test(serial, fcr_clears_receiver)
{
	const uint8_t msg[] = "xyz";

	serial_push_input(&s, msg, 3);
	out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	cr_assert_eq(in(UART_LSR) & UART_LSR_DR, 0);
	cr_assert_eq(serial_rx_space(&s), SERIAL_RX_FIFO);
	cr_assert_eq(in(UART_RX), 0);
}

Test(serial, dlab_registers)
{
	char buf[4];

	cr_assert_eq(s.dll, 0x0c);
	out(UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
	cr_assert_eq(in(UART_LCR), UART_LCR_DLAB | UART_LCR_WLEN8);
	cr_assert_eq(in(UART_DLL), 0x0c);
	cr_assert_eq(in(UART_DLM), 0);
	out(UART_DLL, 0x01);
	out(UART_DLM, 0x02);
	cr_assert_eq(in(UART_DLL), 0x01);
	cr_assert_eq(in(UART_DLM), 0x02);
	cr_assert_eq(drain(buf, sizeof(buf)), 0, "DLL write is not output");
	cr_assert_eq(s.tx_bytes, 0);
	out(UART_LCR, UART_LCR_WLEN8);
	cr_assert_eq(in(UART_IER), 0, "DLM write did not touch IER");
	cr_assert_eq(edges(), 0);
	out(UART_IER, UART_IER_RDI);
	out(UART_LCR, UART_LCR_DLAB);
	cr_assert_eq(in(UART_IER), 0x02, "DLAB: offset 1 is DLM");
	out(UART_LCR, 0);
	cr_assert_eq(in(UART_IER), UART_IER_RDI);
	cr_assert_eq(s.dll, 0x01);
}

Test(serial, ier_upper_bits_ignored)
{
	out(UART_IER, 0xf0);
	cr_assert_eq(in(UART_IER), 0);
}

Test(serial, loopback_mcr_to_msr)
{
	char buf[4];

	out(UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_RTS);
	cr_assert_eq(in(UART_MSR), UART_MSR_DSR | UART_MSR_CTS);
	out(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1 | UART_MCR_OUT2);
	cr_assert_eq(in(UART_MSR), UART_MSR_RI | UART_MSR_DCD);
	out(UART_MCR, UART_MCR_LOOP);
	cr_assert_eq(in(UART_MSR), 0);
	out(UART_TX, 'L');
	cr_assert_eq(drain(buf, sizeof(buf)), 0, "loopback output is not sent");
	cr_assert_eq(in(UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	cr_assert_eq(in(UART_RX), 'L');
	out(UART_MCR, 0xff);
	cr_assert_eq(in(UART_MCR), 0x1f);
	out(UART_MCR, UART_MCR_OUT2);
	cr_assert_eq(in(UART_MSR), UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
}

Test(serial, loopback_fifo_bounded)
{
	out(UART_MCR, UART_MCR_LOOP);
	for (unsigned i = 0; i < SERIAL_RX_FIFO + 10; i++)
		out(UART_TX, (uint8_t)i);
	cr_assert_eq(serial_rx_space(&s), 0);
	cr_assert_eq(in(UART_RX), 0);
}

Test(serial, scratch_and_readonly_regs)
{
	out(UART_SCR, 0x5a);
	cr_assert_eq(in(UART_SCR), 0x5a);
	out(UART_LSR, 0);
	cr_assert_eq(in(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	out(UART_MSR, 0);
	cr_assert_eq(in(UART_MSR), UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
}

Test(serial, wide_access)
{
	uint8_t v[4] = { 0xcc, 0xcc, 0xcc, 0xcc };

	cr_assert_eq(bus_read(&pio, COM1 + UART_LSR, v, 2), 0);
	cr_assert_eq(v[0], UART_LSR_THRE | UART_LSR_TEMT);
	cr_assert_eq(v[1], 0);
	cr_assert_eq(v[2], 0xcc);
	cr_assert_eq(bus_read(&pio, COM1 + 6, v, 4), -ENOENT, "crosses the 8-port range");
}
