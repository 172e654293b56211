/* Split virtqueues (virtio 1.2 §2.7): validation of the ring geometry the
 * driver chose, a bounded descriptor-chain walk (direct and indirect), the
 * used ring, and notification suppression (flags or EVENT_IDX). Every guest
 * address goes through the checked guest-memory accessors. */
#ifndef FEMTOVM_VIRTQUEUE_H
#define FEMTOVM_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

#define VQ_MAX_SIZE 256 /* largest queue any femtovm device offers */

struct vq_buf {
	gpa_t addr;
	uint32_t len;
	bool write; /* device-writable */
};

/* One descriptor chain as popped from the avail ring, already validated:
 * every buffer lies inside guest RAM, readable buffers come first. */
struct vq_chain {
	uint16_t head;
	uint16_t nbufs;
	uint16_t nread;          /* bufs[0..nread) are device-readable */
	uint64_t read_len, write_len;
	struct vq_buf bufs[VQ_MAX_SIZE];
};

struct virtqueue {
	/* Set by the driver through the transport. */
	uint16_t size;
	bool ready;
	gpa_t desc_gpa, avail_gpa, used_gpa;
	/* Negotiated features that change ring behaviour. */
	bool event_idx, indirect;
	/* Device state. */
	uint16_t last_avail;     /* next avail entry to consume */
	uint16_t used_idx;       /* next used entry to fill */
	uint16_t signalled_used; /* used_idx at the last interrupt */
	bool signalled_valid;
	bool broken;             /* a protocol violation was seen */
	const struct guest_mem *gm;
	/* Host views of the rings, valid after vq_activate(). */
	volatile uint8_t *desc, *avail, *used;
};

enum vq_err {
	VQ_OK = 0,
	VQ_EMPTY = 1,          /* nothing available */
	VQ_EBADIDX = -1,       /* avail index moved by more than the queue size */
	VQ_EBADHEAD = -2,      /* head or next index out of range */
	VQ_ELOOP = -3,         /* chain longer than the queue size */
	VQ_EBADADDR = -4,      /* a buffer or table outside guest RAM */
	VQ_EINDIRECT = -5,     /* bad indirect table (size, nesting, NEXT|INDIRECT) */
	VQ_EORDER = -6,        /* readable descriptor after a writable one */
};

/* Reset the queue to its power-on state (size @max, not ready). */
void vq_reset(struct virtqueue *vq, uint16_t max);

/* Check the driver's geometry (size a power of two ≤ @max, alignment, rings
 * inside RAM) and map the rings. 0 or -EINVAL. */
int vq_activate(struct virtqueue *vq, const struct guest_mem *gm, uint16_t max);

/* Pop the next chain. VQ_OK with @chain filled, VQ_EMPTY, or a negative
 * enum vq_err: the queue is then marked broken and pops keep failing. */
int vq_pop(struct virtqueue *vq, struct vq_chain *chain);

/* Mark the device-writable buffers of @c dirty in guest memory (a no-op
 * without dirty tracking). vq_pop() does it for every chain it returns; a
 * device that writes into a chain popped before the last snapshot without
 * giving it back (vq_unpop) calls it again before writing. */
void vq_chain_mark_dirty(const struct virtqueue *vq, const struct vq_chain *c);

/* Give back the last @n chains popped and not yet pushed: the next pops
 * return them again (used when a frame did not fit after all). */
void vq_unpop(struct virtqueue *vq, uint16_t n);

/* Return @n chains at once: all used entries are written before the used
 * index moves, so the driver never sees part of a merged frame. The used
 * ring bytes written are marked dirty. */
void vq_push_many(struct virtqueue *vq, const uint16_t *heads, const uint32_t *written,
		  uint16_t n);

/* Return @head to the driver with @written bytes written by the device. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t written);

/* Whether the driver wants an interrupt for what was pushed since the last
 * one (VRING_AVAIL_F_NO_INTERRUPT or used_event with EVENT_IDX). Updates
 * the signalled position when it returns true. */
bool vq_should_signal(struct virtqueue *vq);

/* With EVENT_IDX, ask the driver to kick when it adds past last_avail
 * (writes avail_event); returns true if more became available meanwhile. */
bool vq_enable_notify(struct virtqueue *vq);
/* The same, when @seen chains beyond last_avail were already looked at and
 * given back (vq_unpop): only buffers past those count as new. */
bool vq_enable_notify_at(struct virtqueue *vq, uint16_t seen);

/* Readable bytes of a chain, gathered from offset @off into @dst; returns
 * the number copied (≤ len). */
uint64_t vq_chain_read(const struct virtqueue *vq, const struct vq_chain *c,
		       uint64_t off, void *dst, uint64_t len);

/* Copy @len bytes of @src into the device-writable buffers of @c, from the
 * first one on; returns the number copied (≤ the chain's write capacity). */
uint64_t vq_chain_write(const struct virtqueue *vq, const struct vq_chain *c,
			const void *src, uint64_t len);

const char *vq_strerror(int err);

#endif
