/* blk: a virtio-blk driver end to end (virtio 1.2 §3.1, §4.2, §2.7, §5.2)
 * on every virtio-mmio device of the command line. Per drive: capacity and
 * read-only flag from the configuration space, GET_ID, host-prepared sectors
 * read and checked, sectors written, read back and checked, a 64 KiB
 * multi-segment write + read, FLUSH, the error statuses the spec requires
 * (read past the end, write to a read-only drive, unknown request type) and
 * an optional burst of reads for rate-limiter checks. Completion by
 * interrupt (IOAPIC, edge) while halted; every wait bounded by PIT ticks.
 * Options (README.md): blk[<i>].write=<sector>:<byte>[,...],
 * blk[<i>].readcheck=<sector>:<byte>[,...], blk[<i>].multi=<sector>,
 * blk[<i>].ops=<n>, blk.qsize=<n>, indirect. */
#include "io.h"
#include "rt.h"
#include "vdrv.h"

const char rt_guest_name[] = "blk";

#define SECTOR 512u
#define MULTI_BYTES (64u * 1024u)
#define MULTI_SECTORS (MULTI_BYTES / SECTOR)

static uint8_t wbuf[MULTI_BYTES] __attribute__((aligned(4096), section(".noinit.blk")));
static uint8_t rbuf[MULTI_BYTES] __attribute__((aligned(4096), section(".noinit.blk")));

static int ndev;
static char prefix[16];
static bool failed;

/* Option "blk<i>.<name>" (with several drives), or "blk.<name>" for
 * drive 0. */
static int opt(unsigned i, const char *name, char *buf, size_t len)
{
	char key[48];
	int n = 0;

	key[n++] = 'b';
	key[n++] = 'l';
	key[n++] = 'k';
	if (ndev > 1) {
		int m = n;
		if (i >= 10)
			key[m++] = (char)('0' + i / 10);
		key[m++] = (char)('0' + i % 10);
		key[m++] = '.';
		for (const char *s = name; *s && m < 46; s++)
			key[m++] = *s;
		key[m] = 0;
		if (!rt_cmdline_get(key, buf, len))
			return 0;
		if (i > 0)
			return -1;
	}
	key[n++] = '.';
	for (const char *s = name; *s && n < 46; s++)
		key[n++] = *s;
	key[n] = 0;
	return rt_cmdline_get(key, buf, len);
}

static uint64_t pattern64(uint8_t b)
{
	return 0x0101010101010101ULL * b;
}

/* First offset in [0, len) where p differs from byte b, or -1. Compares
 * 8 bytes at a time: every guest instruction is emulated here. */
static long check_fill(const uint8_t *p, uint32_t len, uint8_t b)
{
	const uint64_t *q = (const uint64_t *)p;
	uint64_t want = pattern64(b);

	for (uint32_t i = 0; i < len / 8; i++)
		if (q[i] != want) {
			for (uint32_t j = i * 8;; j++)
				if (p[j] != b)
					return (long)j;
		}
	return -1;
}

static int rw(struct vd *d, bool write, uint64_t sector, uint8_t *buf,
	      uint32_t bytes, unsigned segs, uint32_t *len)
{
	struct vd_seg s[64];
	uint32_t per = bytes / segs;

	for (unsigned i = 0; i < segs; i++)
		s[i] = (struct vd_seg){ (uint64_t)buf + i * per, per, !write };
	return vd_blk(d, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector,
		      s, segs, len);
}

/* Reports a request that did not complete (timeout / NEEDS_RESET). */
static bool lost(int st, const char *what)
{
	if (st >= 0)
		return false;
	rt_printf("%s: %s %s\n", prefix, what,
		  st == -1 ? "timeout" : "device needs reset");
	failed = true;
	return true;
}

static void read_check(struct vd *d, uint64_t sector, uint8_t b)
{
	uint32_t len = 0;
	int st;

	memset(rbuf, (uint8_t)~b, SECTOR);
	st = rw(d, false, sector, rbuf, SECTOR, 1, &len);
	if (lost(st, "read"))
		return;
	if (st) {
		rt_printf("%s: read sector %lu status=%d\n", prefix, sector, st);
		return;
	}
	long off = check_fill(rbuf, SECTOR, b);
	if (off >= 0 || len != SECTOR + 1)
		rt_printf("%s: read sector %lu mismatch at %ld: 0x%x != 0x%x len=%u\n",
			  prefix, sector, off, off >= 0 ? rbuf[off] : b, b, len);
	else
		rt_printf("%s: read sector %lu ok\n", prefix, sector);
}

