/* Snapshot save and restore of a virtio-mmio transport: its registers and
 * every queue's geometry and positions (DESIGN.md §7). Restore treats the
 * saved state like guest register writes: whatever the guest could not
 * have set up through the registers is refused. */
#include <errno.h>
#include <linux/virtio_config.h>
#include <stdio.h>
#include <string.h>

#include "snapshot/sections.h"
#include "virtio/mmio_internal.h"

void vmmio_save(struct vmmio *t, struct snap_vtransport_state *ts, struct snap_vq_state *vqs)
{
	pthread_mutex_lock(&t->lock);
	if (t->active && t->ops->quiesce)
		t->ops->quiesce(t->dev);
	*ts = (struct snap_vtransport_state){
		.device_id = t->ops->device_id,
		.num_queues = t->ops->num_queues,
		.status = t->status,
		.dev_features_sel = t->dev_features_sel,
		.drv_features_sel = t->drv_features_sel,
		.queue_sel = t->queue_sel,
		.interrupt_status = t->interrupt_status,
		.config_generation = t->config_generation,
		.offered = vmmio_offered(t),
		.driver_features = t->acked_raw,
		.acked = t->acked,
		.active = t->active,
	};
	for (unsigned q = 0; q < t->ops->num_queues; q++) {
		const struct virtqueue *vq = &t->vqs[q];

		vqs[q] = (struct snap_vq_state){
			.size = vq->size, .ready = vq->ready,
			.desc_gpa = vq->desc_gpa, .avail_gpa = vq->avail_gpa,
			.used_gpa = vq->used_gpa,
			.last_avail = vq->last_avail, .used_idx = vq->used_idx,
			.signalled_used = vq->signalled_used,
			.signalled_valid = vq->signalled_valid,
			.event_idx = vq->event_idx, .indirect = vq->indirect,
			.broken = vq->broken,
		};
	}
	pthread_mutex_unlock(&t->lock);
}

static int restore_queue(struct vmmio *t, unsigned q, const struct snap_vq_state *s,
			 char *err, size_t errlen)
{
	struct virtqueue *vq = &t->vqs[q];

	vq->size = s->size;
	vq->desc_gpa = s->desc_gpa;
	vq->avail_gpa = s->avail_gpa;
	vq->used_gpa = s->used_gpa;
	if (!s->ready)
		return 0;
	vq->event_idx = s->event_idx;
	vq->indirect = s->indirect;
	if (vq_activate(vq, t->gm, t->ops->queue_max)) {
		snprintf(err, errlen, "%s queue %u: rings (size %u, desc 0x%llx, avail 0x%llx, "
			 "used 0x%llx) not inside guest RAM", t->ops->name, q, s->size,
			 (unsigned long long)s->desc_gpa, (unsigned long long)s->avail_gpa,
			 (unsigned long long)s->used_gpa);
		return -EINVAL;
	}
	/* vq_activate() starts a queue at 0; a restored one goes on. */
	vq->last_avail = s->last_avail;
	vq->used_idx = s->used_idx;
	vq->signalled_used = s->signalled_used;
	vq->signalled_valid = s->signalled_valid;
	vq->broken = s->broken;
	vq->ready = true;
	return 0;
}

static int restore_locked(struct vmmio *t, const struct snap_vtransport_state *ts,
			  const struct snap_vq_state *vqs, char *err, size_t errlen)
{
	uint64_t off = vmmio_offered(t);
	int ret;

	if (ts->device_id != t->ops->device_id || ts->num_queues != t->ops->num_queues) {
		snprintf(err, errlen, "saved device %u with %u queues, but this slot holds %s "
			 "(device %u, %u queues)", ts->device_id, ts->num_queues, t->ops->name,
			 t->ops->device_id, t->ops->num_queues);
		return -EINVAL;
	}
	if (ts->acked & ~off) {
		snprintf(err, errlen, "%s: negotiated features 0x%llx are not all offered by "
			 "this device (0x%llx)", t->ops->name, (unsigned long long)ts->acked,
			 (unsigned long long)off);
		return -EINVAL;
	}
	for (unsigned q = 0; q < ts->num_queues; q++) {
		ret = restore_queue(t, q, &vqs[q], err, errlen);
		if (ret)
			return ret;
	}
	t->status = ts->status;
	t->dev_features_sel = ts->dev_features_sel;
	t->drv_features_sel = ts->drv_features_sel;
	t->queue_sel = ts->queue_sel;
	t->config_generation = ts->config_generation;
	t->acked_raw = ts->driver_features;
	t->acked = ts->acked;
	if (ts->active) {
		ret = t->ops->activate(t->dev, &t->transport, t->vqs, t->acked);
		if (ret) {
			snprintf(err, errlen, "%s: cannot activate the restored device: %s",
				 t->ops->name, strerror(-ret));
			return ret;
		}
		t->active = true;
		/* Requests the guest queued before the snapshot, which nobody
		 * will kick again. */
		for (unsigned q = 0; q < ts->num_queues; q++)
			if (t->vqs[q].ready)
				vmmio_post_kick(t, q);
	}
	/* An interrupt the driver had not yet acknowledged: raise it again
	 * (a spurious one is harmless, a lost one hangs the driver). */
	if (ts->interrupt_status)
		vmmio_raise_irq(t, ts->interrupt_status);
	return 0;
}

int vmmio_restore(struct vmmio *t, const struct snap_vtransport_state *ts,
		  const struct snap_vq_state *vqs, char *err, size_t errlen)
{
	int ret;

	pthread_mutex_lock(&t->lock);
	ret = restore_locked(t, ts, vqs, err, errlen);
	if (ret) {
		t->status = 0;
		for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
			vq_reset(&t->vqs[q], t->ops->queue_max);
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}
