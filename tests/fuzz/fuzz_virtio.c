/* libFuzzer harness for the virtio hostile-guest boundary (DESIGN.md §5):
 * the input lays out a guest memory image (descriptor table, avail ring,
 * indirect tables, data) and a ring geometry; vq_pop()/vblk_parse() run
 * over it while the "guest" keeps rewriting memory between pops; then the
 * rest of the input drives virtio-mmio registers against a virtio-blk
 * device on a small temporary file, with kicks served in between.
 *
 * Guest RAM is two heap buffers (16 KiB at 0 and 4 KiB at 4 GiB) wired into
 * a struct guest_mem by hand, so any access past a region is a heap overflow
 * that ASan reports. Invariants that must hold for any input are checked
 * after every step and trap when violated.
 *
 * Input: a 32-byte header, the region images, then an op stream.
 *   hdr[0]  flags: 1 indirect, 2 event_idx, 4 read-only limits, 8 raw size,
 *           16 rings in high RAM, 32 guest pokes between pops
 *   hdr[1]  log2 queue size; hdr[2..3] raw size (flag 8)
 *   hdr[4..9]   desc / avail / used offsets (u16 each, in the chosen region)
 *   hdr[10..13] initial last_avail / used_idx
 *   hdr[14] max pops; hdr[15] seg_max (0: VBLK_SEG_MAX)
 *   hdr[16..23] capacity in sectors; hdr[24..25] / hdr[26..27] bytes of
 *   image for region 0 / region 1; hdr[28] vq_chain_read offset;
 *   hdr[29..30] used length seed; hdr[31] number of guest pokes.
 * Op stream: with flag 32, up to hdr[31] pokes of 3 bytes (u16 offset,
 * byte) into region 0, one after each pop; the rest is register_phase()'s
 * 6-byte ops. */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "virtio/blk.h"
#include "virtio/blk_req.h"
#include "virtio/mmio.h"
#include "virtio/virtqueue.h"
#include "vmm/guest_mem.h"
#include "vmm/layout.h"
#include "vmm/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM0 0x4000u
#define RAM1 0x1000u
#define HIGH LAYOUT_MMIO_HOLE_END
#define HDR_LEN 32
#define FILE_SECTORS 16

#define CHECK(c)                                                                           \
	do {                                                                               \
		if (!(c))                                                                  \
			__builtin_trap();                                                  \
	} while (0)

static uint8_t *ram0, *ram1;
static struct guest_mem gm;
static struct vblk blk;
static struct vmmio tp;
static struct vq_chain chain;
static struct vblk_req req;
static int ready;

struct in {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->n; i++, in->n--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

static void init_once(void)
{
	char path[] = "/tmp/femtovm-fuzz-virtio-XXXXXX";
	uint8_t zero[FILE_SECTORS * 512] = { 0 };
	int fd;

	log_init();
	log_set_path("/dev/null");
	ram0 = malloc(RAM0);
	ram1 = malloc(RAM1);
	CHECK(ram0 && ram1);
	gm.regions[0] = (struct gm_region){ .gpa = 0, .size = RAM0, .hva = ram0 };
	gm.regions[1] = (struct gm_region){ .gpa = HIGH, .size = RAM1, .hva = ram1 };
	gm.nr_regions = 2;
	gm.size = RAM0 + RAM1;

	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, zero, sizeof(zero)) == (ssize_t)sizeof(zero));
	close(fd);
	CHECK(vblk_init(&blk, "fuzz-drive-id-0123456789", path, false, false, NULL, NULL,
			NULL) == 0);
	unlink(path); /* the open fd keeps it alive */
	CHECK(vmmio_init(&tp, &vblk_ops, &blk, &gm, NULL, NULL, LAYOUT_VIRTIO_BASE, 5) == 0);
	ready = 1;
}

static int in_ram(gpa_t a, uint64_t len)
{
	return gm_ptr(&gm, a, len) != NULL;
}

/* What a validated chain and a parsed request must satisfy. */
static void check_chain(const struct virtqueue *vq, const struct vq_chain *c)
{
	uint64_t r = 0, w = 0;

	CHECK(c->head < vq->size);
	CHECK(c->nbufs >= 1 && c->nbufs <= vq->size && c->nread <= c->nbufs);
	for (unsigned i = 0; i < c->nbufs; i++) {
		const struct vq_buf *b = &c->bufs[i];

		CHECK(in_ram(b->addr, b->len));
		CHECK(b->write == (i >= c->nread));
		if (b->write)
			w += b->len;
		else
			r += b->len;
	}
	CHECK(r == c->read_len && w == c->write_len);
}

