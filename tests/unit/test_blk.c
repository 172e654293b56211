/* Unit tests for virtio-blk (virtio 1.2 §5.2): vblk_parse() on hand-built
 * descriptor chains (header, status, data layout, sector ranges, types,
 * segment limits), then the whole device on a temporary raw file behind a
 * virtio-mmio transport without KVM: requests through a real split queue,
 * the file bytes on disk, status bytes, used lengths, errors that break the
 * queue, rate limiting and swapping the backing file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virtio/blk.h"
#include "virtio/blk_req.h"
#include "snapshot/sections.h"
#include "virtio/mmio.h"
#include "vmm/guest_mem.h"
#include "vmm/layout.h"

#define RAM MIB(1)
#define QSIZE 16
#define DESC 0x1000ULL
#define AVAIL 0x2000ULL
#define USED 0x3000ULL
#define TABLE 0x4000ULL
#define HDR 0x10000ULL    /* + 0x100 per request slot */
#define STATUS 0x18000ULL /* + 0x10 per request slot */
#define DATA 0x20000ULL
#define DATA2 0x40000ULL
#define CAP 128 /* sectors in the default image */

static struct guest_mem gm;
static struct virtqueue vq;
static struct vq_chain ch;
static struct vblk_req req;
static struct vblk b;
static struct vmmio t;
static char path[64], path2[64];
static uint16_t avail_idx, next_desc;

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */

static void mkfile(char *p, size_t n, uint64_t size, uint8_t fill)
{
	uint8_t buf[4096];
	int fd;

	snprintf(p, n, "/tmp/femtovm-test-blk-XXXXXX");
	fd = mkstemp(p);
	cr_assert_geq(fd, 0);
	memset(buf, fill, sizeof(buf));
	for (uint64_t off = 0; off < size; off += sizeof(buf)) {
		size_t k = MIN(sizeof(buf), size - off);

		cr_assert_eq(pwrite(fd, buf, k, (off_t)off), (ssize_t)k);
	}
	close(fd);
}

static void file_read(const char *p, uint64_t off, void *dst, size_t len)
{
	int fd = open(p, O_RDONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, dst, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static off_t file_size(const char *p)
{
	struct stat st;

	cr_assert_eq(stat(p, &st), 0);
	return st.st_size;
}

static void wr16(gpa_t a, uint16_t v)
{
	cr_assert_eq(gm_write(&gm, a, &v, 2), 0);
}

static uint16_t rd16(gpa_t a)
{
	uint16_t v;

	cr_assert_eq(gm_read(&gm, &v, a, 2), 0);
	return v;
}

static uint32_t rd32(gpa_t a)
{
	uint32_t v;

	cr_assert_eq(gm_read(&gm, &v, a, 4), 0);
	return v;
}

static uint8_t rd8(gpa_t a)
{
	uint8_t v;

	cr_assert_eq(gm_read(&gm, &v, a, 1), 0);
	return v;
}

static void fill(gpa_t a, uint8_t v, uint64_t len)
{
	memset(gm_ptr(&gm, a, len), v, len);
}

static void put_hdr(gpa_t at, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = { .type = type, .ioprio = 0, .sector = sector };

	cr_assert_eq(gm_write(&gm, at, &h, sizeof(h)), 0);
}

/* --- hand-built chains for vblk_parse --- */

static void chain_reset(void)
{
	memset(&ch, 0, sizeof(ch));
}

static void chain_add(gpa_t addr, uint32_t len, bool write)
{
	ch.bufs[ch.nbufs++] = (struct vq_buf){ addr, len, write };
	if (write) {
		ch.write_len += len;
	} else {
		ch.nread++;
		ch.read_len += len;
	}
}

static const struct vblk_limits lim_rw = { .capacity = CAP, .seg_max = VBLK_SEG_MAX };
static const struct vblk_limits lim_ro = { .capacity = CAP, .seg_max = VBLK_SEG_MAX,
					   .read_only = true };

static int parse(const struct vblk_limits *l)
{
	return vblk_parse(&vq, &ch, l, &req);
}

/* hdr R16 | data (R or W) | status W1 */
static int parse_simple(const struct vblk_limits *l, uint32_t type, uint64_t sector,
			uint32_t len)
{
	chain_reset();
	put_hdr(HDR, type, sector);
	chain_add(HDR, 16, false);
	if (len)
		chain_add(DATA, len, type != VIRTIO_BLK_T_OUT);
	chain_add(STATUS, 1, true);
	return parse(l);
}

/* --- the device behind a transport --- */

static uint32_t reg_rd(uint64_t off)
{
	uint32_t v = 0xeeeeeeee;

	vmmio_bus_ops.read(&t, off, (uint8_t *)&v, 4);
	return v;
}

static void reg_wr(uint64_t off, uint32_t v)
{
	vmmio_bus_ops.write(&t, off, (const uint8_t *)&v, 4);
}

static uint64_t offered(void)
{
	uint64_t f;

	reg_wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = reg_rd(VIRTIO_MMIO_DEVICE_FEATURES);
	reg_wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f |= (uint64_t)reg_rd(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	return f;
}

/* Bring the device live as Linux would, acking @want ∩ offered. */
static void drive_up(uint64_t want)
{
	uint64_t ack = offered() & want;

	reg_wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	reg_wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	reg_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)ack);
	reg_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(ack >> 32));
	reg_wr(VIRTIO_MMIO_STATUS, 0xb);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_STATUS), 0xb);
	reg_wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VBLK_QUEUE_MAX);
	reg_wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	reg_wr(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC);
	reg_wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL);
	reg_wr(VIRTIO_MMIO_QUEUE_USED_LOW, USED);
	reg_wr(VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_QUEUE_READY), 1);
	reg_wr(VIRTIO_MMIO_STATUS, 0xf);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_STATUS), 0xf);
	avail_idx = 0;
	next_desc = 0;
}

