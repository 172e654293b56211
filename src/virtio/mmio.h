/* virtio-mmio "modern" transport (virtio 1.2 §4.2, version register 2): the
 * register file, device-status state machine, feature negotiation, queue
 * setup and validation, QueueNotify via ioeventfd and interrupts via irqfd.
 * Register accesses arrive on vCPU threads; queue kicks are handled on the
 * event-loop thread; one mutex per transport serialises the two. */
#ifndef FEMTOVM_VIRTIO_MMIO_H
#define FEMTOVM_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdint.h>

#include "virtio/virtio.h"
#include "vmm/bus.h"
#include "vmm/event_loop.h"
#include "vmm/irq.h"

#define VMMIO_VENDOR_ID 0x4d56544d /* "MTVM" little-endian: femtovm */

struct kvm;
struct vmmio;

struct vmmio_kick {
	struct el_handler h;
	struct vmmio *t;
	unsigned q;
};

struct vmmio {
	struct virtio_transport transport; /* handed to the device */
	pthread_mutex_t lock;
	const struct virtio_dev_ops *ops;
	void *dev;
	const struct guest_mem *gm;
	uint64_t base;
	struct irq_line irq;
	bool ioeventfd;        /* kicks arrive through KVM ioeventfds */

	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint32_t interrupt_status;
	uint32_t config_generation;
	uint64_t acked;        /* driver features (only bits that were offered) */
	uint64_t acked_raw;    /* what the driver wrote, for the FEATURES_OK check */
	bool active;           /* DRIVER_OK accepted and device activated */
	struct virtqueue vqs[VIRTIO_MAX_QUEUES];
	struct vmmio_kick kicks[VIRTIO_MAX_QUEUES];
};

extern const struct bus_ops vmmio_bus_ops;

/* Set up a transport for @dev at guest address @base with interrupt @gsi.
 * @kvm may be NULL (unit tests): no irqfd/ioeventfd, kicks written to the
 * eventfds directly. Kick eventfds are added to @el when it is not NULL. */
int vmmio_init(struct vmmio *t, const struct virtio_dev_ops *ops, void *dev,
	       const struct guest_mem *gm, struct kvm *kvm, struct event_loop *el,
	       uint64_t base, unsigned gsi);
void vmmio_destroy(struct vmmio *t);

/* Run @fn(dev, arg) with the transport lock held (device updates from the
 * event loop, e.g. PATCH /drives). A positive return means the device's
 * configuration changed: the driver gets a configuration interrupt. */
int vmmio_locked_call(struct vmmio *t, int (*fn)(void *dev, void *arg), void *arg);

/* Handle a kick of queue @q (event-loop thread; also used by tests). */
void vmmio_kick(struct vmmio *t, unsigned q);

struct snap_vtransport_state;
struct snap_vq_state;

/* mmio_snapshot.c. Save: let the device give back unserved chains
 * (ops->quiesce), then copy the registers into @ts and queue q's state
 * into @vqs[q] for q < ts->num_queues. The VM must be paused. */
void vmmio_save(struct vmmio *t, struct snap_vtransport_state *ts, struct snap_vq_state *vqs);
/* Restore into a transport fresh from vmmio_init() for the same kind of
 * device: @ts and @vqs as decoded and checked by snap_decode_vtransport(),
 * snap_decode_vq() and snap_check_vq(). Checks them against this device
 * (device id, queue count, acked features still offered) and guest RAM
 * (rings inside it), re-activates a live device with its saved queue
 * positions, then kicks every ready queue and re-raises a pending
 * interrupt so nothing the guest was waiting for is lost. 0 or -EINVAL
 * with @err naming the problem; on error the transport is reset. */
int vmmio_restore(struct vmmio *t, const struct snap_vtransport_state *ts,
		  const struct snap_vq_state *vqs, char *err, size_t errlen);

#endif