static void write_sector(struct vd *d, uint64_t sector, uint8_t b)
{
	uint32_t len = 0;
	int st;

	memset(wbuf, b, SECTOR);
	st = rw(d, true, sector, wbuf, SECTOR, 1, &len);
	if (lost(st, "write"))
		return;
	if (st) {
		rt_printf("%s: write sector %lu status=%d\n", prefix, sector, st);
		return;
	}
	rt_printf("%s: write sector %lu ok\n", prefix, sector);
	read_check(d, sector, b);
}

/* "s:b,s:b": calls fn(d, s, b) for each pair. */
static void each_pair(struct vd *d, const char *list,
		      void (*fn)(struct vd *, uint64_t, uint8_t))
{
	const char *p = list;

	while (*p) {
		uint64_t s, b;

		p = rt_parse_num(p, &s);
		if (*p++ != ':')
			break;
		p = rt_parse_num(p, &b);
		fn(d, s, (uint8_t)b);
		if (*p != ',')
			break;
		p++;
	}
}

/* 64 KiB at sector s, sector k filled with 0x40 + k, in segs buffers. */
static void multi(struct vd *d, uint64_t s, unsigned segs)
{
	uint32_t len = 0;
	int st;

	for (unsigned k = 0; k < MULTI_SECTORS; k++)
		memset(wbuf + k * SECTOR, (uint8_t)(0x40 + k), SECTOR);
	st = rw(d, true, s, wbuf, MULTI_BYTES, segs, &len);
	if (lost(st, "write 64k"))
		return;
	if (st) {
		rt_printf("%s: write 64k at sector %lu status=%d\n", prefix, s, st);
		return;
	}
	rt_printf("%s: write 64k at sector %lu segs=%u ok\n", prefix, s, segs);
	memset(rbuf, 0, MULTI_BYTES);
	st = rw(d, false, s, rbuf, MULTI_BYTES, segs, &len);
	if (lost(st, "read 64k"))
		return;
	if (st) {
		rt_printf("%s: read 64k at sector %lu status=%d\n", prefix, s, st);
		return;
	}
	for (unsigned k = 0; k < MULTI_SECTORS; k++) {
		long off = check_fill(rbuf + k * SECTOR, SECTOR, (uint8_t)(0x40 + k));
		if (off >= 0) {
			rt_printf("%s: read 64k at sector %lu mismatch at %lu\n",
				  prefix, s, k * SECTOR + (unsigned long)off);
			return;
		}
	}
	if (len != MULTI_BYTES + 1)
		rt_printf("%s: read 64k at sector %lu used len=%u\n", prefix, s, len);
	else
		rt_printf("%s: read 64k at sector %lu segs=%u ok\n", prefix, s, segs);
}

static int simple(struct vd *d, uint32_t type, uint64_t sector,
		  const struct vd_seg *data, unsigned n, const char *what)
{
	uint32_t len;
	int st = vd_blk(d, type, sector, data, n, &len);

	if (lost(st, what))
		return -1;
	return st;
}

static void get_id(struct vd *d)
{
	struct vd_seg s = { (uint64_t)d->scratch, VIRTIO_BLK_ID_BYTES, true };
	char id[VIRTIO_BLK_ID_BYTES + 1];

	memset((void *)d->scratch, 0, VIRTIO_BLK_ID_BYTES);
	int st = simple(d, VIRTIO_BLK_T_GET_ID, 0, &s, 1, "get id");
	if (st < 0)
		return;
	if (st) {
		rt_printf("%s: id status=%d\n", prefix, st);
		return;
	}
	memcpy(id, (const void *)d->scratch, VIRTIO_BLK_ID_BYTES);
	id[VIRTIO_BLK_ID_BYTES] = 0;
	rt_printf("%s: id=%s\n", prefix, id);
}