#define BASE_FEATURES ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_BLK_F_SEG_MAX) | \
		       (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH) |   \
		       (1ULL << VIRTIO_BLK_F_RO))

static void dev_open(const char *id, const char *p, bool ro, bool unsafe,
		     const struct token_bucket_cfg *bw, const struct token_bucket_cfg *ops)
{
	cr_assert_eq(vblk_init(&b, id, p, ro, unsafe, bw, ops, NULL), 0);
	cr_assert_eq(vmmio_init(&t, &vblk_ops, &b, &gm, NULL, NULL, LAYOUT_VIRTIO_BASE, 5), 0);
}

static void setup(void)
{
	cr_assert_eq(gm_init(&gm, RAM), 0);
	vq_reset(&vq, QSIZE);
	vq.gm = &gm;
	memset(&b, 0, sizeof(b));
	b.fd = b.timer.fd = -1;
	memset(&t, 0, sizeof(t));
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t.kicks[q].h.fd = -1;
	t.irq.efd = -1;
	path[0] = path2[0] = 0;
	mkfile(path, sizeof(path), CAP * 512, 0);
}

static void teardown(void)
{
	if (t.ops)
		vmmio_destroy(&t);
	vblk_destroy(&b);
	gm_destroy(&gm);
	if (path[0])
		unlink(path);
	if (path2[0])
		unlink(path2);
}

TestSuite(blk, .init = setup, .fini = teardown);

static uint16_t add_desc(uint64_t addr, uint32_t len, uint16_t flags)
{
	struct vring_desc d = { .addr = addr, .len = len, .flags = flags,
				.next = (uint16_t)((next_desc + 1) % QSIZE) };
	uint16_t i = next_desc;

	cr_assert_eq(gm_write(&gm, DESC + 16ULL * i, &d, sizeof(d)), 0);
	next_desc = (uint16_t)((next_desc + 1) % QSIZE);
	return i;
}

static void avail_add(uint16_t head)
{
	wr16(AVAIL + 4 + 2ULL * (avail_idx % QSIZE), head);
	avail_idx++;
	wr16(AVAIL + 2, avail_idx);
}

/* Queue a request: hdr R16 at HDR+slot, @len data at @data (device-
 * writable unless OUT), status W1 at STATUS+slot. Returns the head. */
static uint16_t submit(unsigned slot, uint32_t type, uint64_t sector, gpa_t data, uint32_t len)
{
	uint16_t head;

	put_hdr(HDR + 0x100 * slot, type, sector);
	wr16(STATUS + 0x10 * slot, 0xee); /* poison the status byte */
	head = add_desc(HDR + 0x100 * slot, 16, VRING_DESC_F_NEXT);
	if (len)
		add_desc(data, len,
			 VRING_DESC_F_NEXT | (type == VIRTIO_BLK_T_OUT ? 0 : VRING_DESC_F_WRITE));
	add_desc(STATUS + 0x10 * slot, 1, VRING_DESC_F_WRITE);
	avail_add(head);
	return head;
}

static uint8_t status_of(unsigned slot)
{
	return rd8(STATUS + 0x10 * slot);
}

static uint16_t used_idx(void)
{
	return rd16(USED + 2);
}

static uint32_t used_id(unsigned i)
{
	return rd32(USED + 4 + 8ULL * (i % QSIZE));
}

static uint32_t used_len(unsigned i)
{
	return rd32(USED + 8 + 8ULL * (i % QSIZE));
}

static void kick(void)
{
	vmmio_kick(&t, 0);
}

static uint64_t cfg_capacity(void)
{
	return reg_rd(VIRTIO_MMIO_CONFIG) | (uint64_t)reg_rd(VIRTIO_MMIO_CONFIG + 4) << 32;
}

/* ------------------------------------------------------------------------ */
/* vblk_parse                                                               */

Test(blk, parse_in_simple)
{
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_IN, 5, 1024), VIRTIO_BLK_S_OK);
	cr_assert_eq(req.type, VIRTIO_BLK_T_IN);
	cr_assert_eq(req.sector, 5);
	cr_assert_eq(req.ndata, 1);
	cr_assert_eq(req.data[0].addr, DATA);
	cr_assert_eq(req.data[0].len, 1024);
	cr_assert_eq(req.data_len, 1024);
	cr_assert_eq(req.status_gpa, STATUS);
}

Test(blk, parse_out_simple)
{
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_OUT, 7, 512), VIRTIO_BLK_S_OK);
	cr_assert_eq(req.type, VIRTIO_BLK_T_OUT);
	cr_assert_eq(req.sector, 7);
	cr_assert_eq(req.ndata, 1);
	cr_assert_eq(req.data[0].addr, DATA);
	cr_assert_eq(req.data_len, 512);
	cr_assert_eq(req.status_gpa, STATUS);
}

