/* Helpers of the virtio-mmio transport shared by its files (mmio.c and
 * mmio_snapshot.c); not for devices. Callers hold the transport lock. */
#ifndef FEMTOVM_VIRTIO_MMIO_INTERNAL_H
#define FEMTOVM_VIRTIO_MMIO_INTERNAL_H

#include "virtio/mmio.h"

/* Device features plus the transport's own (VERSION_1). */
uint64_t vmmio_offered(const struct vmmio *t);
/* Set @why in InterruptStatus and raise the device's interrupt. */
void vmmio_raise_irq(struct vmmio *t, uint32_t why);
/* Queue a kick of queue @q for the event loop, as a guest QueueNotify. */
void vmmio_post_kick(struct vmmio *t, unsigned q);

#endif