static void check_req(int st, const struct vq_chain *c, const struct vblk_limits *lim)
{
	if (st < 0) {
		CHECK(st == -EINVAL);
		return;
	}
	CHECK(st == VIRTIO_BLK_S_OK || st == VIRTIO_BLK_S_IOERR || st == VIRTIO_BLK_S_UNSUPP);
	CHECK(in_ram(req.status_gpa, 1));
	if (st != VIRTIO_BLK_S_OK)
		return;
	{
		uint64_t sum = 0;

		CHECK(req.ndata <= c->nbufs);
		for (unsigned i = 0; i < req.ndata; i++) {
			CHECK(req.data[i].len && in_ram(req.data[i].addr, req.data[i].len));
			sum += req.data[i].len;
		}
		CHECK(sum == req.data_len);
	}
	if (req.type == VIRTIO_BLK_T_IN || req.type == VIRTIO_BLK_T_OUT) {
		CHECK(req.ndata <= lim->seg_max);
		CHECK(req.data_len % 512 == 0);
		CHECK(req.sector <= lim->capacity &&
		      req.data_len / 512 <= lim->capacity - req.sector);
		CHECK(!(req.type == VIRTIO_BLK_T_OUT && lim->read_only));
	}
}

/* Phase 1: pops and parses over the image. */
static void ring_phase(const uint8_t *h, struct in *ops)
{
	struct virtqueue vq;
	struct vblk_limits lim = {
		.capacity = 0, .seg_max = h[15] ? h[15] : VBLK_SEG_MAX, .read_only = h[0] & 4,
	};
	uint8_t flags = h[0];
	gpa_t base = (flags & 16) ? HIGH : 0;
	unsigned max_pops = h[14], pokes = (flags & 32) ? h[31] : 0;

	memcpy(&lim.capacity, h + 16, 8);
	vq_reset(&vq, VQ_MAX_SIZE);
	vq.size = (flags & 8) ? (uint16_t)(h[2] | h[3] << 8) : (uint16_t)(1u << (h[1] % 9));
	vq.desc_gpa = base + (uint16_t)(h[4] | h[5] << 8);
	vq.avail_gpa = base + (uint16_t)(h[6] | h[7] << 8);
	vq.used_gpa = base + (uint16_t)(h[8] | h[9] << 8);
	vq.indirect = flags & 1;
	vq.event_idx = flags & 2;
	if (vq_activate(&vq, &gm, VQ_MAX_SIZE))
		return;
	CHECK(vq.size && !(vq.size & (vq.size - 1)) && vq.size <= VQ_MAX_SIZE);
	CHECK(in_ram(vq.desc_gpa, 16ULL * vq.size));
	CHECK(in_ram(vq.avail_gpa, 6 + 2ULL * vq.size));
	CHECK(in_ram(vq.used_gpa, 6 + 8ULL * vq.size));
	vq.last_avail = (uint16_t)(h[10] | h[11] << 8);
	vq.used_idx = (uint16_t)(h[12] | h[13] << 8);

	for (unsigned i = 0; i < max_pops; i++) {
		int ret = vq_pop(&vq, &chain);

		if (ret == VQ_EMPTY) {
			(void)vq_enable_notify(&vq);
			if (!pokes)
				break;
		} else if (ret < 0) {
			CHECK(vq.broken && ret >= VQ_EORDER);
			CHECK(vq_pop(&vq, &chain) < 0);
			break;
		} else {
			uint8_t buf[64];
			int st;

			CHECK(ret == VQ_OK);
			check_chain(&vq, &chain);
			st = vblk_parse(&vq, &chain, &lim, &req);
			check_req(st, &chain, &lim);
			CHECK(vq_chain_read(&vq, &chain, h[28], buf, sizeof(buf)) <= sizeof(buf));
			vq_push(&vq, chain.head, (uint32_t)(h[29] | h[30] << 8) * (i + 1));
			(void)vq_should_signal(&vq);
		}
		/* the guest rewrites its memory while the device works */
		if (pokes) {
			uint16_t off = (uint16_t)take(ops, 2);
			uint8_t v = (uint8_t)take(ops, 1);

			if (off < RAM0)
				ram0[off] = v;
			pokes--;
		}
	}
}