Test(blk, parse_header_shorter_than_16)
{
	chain_reset();
	put_hdr(HDR, VIRTIO_BLK_T_IN, 0);
	chain_add(HDR, 15, false);
	chain_add(DATA, 512, true);
	chain_add(STATUS, 1, true);
	cr_assert_eq(parse(&lim_rw), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(req.status_gpa, STATUS);

	chain_reset();
	chain_add(HDR, 8, false);
	chain_add(HDR + 8, 4, false);
	chain_add(STATUS, 1, true);
	cr_assert_eq(parse(&lim_rw), VIRTIO_BLK_S_IOERR);

	/* no readable buffer at all */
	chain_reset();
	chain_add(DATA, 512, true);
	chain_add(STATUS, 1, true);
	cr_assert_eq(parse(&lim_rw), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(req.status_gpa, STATUS);
}

Test(blk, parse_header_split_across_buffers)
{
	chain_reset();
	put_hdr(HDR, VIRTIO_BLK_T_IN, 9);
	chain_add(HDR, 3, false);
	chain_add(HDR + 3, 0, false);
	chain_add(HDR + 3, 13, false);
	chain_add(DATA, 512, true);
	chain_add(STATUS, 1, true);
	cr_assert_eq(parse(&lim_rw), VIRTIO_BLK_S_OK);
	cr_assert_eq(req.sector, 9);
	cr_assert_eq(req.ndata, 1);
}

Test(blk, parse_no_writable_status)
{
	chain_reset();
	cr_assert_eq(parse(&lim_rw), -EINVAL);

	/* status descriptor not writable: every buffer device-readable */
	chain_reset();
	put_hdr(HDR, VIRTIO_BLK_T_OUT, 0);
	chain_add(HDR, 16, false);
	chain_add(DATA, 512, false);
	chain_add(STATUS, 1, false);
	cr_assert_eq(parse(&lim_rw), -EINVAL);

	/* the last writable buffer is empty */
	chain_reset();
	put_hdr(HDR, VIRTIO_BLK_T_IN, 0);
	chain_add(HDR, 16, false);
	chain_add(DATA, 512, true);
	chain_add(STATUS, 0, true);
	cr_assert_eq(parse(&lim_rw), -EINVAL);
}

Test(blk, parse_status_shares_the_last_buffer)
{
	chain_reset();
	put_hdr(HDR, VIRTIO_BLK_T_IN, 0);
	chain_add(HDR, 16, false);
	chain_add(DATA, 513, true);
	cr_assert_eq(parse(&lim_rw), VIRTIO_BLK_S_OK);
	cr_assert_eq(req.ndata, 1);
	cr_assert_eq(req.data[0].addr, DATA);
	cr_assert_eq(req.data[0].len, 512);
	cr_assert_eq(req.status_gpa, DATA + 512);

	/* OUT with header and data in one readable buffer */
	chain_reset();
	put_hdr(DATA2, VIRTIO_BLK_T_OUT, 3);
	chain_add(DATA2, 16 + 1024, false);
	chain_add(STATUS, 1, true);
	cr_assert_eq(parse(&lim_rw), VIRTIO_BLK_S_OK);
	cr_assert_eq(req.sector, 3);
	cr_assert_eq(req.ndata, 1);
	cr_assert_eq(req.data[0].addr, DATA2 + 16);
	cr_assert_eq(req.data[0].len, 1024);
}

Test(blk, parse_sector_ranges)
{
	/* exactly at capacity */
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_IN, CAP - 2, 1024), VIRTIO_BLK_S_OK);
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_OUT, CAP - 1, 512), VIRTIO_BLK_S_OK);
	/* one past */
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_IN, CAP - 1, 1024), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_OUT, CAP, 512), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_IN, CAP + 1, 512), VIRTIO_BLK_S_IOERR);
	/* sector + len overflow */
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_IN, UINT64_MAX, 512), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_OUT, UINT64_MAX, 512),
		     VIRTIO_BLK_S_IOERR);
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_IN, UINT64_MAX - 1, 1024),
		     VIRTIO_BLK_S_IOERR);
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_IN, UINT64_MAX / 512 + 1, 512),
		     VIRTIO_BLK_S_IOERR);
	/* huge capacity: still no wrap */
	{
		struct vblk_limits big = { .capacity = UINT64_MAX, .seg_max = 4 };

		cr_assert_eq(parse_simple(&big, VIRTIO_BLK_T_IN, UINT64_MAX, 512),
			     VIRTIO_BLK_S_IOERR);
		cr_assert_eq(parse_simple(&big, VIRTIO_BLK_T_IN, UINT64_MAX - 1, 512),
			     VIRTIO_BLK_S_OK);
	}
}

Test(blk, parse_data_not_multiple_of_512)
{
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_IN, 0, 100), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_IN, 0, 513), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_OUT, 0, 511), VIRTIO_BLK_S_IOERR);
	/* segments may be odd as long as the total is whole sectors */
	chain_reset();
	put_hdr(HDR, VIRTIO_BLK_T_IN, 0);
	chain_add(HDR, 16, false);
	chain_add(DATA, 100, true);
	chain_add(DATA + 0x1000, 412, true);
	chain_add(STATUS, 1, true);
	cr_assert_eq(parse(&lim_rw), VIRTIO_BLK_S_OK);
	cr_assert_eq(req.ndata, 2);
	cr_assert_eq(req.data_len, 512);
}

Test(blk, parse_zero_length_io)
{
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_IN, 3, 0), VIRTIO_BLK_S_OK);
	cr_assert_eq(req.ndata, 0);
	cr_assert_eq(req.data_len, 0);
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_IN, CAP + 1, 0), VIRTIO_BLK_S_IOERR);
}

