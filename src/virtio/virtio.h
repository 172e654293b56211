/* The contract between virtio devices and the transport (kvmtool-style
 * split): a device describes itself with a const ops table and never sees a
 * transport register; the transport hands it validated queues and offers a
 * const ops table back for interrupts and error reporting. */
#ifndef FEMTOVM_VIRTIO_H
#define FEMTOVM_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtqueue.h"

#define VIRTIO_MAX_QUEUES 8

struct virtio_transport;

struct virtio_transport_ops {
	/* Interrupt the driver for used buffers on queue @q if it wants one. */
	void (*notify_used)(struct virtio_transport *t, unsigned q);
	/* The device's configuration space changed (bumps config generation). */
	void (*notify_config)(struct virtio_transport *t);
	/* The device hit an unrecoverable protocol error: DEVICE_NEEDS_RESET. */
	void (*set_needs_reset)(struct virtio_transport *t, const char *why);
	/* Run the device's queue_notify(@q) again soon on the event loop, with
	 * the transport's lock held (e.g. after a rate-limiter wait). */
	void (*kick)(struct virtio_transport *t, unsigned q);
};

struct virtio_transport {
	const struct virtio_transport_ops *ops;
};

struct virtio_dev_ops {
	const char *name;          /* "virtio-blk" ... for messages */
	uint32_t device_id;        /* VIRTIO_ID_* from <linux/virtio_ids.h> */
	unsigned num_queues;
	uint16_t queue_max;        /* QueueNumMax for every queue */
	uint64_t (*features)(void *dev);  /* offered, incl. transport bits */
	/* Device configuration space; @off + @len ≤ config_size checked. */
	uint32_t config_size;
	void (*config_read)(void *dev, uint32_t off, uint8_t *data, uint32_t len);
	void (*config_write)(void *dev, uint32_t off, const uint8_t *data, uint32_t len);
	/* DRIVER_OK with validated queues: start serving. @acked ⊆ offered. */
	int (*activate)(void *dev, struct virtio_transport *t, struct virtqueue *vqs,
			uint64_t acked);
	/* Driver reset (status 0): stop using the queues. */
	void (*reset)(void *dev);
	/* Queue @q was kicked (event-loop thread). */
	void (*queue_notify)(void *dev, unsigned q);
	/* Snapshot of a paused VM (optional): give back chains popped but not
	 * yet served (e.g. throttled), so the saved queues hold every request
	 * the device has not completed. The device goes on normally after it:
	 * those chains are popped again on the next kick or timer. */
	void (*quiesce)(void *dev);
};

#endif
