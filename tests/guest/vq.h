/* Split virtqueues (virtio 1.2 §2.7) with the driver's own ring state, for
 * devices with several queues (net: receive + transmit, vsock: rx, tx,
 * event) on top of vdrv.c's transport. Receive-style queues post
 * device-writable buffers (vq_post) and take them back with vq_pop;
 * transmit-style queues hand out free descriptor ids (vq_get) and queue one
 * readable buffer per id (vq_put; vq_send also publishes and notifies).
 * Notifications follow §2.7.10 with EVENT_IDX when the device negotiated it
 * (dev->event_idx).
 *
 * Also the rings of the benchmark guests (perf/netbench, perf/vsockbench),
 * whose loops call these from ring 3: nothing here is privileged, and the
 * per-buffer helpers are inline (no call, no division: sizes are powers of
 * two) so that a ring-3 loop costs what a hand-written one does and a
 * ring-0 guest, whose every instruction is emulated, runs as few as it
 * can. Batching is the caller's: vq_add/vq_post/vq_put queue, one vq_flush
 * publishes them all. */
#ifndef VQ_H
#define VQ_H

#include "vdrv.h"

#define VQ_MAX 256		/* largest queue size VQ_MEM holds */
#define VQ_MEM (3 * 4096)	/* ring memory per queue: desc, avail, used pages */

struct vq {
	const struct vd *dev;
	unsigned sel;
	uint16_t size;		/* a power of two (§2.7: femtovm requires it) */
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	uint16_t avail_idx;	/* next avail slot (published or not) */
	uint16_t published;	/* avail->idx at the last publication */
	uint16_t last_used;	/* used entries consumed */
	uint32_t kicks;		/* QueueNotify writes by vq_flush */
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
 * size is a power of two ≤ VQ_MAX and ≤ QueueNumMax (the caller checks
 * the maximum; any other size returns 0 without touching the device).
 * Returns QueueReady as read back (1 = ready). */
uint32_t vq_setup(struct vq *q, const struct vd *dev, unsigned sel, uint16_t size, void *mem);

/* Puts descriptor id in the avail ring (not yet visible to the device). */
static inline void vq_add(struct vq *q, uint16_t id)
{
	q->avail->ring[q->avail_idx & (q->size - 1)] = id;
	q->avail_idx++;
}

/* Descriptor id = one buffer (device-writable or not), then vq_add. */
static inline void vq_post(struct vq *q, uint16_t id, const void *buf, uint32_t len, bool write)
{
	q->desc[id].addr = (uint64_t)buf;
	q->desc[id].len = len;
	q->desc[id].flags = write ? VRING_DESC_F_WRITE : 0;
	q->desc[id].next = 0;
	vq_add(q, id);
}

/* Makes what vq_add queued visible without a notification (before
 * DRIVER_OK: §3.1.1 fills receive queues first). */
static inline void vq_publish(struct vq *q)
{
	vq_barrier();		/* ring entries before the index */
	q->avail->idx = q->avail_idx;
	q->published = q->avail_idx;
}

/* Publishes what was queued since the last publication and notifies the
 * device unless it suppressed that (counted in q->kicks). */
static inline void vq_flush(struct vq *q)
{
	uint16_t old = q->published, new = q->avail_idx;
	volatile uint16_t *avail_event = (volatile uint16_t *)&q->used->ring[q->size];

	if (old == new)
		return;
	vq_publish(q);
	vq_mb();		/* index before reading the suppression fields */
	if (q->dev->event_idx ? vring_need_event(*avail_event, new, old)
			      : !(q->used->flags & VRING_USED_F_NO_NOTIFY)) {
		vd_wr(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->sel);
		q->kicks++;
	}
}

static inline bool vq_pending(const struct vq *q)
{
	return q->used->idx != q->last_used;
}

/* Takes the next used entry: true with *id and *len, false when none. */
static inline bool vq_pop(struct vq *q, uint32_t *id, uint32_t *len)
{
	if (!vq_pending(q))
		return false;
	vq_barrier();		/* entry after index */
	volatile struct vring_used_elem *e = &q->used->ring[q->last_used & (q->size - 1)];
	*id = e->id;
	*len = e->len;
	q->last_used++;
	return true;
}

/* Interrupt wanted (or not) when the next used entry arrives. Turning it
 * on is ordered before the caller's re-check of vq_pending; turning it off
 * is a hint and costs no barrier (a polling loop may call it every pass:
 * with EVENT_IDX used_event is kept half the index space ahead). */
static inline void vq_want_irq(struct vq *q, bool on)
{
	if (q->dev->event_idx)
		q->avail->ring[q->size] = on ? q->last_used : (uint16_t)(q->last_used + 0x8000);
	else
		q->avail->flags = on ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
	if (on)
		vq_mb();
}

/* Transmit side: used entries give their ids back to the free list (ids
 * not handed out by vq_get, e.g. a queue driven with vq_add alone, are
 * ignored). */
void vq_reclaim(struct vq *q);

/* Every id free again, none in flight: set-up, or a transmit queue whose
 * buffers are all back after a phase that drove it with vq_add alone. */
void vq_free_all(struct vq *q);

/* A free id, or -1 when every descriptor is in flight. Used entries are
 * reclaimed only when no id is free: the used ring, which the device
 * writes, is read once per ring's worth of buffers. */
static inline int vq_get(struct vq *q)
{
	if (!q->nfree)
		vq_reclaim(q);
	return q->nfree ? q->free[--q->nfree] : -1;
}

/* Queues buf (readable) in descriptor id from vq_get; vq_flush sends it. */
static inline void vq_put(struct vq *q, uint16_t id, const void *buf, uint32_t len)
{
	q->busy[id] = true;
	vq_post(q, id, buf, len, false);
}

/* vq_put, then publishes and notifies. */
static inline void vq_send(struct vq *q, uint16_t id, const void *buf, uint32_t len)
{
	vq_put(q, id, buf, len);
	vq_flush(q);
}

#endif
