/* TAP backend for virtio-net: open an existing tap interface by name with a
 * virtio-net header on every frame, non-blocking, and set its offloads. */
#ifndef FEMTOVM_TAP_H
#define FEMTOVM_TAP_H

#include <linux/virtio_net.h>
#include <stdint.h>

/* Every frame on the tap (and in the guest's buffers) starts with this. */
#define TAP_VNET_HDR_LEN ((int)sizeof(struct virtio_net_hdr_v1))

/* Open tap @name (must exist, IFNAMSIZ-1 chars max) with IFF_TAP |
 * IFF_NO_PI | IFF_VNET_HDR, a 12-byte header and O_NONBLOCK. Returns the
 * fd or -errno (logged). */
int tap_open(const char *name);

/* TUNSETOFFLOAD from the guest's negotiated receive features. */
int tap_set_offload(int fd, uint64_t guest_features);

#endif
