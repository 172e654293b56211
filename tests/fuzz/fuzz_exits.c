/* libFuzzer harness for exit_dispatch(): the input overlays a 3-page
 * kvm_run mapping (byte 0 selects the exit reason), dispatched over a PIO
 * bus with the serial port, the i8042 and a boot-timer-like sink, and an
 * MMIO bus with one device. Devices are re-initialised for every input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/exits.h"
#include "vmm/i8042.h"
#include "vmm/layout.h"
#include "vmm/serial.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RUN_SIZE (3 * 4096)

static const uint32_t reasons[] = {
	KVM_EXIT_IO, KVM_EXIT_MMIO, KVM_EXIT_IO, KVM_EXIT_MMIO, KVM_EXIT_INTR, KVM_EXIT_HLT,
	KVM_EXIT_SYSTEM_EVENT, KVM_EXIT_SHUTDOWN, KVM_EXIT_FAIL_ENTRY,
	KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_UNKNOWN,
};

static uint8_t mmio_regs[0x100];
static unsigned resets;

static void reg_read(void *opaque, uint64_t off, uint8_t *d, uint32_t len)
{
	uint8_t *regs = opaque;

	if (off + len > sizeof(mmio_regs))
		__builtin_trap(); /* the bus must never pass an out-of-range access */
	memcpy(d, regs + off, len);
}

static void reg_write(void *opaque, uint64_t off, const uint8_t *d, uint32_t len)
{
	uint8_t *regs = opaque;

	if (off + len > sizeof(mmio_regs))
		__builtin_trap();
	memcpy(regs + off, d, len);
}

static const struct bus_ops reg_ops = { .read = reg_read, .write = reg_write };

static void on_reset(void *opaque)
{
	(void)opaque;
	resets++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *buf;
	struct irq_line none = { .efd = -1, .gsi = 0 };
	struct exit_stats st = { 0 };
	struct serial ser;
	struct i8042 kbd;
	struct bus pio, mmio;
	struct kvm_run *run;
	enum exit_action act;

	if (!buf && !(buf = malloc(RUN_SIZE)))
		abort();
	memset(buf, 0, RUN_SIZE);
	memcpy(buf, data, size < RUN_SIZE ? size : RUN_SIZE);
	run = (struct kvm_run *)buf;
	if (size)
		run->exit_reason = reasons[data[0] % (sizeof(reasons) / sizeof(reasons[0]))];

	serial_init(&ser, -1, &none);
	i8042_init(&kbd, &none, on_reset, NULL);
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	if (bus_register(&pio, LAYOUT_COM1_PORT, 8, &serial_ops, &ser, "com1") ||
	    bus_register(&pio, LAYOUT_I8042_PORT, 5, &i8042_ops, &kbd, "i8042") ||
	    bus_register(&pio, 0x70, 2, &reg_ops, mmio_regs, "rtc") ||
	    bus_register(&mmio, LAYOUT_VIRTIO_BASE, sizeof(mmio_regs), &reg_ops, mmio_regs, "dev"))
		abort();

	act = exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st);
	if (act != EXIT_ACT_CONTINUE && act != EXIT_ACT_STOP && act != EXIT_ACT_GUEST_FAULT)
		__builtin_trap();
	if (ser.rx_count > SERIAL_RX_FIFO || kbd.count > I8042_BUF)
		__builtin_trap();
	serial_destroy(&ser);
	i8042_destroy(&kbd);
	return 0;
}
