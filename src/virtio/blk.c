/* virtio-blk device: feature set, configuration space and the request loop.
 * Parsing is in blk_req.c; this file only does I/O on parsed requests. */
#include "virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vmm/log.h"

static uint64_t vblk_features(void *dev)
{
	struct vblk *b = dev;
	uint64_t f = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		     (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC);

	if (!b->unsafe)
		f |= 1ULL << VIRTIO_BLK_F_FLUSH;
	if (b->read_only)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	return f;
}

static void vblk_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct vblk *b = dev;

	memcpy(data, (uint8_t *)&b->config + off, len);
}

static int vblk_activate(void *dev, struct virtio_transport *t, struct virtqueue *vqs,
			 uint64_t acked)
{
	struct vblk *b = dev;

	(void)acked;
	if (!vqs[0].ready)
		return -EINVAL;
	b->t = t;
	b->vq = &vqs[0];
	b->has_pending = false;
	return 0;
}

static void vblk_reset(void *dev)
{
	struct vblk *b = dev;

	b->t = NULL;
	b->vq = NULL;
	b->has_pending = false;
}

static void vblk_quiesce(void *dev)
{
	struct vblk *b = dev;

	/* A throttled request was popped and nothing of it done yet. */
	if (b->has_pending) {
		vq_unpop(b->vq, 1);
		b->has_pending = false;
	}
}

static void vblk_notify(void *dev, unsigned q)
{
	(void)q;
	vblk_process(dev);
}

const struct virtio_dev_ops vblk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.queue_max = VBLK_QUEUE_MAX,
	.features = vblk_features,
	.config_size = sizeof(struct virtio_blk_config),
	.quiesce = vblk_quiesce,
	.config_read = vblk_config_read,
	.activate = vblk_activate,
	.reset = vblk_reset,
	.queue_notify = vblk_notify,
};

/* Host iovecs for the request's data segments (validated by vq_pop). */
static int build_iov(struct vblk *b, struct iovec *iov)
{
	for (unsigned i = 0; i < b->req.ndata; i++) {
		iov[i].iov_base = gm_ptr(b->vq->gm, b->req.data[i].addr, b->req.data[i].len);
		iov[i].iov_len = b->req.data[i].len;
		if (!iov[i].iov_base)
			return -EFAULT;
	}
	return 0;
}