static void drive(struct vd *d, uint16_t qsize)
{
	uint64_t want = (1ULL << VIRTIO_F_VERSION_1) |
			(1ULL << VIRTIO_BLK_F_SEG_MAX) |
			(1ULL << VIRTIO_BLK_F_BLK_SIZE) |
			(1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_RO) |
			(1ULL << VIRTIO_RING_F_EVENT_IDX);
	char v[512];

	if (rt_cmdline_has("indirect"))
		want |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (vd_init(d, want, qsize, prefix)) {
		failed = true;
		return;
	}
	uint64_t cap = vd_cfg64(d, 0);
	bool ro = d->acked & (1ULL << VIRTIO_BLK_F_RO);
	uint32_t seg_max = d->acked & (1ULL << VIRTIO_BLK_F_SEG_MAX) ?
			   vd_cfg32(d, 12) : 1;
	rt_printf("%s: capacity=%lu\n", prefix, cap);
	rt_printf("%s: ro=%d\n", prefix, ro);
	rt_printf("%s: features=0x%lx qsize=%u seg_max=%u blk_size=%u\n", prefix,
		  d->acked, d->qsize, seg_max,
		  d->acked & (1ULL << VIRTIO_BLK_F_BLK_SIZE) ? vd_cfg32(d, 20) : 0);
	get_id(d);

	if (!opt(d->idx, "readcheck", v, sizeof(v)))
		each_pair(d, v, read_check);
	if (!opt(d->idx, "write", v, sizeof(v)))
		each_pair(d, v, write_sector);
	if (!opt(d->idx, "multi", v, sizeof(v))) {
		uint64_t s;
		unsigned segs = 16;

		rt_parse_num(v, &s);
		/* A chain, indirect or not, is at most the queue size long
		 * (§2.7.5.3.1); data segments at most seg_max (§5.2.4). */
		while (segs > 1 && (segs + 2u > d->qsize || segs > seg_max))
			segs /= 2;
		multi(d, s, segs);
	}

	int st;
	if (d->acked & (1ULL << VIRTIO_BLK_F_FLUSH)) {
		st = simple(d, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, "flush");
		if (st == 0)
			rt_printf("%s: flush ok\n", prefix);
		else if (st > 0)
			rt_printf("%s: flush status=%d\n", prefix, st);
	} else {
		rt_printf("%s: flush not offered\n", prefix);
	}

	struct vd_seg one = { (uint64_t)rbuf, SECTOR, true };
	st = simple(d, VIRTIO_BLK_T_IN, cap, &one, 1, "read past end");
	if (st >= 0)
		rt_printf("%s: read past end status=%d\n", prefix, st);

	if (ro) {
		/* A driver must not do this (§5.2.6.1); the device must fail it. */
		struct vd_seg w = { (uint64_t)wbuf, SECTOR, false };
		memset(wbuf, 0xee, SECTOR);
		st = simple(d, VIRTIO_BLK_T_OUT, 0, &w, 1, "write on read-only");
		if (st >= 0)
			rt_printf("%s: write on read-only status=%d\n", prefix, st);
	}

	st = simple(d, 0x7f, 0, NULL, 0, "unsupported type");
	if (st >= 0)
		rt_printf("%s: unsupported type status=%d\n", prefix, st);

	uint64_t nops = 0;
	if (!opt(d->idx, "ops", v, sizeof(v)))
		rt_parse_num(v, &nops);
	if (nops) {
		uint32_t t0 = rt_ticks, bad = 0;
		for (uint64_t i = 0; i < nops; i++) {
			uint32_t len;
			st = rw(d, false, 0, rbuf, SECTOR, 1, &len);
			if (lost(st, "burst read"))
				return;
			if (st)
				bad++;
		}
		rt_printf("%s: %lu reads in %u ms errors=%u\n", prefix, nops,
			  (rt_ticks - t0) * RT_TICK_MS, bad);
	}
	rt_printf("%s: irqs=%u\n", prefix, d->irqs);
}

void guest_main(const struct boot_info *bi)
{
	rt_pit_start();
	ndev = vd_discover();
	rt_puts("blk: cmdline=");	/* unbounded: rt_printf stops at 256 */
	rt_puts(bi->cmdline);
	rt_putc('\n');
	rt_printf("blk: devices=%d\n", ndev);
	cpu_sti();
	uint16_t qsize = (uint16_t)rt_cmdline_u64("blk.qsize", 256);
	for (int i = 0; i < ndev; i++) {
		if (ndev == 1) {
			memcpy(prefix, "blk", 4);
		} else {
			prefix[0] = 'b'; prefix[1] = 'l'; prefix[2] = 'k';
			int n = 3;
			if (i >= 10)
				prefix[n++] = (char)('0' + i / 10);
			prefix[n++] = (char)('0' + i % 10);
			prefix[n] = 0;
		}
		drive(&vd_devs[i], qsize);
	}
	/* Reset every device (§3.1.1 step 1 / §4.2.3.1) before leaving. */
	for (int i = 0; i < ndev; i++)
		vd_set_status(&vd_devs[i], 0);
	cpu_cli();
	rt_pit_stop();
	if (failed)
		rt_printf("blk: FAIL\n");
	rt_printf("blk: done\n");
	guest_reset();
}
