/* libFuzzer harness for device register sequences: the input is a list of
 * 3-byte operations (op, register, value) applied to the 16550A and the
 * i8042 through their bus ops, plus host-side input and Ctrl+Alt+Del.
 * Checks the FIFO and buffer invariants after every step. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/i8042.h"
#include "vmm/serial.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void noop(void *opaque)
{
	(void)opaque;
}

static void check(const struct serial *s, const struct i8042 *k)
{
	if (s->rx_count > SERIAL_RX_FIFO || s->rx_head >= SERIAL_RX_FIFO ||
	    k->count > I8042_BUF || k->head >= I8042_BUF || s->ier > 0x0f || s->mcr > 0x1f)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct irq_line none = { .efd = -1, .gsi = 0 };
	struct serial s;
	struct i8042 k;

	serial_init(&s, -1, &none);
	s.rx_space = noop;
	i8042_init(&k, &none, noop, NULL);
	for (size_t i = 0; i + 3 <= size; i += 3) {
		uint8_t op = data[i], reg = data[i + 1], v[4] = { data[i + 2], 0, 0, 0 };
		uint32_t len = 1u << (op >> 6); /* 1, 2, 4 or 8 (ops handle len) */

		if (len > 4)
			len = 4;
		switch (op & 7) {
		case 0: serial_ops.write(&s, reg % 8, v, len); break;
		case 1: serial_ops.read(&s, reg % 8, v, len); break;
		case 2: i8042_ops.write(&k, reg % 5, v, len); break;
		case 3: i8042_ops.read(&k, reg % 5, v, len); break;
		case 4: serial_push_input(&s, data + i, (unsigned)(size - i) % 80); break;
		case 5: i8042_send_ctrl_alt_del(&k); break;
		case 6: (void)serial_rx_space(&s); break;
		default: serial_ops.read(&s, 0, v, 1); break;
		}
		check(&s, &k);
	}
	serial_destroy(&s);
	i8042_destroy(&k);
	return 0;
}
