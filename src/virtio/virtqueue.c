/* Split-virtqueue device side (virtio 1.2 §2.7). The driver owns the rings
 * and may change them at any time, so each descriptor is copied once and
 * only the copy is checked and used (no double fetch). Every guest byte a
 * device writes is in a popped chain's writable buffers or the used ring;
 * both are marked dirty here (gm_mark_dirty, for Diff snapshots). */
#include "virtio/virtqueue.h"

#include <errno.h>
#include <linux/virtio_ring.h>
#include <string.h>

/* Ring layout (§2.7.6, §2.7.8): avail = flags, idx, ring[size], used_event;
 * used = flags, idx, ring[size] of {id, len}, avail_event. */
#define AVAIL_IDX 2
#define AVAIL_RING 4
#define USED_IDX 2
#define USED_RING 4

static uint16_t ld16(volatile const uint8_t *p)
{
	return __atomic_load_n((const volatile uint16_t *)p, __ATOMIC_RELAXED);
}

static void st16(volatile uint8_t *p, uint16_t v)
{
	__atomic_store_n((volatile uint16_t *)p, v, __ATOMIC_RELAXED);
}

void vq_reset(struct virtqueue *vq, uint16_t max)
{
	memset(vq, 0, sizeof(*vq));
	vq->size = max;
}

static uint64_t avail_bytes(uint16_t n) { return 6 + 2ULL * n; }
static uint64_t used_bytes(uint16_t n) { return 6 + 8ULL * n; }

int vq_activate(struct virtqueue *vq, const struct guest_mem *gm, uint16_t max)
{
	uint16_t n = vq->size;

	if (n == 0 || n > max || (n & (n - 1)))
		return -EINVAL;
	if (vq->desc_gpa % VRING_DESC_ALIGN_SIZE || vq->avail_gpa % VRING_AVAIL_ALIGN_SIZE ||
	    vq->used_gpa % VRING_USED_ALIGN_SIZE)
		return -EINVAL;
	vq->desc = gm_ptr(gm, vq->desc_gpa, 16ULL * n);
	vq->avail = gm_ptr(gm, vq->avail_gpa, avail_bytes(n));
	vq->used = gm_ptr(gm, vq->used_gpa, used_bytes(n));
	if (!vq->desc || !vq->avail || !vq->used)
		return -EINVAL;
	vq->gm = gm;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_valid = false;
	vq->broken = false;
	return 0;
}

static int add_buf(struct virtqueue *vq, struct vq_chain *c, const struct vring_desc *d)
{
	bool write = d->flags & VRING_DESC_F_WRITE;

	if (c->nbufs >= vq->size)
		return VQ_ELOOP;
	if (!gm_ptr(vq->gm, d->addr, d->len))
		return VQ_EBADADDR;
	if (!write && c->nbufs != c->nread)
		return VQ_EORDER;
	c->bufs[c->nbufs++] = (struct vq_buf){ d->addr, d->len, write };
	if (write) {
		c->write_len += d->len;
	} else {
		c->nread++;
		c->read_len += d->len;
	}
	return VQ_OK;
}

/* Walk an indirect table (§2.7.5.3): no nesting, entries chained by next. */
static int walk_indirect(struct virtqueue *vq, struct vq_chain *c, const struct vring_desc *d)
{
	const uint8_t *table;
	uint32_t n = d->len / 16;
	uint16_t i = 0;

	if (!vq->indirect || d->len == 0 || d->len % 16 || (d->flags & VRING_DESC_F_NEXT))
		return VQ_EINDIRECT;
	table = gm_ptr(vq->gm, d->addr, d->len);
	if (!table)
		return VQ_EBADADDR;
	for (uint32_t steps = 0;; steps++) {
		struct vring_desc e;
		int ret;

		if (steps >= n)
			return VQ_ELOOP;
		memcpy(&e, table + 16ULL * i, sizeof(e));
		if (e.flags & VRING_DESC_F_INDIRECT)
			return VQ_EINDIRECT;
		ret = add_buf(vq, c, &e);
		if (ret)
			return ret;
		if (!(e.flags & VRING_DESC_F_NEXT))
			return VQ_OK;
		if (e.next >= n)
			return VQ_EBADHEAD;
		i = e.next;
	}
}

static int walk_chain(struct virtqueue *vq, struct vq_chain *c, uint16_t head)
{
	uint16_t i = head;

	for (unsigned steps = 0;; steps++) {
		struct vring_desc d;
		int ret;

		if (steps >= vq->size)
			return VQ_ELOOP;
		memcpy(&d, (const void *)(vq->desc + 16ULL * i), sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT) {
			/* It ends the chain: INDIRECT with NEXT is refused inside
			 * walk_indirect (§2.7.5.3.1). */
			return walk_indirect(vq, c, &d);
		}
		ret = add_buf(vq, c, &d);
		if (ret)
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return VQ_OK;
		if (d.next >= vq->size)
			return VQ_EBADHEAD;
		i = d.next;
	}
}