Test(blk, parse_read_only)
{
	cr_assert_eq(parse_simple(&lim_ro, VIRTIO_BLK_T_OUT, 0, 512), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(parse_simple(&lim_ro, VIRTIO_BLK_T_IN, 0, 512), VIRTIO_BLK_S_OK);
	cr_assert_eq(parse_simple(&lim_ro, VIRTIO_BLK_T_FLUSH, 0, 0), VIRTIO_BLK_S_OK);
	cr_assert_eq(parse_simple(&lim_ro, VIRTIO_BLK_T_GET_ID, 0, 20), VIRTIO_BLK_S_OK);
}

Test(blk, parse_unknown_types)
{
	static const uint32_t types[] = { VIRTIO_BLK_T_SCSI_CMD, 3, 5, 7, VIRTIO_BLK_T_DISCARD,
					  VIRTIO_BLK_T_WRITE_ZEROES, VIRTIO_BLK_T_SECURE_ERASE,
					  VIRTIO_BLK_T_BARRIER, VIRTIO_BLK_T_OUT | 0x80000000,
					  0xffffffff };

	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		cr_assert_eq(parse_simple(&lim_rw, types[i], 0, 512), VIRTIO_BLK_S_UNSUPP,
			     "type 0x%x", types[i]);
		cr_assert_eq(req.status_gpa, STATUS);
	}
}

Test(blk, parse_get_id_and_flush)
{
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_GET_ID, 0, 20), VIRTIO_BLK_S_OK);
	cr_assert_eq(req.type, VIRTIO_BLK_T_GET_ID);
	cr_assert_eq(req.ndata, 1);
	cr_assert_eq(req.data_len, 20);
	/* sector is irrelevant for both */
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_GET_ID, UINT64_MAX, 7), VIRTIO_BLK_S_OK);
	cr_assert_eq(req.data_len, 7);
	cr_assert_eq(parse_simple(&lim_rw, VIRTIO_BLK_T_FLUSH, UINT64_MAX, 0), VIRTIO_BLK_S_OK);
	cr_assert_eq(req.type, VIRTIO_BLK_T_FLUSH);
	cr_assert_eq(req.status_gpa, STATUS);
}

Test(blk, parse_segment_limit)
{
	struct vblk_limits four = { .capacity = CAP, .seg_max = 4 };

	chain_reset();
	put_hdr(HDR, VIRTIO_BLK_T_IN, 0);
	chain_add(HDR, 16, false);
	for (int i = 0; i < 4; i++)
		chain_add(DATA + 0x200 * i, 512, true);
	chain_add(STATUS, 1, true);
	cr_assert_eq(parse(&four), VIRTIO_BLK_S_OK);
	cr_assert_eq(req.ndata, 4);
	cr_assert_eq(req.data[3].addr, DATA + 0x600);

	chain_reset();
	chain_add(HDR, 16, false);
	for (int i = 0; i < 5; i++)
		chain_add(DATA + 0x200 * i, 512, true);
	chain_add(STATUS, 1, true);
	cr_assert_eq(parse(&four), VIRTIO_BLK_S_IOERR);

	/* zero-length segments do not count */
	chain_reset();
	chain_add(HDR, 16, false);
	for (int i = 0; i < 8; i++)
		chain_add(DATA + 0x200 * i, (i & 1) ? 0 : 512, true);
	chain_add(STATUS, 1, true);
	cr_assert_eq(parse(&four), VIRTIO_BLK_S_OK);
	cr_assert_eq(req.ndata, 4);

	/* OUT: 5 data buffers after the header */
	chain_reset();
	put_hdr(HDR, VIRTIO_BLK_T_OUT, 0);
	chain_add(HDR, 16, false);
	for (int i = 0; i < 5; i++)
		chain_add(DATA + 0x200 * i, 512, false);
	chain_add(STATUS, 1, true);
	cr_assert_eq(parse(&four), VIRTIO_BLK_S_IOERR);

	/* the real limit, VBLK_SEG_MAX data segments: with the status inside the
	 * last data buffer a 256-descriptor chain carries one segment too many */
	{
		struct vblk_limits real = { .capacity = 1 << 20, .seg_max = VBLK_SEG_MAX };

		chain_reset();
		put_hdr(HDR, VIRTIO_BLK_T_IN, 0);
		chain_add(HDR, 16, false);
		for (int i = 0; i < VBLK_SEG_MAX; i++)
			chain_add(DATA, 512, true);
		chain_add(DATA, 513, true);
		cr_assert_eq(ch.nbufs, VQ_MAX_SIZE);
		cr_assert_eq(parse(&real), VIRTIO_BLK_S_IOERR);
		ch.nbufs--; /* drop the last buffer, move the status into the one before */
		ch.bufs[ch.nbufs - 1].len = 513;
		cr_assert_eq(parse(&real), VIRTIO_BLK_S_OK);
		cr_assert_eq(req.ndata, VBLK_SEG_MAX);
		cr_assert_eq(req.data_len, 512ULL * VBLK_SEG_MAX);
	}
}

Test(blk, parse_in_ignores_extra_readable_bytes)
{
	chain_reset();
	put_hdr(HDR, VIRTIO_BLK_T_IN, 1);
	chain_add(HDR, 16 + 512, false);
	chain_add(DATA, 512, true);
	chain_add(STATUS, 1, true);
	cr_assert_eq(parse(&lim_rw), VIRTIO_BLK_S_OK);
	cr_assert_eq(req.ndata, 1);
	cr_assert_eq(req.data[0].addr, DATA);
}

/* ------------------------------------------------------------------------ */
/* the device                                                               */

