/* 16550A UART on COM1: guest output to a file descriptor, host input into a
 * receive FIFO, THR-empty and data-ready interrupts on IRQ 4. */
#ifndef FEMTOVM_SERIAL_H
#define FEMTOVM_SERIAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"

#define SERIAL_RX_FIFO 64

struct serial {
	pthread_mutex_t lock;
	int out_fd;              /* guest output; -1 discards */
	struct irq_line *irq;
	uint8_t ier, lcr, mcr, lsr_extra, scr, dll, dlm;
	uint8_t thr_ipending;    /* THR-empty interrupt not yet acknowledged */
	uint8_t irq_level;       /* current interrupt output, for edges */
	uint8_t rx[SERIAL_RX_FIFO];
	unsigned rx_head, rx_count;
	void (*rx_space)(void *opaque); /* called when the FIFO drains */
	void *rx_opaque;
	uint64_t tx_bytes, rx_bytes;
};

/* Guest-visible register state for snapshots (all bytes: no padding, the
 * state-file payload is this struct as-is). The receive FIFO is stored
 * linearised from its head. */
struct serial_state {
	uint8_t ier, lcr, mcr, lsr_extra, scr, dll, dlm;
	uint8_t thr_ipending, irq_level;
	uint8_t rx_count;        /* ≤ SERIAL_RX_FIFO */
	uint8_t rx[SERIAL_RX_FIFO];
};

extern const struct bus_ops serial_ops;

void serial_init(struct serial *s, int out_fd, struct irq_line *irq);
void serial_destroy(struct serial *s);

/* Queue host input; returns how many bytes were accepted (FIFO space). */
unsigned serial_push_input(struct serial *s, const uint8_t *buf, unsigned len);
/* Free FIFO space, for backpressure on the input source. */
unsigned serial_rx_space(struct serial *s);

/* Snapshot support: copy out / validate and load the register state.
 * serial_restore() rejects impossible values (-EINVAL, @err says why)
 * and leaves @s untouched then. */
void serial_save(struct serial *s, struct serial_state *st);
int serial_restore(struct serial *s, const struct serial_state *st, char *err, size_t errlen);

#endif