/* Transport invariants after every register access or kick. */
static void check_transport(void)
{
	uint64_t offered = vblk_ops.features(&blk) | (1ULL << VIRTIO_F_VERSION_1);

	CHECK(tp.status <= 0xff);
	CHECK((tp.acked & ~offered) == 0);
	if (tp.active) {
		CHECK(tp.status & VIRTIO_CONFIG_S_DRIVER_OK);
		CHECK(tp.status & VIRTIO_CONFIG_S_FEATURES_OK);
		CHECK(tp.acked & (1ULL << VIRTIO_F_VERSION_1));
		CHECK(blk.vq == &tp.vqs[0] && blk.vq->ready);
	}
	/* §3.1.1: DRIVER_OK only after FEATURES_OK was accepted (regression:
	 * tests/fuzz/crashes/fuzz_virtio-driver_ok_without_features_ok.bin, one
	 * STATUS write adding both with refused features). */
	if (tp.status & VIRTIO_CONFIG_S_DRIVER_OK)
		CHECK(tp.status & VIRTIO_CONFIG_S_FEATURES_OK);
	if (tp.status & VIRTIO_CONFIG_S_FEATURES_OK)
		CHECK(tp.acked == tp.acked_raw);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		const struct virtqueue *vq = &tp.vqs[q];

		if (!vq->ready)
			continue;
		CHECK(q < vblk_ops.num_queues);
		CHECK(vq->size && !(vq->size & (vq->size - 1)) && vq->size <= VBLK_QUEUE_MAX);
		CHECK(in_ram(vq->desc_gpa, 16ULL * vq->size));
		CHECK(in_ram(vq->avail_gpa, 6 + 2ULL * vq->size));
		CHECK(in_ram(vq->used_gpa, 6 + 8ULL * vq->size));
	}
	CHECK(blk.lim.capacity == FILE_SECTORS && blk.config.capacity == FILE_SECTORS);
}

static void serve_kicks(void)
{
	uint64_t n;

	if (read(tp.kicks[0].h.fd, &n, sizeof(n)) == sizeof(n))
		vmmio_kick(&tp, 0);
}

/* Phase 2: register accesses as a vCPU makes them, kicks as the event loop
 * delivers them. Each op is 6 bytes: kind, offset, 32-bit value. */
static void register_phase(struct in *ops)
{
	uint8_t zero4[4] = { 0 };

	/* every input starts from a freshly reset device */
	vmmio_bus_ops.write(&tp, VIRTIO_MMIO_STATUS, zero4, 4);
	serve_kicks();
	while (ops->n) {
		uint8_t kind = (uint8_t)take(ops, 1);
		uint8_t o = (uint8_t)take(ops, 1);
		uint32_t v = (uint32_t)take(ops, 4);
		uint8_t b[8];
		uint32_t len = 1u << ((kind >> 3) & 3); /* 1, 2, 4, 8 */

		memcpy(b, &v, 4);
		memcpy(b + 4, &v, 4);
		switch (kind & 7) {
		case 0: /* aligned 32-bit register write, the common case */
		case 1:
			vmmio_bus_ops.write(&tp, (uint64_t)o * 4 % 0x200, b, 4);
			break;
		case 2:
			vmmio_bus_ops.read(&tp, (uint64_t)o * 4 % 0x200, b, 4);
			break;
		case 3: /* any size, anywhere in the 4 KiB window */
			vmmio_bus_ops.write(&tp, ((uint64_t)o << 4 | (v >> 28)) % 0x1000, b, len);
			break;
		case 4:
			vmmio_bus_ops.read(&tp, ((uint64_t)o << 4 | (v >> 28)) % 0x1000, b, len);
			break;
		case 5: /* the guest pokes its RAM (e.g. publishes a request) */
			if (v % RAM0 + 2 <= RAM0)
				memcpy(ram0 + v % RAM0, &o, 1);
			break;
		case 6:
			serve_kicks();
			vmmio_kick(&tp, o % 2);
			break;
		default: /* device-side events */
			if (o & 1)
				tp.transport.ops->notify_config(&tp.transport);
			else
				tp.transport.ops->set_needs_reset(&tp.transport, "fuzz");
			break;
		}
		serve_kicks();
		check_transport();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	uint8_t h[HDR_LEN] = { 0 };
	size_t n0, n1;

	if (!ready)
		init_once();
	memcpy(h, data, MIN(size, sizeof(h)));
	in.p += MIN(size, sizeof(h));
	in.n -= MIN(size, sizeof(h));
	memset(ram0, 0, RAM0);
	memset(ram1, 0, RAM1);
	n0 = MIN(in.n, (size_t)(h[24] | h[25] << 8) % (RAM0 + 1));
	memcpy(ram0, in.p, n0);
	in.p += n0;
	in.n -= n0;
	n1 = MIN(in.n, (size_t)(h[26] | h[27] << 8) % (RAM1 + 1));
	memcpy(ram1, in.p, n1);
	in.p += n1;
	in.n -= n1;

	ring_phase(h, &in);
	register_phase(&in);
	return 0;
}