Test(blk, features_and_config_space)
{
	uint64_t f;

	dev_open("d0", path, false, false, NULL, NULL);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	f = offered();
	cr_assert_eq(f, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
			       (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH) |
			       (1ULL << VIRTIO_RING_F_EVENT_IDX) |
			       (1ULL << VIRTIO_RING_F_INDIRECT_DESC),
		     "offered 0x%llx", (unsigned long long)f);
	cr_assert_eq(cfg_capacity(), CAP);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_CONFIG + 12), VBLK_SEG_MAX);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_CONFIG + 20), 512);
	/* config space is read-only for this device: writes change nothing */
	reg_wr(VIRTIO_MMIO_CONFIG, 7);
	cr_assert_eq(cfg_capacity(), CAP);
}

Test(blk, features_read_only_and_unsafe)
{
	dev_open("d0", path, true, true, NULL, NULL);
	cr_assert_eq(offered() & ((1ULL << VIRTIO_BLK_F_RO) | (1ULL << VIRTIO_BLK_F_FLUSH)),
		     1ULL << VIRTIO_BLK_F_RO);
}

Test(blk, init_rejects_bad_images)
{
	struct vblk b2;
	char p[64];

	cr_assert_eq(vblk_init(&b2, "x", "/nonexistent/femtovm.img", false, false, NULL, NULL,
			       NULL), -ENOENT);
	mkfile(p, sizeof(p), 0, 0);
	cr_assert_eq(vblk_init(&b2, "x", p, false, false, NULL, NULL, NULL), -EINVAL);
	unlink(p);
	mkfile(p, sizeof(p), 1000, 0);
	cr_assert_eq(vblk_init(&b2, "x", p, false, false, NULL, NULL, NULL), -EINVAL);
	unlink(p);
	cr_assert_eq(vblk_init(&b2, "x", "/tmp", false, false, NULL, NULL, NULL), -EISDIR);
}

Test(blk, write_then_read_back)
{
	uint8_t pat[1024], disk[CAP * 512], out[1024];

	dev_open("d0", path, false, false, NULL, NULL);
	drive_up(BASE_FEATURES);
	for (unsigned i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 7 + 3);
	gm_write(&gm, DATA, pat, sizeof(pat));
	cr_assert_eq(submit(0, VIRTIO_BLK_T_OUT, 3, DATA, 1024), 0);
	kick();
	cr_assert_eq(used_idx(), 1);
	cr_assert_eq(used_id(0), 0);
	cr_assert_eq(used_len(0), 1, "an OUT writes only the status byte");
	cr_assert_eq(status_of(0), VIRTIO_BLK_S_OK);
	file_read(path, 0, disk, sizeof(disk));
	for (unsigned i = 0; i < sizeof(disk); i++)
		cr_assert_eq(disk[i], i >= 1536 && i < 2560 ? pat[i - 1536] : 0, "byte %u", i);

	fill(DATA2, 0xaa, 2048);
	cr_assert_eq(submit(1, VIRTIO_BLK_T_IN, 3, DATA2, 1024), 3);
	kick();
	cr_assert_eq(used_idx(), 2);
	cr_assert_eq(used_id(1), 3);
	cr_assert_eq(used_len(1), 1025);
	cr_assert_eq(status_of(1), VIRTIO_BLK_S_OK);
	gm_read(&gm, out, DATA2, sizeof(out));
	cr_assert_arr_eq(out, pat, sizeof(out));
	cr_assert_eq(rd8(DATA2 + 1024), 0xaa, "nothing written past the buffer");
	cr_assert_eq(b.stats.writes, 1);
	cr_assert_eq(b.stats.reads, 1);
	cr_assert_eq(b.stats.write_bytes, 1024);
	cr_assert_eq(b.stats.read_bytes, 1024);
	cr_assert_eq(b.stats.errors, 0);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
}

