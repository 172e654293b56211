/* Minimal i8042 keyboard controller: enough for Linux's probe, the CPU
 * reset command (0xFE on port 0x64) that stops the VM cleanly, and the
 * Ctrl+Alt+Del key sequence for a graceful guest shutdown. */
#ifndef FEMTOVM_I8042_H
#define FEMTOVM_I8042_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"

#define I8042_BUF 16

struct i8042 {
	pthread_mutex_t lock;
	uint8_t ctr;             /* controller configuration byte */
	uint8_t pending_cmd;     /* command awaiting a data byte, or 0 */
	uint8_t buf[I8042_BUF];  /* output buffer (port 0x60) */
	unsigned head, count;
	struct irq_line *irq;    /* IRQ 1 */
	void (*reset)(void *opaque); /* guest asked for a CPU reset */
	void *opaque;
};

/* Controller state for snapshots (all bytes, stored as-is); the output
 * buffer linearised from its head. */
struct i8042_state {
	uint8_t ctr, pending_cmd;
	uint8_t count;           /* ≤ I8042_BUF */
	uint8_t buf[I8042_BUF];
};

/* Covers ports 0x60..0x64; register at LAYOUT_I8042_PORT with length 5. */
extern const struct bus_ops i8042_ops;

void i8042_init(struct i8042 *k, struct irq_line *irq,
		void (*reset)(void *opaque), void *opaque);
void i8042_destroy(struct i8042 *k);
/* Queue the Ctrl+Alt+Del make/break scancodes (set 2) and interrupt. */
int i8042_send_ctrl_alt_del(struct i8042 *k);

/* Snapshot support; restore rejects impossible values (-EINVAL, @err). */
void i8042_save(struct i8042 *k, struct i8042_state *st);
int i8042_restore(struct i8042 *k, const struct i8042_state *st, char *err, size_t errlen);

#endif
