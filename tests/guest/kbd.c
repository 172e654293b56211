/* kbd: the i8042 keyboard interrupt path and femtovm's SendCtrlAltDel.
 * IOAPIC pin 1 (edge, to the BSP) at vector 0x21; the i8042 command byte
 * gets its keyboard-interrupt bit (bit 0) set; the handler reads port 0x60
 * while the status register's output-buffer-full bit (bit 0) is set and
 * prints "kbd: scancode 0x<xx>" for each byte. When the set-2 make codes
 * of Ctrl (0x14), Alt (0x11) and Del (0xe0 0x71) have all arrived, it
 * waits ~100 ms for the break codes, prints "kbd: ctrl-alt-del" and resets.
 * With no Ctrl+Alt+Del within timeout_ms (default 10000, PIT-timed):
 * "kbd: timeout" and a reset. */
#include "io.h"
#include "rt.h"

const char rt_guest_name[] = "kbd";

#define KBD_DATA 0x60
#define KBD_STATUS 0x64
#define KBD_CMD 0x64
#define ST_OBF 0x01
#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CTR_KBD_INT 0x01
#define KBD_PIN 1
#define KBD_VECTOR 0x21

static volatile bool ctrl, alt, del;
static volatile uint32_t irqs, bytes;
static bool e0, f0;	/* prefix state of the byte stream */

static void key(uint8_t c)
{
	if (c == 0xe0) {
		e0 = true;
		return;
	}
	if (c == 0xf0) {
		f0 = true;
		return;
	}
	if (!f0) {	/* make codes only */
		if (!e0 && c == 0x14)
			ctrl = true;
		else if (!e0 && c == 0x11)
			alt = true;
		else if (e0 && c == 0x71)
			del = true;
	}
	e0 = f0 = false;
}

static void kbd_irq(struct rt_frame *f)
{
	(void)f;
	irqs++;
	while (inb(KBD_STATUS) & ST_OBF) {
		uint8_t c = inb(KBD_DATA);
		bytes++;
		rt_printf("kbd: scancode 0x%02x\n", c);
		key(c);
	}
	rt_lapic_eoi();
}

/* Polls the output buffer for a controller reply (bounded). */
static int read_reply(void)
{
	for (int i = 0; i < 1000; i++)
		if (inb(KBD_STATUS) & ST_OBF)
			return inb(KBD_DATA);
	return -1;
}

void guest_main(const struct boot_info *bi)
{
	(void)bi;
	uint64_t timeout_ms = rt_cmdline_u64("timeout_ms", 10000);
	uint32_t limit = (uint32_t)((timeout_ms + RT_TICK_MS - 1) / RT_TICK_MS);

	rt_pit_start();
	/* Keyboard interrupt enable in the command byte (read-modify-write),
	 * before routing the pin so the replies are not taken as keys. */
	outb(KBD_CMD, CMD_READ_CTR);
	int ctr = read_reply();
	if (ctr < 0) {
		rt_printf("kbd: FAIL no command byte\n");
		guest_reset();
	}
	outb(KBD_CMD, CMD_WRITE_CTR);
	outb(KBD_DATA, (uint8_t)(ctr | CTR_KBD_INT));
	rt_irq_register(KBD_VECTOR, kbd_irq);
	rt_ioapic_route(KBD_PIN, KBD_VECTOR, rt_lapic_id(), 0);
	rt_printf("kbd: ready ctr=0x%02x\n", (unsigned)(ctr | CTR_KBD_INT));

	uint32_t t0 = rt_ticks;
	bool done = false;
	for (;;) {
		cpu_cli();
		if (ctrl && alt && del) {
			done = true;
			break;
		}
		if ((uint32_t)(rt_ticks - t0) >= limit)
			break;
		rt_idle();
	}
	if (done)	/* let the break codes arrive and be printed */
		rt_sleep_ticks(10);
	cpu_cli();
	rt_pit_stop();
	rt_printf("kbd: irqs=%u bytes=%u\n", irqs, bytes);
	rt_printf("kbd: %s\n", done ? "ctrl-alt-del" : "timeout");
	guest_reset();
}