Test(blk, several_requests_in_one_kick_scattered)
{
	uint8_t a[512], z[512], out[512];

	dev_open("d0", path, false, false, NULL, NULL);
	drive_up(BASE_FEATURES);
	memset(a, 0x5a, sizeof(a));
	memset(z, 0, sizeof(z));
	gm_write(&gm, DATA, a, 512);
	/* OUT split 100 + 412 over two descriptors, then an IN of it */
	put_hdr(HDR, VIRTIO_BLK_T_OUT, CAP - 1);
	add_desc(HDR, 16, VRING_DESC_F_NEXT);
	add_desc(DATA, 100, VRING_DESC_F_NEXT);
	add_desc(DATA + 100, 412, VRING_DESC_F_NEXT);
	add_desc(STATUS, 1, VRING_DESC_F_WRITE);
	avail_add(0);
	submit(1, VIRTIO_BLK_T_IN, CAP - 1, DATA2, 512);
	submit(2, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	kick();
	cr_assert_eq(used_idx(), 3);
	cr_assert_eq(used_len(0), 1);
	cr_assert_eq(used_len(1), 513);
	cr_assert_eq(used_len(2), 1);
	cr_assert_eq(status_of(0), 0);
	cr_assert_eq(status_of(1), 0);
	cr_assert_eq(status_of(2), 0);
	gm_read(&gm, out, DATA2, 512);
	cr_assert_arr_eq(out, a, 512);
	file_read(path, (CAP - 1) * 512, out, 512);
	cr_assert_arr_eq(out, a, 512);
	file_read(path, (CAP - 2) * 512, out, 512);
	cr_assert_arr_eq(out, z, 512);
	cr_assert_eq(b.stats.flushes, 1);
}

Test(blk, indirect_request)
{
	uint8_t pat[512], out[512];
	struct vring_desc tbl[3] = {
		{ .addr = HDR, .len = 16, .flags = VRING_DESC_F_NEXT, .next = 1 },
		{ .addr = DATA2, .len = 512, .flags = VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
		  .next = 2 },
		{ .addr = STATUS, .len = 1, .flags = VRING_DESC_F_WRITE },
	};

	mkfile(path2, sizeof(path2), CAP * 512, 0x3c);
	dev_open("d0", path2, false, false, NULL, NULL);
	drive_up(BASE_FEATURES | (1ULL << VIRTIO_RING_F_INDIRECT_DESC));
	put_hdr(HDR, VIRTIO_BLK_T_IN, 10);
	gm_write(&gm, TABLE, tbl, sizeof(tbl));
	avail_add(add_desc(TABLE, sizeof(tbl), VRING_DESC_F_INDIRECT));
	kick();
	cr_assert_eq(used_idx(), 1);
	cr_assert_eq(used_len(0), 513);
	cr_assert_eq(status_of(0), 0);
	memset(pat, 0x3c, sizeof(pat));
	gm_read(&gm, out, DATA2, 512);
	cr_assert_arr_eq(out, pat, 512);
}

Test(blk, errors_answered_with_status)
{
	dev_open("d0", path, false, false, NULL, NULL);
	drive_up(BASE_FEATURES);
	fill(DATA2, 0xaa, 1024);
	submit(0, VIRTIO_BLK_T_IN, CAP - 1, DATA2, 1024); /* one past capacity */
	submit(1, VIRTIO_BLK_T_IN, UINT64_MAX, DATA2, 512);
	submit(2, VIRTIO_BLK_T_IN, 0, DATA2, 100);         /* not whole sectors */
	submit(3, VIRTIO_BLK_T_DISCARD, 0, DATA2, 512);    /* not offered */
	submit(4, VIRTIO_BLK_T_IN, CAP - 1, DATA2, 512);   /* last sector: fine */
	kick();
	cr_assert_eq(used_idx(), 5);
	for (unsigned i = 0; i < 4; i++) {
		cr_assert_eq(used_len(i), 1, "request %u", i);
		cr_assert_eq(status_of(i), i == 3 ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR,
			     "request %u", i);
	}
	cr_assert_eq(used_len(4), 513);
	cr_assert_eq(status_of(4), VIRTIO_BLK_S_OK);
	cr_assert_eq(b.stats.errors, 4);
	cr_assert_eq(b.stats.reads, 1);
	/* the queue keeps working and the device is fine */
	cr_assert_eq(reg_rd(VIRTIO_MMIO_STATUS), 0xf);
}

Test(blk, error_leaves_data_untouched)
{
	dev_open("d0", path, false, false, NULL, NULL);
	drive_up(BASE_FEATURES);
	fill(DATA2, 0xaa, 1024);
	submit(0, VIRTIO_BLK_T_IN, CAP - 1, DATA2, 1024);
	kick();
	cr_assert_eq(status_of(0), VIRTIO_BLK_S_IOERR);
	for (unsigned i = 0; i < 1024; i++)
		cr_assert_eq(rd8(DATA2 + i), 0xaa);
}

Test(blk, read_only_drive_refuses_writes)
{
	uint8_t disk[CAP * 512], pat[512];

	mkfile(path2, sizeof(path2), CAP * 512, 0x77);
	dev_open("ro", path2, true, false, NULL, NULL);
	drive_up(BASE_FEATURES);
	memset(pat, 0x11, sizeof(pat));
	gm_write(&gm, DATA, pat, 512);
	submit(0, VIRTIO_BLK_T_OUT, 0, DATA, 512);
	submit(1, VIRTIO_BLK_T_IN, 1, DATA2, 512);
	kick();
	cr_assert_eq(used_idx(), 2);
	cr_assert_eq(status_of(0), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(used_len(0), 1);
	cr_assert_eq(status_of(1), VIRTIO_BLK_S_OK);
	cr_assert_eq(rd8(DATA2 + 17), 0x77);
	file_read(path2, 0, disk, sizeof(disk));
	for (unsigned i = 0; i < sizeof(disk); i++)
		cr_assert_eq(disk[i], 0x77);
	cr_assert_eq(b.stats.writes, 0);
}

static void get_id(unsigned slot, uint32_t len)
{
	fill(DATA2 + 0x100 * slot, 0xff, 64);
	submit(slot, VIRTIO_BLK_T_GET_ID, 0, DATA2 + 0x100 * slot, len);
}

Test(blk, get_id_short_id_padded)
{
	uint8_t exp[20] = "drive0";

	dev_open("drive0", path, false, false, NULL, NULL);
	drive_up(BASE_FEATURES);
	get_id(0, 20);
	get_id(1, 64);
	get_id(2, 4);
	kick();
	cr_assert_eq(used_idx(), 3);
	cr_assert_eq(status_of(0), 0);
	cr_assert_eq(used_len(0), 21);
	cr_assert_arr_eq(gm_ptr(&gm, DATA2, 20), exp, 20);
	/* bigger buffer: still 20 bytes, the rest untouched */
	cr_assert_eq(used_len(1), 21);
	cr_assert_arr_eq(gm_ptr(&gm, DATA2 + 0x100, 20), exp, 20);
	cr_assert_eq(rd8(DATA2 + 0x100 + 20), 0xff);
	/* smaller buffer: truncated */
	cr_assert_eq(status_of(2), 0);
	cr_assert_eq(used_len(2), 5);
	cr_assert_arr_eq(gm_ptr(&gm, DATA2 + 0x200, 4), "driv", 4);
	cr_assert_eq(rd8(DATA2 + 0x200 + 4), 0xff);
}

Test(blk, get_id_long_id_not_terminated)
{
	dev_open("abcdefghijklmnopqrstuvwxyz", path, false, false, NULL, NULL);
	drive_up(BASE_FEATURES);
	get_id(0, 24);
	kick();
	cr_assert_eq(status_of(0), 0);
	cr_assert_eq(used_len(0), 21);
	cr_assert_arr_eq(gm_ptr(&gm, DATA2, 20), "abcdefghijklmnopqrst", 20);
	cr_assert_eq(rd8(DATA2 + 20), 0xff);
}

Test(blk, request_without_status_returned_with_len_0)
{
	dev_open("d0", path, false, false, NULL, NULL);
	drive_up(BASE_FEATURES);
	put_hdr(HDR, VIRTIO_BLK_T_IN, 0);
	avail_add(add_desc(HDR, 16, 0)); /* header only */
	submit(1, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	kick();
	cr_assert_eq(used_idx(), 2);
	cr_assert_eq(used_id(0), 0);
	cr_assert_eq(used_len(0), 0);
	cr_assert_eq(used_id(1), 1);
	cr_assert_eq(used_len(1), 1);
	cr_assert_eq(status_of(1), 0);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_STATUS), 0xf);
	cr_assert_eq(b.stats.errors, 1);
}

Test(blk, broken_queue_sets_needs_reset)
{
	dev_open("d0", path, false, false, NULL, NULL);
	drive_up(BASE_FEATURES);
	submit(0, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	wr16(AVAIL + 2, QSIZE + 1); /* index jump > queue size */
	kick();
	cr_assert_eq(used_idx(), 0);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_STATUS), 0xf | VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	/* the driver resets and starts over: everything works again */
	reg_wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_null(b.vq);
	memset(gm_ptr(&gm, AVAIL, 0x1000), 0, 0x1000);
	memset(gm_ptr(&gm, USED, 0x1000), 0, 0x1000);
	drive_up(BASE_FEATURES);
	submit(0, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	kick();
	cr_assert_eq(used_idx(), 1);
	cr_assert_eq(status_of(0), 0);
}

Test(blk, buffer_outside_ram_sets_needs_reset)
{
	dev_open("d0", path, false, false, NULL, NULL);
	drive_up(BASE_FEATURES);
	submit(0, VIRTIO_BLK_T_IN, 0, LAYOUT_VIRTIO_BASE, 512);
	submit(1, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	kick();
	cr_assert_eq(used_idx(), 0);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
		     VIRTIO_CONFIG_S_NEEDS_RESET);
	/* further kicks are not served */
	kick();
	cr_assert_eq(used_idx(), 0);
	cr_assert_eq(b.stats.flushes, 0);
}

Test(blk, driver_ok_without_queue_needs_reset)
{
	dev_open("d0", path, false, false, NULL, NULL);
	reg_wr(VIRTIO_MMIO_STATUS, 1);
	reg_wr(VIRTIO_MMIO_STATUS, 3);
	reg_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	reg_wr(VIRTIO_MMIO_STATUS, 0xb);
	reg_wr(VIRTIO_MMIO_STATUS, 0xf);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_STATUS), 0xf | VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_null(b.vq);
	kick();
}

Test(blk, event_idx_sets_avail_event)
{
	dev_open("d0", path, false, false, NULL, NULL);
	drive_up(BASE_FEATURES | (1ULL << VIRTIO_RING_F_EVENT_IDX));
	cr_assert(t.vqs[0].event_idx);
	submit(0, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	submit(1, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	kick();
	cr_assert_eq(used_idx(), 2);
	cr_assert_eq(rd16(USED + 4 + 8 * QSIZE), 2, "avail_event = next index to read");
	/* first interrupt is always sent */
	cr_assert_eq(reg_rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	reg_wr(VIRTIO_MMIO_INTERRUPT_ACK, 1);
	/* used_event = 5: the next completion (index 2 → 3) is not interesting */
	wr16(AVAIL + 4 + 2 * QSIZE, 5);
	submit(2, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	kick();
	cr_assert_eq(used_idx(), 3);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

Test(blk, rate_limited_request_waits_then_completes)
{
	struct token_bucket_cfg ops = { .size = 1, .refill_time_ms = 3600 * 1000 };
	struct token_bucket_cfg off = { 0 };
	struct vblk_update u = { .bw = &off, .ops = &off };

	dev_open("d0", path, false, false, NULL, &ops);
	drive_up(BASE_FEATURES);
	submit(0, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	submit(1, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	kick();
	cr_assert_eq(used_idx(), 1);
	cr_assert_eq(b.stats.throttled, 1);
	cr_assert(b.has_pending);
	kick();
	cr_assert_eq(used_idx(), 1);
	/* lifting the limit lets the pending request through on the next kick */
	cr_assert_eq(vmmio_locked_call(&t, vblk_update, &u), 0);
	kick();
	cr_assert_eq(used_idx(), 2);
	cr_assert_eq(used_id(1), 2);
	cr_assert_eq(status_of(1), 0);
	cr_assert_not(b.has_pending);
}

/* Snapshot of a paused VM with a throttled request: vmmio_save() lets the
 * device give it back (ops->quiesce), so the saved queue still offers it
 * and nothing of it was done; the live device then serves it normally. */
Test(blk, snapshot_gives_back_a_throttled_request)
{
	struct token_bucket_cfg ops = { .size = 1, .refill_time_ms = 3600 * 1000 };
	struct token_bucket_cfg off = { 0 };
	struct vblk_update u = { .bw = &off, .ops = &off };
	struct snap_vtransport_state ts;
	struct snap_vq_state vqs[VIRTIO_MAX_QUEUES];

	dev_open("d0", path, false, false, NULL, &ops);
	drive_up(BASE_FEATURES);
	submit(0, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	submit(1, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	fill(STATUS + 0x10, 0xff, 1); /* a status the device never wrote */
	kick();
	cr_assert_eq(used_idx(), 1);
	cr_assert(b.has_pending);
	vmmio_save(&t, &ts, vqs);
	cr_assert_not(b.has_pending, "the throttled chain was given back");
	cr_assert_eq(vqs[0].last_avail, 1, "the saved queue offers request 1 again");
	cr_assert_eq(vqs[0].used_idx, 1);
	cr_assert_eq(status_of(1), 0xff, "request 1 untouched");
	/* The original VM goes on: once the limit lifts, it is served once. */
	cr_assert_eq(vmmio_locked_call(&t, vblk_update, &u), 0);
	kick();
	cr_assert_eq(used_idx(), 2);
	cr_assert_eq(used_id(1), 2);
	cr_assert_eq(status_of(1), 0);
}

Test(blk, update_swaps_backing_file)
{
	uint8_t out[512], exp[512];
	char err[256] = "";
	struct vblk_update u = { .err = err, .errlen = sizeof(err) };
	uint32_t gen;

	dev_open("d0", path, false, false, NULL, NULL);
	drive_up(BASE_FEATURES);
	gen = reg_rd(VIRTIO_MMIO_CONFIG_GENERATION);
	submit(0, VIRTIO_BLK_T_IN, 200, DATA2, 512);
	kick();
	cr_assert_eq(status_of(0), VIRTIO_BLK_S_IOERR);

	mkfile(path2, sizeof(path2), 256 * 512, 0x42);
	u.path = path2;
	cr_assert_eq(vmmio_locked_call(&t, vblk_update, &u), 0);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_INTERRUPT_STATUS),
		     VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(cfg_capacity(), 256);
	cr_assert_eq(b.lim.capacity, 256);
	submit(1, VIRTIO_BLK_T_IN, 200, DATA2, 512);
	submit(2, VIRTIO_BLK_T_IN, 255, DATA2 + 0x1000, 1024);
	kick();
	cr_assert_eq(status_of(1), VIRTIO_BLK_S_OK);
	cr_assert_eq(status_of(2), VIRTIO_BLK_S_IOERR);
	memset(exp, 0x42, sizeof(exp));
	gm_read(&gm, out, DATA2, 512);
	cr_assert_arr_eq(out, exp, 512);

	/* a bad path changes nothing */
	u.path = "/nonexistent/femtovm.img";
	cr_assert_eq(vmmio_locked_call(&t, vblk_update, &u), -ENOENT);
	cr_assert_neq(err[0], 0);
	cr_assert_eq(cfg_capacity(), 256);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	submit(3, VIRTIO_BLK_T_IN, 255, DATA2, 512);
	kick();
	cr_assert_eq(status_of(3), VIRTIO_BLK_S_OK);
}

/* vblk_update's contract: on failure nothing changed, the limiter included. */
Test(blk, failed_update_keeps_rate_limiter)
{
	struct token_bucket_cfg bw = { .size = 4096, .refill_time_ms = 1000 };
	char err[256] = "";
	struct vblk_update u = { .path = "/nonexistent/femtovm.img", .bw = &bw, .ops = NULL,
				 .err = err, .errlen = sizeof(err) };

	dev_open("d0", path, false, false, NULL, NULL);
	cr_assert_not(rl_enabled(&b.rl));
	cr_assert_eq(vmmio_locked_call(&t, vblk_update, &u), -ENOENT);
	cr_assert_not(rl_enabled(&b.rl), "a failed PATCH installed its rate limiter anyway");
}

/* A request parsed against one backing file must not be executed against a
 * smaller one: a throttled OUT beyond the new capacity must fail, not grow
 * the new file. */
Test(blk, pending_request_rechecked_after_backing_swap)
{
	struct token_bucket_cfg ops = { .size = 1, .refill_time_ms = 3600 * 1000 };
	struct token_bucket_cfg off = { 0 };
	char err[256] = "";
	struct vblk_update u = { .bw = &off, .ops = &off, .err = err, .errlen = sizeof(err) };

	mkfile(path2, sizeof(path2), 256 * 512, 0);
	dev_open("d0", path2, false, false, NULL, &ops);
	drive_up(BASE_FEATURES);
	fill(DATA, 0x99, 512);
	submit(0, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	submit(1, VIRTIO_BLK_T_OUT, 200, DATA, 512);
	kick();
	cr_assert_eq(used_idx(), 1);
	cr_assert(b.has_pending);
	u.path = path; /* CAP = 128 sectors */
	cr_assert_eq(vmmio_locked_call(&t, vblk_update, &u), 0);
	kick();
	cr_assert_eq(used_idx(), 2);
	cr_assert_eq(file_size(path), CAP * 512, "the new backing file grew");
	cr_assert_eq(status_of(1), VIRTIO_BLK_S_IOERR);
}

Test(blk, reset_stops_the_device)
{
	dev_open("d0", path, false, false, NULL, NULL);
	drive_up(BASE_FEATURES);
	reg_wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_null(b.vq);
	cr_assert_null(b.t);
	submit(0, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
	kick();
	vblk_process(&b);
	cr_assert_eq(used_idx(), 0);
	cr_assert_eq(b.stats.flushes, 0);
}