/* Full-length preadv/pwritev at @off, retrying short transfers. */
static int rw_all(int fd, struct iovec *iov, int n, uint64_t off, bool write)
{
	while (n > 0) {
		ssize_t r = write ? pwritev(fd, iov, n, (off_t)off) : preadv(fd, iov, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		off += (uint64_t)r;
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* Execute a parsed request; returns the status and bytes written to the guest. */
static uint8_t vblk_exec(struct vblk *b, uint32_t *written)
{
	struct iovec iov[VQ_MAX_SIZE];
	struct vblk_req *r = &b->req;
	uint64_t off = r->sector * VBLK_SECTOR;

	*written = 0;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool w = r->type == VIRTIO_BLK_T_OUT;

		if (build_iov(b, iov) || rw_all(b->fd, iov, (int)r->ndata, off, w))
			return VIRTIO_BLK_S_IOERR;
		if (w) {
			b->stats.writes++;
			b->stats.write_bytes += r->data_len;
		} else {
			b->stats.reads++;
			b->stats.read_bytes += r->data_len;
			*written = (uint32_t)r->data_len;
		}
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_FLUSH:
		b->stats.flushes++;
		if (b->unsafe)
			return VIRTIO_BLK_S_OK;
		return fdatasync(b->fd) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t n = 0;

		/* Up to 20 bytes, NUL-padded only if shorter (§5.2.6). */
		for (unsigned i = 0; i < r->ndata && n < VIRTIO_BLK_ID_BYTES; i++) {
			uint64_t take = MIN((uint64_t)r->data[i].len, VIRTIO_BLK_ID_BYTES - n);

			if (gm_write(b->vq->gm, r->data[i].addr, b->id + n, take))
				return VIRTIO_BLK_S_IOERR;
			n += take;
		}
		*written = (uint32_t)n;
		return VIRTIO_BLK_S_OK;
	}
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static void arm_timer(struct vblk *b, uint64_t ns)
{
	if (el_timer_set(b->timer.fd, ns, false) == 0)
		b->timer_armed = true;
}

/* Serve one popped chain (b->chain). Returns false if throttled. */
static bool serve_one(struct vblk *b)
{
	uint32_t written = 0;
	int st;

	/* (Re)parse even a throttled request: the backing file may have been
	 * swapped meanwhile, and what runs must be validated against it. */
	st = vblk_parse(b->vq, &b->chain, &b->lim, &b->req);
	if (st < 0) {
		log_ratelimited(LOG_WARN, "virtio-blk %s: request without a status byte: dropped",
				b->id);
		b->stats.errors++;
		b->has_pending = false;
		vq_push(b->vq, b->chain.head, 0);
		return true;
	}
	if (st != VIRTIO_BLK_S_OK) {
		b->stats.errors++;
		b->has_pending = false;
		goto done;
	}
	if (rl_enabled(&b->rl)) {
		uint64_t now = rl_now_ns(), bytes = b->req.type == VIRTIO_BLK_T_FLUSH ? 0
						  : b->req.data_len;

		if (!rl_consume(&b->rl, bytes, now)) {
			b->has_pending = true;
			b->stats.throttled++;
			arm_timer(b, rl_wait_ns(&b->rl, bytes, now));
			return false;
		}
	}
	b->has_pending = false;
	st = vblk_exec(b, &written);
	if (st != VIRTIO_BLK_S_OK)
		b->stats.errors++;
done:
	{
		uint8_t s = (uint8_t)st;

		/* The status gpa was validated with its buffer; cannot fail. */
		gm_write(b->vq->gm, b->req.status_gpa, &s, 1);
	}
	vq_push(b->vq, b->chain.head, written + 1);
	return true;
}

void vblk_process(struct vblk *b)
{
	bool served = false;

	if (!b->vq || b->timer_armed)
		return;
	for (;;) {
		int ret;

		if (!b->has_pending) {
			ret = vq_pop(b->vq, &b->chain);
			if (ret == VQ_EMPTY) {
				if (vq_enable_notify(b->vq))
					continue;
				break;
			}
			if (ret < 0) {
				b->t->ops->set_needs_reset(b->t, vq_strerror(ret));
				break;
			}
		}
		if (!serve_one(b))
			break;
		served = true;
	}
	if (served)
		b->t->ops->notify_used(b->t, 0);
}

static void on_timer(struct el_handler *h, uint32_t events)
{
	struct vblk *b = h->opaque;
	uint64_t n;

	(void)events;
	if (read(h->fd, &n, sizeof(n)) < 0) {
	}
	b->timer_armed = false;
	/* Re-run the queue through the transport so its lock is held. */
	if (b->t && b->t->ops->kick)
		b->t->ops->kick(b->t, 0);
}

/* Open @path for drive @b and check it; returns the fd and its capacity. */
static int open_backing(const char *id, const char *path, bool read_only, uint64_t *capacity,
			char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "drive %s: %s: %s", id, path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
	    st.st_size % VBLK_SECTOR) {
		snprintf(err, errlen, "drive %s: %s must be a regular file whose size is a "
			 "non-zero multiple of 512 bytes", id, path);
		close(fd);
		return -EINVAL;
	}
	*capacity = (uint64_t)st.st_size / VBLK_SECTOR;
	return fd;
}

int vblk_update(void *dev, void *arg)
{
	struct vblk *b = dev;
	struct vblk_update *u = arg;
	uint64_t cap;
	int fd;

	if (!u->path) {
		if (u->bw || u->ops)
			rl_init(&b->rl, u->bw, u->ops, rl_now_ns());
		return 0;
	}
	fd = open_backing(b->id, u->path, b->read_only, &cap, u->err, u->errlen);
	if (fd < 0)
		return fd; /* nothing changed, rate limiter included */
	if (u->bw || u->ops)
		rl_init(&b->rl, u->bw, u->ops, rl_now_ns());
	/* Requests are served synchronously under this lock: none in flight. */
	close(b->fd);
	b->fd = fd;
	b->lim.capacity = cap;
	b->config.capacity = cap;
	log_info("drive %s: backing file is now %s (%llu sectors)", b->id, u->path,
		 (unsigned long long)cap);
	return 1;
}

int vblk_init(struct vblk *b, const char *id, const char *path, bool read_only, bool unsafe,
	      const struct token_bucket_cfg *bw, const struct token_bucket_cfg *ops,
	      struct event_loop *el)
{
	char err[256];
	int ret;

	memset(b, 0, sizeof(*b));
	b->timer.fd = -1;
	snprintf(b->id, sizeof(b->id), "%s", id);
	b->read_only = read_only;
	b->unsafe = unsafe;
	b->fd = open_backing(id, path, read_only, &b->lim.capacity, err, sizeof(err));
	if (b->fd < 0) {
		log_err("%s", err);
		return b->fd;
	}
	b->lim.seg_max = VBLK_SEG_MAX;
	b->lim.read_only = read_only;
	b->config.capacity = b->lim.capacity;
	b->config.seg_max = VBLK_SEG_MAX;
	b->config.blk_size = VBLK_SECTOR;
	rl_init(&b->rl, bw, ops, rl_now_ns());
	/* Always have the timer: PATCH /drives may add a limit later. */
	if (el) {
		b->timer = (struct el_handler){ timerfd_create(CLOCK_MONOTONIC,
							       TFD_CLOEXEC | TFD_NONBLOCK),
						on_timer, b };
		if (b->timer.fd < 0)
			return -errno;
		ret = el_add(el, &b->timer, EPOLLIN);
		if (ret)
			return ret;
	}
	return 0;
}

void vblk_destroy(struct vblk *b)
{
	if (b->fd >= 0)
		close(b->fd);
	if (b->timer.fd >= 0)
		close(b->timer.fd);
	b->fd = b->timer.fd = -1;
}
