/* Split virtqueues with the driver's own ring state (see vq.h): the ring
 * bookkeeping the multi-queue guests (net, vsock, snap, perf/netbench,
 * perf/vsockbench) share. The per-buffer helpers are inline in vq.h. */
#include "vq.h"

#define PAGE 4096

uint32_t vq_setup(struct vq *q, const struct vd *dev, unsigned sel, uint16_t size, void *mem)
{
	uint8_t *m = mem;

	if (!size || size > VQ_MAX || (size & (size - 1)))
		return 0;
	memset(m, 0, VQ_MEM);
	q->dev = dev;
	q->sel = sel;
	q->size = size;
	q->desc = (volatile struct vring_desc *)m;
	q->avail = (volatile struct vring_avail *)(m + PAGE);
	q->used = (volatile struct vring_used *)(m + 2 * PAGE);
	q->avail_idx = q->published = q->last_used = 0;
	q->kicks = 0;
	vq_free_all(q);
	return vd_queue_setup_sel(dev, sel, size, (uint64_t)q->desc, (uint64_t)q->avail,
				  (uint64_t)q->used);
}

void vq_free_all(struct vq *q)
{
	q->nfree = 0;
	for (uint16_t i = q->size; i > 0; i--) {
		q->free[q->nfree++] = (uint16_t)(i - 1);
		q->busy[i - 1] = false;
	}
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
