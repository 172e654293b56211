/* virtio-mmio transport. Register semantics follow virtio 1.2 §4.2.2 and
 * the driver/device requirements of §3.1 (initialisation) and §2.1 (status).
 * Everything the guest writes is validated here; devices only ever see
 * negotiated features and activated, validated queues. */
#include "virtio/mmio.h"

#include <errno.h>
#include <linux/kvm.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "virtio/mmio_internal.h"
#include "vmm/kvm.h"
#include "vmm/log.h"

#define VMMIO_MAGIC 0x74726976 /* "virt" */
#define TRANSPORT_FEATURES (1ULL << VIRTIO_F_VERSION_1)

static struct vmmio *to_vmmio(struct virtio_transport *t)
{
	return (struct vmmio *)((char *)t - offsetof(struct vmmio, transport));
}

void vmmio_raise_irq(struct vmmio *t, uint32_t why)
{
	t->interrupt_status |= why;
	irq_trigger(&t->irq);
}

static void tp_notify_used(struct virtio_transport *tp, unsigned q)
{
	struct vmmio *t = to_vmmio(tp);

	if (q < t->ops->num_queues && t->vqs[q].ready && vq_should_signal(&t->vqs[q]))
		vmmio_raise_irq(t, VIRTIO_MMIO_INT_VRING);
}

static void tp_notify_config(struct virtio_transport *tp)
{
	struct vmmio *t = to_vmmio(tp);

	t->config_generation++;
	/* Only a live driver has a handler for it (§4.2.2: generation always). */
	if (t->status & VIRTIO_CONFIG_S_DRIVER_OK)
		vmmio_raise_irq(t, VIRTIO_MMIO_INT_CONFIG);
}

static void tp_set_needs_reset(struct virtio_transport *tp, const char *why)
{
	struct vmmio *t = to_vmmio(tp);

	log_ratelimited(LOG_WARN, "%s@0x%llx: device needs reset: %s", t->ops->name,
			(unsigned long long)t->base, why);
	if (t->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	t->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	/* §2.1.2: notify the driver with a configuration change interrupt. */
	if (t->status & VIRTIO_CONFIG_S_DRIVER_OK)
		vmmio_raise_irq(t, VIRTIO_MMIO_INT_CONFIG);
}

/* Queue a kick for the event loop, exactly as a guest QueueNotify would. */
void vmmio_post_kick(struct vmmio *t, unsigned q)
{
	uint64_t one = 1;

	if (q < t->ops->num_queues && write(t->kicks[q].h.fd, &one, sizeof(one)) < 0) {
		/* counter saturated: a kick is pending anyway */
	}
}

static void tp_kick(struct virtio_transport *tp, unsigned q)
{
	vmmio_post_kick(to_vmmio(tp), q);
}

static const struct virtio_transport_ops vmmio_transport_ops = {
	.notify_used = tp_notify_used,
	.notify_config = tp_notify_config,
	.set_needs_reset = tp_set_needs_reset,
	.kick = tp_kick,
};

uint64_t vmmio_offered(const struct vmmio *t)
{
	return t->ops->features(t->dev) | TRANSPORT_FEATURES;
}

static void reset_transport(struct vmmio *t)
{
	if (t->active && t->ops->reset)
		t->ops->reset(t->dev);
	t->active = false;
	t->status = 0;
	t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
	t->interrupt_status = 0;
	t->acked = t->acked_raw = 0;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vq_reset(&t->vqs[q], t->ops->queue_max);
}

static struct virtqueue *cur_queue(struct vmmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->vqs[t->queue_sel] : NULL;
}

static uint32_t read_reg(struct vmmio *t, uint64_t reg)
{
	struct virtqueue *vq = cur_queue(t);

	switch (reg) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VMMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VMMIO_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->dev_features_sel < 2 ?
			(uint32_t)(vmmio_offered(t) >> (32 * t->dev_features_sel)) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return vq ? t->ops->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY: return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return t->interrupt_status;
	case VIRTIO_MMIO_STATUS: return t->status;
	case VIRTIO_MMIO_CONFIG_GENERATION: return t->config_generation;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		return 0xffffffff; /* §4.2.2: no shared memory regions */
	default: return 0;
	}
}

/* Queue geometry registers are writable only while the queue is disabled
 * and the driver has not yet set DRIVER_OK (§4.2.2.2). */
