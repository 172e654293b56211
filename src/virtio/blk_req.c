/* virtio-blk request parser. The header is the first 16 device-readable
 * bytes, the status is the last device-writable byte, data lies between
 * (§5.2.6); no assumption about how the driver splits them into buffers. */
#include "virtio/blk_req.h"

#include <errno.h>
#include <linux/virtio_blk.h>
#include <string.h>

#include "vmm/log.h"

/* Append [addr, addr+len) to the data segments (len 0 is skipped). */
static int add_seg(struct vblk_req *r, gpa_t addr, uint64_t len)
{
	if (!len)
		return 0;
	if (r->ndata == VQ_MAX_SIZE)
		return -E2BIG;
	r->data[r->ndata++] = (struct vq_buf){ addr, (uint32_t)len, false };
	r->data_len += len;
	return 0;
}

/* Data of an OUT request: the readable bytes after the 16-byte header. */
static int out_segments(const struct vq_chain *c, struct vblk_req *r)
{
	uint64_t skip = sizeof(struct virtio_blk_outhdr);

	for (unsigned i = 0; i < c->nread; i++) {
		const struct vq_buf *b = &c->bufs[i];
		uint64_t s = MIN(skip, (uint64_t)b->len);

		skip -= s;
		if (add_seg(r, b->addr + s, b->len - s))
			return -E2BIG;
	}
	return 0;
}

/* Data of an IN/GET_ID request: the writable bytes but the last. */
static int in_segments(const struct vq_chain *c, struct vblk_req *r)
{
	for (unsigned i = c->nread; i < c->nbufs; i++) {
		const struct vq_buf *b = &c->bufs[i];
		uint64_t len = i + 1 == c->nbufs ? b->len - 1u : b->len;

		if (add_seg(r, b->addr, len))
			return -E2BIG;
	}
	return 0;
}

static int check_range(const struct vblk_req *r, const struct vblk_limits *lim)
{
	uint64_t nsec;

	if (r->data_len % VBLK_SECTOR)
		return VIRTIO_BLK_S_IOERR;
	nsec = r->data_len / VBLK_SECTOR;
	/* sector + nsec <= capacity, without overflow */
	if (r->sector > lim->capacity || nsec > lim->capacity - r->sector)
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

int vblk_parse(const struct virtqueue *vq, const struct vq_chain *c,
	       const struct vblk_limits *lim, struct vblk_req *r)
{
	struct virtio_blk_outhdr hdr;
	const struct vq_buf *last;

	memset(r, 0, offsetof(struct vblk_req, data));
	r->ndata = 0;
	r->data_len = 0;
	if (c->nbufs == 0 || c->nbufs == c->nread)
		return -EINVAL; /* nowhere to put a status byte */
	last = &c->bufs[c->nbufs - 1];
	if (last->len == 0)
		return -EINVAL;
	r->status_gpa = last->addr + last->len - 1;
	if (vq_chain_read(vq, c, 0, &hdr, sizeof(hdr)) != sizeof(hdr))
		return VIRTIO_BLK_S_IOERR; /* header shorter than 16 bytes */
	r->type = hdr.type;
	r->sector = hdr.sector;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		if (in_segments(c, r) || r->ndata > lim->seg_max)
			return VIRTIO_BLK_S_IOERR;
		return check_range(r, lim);
	case VIRTIO_BLK_T_OUT:
		if (lim->read_only)
			return VIRTIO_BLK_S_IOERR;
		if (out_segments(c, r) || r->ndata > lim->seg_max)
			return VIRTIO_BLK_S_IOERR;
		return check_range(r, lim);
	case VIRTIO_BLK_T_FLUSH:
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		if (in_segments(c, r))
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}
