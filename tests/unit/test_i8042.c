/* Unit tests for the i8042 model: the 0xFE reset command, self-test and
 * CTR commands, status OBF, the output buffer bound, and the Ctrl+Alt+Del
 * scancode injection with its interrupt and -EBUSY when full. */
#include <criterion/criterion.h>
#include <errno.h>
#include <unistd.h>

#include "vmm/i8042.h"
#include "vmm/layout.h"

static struct i8042 k;
static struct irq_line irq;
static struct bus pio;
static unsigned resets;

static void on_reset(void *opaque)
{
	cr_assert_eq(opaque, &k);
	resets++;
}

static void setup(void)
{
	cr_assert_eq(irq_line_init(&irq, NULL, LAYOUT_I8042_IRQ), 0);
	i8042_init(&k, &irq, on_reset, &k);
	resets = 0;
	bus_init(&pio, "pio");
	cr_assert_eq(bus_register(&pio, LAYOUT_I8042_PORT, 5, &i8042_ops, &k, "i8042"), 0);
}

static void teardown(void)
{
	i8042_destroy(&k);
	irq_line_destroy(&irq);
}

TestSuite(i8042, .init = setup, .fini = teardown);

static void out(uint16_t port, uint8_t v)
{
	cr_assert_eq(bus_write(&pio, port, &v, 1), 0);
}

static uint8_t in(uint16_t port)
{
	uint8_t v = 0xcc;

	cr_assert_eq(bus_read(&pio, port, &v, 1), 0);
	return v;
}

static uint64_t edges(void)
{
	uint64_t n = 0;

	if (read(irq.efd, &n, sizeof(n)) < 0)
		return 0;
	return n;
}

#define DATA LAYOUT_I8042_PORT
#define CMD LAYOUT_I8042_CMD
#define OBF 0x01

Test(i8042, reset_command_calls_callback_once)
{
	out(CMD, 0xfe);
	cr_assert_eq(resets, 1);
	out(CMD, 0xfd);
	out(DATA, 0xfe);
	cr_assert_eq(resets, 1, "only 0xFE on port 0x64 resets");
}

Test(i8042, reset_without_callback)
{
	i8042_destroy(&k);
	i8042_init(&k, NULL, NULL, NULL);
	out(CMD, 0xfe);
	cr_assert_eq(resets, 0);
}

Test(i8042, status_and_self_test)
{
	cr_assert_eq(in(CMD) & OBF, 0);
	cr_assert_eq(in(DATA), 0, "empty buffer reads 0");
	out(CMD, 0xaa);
	cr_assert_eq(in(CMD) & OBF, OBF);
	cr_assert_eq(in(DATA), 0x55);
	cr_assert_eq(in(CMD) & OBF, 0);
	out(CMD, 0xab);
	cr_assert_eq(in(DATA), 0x00, "keyboard interface test passes");
	cr_assert_eq(in(CMD) & 0x04, 0x04, "system flag");
}

Test(i8042, read_and_write_ctr)
{
	uint8_t ctr;

	out(CMD, 0x20);
	ctr = in(DATA);
	cr_assert_eq(ctr & 0x01, 0x01, "keyboard interrupt enabled at reset");
	out(CMD, 0x60);
	cr_assert_eq(in(CMD) & OBF, 0);
	out(DATA, 0x30);
	cr_assert_eq(in(CMD) & OBF, 0, "the CTR byte is not a keyboard byte");
	out(CMD, 0x20);
	cr_assert_eq(in(DATA), 0x30);
	/* a command cancels a pending CTR write */
	out(CMD, 0x60);
	out(CMD, 0xad);
	out(DATA, 0x77);
	out(CMD, 0x20);
	cr_assert_eq(in(DATA), 0xfa, "0x77 went to the keyboard and was acked");
	cr_assert_eq(in(DATA), 0x30);
}

Test(i8042, keyboard_byte_acked)
{
	out(DATA, 0xff);
	cr_assert_eq(in(CMD) & OBF, OBF);
	cr_assert_eq(in(DATA), 0xfa);
}

Test(i8042, output_buffer_bounded)
{
	for (unsigned i = 0; i < I8042_BUF + 8; i++)
		out(CMD, 0xaa);
	cr_assert_eq(k.count, I8042_BUF);
	for (unsigned i = 0; i < I8042_BUF; i++)
		cr_assert_eq(in(DATA), 0x55);
	cr_assert_eq(in(CMD) & OBF, 0);
	cr_assert_eq(in(DATA), 0);
}

Test(i8042, unknown_command_and_other_ports)
{
	out(CMD, 0x99);
	cr_assert_eq(in(CMD) & OBF, 0);
	cr_assert_eq(in(DATA + 1), 0);
	cr_assert_eq(in(DATA + 2), 0);
	cr_assert_eq(in(DATA + 3), 0);
	out(DATA + 2, 0xfe);
	cr_assert_eq(resets, 0);
}

Test(i8042, ctrl_alt_del_sequence)
{
	static const uint8_t seq[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71,
				       0xf0, 0x11, 0xf0, 0x14 };

	cr_assert_eq(i8042_send_ctrl_alt_del(&k), 0);
	cr_assert_eq(edges(), 1);
	for (unsigned i = 0; i < sizeof(seq); i++) {
		cr_assert_eq(in(CMD) & OBF, OBF);
		cr_assert_eq(in(DATA), seq[i], "scancode %u", i);
	}
	cr_assert_eq(in(CMD) & OBF, 0);
	cr_assert_eq(edges(), sizeof(seq) - 1, "one interrupt per further byte");
}

Test(i8042, ctrl_alt_del_busy_when_full)
{
	cr_assert_eq(i8042_send_ctrl_alt_del(&k), 0);
	cr_assert_eq(i8042_send_ctrl_alt_del(&k), -EBUSY);
	cr_assert_eq(k.count, 11, "nothing partial queued");
	for (unsigned i = 0; i < 6; i++)
		in(DATA);
	cr_assert_eq(i8042_send_ctrl_alt_del(&k), 0, "5 left + 11 = 16 fits");
	cr_assert_eq(k.count, I8042_BUF);
	cr_assert_eq(i8042_send_ctrl_alt_del(&k), -EBUSY);
}

Test(i8042, ctrl_alt_del_no_irq_when_disabled)
{
	out(CMD, 0x60);
	out(DATA, 0x00);
	edges();
	cr_assert_eq(i8042_send_ctrl_alt_del(&k), 0);
	cr_assert_eq(edges(), 0);
	in(DATA);
	cr_assert_eq(edges(), 0);
}
