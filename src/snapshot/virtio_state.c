/* VIRTIO_TRANSPORT and VIRTQUEUE payloads: fixed little-endian layouts of
 * the virtio-mmio transport's registers and each split queue's geometry and
 * positions. Decoders re-check what the transport checks when the guest
 * writes the registers (virtio 1.2 §2.1, §2.7, §3.1.1, §4.2). */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <string.h>

#include "snapshot/internal.h"
#include "snapshot/sections.h"

enum { VQ_READY = 1, VQ_EVENT_IDX = 2, VQ_INDIRECT = 4, VQ_SIGNALLED = 8, VQ_BROKEN = 16 };
#define VQ_FLAGS_ALL 31u
#define TR_ACTIVE 1u
#define INT_ALL (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG)

int snap_encode_vq(struct snap_writer *w, uint32_t slot, uint32_t q,
		   const struct snap_vq_state *s)
{
	uint8_t buf[SNAP_VQ_LEN];
	struct snap_out o = { buf, 0, sizeof(buf) };

	snap_out16(&o, s->size);
	snap_out16(&o, s->last_avail);
	snap_out16(&o, s->used_idx);
	snap_out16(&o, s->signalled_used);
	snap_out64(&o, s->desc_gpa);
	snap_out64(&o, s->avail_gpa);
	snap_out64(&o, s->used_gpa);
	snap_out32(&o, (s->ready ? VQ_READY : 0) | (s->event_idx ? VQ_EVENT_IDX : 0) |
			       (s->indirect ? VQ_INDIRECT : 0) |
			       (s->signalled_valid ? VQ_SIGNALLED : 0) | (s->broken ? VQ_BROKEN : 0));
	return snap_put_section(w, SNAP_SEC_VIRTQUEUE, SNAP_VQ_INDEX(slot, q), 1, buf, o.len);
}

/* The checks of vq_activate() minus "inside RAM", which needs the restored
 * guest memory: vq_activate() itself runs again on restore. */
static int check_geometry(const struct snap_vq_state *s, uint16_t max, char *err,
			  size_t errlen)
{
	uint64_t n = s->size;

	if (n == 0 || n > max || (n & (n - 1)))
		return snap_errf(-EINVAL, err, errlen,
				 "queue size %u not a power of two in 1..%u", s->size, max);
	if (s->desc_gpa % VRING_DESC_ALIGN_SIZE || s->avail_gpa % VRING_AVAIL_ALIGN_SIZE ||
	    s->used_gpa % VRING_USED_ALIGN_SIZE)
		return snap_errf(-EINVAL, err, errlen, "queue rings misaligned (desc 0x%llx, "
				 "avail 0x%llx, used 0x%llx)", (unsigned long long)s->desc_gpa,
				 (unsigned long long)s->avail_gpa, (unsigned long long)s->used_gpa);
	if (!range_ok(s->desc_gpa, 16 * n, SNAP_MEM_MAX_GPA) ||
	    !range_ok(s->avail_gpa, 6 + 2 * n, SNAP_MEM_MAX_GPA) ||
	    !range_ok(s->used_gpa, 6 + 8 * n, SNAP_MEM_MAX_GPA))
		return snap_errf(-EINVAL, err, errlen, "queue rings beyond guest-physical space");
	return 0;
}

int snap_decode_vq(const void *payload, uint32_t len, uint16_t max_size,
		   struct snap_vq_state *s, char *err, size_t errlen)
{
	struct snap_in in = { payload, len, false };
	uint32_t flags;
	int ret;

	memset(s, 0, sizeof(*s));
	s->size = snap_in16(&in);
	s->last_avail = snap_in16(&in);
	s->used_idx = snap_in16(&in);
	s->signalled_used = snap_in16(&in);
	s->desc_gpa = snap_in64(&in);
	s->avail_gpa = snap_in64(&in);
	s->used_gpa = snap_in64(&in);
	flags = snap_in32(&in);
	ret = snap_in_done(&in, "virtqueue state", err, errlen);
	if (ret)
		return ret;
	if (flags & ~VQ_FLAGS_ALL)
		return snap_errf(-EINVAL, err, errlen, "virtqueue flags 0x%x unknown",
				 flags & ~VQ_FLAGS_ALL);
	s->ready = flags & VQ_READY;
	s->event_idx = flags & VQ_EVENT_IDX;
	s->indirect = flags & VQ_INDIRECT;
	s->signalled_valid = flags & VQ_SIGNALLED;
	s->broken = flags & VQ_BROKEN;
	return s->ready ? check_geometry(s, max_size, err, errlen) : 0;
}

