/* Split virtqueues with the driver's own ring state (see vq.h): the ring
 * bookkeeping the multi-queue guests (net, vsock, snap) share. */
#include "vq.h"

#define PAGE 4096

uint32_t vq_setup(struct vq *q, const struct vd *dev, unsigned sel, uint16_t size, void *mem)
{
	uint8_t *m = mem;

	memset(m, 0, VQ_MEM);
	q->dev = dev;
	q->sel = sel;
	q->size = size;
	q->desc = (volatile struct vring_desc *)m;
	q->avail = (volatile struct vring_avail *)(m + PAGE);
	q->used = (volatile struct vring_used *)(m + 2 * PAGE);
	q->avail_idx = q->published = q->last_used = 0;
	q->nfree = 0;
	for (uint16_t i = size; i > 0; i--) {
		q->free[q->nfree++] = (uint16_t)(i - 1);
		q->busy[i - 1] = false;
	}
	return vd_queue_setup_sel(dev, sel, size, (uint64_t)q->desc, (uint64_t)q->avail,
				  (uint64_t)q->used);
}

void vq_add(struct vq *q, uint16_t id)
{
	q->avail->ring[q->avail_idx % q->size] = id;
	q->avail_idx++;
}

void vq_post(struct vq *q, uint16_t id, const void *buf, uint32_t len, bool write)
{
	q->desc[id].addr = (uint64_t)buf;
	q->desc[id].len = len;
	q->desc[id].flags = write ? VRING_DESC_F_WRITE : 0;
	q->desc[id].next = 0;
	vq_add(q, id);
}

void vq_publish(struct vq *q)
{
	vq_barrier();		/* ring entries before the index */
	q->avail->idx = q->avail_idx;
	q->published = q->avail_idx;
}

void vq_flush(struct vq *q)
{
	uint16_t old = q->published, new = q->avail_idx;
	volatile uint16_t *avail_event = (volatile uint16_t *)&q->used->ring[q->size];

	if (old == new)
		return;
	vq_publish(q);
	vq_mb();		/* index before reading the suppression fields */
	if (q->dev->event_idx ? vring_need_event(*avail_event, new, old)
			      : !(q->used->flags & VRING_USED_F_NO_NOTIFY))
		vd_wr(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->sel);
}

bool vq_pending(const struct vq *q)
{
	return q->used->idx != q->last_used;
}

bool vq_pop(struct vq *q, uint32_t *id, uint32_t *len)
{
	if (!vq_pending(q))
		return false;
	vq_barrier();		/* entry after index */
	volatile struct vring_used_elem *e = &q->used->ring[q->last_used % q->size];
	*id = e->id;
	*len = e->len;
	q->last_used++;
	return true;
}

void vq_want_irq(struct vq *q, bool on)
{
	if (q->dev->event_idx)
		q->avail->ring[q->size] = on ? q->last_used : (uint16_t)(q->last_used + 0x8000);
	else
		q->avail->flags = on ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
	vq_mb();
}

void vq_reclaim(struct vq *q)
{
	uint32_t id, len;

	while (vq_pop(q, &id, &len))
		if (id < q->size && q->busy[id]) {
			q->busy[id] = false;
			q->free[q->nfree++] = (uint16_t)id;
		}
}

int vq_get(struct vq *q)
{
	vq_reclaim(q);
	return q->nfree ? q->free[--q->nfree] : -1;
}

void vq_send(struct vq *q, uint16_t id, const void *buf, uint32_t len)
{
	q->busy[id] = true;
	vq_post(q, id, buf, len, false);
	vq_flush(q);
}
