/* Split virtqueues (virtio 1.2 §2.7) with the driver's own ring state, for
 * devices with several queues (net: receive + transmit, vsock: rx, tx,
 * event) on top of vdrv.c's transport. Receive-style queues post
 * device-writable buffers (vq_post) and take them back with vq_pop;
 * transmit-style queues hand out free descriptor ids (vq_get) and send one
 * readable buffer per id (vq_send). Notifications follow §2.7.10 with
 * EVENT_IDX when the device negotiated it (dev->event_idx). */
#ifndef VQ_H
#define VQ_H

#include "vdrv.h"

#define VQ_MAX 256		/* largest queue size VQ_MEM holds */
#define VQ_MEM (3 * 4096)	/* ring memory per queue: desc, avail, used pages */

struct vq {
	const struct vd *dev;
	unsigned sel;
	uint16_t size;
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	uint16_t avail_idx;	/* next avail slot (published or not) */
	uint16_t published;	/* avail->idx at the last publication */
	uint16_t last_used;	/* used entries consumed */
	/* transmit-style queues: descriptor ids not in flight */
	uint16_t free[VQ_MAX], nfree;
	bool busy[VQ_MAX];
};

/* Store→load ordering for the notification checks (Linux's virtio_mb on
 * x86: a locked add to the stack). */
static inline void vq_mb(void)
{
	asm volatile("lock; addl $0, (%%rsp)" ::: "memory", "cc");
}

static inline void vq_barrier(void)
{
	asm volatile("" ::: "memory");
}

/* Zeroes mem (VQ_MEM bytes, page aligned) and lays the rings out in it,
 * marks every id free, then sets queue sel up on the device (§4.2.3.2).
 * size ≤ VQ_MAX and ≤ QueueNumMax (the caller checks). Returns QueueReady
 * as read back (1 = ready). */
uint32_t vq_setup(struct vq *q, const struct vd *dev, unsigned sel, uint16_t size, void *mem);

/* Puts descriptor id in the avail ring (not yet visible to the device). */
void vq_add(struct vq *q, uint16_t id);
/* Descriptor id = one buffer (device-writable or not), then vq_add. */
void vq_post(struct vq *q, uint16_t id, const void *buf, uint32_t len, bool write);
/* Makes what vq_add queued visible without a notification (before
 * DRIVER_OK: §3.1.1 fills receive queues first). */
void vq_publish(struct vq *q);
/* Publishes and notifies the device unless it suppressed that. */
void vq_flush(struct vq *q);

bool vq_pending(const struct vq *q);
/* Takes the next used entry: true with *id and *len, false when none. */
bool vq_pop(struct vq *q, uint32_t *id, uint32_t *len);
/* Interrupt wanted (or not) when the next used entry arrives. */
void vq_want_irq(struct vq *q, bool on);

/* Transmit side: used entries give their ids back to the free list. */
void vq_reclaim(struct vq *q);
/* A free id after reclaiming, or -1 when every descriptor is in flight. */
int vq_get(struct vq *q);
/* Sends buf (readable) in descriptor id from vq_get, publishes, notifies. */
void vq_send(struct vq *q, uint16_t id, const void *buf, uint32_t len);

#endif