int snap_encode_vtransport(struct snap_writer *w, uint32_t slot,
			   const struct snap_vtransport_state *s)
{
	uint8_t buf[SNAP_VTRANSPORT_LEN];
	struct snap_out o = { buf, 0, sizeof(buf) };

	snap_out32(&o, s->device_id);
	snap_out32(&o, s->num_queues);
	snap_out32(&o, s->status);
	snap_out32(&o, s->dev_features_sel);
	snap_out32(&o, s->drv_features_sel);
	snap_out32(&o, s->queue_sel);
	snap_out32(&o, s->interrupt_status);
	snap_out32(&o, s->config_generation);
	snap_out64(&o, s->offered);
	snap_out64(&o, s->driver_features);
	snap_out64(&o, s->acked);
	snap_out32(&o, s->active ? TR_ACTIVE : 0);
	return snap_put_section(w, SNAP_SEC_VIRTIO_TRANSPORT, slot, 1, buf, o.len);
}

static int check_status(const struct snap_vtransport_state *s, char *err, size_t errlen)
{
	uint32_t st = s->status;

	if (st > 0xff)
		return snap_errf(-EINVAL, err, errlen, "device status 0x%x out of range", st);
	if ((st & VIRTIO_CONFIG_S_FEATURES_OK) && !(st & VIRTIO_CONFIG_S_DRIVER))
		return snap_errf(-EINVAL, err, errlen, "status 0x%x: FEATURES_OK without DRIVER",
				 st);
	if ((st & VIRTIO_CONFIG_S_DRIVER_OK) && !(st & VIRTIO_CONFIG_S_FEATURES_OK))
		return snap_errf(-EINVAL, err, errlen,
				 "status 0x%x: DRIVER_OK without FEATURES_OK", st);
	if (s->active && !(st & VIRTIO_CONFIG_S_DRIVER_OK))
		return snap_errf(-EINVAL, err, errlen, "status 0x%x: active without DRIVER_OK",
				 st);
	return 0;
}

static int check_features(const struct snap_vtransport_state *s, char *err, size_t errlen)
{
	bool fok = s->status & VIRTIO_CONFIG_S_FEATURES_OK;

	if (s->acked & ~s->offered)
		return snap_errf(-EINVAL, err, errlen,
				 "acked features 0x%llx not a subset of offered 0x%llx",
				 (unsigned long long)s->acked, (unsigned long long)s->offered);
	if (!fok && s->acked)
		return snap_errf(-EINVAL, err, errlen, "features acked without FEATURES_OK");
	if (fok && (s->acked != s->driver_features ||
		    !(s->acked & (1ULL << VIRTIO_F_VERSION_1))))
		return snap_errf(-EINVAL, err, errlen,
				 "FEATURES_OK with acked 0x%llx (driver wrote 0x%llx, "
				 "VERSION_1 required)", (unsigned long long)s->acked,
				 (unsigned long long)s->driver_features);
	return 0;
}

int snap_decode_vtransport(const void *payload, uint32_t len,
			   struct snap_vtransport_state *s, char *err, size_t errlen)
{
	struct snap_in in = { payload, len, false };
	uint32_t flags;
	int ret;

	memset(s, 0, sizeof(*s));
	s->device_id = snap_in32(&in);
	s->num_queues = snap_in32(&in);
	s->status = snap_in32(&in);
	s->dev_features_sel = snap_in32(&in);
	s->drv_features_sel = snap_in32(&in);
	s->queue_sel = snap_in32(&in);
	s->interrupt_status = snap_in32(&in);
	s->config_generation = snap_in32(&in);
	s->offered = snap_in64(&in);
	s->driver_features = snap_in64(&in);
	s->acked = snap_in64(&in);
	flags = snap_in32(&in);
	ret = snap_in_done(&in, "virtio transport state", err, errlen);
	if (ret)
		return ret;
	if (flags & ~TR_ACTIVE)
		return snap_errf(-EINVAL, err, errlen, "transport flags 0x%x unknown",
				 flags & ~TR_ACTIVE);
	s->active = flags & TR_ACTIVE;
	if (s->device_id == 0)
		return snap_errf(-EINVAL, err, errlen, "virtio device id 0");
	if (s->num_queues == 0 || s->num_queues > VIRTIO_MAX_QUEUES)
		return snap_errf(-EINVAL, err, errlen, "queue count %u not in 1..%u",
				 s->num_queues, VIRTIO_MAX_QUEUES);
	if (s->interrupt_status & ~INT_ALL)
		return snap_errf(-EINVAL, err, errlen, "interrupt status 0x%x unknown",
				 s->interrupt_status);
	ret = check_status(s, err, errlen);
	return ret ? ret : check_features(s, err, errlen);
}

int snap_check_vq(const struct snap_vtransport_state *t, uint32_t q,
		  const struct snap_vq_state *vq, char *err, size_t errlen)
{
	bool ev = t->acked & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	bool ind = t->acked & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);

	if (q >= t->num_queues)
		return snap_errf(-EINVAL, err, errlen, "queue %u beyond the device's %u", q,
				 t->num_queues);
	if (!vq->ready)
		return 0;
	if (!(t->status & VIRTIO_CONFIG_S_FEATURES_OK))
		return snap_errf(-EINVAL, err, errlen, "queue %u ready without FEATURES_OK", q);
	if (vq->event_idx != ev || vq->indirect != ind)
		return snap_errf(-EINVAL, err, errlen,
				 "queue %u ring features differ from the acked features", q);
	return 0;
}