static void write_queue_reg(struct vmmio *t, uint64_t reg, uint32_t v)
{
	struct virtqueue *vq = cur_queue(t);
	uint64_t *addr = NULL;

	if (!vq || vq->ready || (t->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
		log_ratelimited(LOG_WARN, "%s: queue register 0x%llx written for queue %u "
				"that is missing, enabled or live: ignored", t->ops->name,
				(unsigned long long)reg, t->queue_sel);
		return;
	}
	switch (reg) {
	case VIRTIO_MMIO_QUEUE_NUM: vq->size = (uint16_t)MIN(v, 0xffffu); return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		addr = &vq->desc_gpa; break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW: case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		addr = &vq->avail_gpa; break;
	case VIRTIO_MMIO_QUEUE_USED_LOW: case VIRTIO_MMIO_QUEUE_USED_HIGH:
		addr = &vq->used_gpa; break;
	}
	if (reg & 4) /* the _HIGH halves sit 4 bytes after the _LOW ones */
		*addr = (*addr & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*addr = (*addr & ~0xffffffffULL) | v;
}

static void write_queue_ready(struct vmmio *t, uint32_t v)
{
	struct virtqueue *vq = cur_queue(t);

	if (!vq || !(t->status & VIRTIO_CONFIG_S_FEATURES_OK) ||
	    (t->status & VIRTIO_CONFIG_S_DRIVER_OK) || v > 1) {
		log_ratelimited(LOG_WARN, "%s: QueueReady=%u for queue %u ignored", t->ops->name,
				v, t->queue_sel);
		return;
	}
	if (!v) {
		vq->ready = false;
		return;
	}
	vq->event_idx = t->acked & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = t->acked & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	if (vq_activate(vq, t->gm, t->ops->queue_max)) {
		log_ratelimited(LOG_WARN, "%s: queue %u geometry rejected (size %u, desc 0x%llx, "
				"avail 0x%llx, used 0x%llx)", t->ops->name, t->queue_sel, vq->size,
				(unsigned long long)vq->desc_gpa, (unsigned long long)vq->avail_gpa,
				(unsigned long long)vq->used_gpa);
		return;
	}
	vq->ready = true;
}

static void set_features_ok(struct vmmio *t, uint32_t *v)
{
	uint64_t off = vmmio_offered(t);

	/* §3.1.1 step 5-6: refuse (leave FEATURES_OK clear) unless the driver
	 * acked only offered bits and accepted VIRTIO_F_VERSION_1 (§6.1). */
	if ((t->acked_raw & ~off) || !(t->acked_raw & (1ULL << VIRTIO_F_VERSION_1))) {
		log_ratelimited(LOG_WARN, "%s: features 0x%llx not accepted (offered 0x%llx)",
				t->ops->name, (unsigned long long)t->acked_raw,
				(unsigned long long)off);
		*v &= ~(uint32_t)VIRTIO_CONFIG_S_FEATURES_OK;
		return;
	}
	t->acked = t->acked_raw;
}

static void set_driver_ok(struct vmmio *t, uint32_t *v)
{
	int ret;

	for (unsigned q = 0; q < t->ops->num_queues; q++)
		if (!t->vqs[q].ready)
			log_debug("%s: queue %u not enabled at DRIVER_OK", t->ops->name, q);
	ret = t->ops->activate(t->dev, &t->transport, t->vqs, t->acked);
	if (ret) {
		*v |= VIRTIO_CONFIG_S_NEEDS_RESET;
		log_ratelimited(LOG_WARN, "%s: activation failed: %s", t->ops->name,
				strerror(-ret));
		return;
	}
	t->active = true;
}

static void write_status(struct vmmio *t, uint32_t v)
{
	uint32_t old = t->status, added = v & ~old;

	if (v == 0) {
		reset_transport(t);
		return;
	}
	/* Bits are only ever added (§2.1.1), in order (§3.1.1); FAILED any time. */
	if ((old & ~v) || v > 0xff ||
	    ((added & VIRTIO_CONFIG_S_FEATURES_OK) && !(v & VIRTIO_CONFIG_S_DRIVER)) ||
	    ((added & VIRTIO_CONFIG_S_DRIVER_OK) && !(v & VIRTIO_CONFIG_S_FEATURES_OK))) {
		log_ratelimited(LOG_WARN, "%s: status 0x%x -> 0x%x not allowed: ignored",
				t->ops->name, old, v);
		return;
	}
	if (added & VIRTIO_CONFIG_S_FEATURES_OK)
		set_features_ok(t, &v);
	if (added & VIRTIO_CONFIG_S_DRIVER_OK) {
		/* FEATURES_OK may just have been refused in this same write. */
		if (v & VIRTIO_CONFIG_S_FEATURES_OK)
			set_driver_ok(t, &v);
		else
			v &= ~(uint32_t)VIRTIO_CONFIG_S_DRIVER_OK;
	}
	t->status = v;
}

static void write_reg(struct vmmio *t, uint64_t reg, uint32_t v)
{
	switch (reg) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->dev_features_sel = v; return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->drv_features_sel = v; return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (!(t->status & VIRTIO_CONFIG_S_DRIVER) ||
		    (t->status & VIRTIO_CONFIG_S_FEATURES_OK) || t->drv_features_sel > 1) {
			log_ratelimited(LOG_WARN, "%s: DriverFeatures write ignored", t->ops->name);
			return;
		}
		if (t->drv_features_sel)
			t->acked_raw = (t->acked_raw & 0xffffffffULL) | ((uint64_t)v << 32);
		else
			t->acked_raw = (t->acked_raw & ~0xffffffffULL) | v;
		return;
	case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = v; return;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_DESC_LOW: case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW: case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW: case VIRTIO_MMIO_QUEUE_USED_HIGH:
		write_queue_reg(t, reg, v);
		return;
	case VIRTIO_MMIO_QUEUE_READY: write_queue_ready(t, v); return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Without an ioeventfd the kick comes through here; hand it to the
		 * event loop like KVM would. */
		vmmio_post_kick(t, v);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK: t->interrupt_status &= ~v; return;
	case VIRTIO_MMIO_STATUS: write_status(t, v); return;
	default:
		log_ratelimited(LOG_WARN, "%s: write to read-only or unknown register 0x%llx",
				t->ops->name, (unsigned long long)reg);
	}
}

static void vmmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct vmmio *t = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;

		if (range_ok(c, len, t->ops->config_size) && t->ops->config_read)
			t->ops->config_read(t->dev, (uint32_t)c, data, len);
	} else if (len == 4 && !(off & 3)) {
		uint32_t v = read_reg(t, off);

		memcpy(data, &v, 4);
	} else {
		log_ratelimited(LOG_WARN, "%s: %u-byte read of register 0x%llx: registers are "
				"32-bit only", t->ops->name, len, (unsigned long long)off);
	}
	pthread_mutex_unlock(&t->lock);
}