int vq_pop(struct virtqueue *vq, struct vq_chain *c)
{
	uint16_t avail_idx, head;
	int ret;

	if (vq->broken)
		return VQ_EBADIDX;
	avail_idx = ld16(vq->avail + AVAIL_IDX);
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size) {
		vq->broken = true;
		return VQ_EBADIDX;
	}
	if (avail_idx == vq->last_avail)
		return VQ_EMPTY;
	/* Read ring entries only after seeing the index (§2.7.13.3). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = ld16(vq->avail + AVAIL_RING + 2ULL * (vq->last_avail % vq->size));
	c->head = head;
	c->nbufs = c->nread = 0;
	c->read_len = c->write_len = 0;
	if (head >= vq->size) {
		vq->broken = true;
		return VQ_EBADHEAD;
	}
	ret = walk_chain(vq, c, head);
	if (ret) {
		vq->broken = true;
		return ret;
	}
	vq->last_avail++;
	/* Marked before the device writes: a snapshot happens only while the
	 * VM is paused with no request in flight (held ones are given back
	 * and popped, so marked, again). */
	vq_chain_mark_dirty(vq, c);
	return VQ_OK;
}

void vq_chain_mark_dirty(const struct virtqueue *vq, const struct vq_chain *c)
{
	for (unsigned i = c->nread; i < c->nbufs; i++)
		gm_mark_dirty(vq->gm, c->bufs[i].addr, c->bufs[i].len);
}

/* The device wrote @len bytes at offset @off of the used ring. */
static void used_dirty(const struct virtqueue *vq, uint64_t off, uint64_t len)
{
	gm_mark_dirty(vq->gm, vq->used_gpa + off, len);
}

void vq_unpop(struct virtqueue *vq, uint16_t n)
{
	vq->last_avail -= n;
}

/* Mark @n used elements from ring position @first (wrapping) and the used
 * index. */
static void used_dirty_entries(const struct virtqueue *vq, uint16_t first, uint16_t n)
{
	uint16_t at = first % vq->size, before_wrap = MIN(n, (uint16_t)(vq->size - at));

	if (n >= vq->size) {
		used_dirty(vq, USED_RING, 8ULL * vq->size);
	} else {
		used_dirty(vq, USED_RING + 8ULL * at, 8ULL * before_wrap);
		used_dirty(vq, USED_RING, 8ULL * (n - before_wrap));
	}
	used_dirty(vq, USED_IDX, 2);
}

void vq_push_many(struct virtqueue *vq, const uint16_t *heads, const uint32_t *written,
		  uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		volatile uint8_t *e = vq->used + USED_RING +
				      8ULL * ((uint16_t)(vq->used_idx + i) % vq->size);
		uint32_t id = heads[i];

		memcpy((void *)e, &id, 4);
		memcpy((void *)(e + 4), &written[i], 4);
	}
	/* The entries must be visible before the index that publishes them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->used_idx += n;
	st16(vq->used + USED_IDX, vq->used_idx);
	used_dirty_entries(vq, (uint16_t)(vq->used_idx - n), n);
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t written)
{
	vq_push_many(vq, &head, &written, 1);
}

bool vq_should_signal(struct virtqueue *vq)
{
	uint16_t old = vq->signalled_used, now = vq->used_idx;
	bool valid = vq->signalled_valid;

	/* Order our used-idx store before reading the driver's suppression. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = now;
	vq->signalled_valid = true;
	if (!vq->event_idx)
		return !(ld16(vq->avail) & VRING_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	/* used_event follows the avail ring; §2.7.10 vring_need_event(). */
	uint16_t event = ld16(vq->avail + AVAIL_RING + 2ULL * vq->size);

	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

bool vq_enable_notify_at(struct virtqueue *vq, uint16_t seen)
{
	uint16_t want = (uint16_t)(vq->last_avail + seen);

	if (vq->event_idx) {
		st16(vq->used + USED_RING + 8ULL * vq->size, want); /* avail_event */
		used_dirty(vq, USED_RING + 8ULL * vq->size, 2);
	} else {
		st16(vq->used, 0); /* flags */
		used_dirty(vq, 0, 2);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ld16(vq->avail + AVAIL_IDX) != want;
}

bool vq_enable_notify(struct virtqueue *vq)
{
	return vq_enable_notify_at(vq, 0);
}

uint64_t vq_chain_read(const struct virtqueue *vq, const struct vq_chain *c,
		       uint64_t off, void *dst, uint64_t len)
{
	uint8_t *out = dst;
	uint64_t done = 0;

	for (unsigned i = 0; i < c->nread && done < len; i++) {
		const struct vq_buf *b = &c->bufs[i];
		uint64_t take;

		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		take = MIN(b->len - off, len - done);
		if (gm_read(vq->gm, out + done, b->addr + off, take))
			break;
		done += take;
		off = 0;
	}
	return done;
}

uint64_t vq_chain_write(const struct virtqueue *vq, const struct vq_chain *c,
			const void *src, uint64_t len)
{
	const uint8_t *in = src;
	uint64_t done = 0;

	for (unsigned i = c->nread; i < c->nbufs && done < len; i++) {
		uint64_t take = MIN((uint64_t)c->bufs[i].len, len - done);

		if (gm_write(vq->gm, c->bufs[i].addr, in + done, take))
			break; /* cannot happen: vq_pop validated the buffer */
		done += take;
	}
	return done;
}

const char *vq_strerror(int err)
{
	switch (err) {
	case VQ_OK: return "ok";
	case VQ_EMPTY: return "empty";
	case VQ_EBADIDX: return "avail index moved by more than the queue size";
	case VQ_EBADHEAD: return "descriptor index out of range";
	case VQ_ELOOP: return "descriptor chain longer than the queue (loop?)";
	case VQ_EBADADDR: return "buffer outside guest memory";
	case VQ_EINDIRECT: return "invalid indirect descriptor table";
	case VQ_EORDER: return "device-readable descriptor after a writable one";
	default: return "unknown error";
	}
}
