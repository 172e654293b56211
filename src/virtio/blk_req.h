/* virtio-blk request parsing (virtio 1.2 §5.2.6): a pure function from a
 * validated descriptor chain to a request whose sector range, data layout
 * and status byte have all been checked. No I/O happens here. */
#ifndef FEMTOVM_BLK_REQ_H
#define FEMTOVM_BLK_REQ_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtqueue.h"

#define VBLK_SECTOR 512ULL

struct vblk_req {
	uint32_t type;             /* VIRTIO_BLK_T_* */
	uint64_t sector;
	struct vq_buf data[VQ_MAX_SIZE]; /* data segments, in order */
	unsigned ndata;
	uint64_t data_len;
	gpa_t status_gpa;          /* where the status byte goes */
};

struct vblk_limits {
	uint64_t capacity;         /* in 512-byte sectors */
	uint32_t seg_max;          /* data segments per request */
	bool read_only;
};

/* Parse @c. Returns:
 *   VIRTIO_BLK_S_OK     — @req is ready for execution;
 *   VIRTIO_BLK_S_IOERR / VIRTIO_BLK_S_UNSUPP — write that status, no I/O;
 *   -EINVAL            — no writable status byte: the chain cannot even be
 *                        answered, drop it (return it with length 0). */
int vblk_parse(const struct virtqueue *vq, const struct vq_chain *c,
	       const struct vblk_limits *lim, struct vblk_req *req);

#endif