static void vmmio_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct vmmio *t = opaque;

	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;

		if (range_ok(c, len, t->ops->config_size) && t->ops->config_write)
			t->ops->config_write(t->dev, (uint32_t)c, data, len);
	} else if (len == 4 && !(off & 3)) {
		uint32_t v;

		memcpy(&v, data, 4);
		write_reg(t, off, v);
	} else {
		log_ratelimited(LOG_WARN, "%s: %u-byte write of register 0x%llx: registers are "
				"32-bit only", t->ops->name, len, (unsigned long long)off);
	}
	pthread_mutex_unlock(&t->lock);
}

const struct bus_ops vmmio_bus_ops = { .read = vmmio_read, .write = vmmio_write };

void vmmio_kick(struct vmmio *t, unsigned q)
{
	pthread_mutex_lock(&t->lock);
	if (t->active && q < t->ops->num_queues && t->vqs[q].ready &&
	    !(t->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		t->ops->queue_notify(t->dev, q);
	pthread_mutex_unlock(&t->lock);
}

int vmmio_locked_call(struct vmmio *t, int (*fn)(void *dev, void *arg), void *arg)
{
	int ret;

	pthread_mutex_lock(&t->lock);
	ret = fn(t->dev, arg);
	if (ret > 0) {
		tp_notify_config(&t->transport);
		ret = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

static void on_kick(struct el_handler *h, uint32_t events)
{
	struct vmmio_kick *k = h->opaque;
	uint64_t n;

	(void)events;
	if (read(h->fd, &n, sizeof(n)) == sizeof(n))
		vmmio_kick(k->t, k->q);
}

static int register_ioeventfd(struct kvm *kvm, uint64_t addr, int fd, unsigned q)
{
	struct kvm_ioeventfd io = {
		.datamatch = q, .addr = addr, .len = 4, .fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};

	return ioctl(kvm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

int vmmio_init(struct vmmio *t, const struct virtio_dev_ops *ops, void *dev,
	       const struct guest_mem *gm, struct kvm *kvm, struct event_loop *el,
	       uint64_t base, unsigned gsi)
{
	int ret;

	memset(t, 0, sizeof(*t));
	if (ops->num_queues > VIRTIO_MAX_QUEUES || ops->queue_max > VQ_MAX_SIZE)
		return -EINVAL;
	t->transport.ops = &vmmio_transport_ops;
	t->ops = ops;
	t->dev = dev;
	t->gm = gm;
	t->base = base;
	pthread_mutex_init(&t->lock, NULL);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t->kicks[q].h.fd = -1;
	reset_transport(t);
	ret = irq_line_init(&t->irq, kvm, gsi);
	if (ret)
		return ret;
	t->ioeventfd = kvm != NULL;
	for (unsigned q = 0; q < ops->num_queues; q++) {
		struct vmmio_kick *k = &t->kicks[q];

		k->t = t;
		k->q = q;
		k->h = (struct el_handler){ eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), on_kick, k };
		if (k->h.fd < 0)
			return -errno;
		if (kvm && (ret = register_ioeventfd(kvm, base + VIRTIO_MMIO_QUEUE_NOTIFY,
						     k->h.fd, q))) {
			log_err("%s: KVM_IOEVENTFD: %s", ops->name, strerror(-ret));
			return ret;
		}
		if (el && (ret = el_add(el, &k->h, EPOLLIN)))
			return ret;
	}
	return 0;
}

void vmmio_destroy(struct vmmio *t)
{
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (t->kicks[q].h.fd >= 0)
			close(t->kicks[q].h.fd);
	irq_line_destroy(&t->irq);
	pthread_mutex_destroy(&t->lock);
}
