/* virtio-blk device (virtio 1.2 §5.2) over a raw image file: IN, OUT,
 * FLUSH (fdatasync), GET_ID; read-only drives; a token-bucket rate limiter
 * whose waits are timerfds on the event loop, never a busy loop. */
#ifndef FEMTOVM_BLK_H
#define FEMTOVM_BLK_H

#include <linux/virtio_blk.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/blk_req.h"
#include "virtio/virtio.h"
#include "vmm/event_loop.h"
#include "vmm/rate_limiter.h"

#define VBLK_QUEUE_MAX 256
#define VBLK_SEG_MAX (VBLK_QUEUE_MAX - 2) /* minus header and status */

struct vblk_stats {
	uint64_t read_bytes, write_bytes, reads, writes, flushes, errors, throttled;
};

struct vblk {
	char id[VIRTIO_BLK_ID_BYTES + 1];
	int fd;
	bool read_only;
	bool unsafe;                  /* cache_type Unsafe: no FLUSH offered or done */
	struct vblk_limits lim;
	struct virtio_blk_config config;
	struct virtio_transport *t;   /* set at activation */
	struct virtqueue *vq;
	struct rate_limiter rl;
	struct el_handler timer;      /* rate-limiter wake-up (timerfd) */
	bool timer_armed;
	struct vq_chain chain;        /* scratch for the request being served */
	struct vblk_req req;
	bool has_pending;             /* chain/req popped but throttled */
	struct vblk_stats stats;
};

extern const struct virtio_dev_ops vblk_ops;

/* Open @path (O_RDWR, or O_RDONLY when @read_only) as a drive named @id.
 * @unsafe (Firecracker's cache_type "Unsafe") does not offer FLUSH and
 * completes flushes without syncing; the default syncs with fdatasync.
 * The file size must be a non-zero multiple of 512. Rate-limiter timers are
 * added to @el (may be NULL in tests: then throttled requests wait for the
 * next kick). 0 or -errno with a message logged. */
int vblk_init(struct vblk *b, const char *id, const char *path, bool read_only, bool unsafe,
	      const struct token_bucket_cfg *bw, const struct token_bucket_cfg *ops,
	      struct event_loop *el);
void vblk_destroy(struct vblk *b);

struct vblk_update {
	const char *path;                        /* new backing file, or NULL */
	const struct token_bucket_cfg *bw, *ops; /* new limits, or NULL */
	char *err;
	size_t errlen;
};

/* Apply @arg (a struct vblk_update): swap the backing file (capacity from
 * the new file) and/or the rate limiter. Call with the transport lock held
 * (vmmio_locked_call). Returns 1 if the configuration space changed, 0 if
 * not, -errno on failure (nothing changed; arg->err says why). */
int vblk_update(void *dev, void *arg);

/* Serve queue 0 until empty or throttled (what a kick does). */
void vblk_process(struct vblk *b);

#endif
