/* Unit tests for split virtqueues (virtio 1.2 §2.7) with rings built by
 * hand in guest memory: ring geometry checks, the descriptor-chain walk
 * against every hostile layout (loops, bad indices, order, addresses,
 * indirect tables), the used ring and notification suppression, and the
 * dirty marking of what the device writes (Diff snapshots). */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/virtio_ring.h>
#include <string.h>

#include "virtio/virtqueue.h"
#include "vmm/guest_mem.h"
#include "vmm/layout.h"
#include "vmm/util.h"

#define RAM (2ULL << 20)
#define DESC 0x1000ULL
#define AVAIL 0x2000ULL
#define USED 0x3000ULL
#define DATA 0x10000ULL
#define TABLE 0x8000ULL /* indirect tables */

static struct guest_mem gm;
static struct virtqueue vq;
static struct vq_chain ch;
static uint16_t avail_idx;

static void setup(void)
{
	cr_assert_eq(gm_init(&gm, RAM), 0);
	avail_idx = 0;
	memset(&ch, 0, sizeof(ch));
}

static void teardown(void)
{
	gm_destroy(&gm);
}

TestSuite(vq, .init = setup, .fini = teardown);

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

static void put_desc(gpa_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct vring_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	cr_assert_eq(gm_write(&gm, table + 16ULL * i, &d, sizeof(d)), 0);
}

static void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	put_desc(DESC, i, addr, len, flags, next);
}

/* Publish @head in the avail ring and bump the index. */
static void avail_add(uint16_t head)
{
	wr16(AVAIL + 4 + 2ULL * (avail_idx % vq.size), head);
	avail_idx++;
	wr16(AVAIL + 2, avail_idx);
}

static void mkvq(uint16_t size, bool indirect, bool event_idx)
{
	vq_reset(&vq, 256);
	vq.size = size;
	vq.desc_gpa = DESC;
	vq.avail_gpa = AVAIL;
	vq.used_gpa = USED;
	vq.indirect = indirect;
	vq.event_idx = event_idx;
	cr_assert_eq(vq_activate(&vq, &gm, 256), 0);
}

static int geom(uint16_t size, uint16_t max, gpa_t d, gpa_t a, gpa_t u)
{
	vq_reset(&vq, max);
	vq.size = size;
	vq.desc_gpa = d;
	vq.avail_gpa = a;
	vq.used_gpa = u;
	return vq_activate(&vq, &gm, max);
}

/* ---- vq_activate geometry ---- */

Test(vq, reset_sets_max_and_not_ready)
{
	memset(&vq, 0xa5, sizeof(vq));
	vq_reset(&vq, 128);
	cr_assert_eq(vq.size, 128);
	cr_assert_not(vq.ready);
	cr_assert_eq(vq.desc_gpa, 0);
	cr_assert_eq(vq.last_avail, 0);
	cr_assert_eq(vq.used_idx, 0);
	cr_assert_not(vq.broken);
}

Test(vq, activate_size_rules)
{
	cr_assert_eq(geom(0, 256, DESC, AVAIL, USED), -EINVAL);
	cr_assert_eq(geom(3, 256, DESC, AVAIL, USED), -EINVAL);
	cr_assert_eq(geom(6, 256, DESC, AVAIL, USED), -EINVAL);
	cr_assert_eq(geom(255, 256, DESC, AVAIL, USED), -EINVAL);
	cr_assert_eq(geom(512, 256, DESC, AVAIL, USED), -EINVAL);
	cr_assert_eq(geom(0x8000, 256, DESC, AVAIL, USED), -EINVAL);
	cr_assert_eq(geom(256, 128, DESC, AVAIL, USED), -EINVAL);
	cr_assert_eq(geom(1, 256, DESC, AVAIL, USED), 0);
	cr_assert_eq(geom(128, 128, DESC, AVAIL, USED), 0);
	cr_assert_eq(geom(256, 256, DESC, AVAIL, USED), 0);
	cr_assert_eq(vq.gm, &gm);
	cr_assert_eq((void *)vq.desc, gm_ptr(&gm, DESC, 1));
	cr_assert_eq((void *)vq.avail, gm_ptr(&gm, AVAIL, 1));
	cr_assert_eq((void *)vq.used, gm_ptr(&gm, USED, 1));
}

Test(vq, activate_alignment_rules)
{
	/* §2.7: descriptor table 16, avail 2, used 4 bytes */
	cr_assert_eq(geom(8, 256, DESC + 8, AVAIL, USED), -EINVAL);
	cr_assert_eq(geom(8, 256, DESC + 1, AVAIL, USED), -EINVAL);
	cr_assert_eq(geom(8, 256, DESC, AVAIL + 1, USED), -EINVAL);
	cr_assert_eq(geom(8, 256, DESC, AVAIL, USED + 2), -EINVAL);
	cr_assert_eq(geom(8, 256, DESC, AVAIL, USED + 1), -EINVAL);
	cr_assert_eq(geom(8, 256, DESC + 16, AVAIL + 2, USED + 4), 0);
}

Test(vq, activate_rings_inside_ram)
{
	uint16_t n = 16;

	/* descriptor table: 16 * n bytes */
	cr_assert_eq(geom(n, 256, RAM - 16 * n, AVAIL, USED), 0);
	cr_assert_eq(geom(n, 256, RAM - 16 * n + 16, AVAIL, USED), -EINVAL);
	/* avail: flags, idx, ring[n], used_event = 6 + 2n bytes */
	cr_assert_eq(geom(n, 256, DESC, RAM - (6 + 2 * n), USED), 0);
	cr_assert_eq(geom(n, 256, DESC, RAM - (4 + 2 * n), USED), -EINVAL,
		     "used_event must be inside RAM too");
	/* used: flags, idx, ring[n] of 8 bytes, avail_event = 6 + 8n bytes */
	cr_assert_eq(geom(n, 256, DESC, AVAIL, RAM - (8 + 8 * n)), 0);
	cr_assert_eq(geom(n, 256, DESC, AVAIL, RAM - (4 + 8 * n)), -EINVAL,
		     "avail_event must be inside RAM too");
	/* entirely outside, in the MMIO hole, wrapping */
	cr_assert_eq(geom(n, 256, RAM, AVAIL, USED), -EINVAL);
	cr_assert_eq(geom(n, 256, LAYOUT_VIRTIO_BASE, AVAIL, USED), -EINVAL);
	cr_assert_eq(geom(n, 256, DESC, LAYOUT_MMIO_HOLE, USED), -EINVAL);
	cr_assert_eq(geom(n, 256, DESC, AVAIL, LAYOUT_IOAPIC), -EINVAL);
	cr_assert_eq(geom(n, 256, 0xfffffffffffffff0ULL, AVAIL, USED), -EINVAL);
	cr_assert_eq(geom(n, 256, DESC, 0xfffffffffffffffeULL, USED), -EINVAL);
	cr_assert_eq(geom(n, 256, DESC, AVAIL, 0xfffffffffffffffcULL), -EINVAL);
}

/* ---- vq_pop: direct chains ---- */

Test(vq, pop_empty)
{
	mkvq(8, false, false);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EMPTY);
	cr_assert_eq(vq.last_avail, 0);
	cr_assert_not(vq.broken);
}

Test(vq, pop_single_readable)
{
	mkvq(8, false, false);
	desc(5, DATA, 100, 0, 0);
	avail_add(5);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	cr_assert_eq(ch.head, 5);
	cr_assert_eq(ch.nbufs, 1);
	cr_assert_eq(ch.nread, 1);
	cr_assert_eq(ch.read_len, 100);
	cr_assert_eq(ch.write_len, 0);
	cr_assert_eq(ch.bufs[0].addr, DATA);
	cr_assert_eq(ch.bufs[0].len, 100);
	cr_assert_not(ch.bufs[0].write);
	cr_assert_eq(vq.last_avail, 1);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EMPTY);
}

Test(vq, pop_readable_then_writable)
{
	mkvq(8, false, false);
	desc(2, DATA, 16, VRING_DESC_F_NEXT, 7);
	desc(7, DATA + 0x100, 512, VRING_DESC_F_NEXT, 0);
	desc(0, DATA + 0x1000, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
	desc(3, DATA + 0x2000, 1, VRING_DESC_F_WRITE, 6 /* ignored without NEXT */);
	avail_add(2);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	cr_assert_eq(ch.head, 2);
	cr_assert_eq(ch.nbufs, 4);
	cr_assert_eq(ch.nread, 2);
	cr_assert_eq(ch.read_len, 528);
	cr_assert_eq(ch.write_len, 513);
	cr_assert_eq(ch.bufs[1].addr, DATA + 0x100);
	cr_assert_eq(ch.bufs[2].addr, DATA + 0x1000);
	cr_assert(ch.bufs[2].write);
	cr_assert_eq(ch.bufs[3].addr, DATA + 0x2000);
	cr_assert_eq(ch.bufs[3].len, 1);
	cr_assert(ch.bufs[3].write);
}

Test(vq, pop_several_in_order)
{
	mkvq(4, false, false);
	for (uint16_t i = 0; i < 4; i++) {
		desc(i, DATA + 0x100 * i, 10 + i, VRING_DESC_F_WRITE, 0);
		avail_add(3 - i);
	}
	for (uint16_t i = 0; i < 4; i++) {
		cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
		cr_assert_eq(ch.head, 3 - i);
		cr_assert_eq(ch.write_len, 10 + 3 - i);
		cr_assert_eq(ch.nread, 0);
	}
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EMPTY);
}

Test(vq, pop_readable_after_writable_is_order_error)
{
	mkvq(8, false, false);
	desc(0, DATA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	desc(1, DATA + 0x100, 16, 0, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EORDER);
	cr_assert(vq.broken);
	cr_assert_eq(vq.last_avail, 0);
	/* stays broken even for a valid chain */
	desc(1, DATA + 0x100, 16, VRING_DESC_F_WRITE, 0);
	desc(2, DATA, 16, 0, 0);
	avail_add(2);
	cr_assert_lt(vq_pop(&vq, &ch), 0);
	cr_assert(vq.broken);
}

Test(vq, pop_self_loop)
{
	mkvq(8, false, false);
	desc(4, DATA, 16, VRING_DESC_F_NEXT, 4);
	avail_add(4);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_ELOOP);
	cr_assert(vq.broken);
}

Test(vq, pop_cycle_back_to_head)
{
	mkvq(8, false, false);
	desc(1, DATA, 16, VRING_DESC_F_NEXT, 2);
	desc(2, DATA, 16, VRING_DESC_F_NEXT, 3);
	desc(3, DATA, 16, VRING_DESC_F_NEXT, 1);
	avail_add(1);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_ELOOP);
	cr_assert_leq(ch.nbufs, 8);
}

Test(vq, pop_chain_of_exactly_size_ok_longer_is_loop)
{
	mkvq(4, false, false);
	for (uint16_t i = 0; i < 4; i++)
		desc(i, DATA + 0x10 * i, 16, i < 3 ? VRING_DESC_F_NEXT : 0, i + 1);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	cr_assert_eq(ch.nbufs, 4);
	cr_assert_eq(ch.read_len, 64);
	/* the same descriptors, but the last one points back to the first */
	desc(3, DATA + 0x30, 16, VRING_DESC_F_NEXT, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_ELOOP);
	cr_assert_eq(vq.last_avail, 1);
}

Test(vq, pop_next_out_of_range)
{
	mkvq(8, false, false);
	desc(0, DATA, 16, VRING_DESC_F_NEXT, 8);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EBADHEAD);
	cr_assert(vq.broken);

	mkvq(8, false, false);
	avail_idx = 0;
	desc(0, DATA, 16, VRING_DESC_F_NEXT, 0xffff);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EBADHEAD);
}

Test(vq, pop_head_out_of_range)
{
	mkvq(8, false, false);
	avail_add(8);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EBADHEAD);
	cr_assert(vq.broken);
	cr_assert_eq(vq.last_avail, 0);

	mkvq(8, false, false);
	avail_idx = 0;
	avail_add(0xffff);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EBADHEAD);
}

Test(vq, pop_avail_index_jump)
{
	mkvq(8, false, false);
	for (uint16_t i = 0; i < 8; i++)
		desc(i, DATA, 16, 0, 0);
	/* exactly size entries is fine */
	for (uint16_t i = 0; i < 8; i++)
		avail_add(i);
	for (uint16_t i = 0; i < 8; i++)
		cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EMPTY);
	/* size + 1 new entries at once is a lie */
	wr16(AVAIL + 2, 8 + 9);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EBADIDX);
	cr_assert(vq.broken);
	cr_assert_eq(vq.last_avail, 8);
	/* the queue stays broken even when the index is made sane again */
	wr16(AVAIL + 2, 9);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EBADIDX);
	wr16(AVAIL + 2, 8);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EBADIDX);
}

Test(vq, pop_avail_index_moving_backwards)
{
	mkvq(8, false, false);
	desc(0, DATA, 16, 0, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	wr16(AVAIL + 2, 0); /* 0 - 1 = 0xffff entries */
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EBADIDX);
}

Test(vq, pop_avail_index_wraps)
{
	mkvq(8, false, false);
	vq.last_avail = 0xfffe;
	avail_idx = 0xfffe;
	desc(1, DATA, 16, 0, 0);
	desc(2, DATA, 32, 0, 0);
	desc(3, DATA, 48, 0, 0);
	avail_add(1); /* slot 0xfffe % 8 = 6 */
	avail_add(2); /* slot 7 */
	avail_add(3); /* slot 0, idx wraps to 1 */
	cr_assert_eq(rd16(AVAIL + 2), 1);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	cr_assert_eq(ch.head, 1);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	cr_assert_eq(ch.head, 2);
	cr_assert_eq(vq.last_avail, 0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	cr_assert_eq(ch.head, 3);
	cr_assert_eq(ch.read_len, 48);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EMPTY);
}

Test(vq, pop_buffer_addresses)
{
	/* ending exactly at the end of RAM is fine */
	mkvq(8, false, false);
	desc(0, RAM - 512, 512, 0, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	cr_assert_eq(ch.bufs[0].addr, RAM - 512);

	/* one byte past */
	desc(0, RAM - 512, 513, 0, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EBADADDR);
	cr_assert(vq.broken);
}

Test(vq, pop_buffer_outside_ram)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
	} bad[] = {
		{ RAM, 1 },
		{ LAYOUT_VIRTIO_BASE, 4 },
		{ LAYOUT_MMIO_HOLE, 0x1000 },
		{ 0xffffffffffffff00ULL, 0x200 }, /* wraps */
		{ 0xffffffffffffffffULL, 1 },
		{ 0, 0xffffffff },
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mkvq(8, false, false);
		avail_idx = 0;
		desc(0, DATA, 16, VRING_DESC_F_NEXT, 1);
		desc(1, bad[i].addr, bad[i].len, VRING_DESC_F_WRITE, 0);
		avail_add(0);
		cr_assert_eq(vq_pop(&vq, &ch), VQ_EBADADDR, "case %u", i);
		cr_assert(vq.broken);
	}
}

Test(vq, pop_buffer_crossing_into_mmio_hole)
{
	struct guest_mem big;
	struct virtqueue q;
	struct vring_desc d = { .addr = LAYOUT_MMIO_HOLE - 0x100, .len = 0x200 };
	uint16_t idx = 1;

	/* 3 GiB + 1 MiB: RAM below the hole and 1 MiB at 4 GiB (lazily mapped) */
	cr_assert_eq(gm_init(&big, LAYOUT_MMIO_HOLE + MIB(1)), 0);
	cr_assert_eq(big.nr_regions, 2);
	vq_reset(&q, 8);
	q.desc_gpa = DESC;
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	cr_assert_eq(vq_activate(&q, &big, 8), 0);
	gm_write(&big, DESC, &d, sizeof(d));
	gm_write(&big, AVAIL + 2, &idx, 2);
	cr_assert_eq(vq_pop(&q, &ch), VQ_EBADADDR);

	/* high RAM works, and a buffer crossing its end does not */
	vq_reset(&q, 8);
	q.desc_gpa = DESC;
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	cr_assert_eq(vq_activate(&q, &big, 8), 0);
	d.addr = LAYOUT_MMIO_HOLE_END + MIB(1) - 0x200;
	gm_write(&big, DESC, &d, sizeof(d));
	cr_assert_eq(vq_pop(&q, &ch), VQ_OK);
	cr_assert_eq(ch.bufs[0].addr, LAYOUT_MMIO_HOLE_END + MIB(1) - 0x200);
	d.len = 0x201;
	gm_write(&big, DESC, &d, sizeof(d));
	idx = 2;
	gm_write(&big, AVAIL + 2, &idx, 2);
	cr_assert_eq(vq_pop(&q, &ch), VQ_EBADADDR);
	/* rings in high RAM */
	vq_reset(&q, 8);
	q.desc_gpa = LAYOUT_MMIO_HOLE_END;
	q.avail_gpa = LAYOUT_MMIO_HOLE_END + 0x1000;
	q.used_gpa = LAYOUT_MMIO_HOLE_END + 0x2000;
	cr_assert_eq(vq_activate(&q, &big, 8), 0);
	/* a ring straddling the hole */
	vq_reset(&q, 8);
	q.desc_gpa = LAYOUT_MMIO_HOLE - 0x40;
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	cr_assert_eq(vq_activate(&q, &big, 8), -EINVAL);
	gm_destroy(&big);
}

Test(vq, pop_zero_length_buffers)
{
	mkvq(8, false, false);
	desc(0, DATA, 0, VRING_DESC_F_NEXT, 1);
	desc(1, DATA + 0x100, 16, VRING_DESC_F_NEXT, 2);
	desc(2, RAM, 0, VRING_DESC_F_WRITE, 0); /* empty, at the very end */
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	cr_assert_eq(ch.nbufs, 3);
	cr_assert_eq(ch.nread, 2);
	cr_assert_eq(ch.read_len, 16);
	cr_assert_eq(ch.write_len, 0);
	cr_assert_eq(ch.bufs[0].len, 0);
	cr_assert_eq(ch.bufs[2].len, 0);
	cr_assert(ch.bufs[2].write);
}

/* ---- indirect tables (§2.7.5.3) ---- */

Test(vq, indirect_valid)
{
	mkvq(8, true, false);
	put_desc(TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 2);
	put_desc(TABLE, 2, DATA + 0x100, 1024, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	put_desc(TABLE, 1, DATA + 0x1000, 1, VRING_DESC_F_WRITE, 0);
	/* the WRITE flag on the descriptor naming the table is ignored (§2.7.5.3.2) */
	desc(6, TABLE, 3 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	avail_add(6);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	cr_assert_eq(ch.head, 6);
	cr_assert_eq(ch.nbufs, 3);
	cr_assert_eq(ch.nread, 1);
	cr_assert_eq(ch.read_len, 16);
	cr_assert_eq(ch.write_len, 1025);
	cr_assert_eq(ch.bufs[0].addr, DATA);
	cr_assert_eq(ch.bufs[1].addr, DATA + 0x100);
	cr_assert_eq(ch.bufs[2].addr, DATA + 0x1000);
	cr_assert_eq(vq.last_avail, 1);
}

Test(vq, indirect_without_feature)
{
	mkvq(8, false, false);
	put_desc(TABLE, 0, DATA, 16, 0, 0);
	desc(0, TABLE, 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EINDIRECT);
	cr_assert(vq.broken);
}

Test(vq, indirect_bad_length)
{
	static const uint32_t lens[] = { 0, 8, 24, 15, 17 };

	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		mkvq(8, true, false);
		avail_idx = 0;
		put_desc(TABLE, 0, DATA, 16, 0, 0);
		desc(0, TABLE, lens[i], VRING_DESC_F_INDIRECT, 0);
		avail_add(0);
		cr_assert_eq(vq_pop(&vq, &ch), VQ_EINDIRECT, "len %u", lens[i]);
	}
}

Test(vq, indirect_nested)
{
	mkvq(8, true, false);
	put_desc(TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	put_desc(TABLE, 1, TABLE + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
	put_desc(TABLE + 0x100, 0, DATA, 16, 0, 0);
	desc(0, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EINDIRECT);
}

Test(vq, indirect_with_next)
{
	mkvq(8, true, false);
	put_desc(TABLE, 0, DATA, 16, 0, 0);
	desc(0, TABLE, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	desc(1, DATA + 0x100, 1, VRING_DESC_F_WRITE, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EINDIRECT);
}

Test(vq, indirect_in_middle_of_chain)
{
	mkvq(8, true, false);
	put_desc(TABLE, 0, DATA + 0x200, 16, 0, 0);
	desc(0, DATA, 16, VRING_DESC_F_NEXT, 1);
	desc(1, TABLE, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 2);
	desc(2, DATA + 0x100, 1, VRING_DESC_F_WRITE, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EINDIRECT);
}

/* §2.7.5.3.2: "The device MUST handle the case of zero or more normal
 * chained descriptors followed by a single descriptor with
 * flags&VIRTQ_DESC_F_INDIRECT." */
Test(vq, indirect_last_after_direct_descriptors)
{
	mkvq(8, true, false);
	put_desc(TABLE, 0, DATA + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	put_desc(TABLE, 1, DATA + 0x400, 1, VRING_DESC_F_WRITE, 0);
	desc(3, DATA, 16, VRING_DESC_F_NEXT, 4);
	desc(4, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	avail_add(3);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	cr_assert_eq(ch.head, 3);
	cr_assert_eq(ch.nbufs, 3);
	cr_assert_eq(ch.nread, 1);
	cr_assert_eq(ch.read_len, 16);
	cr_assert_eq(ch.write_len, 513);
	cr_assert_eq(ch.bufs[0].addr, DATA);
	cr_assert_eq(ch.bufs[1].addr, DATA + 0x100);
	cr_assert_eq(ch.bufs[2].addr, DATA + 0x400);
}

Test(vq, indirect_after_writable_keeps_order_rule)
{
	mkvq(8, true, false);
	put_desc(TABLE, 0, DATA + 0x100, 16, 0, 0); /* readable after a writable */
	desc(0, DATA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	desc(1, TABLE, 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	cr_assert_lt(vq_pop(&vq, &ch), 0);
	cr_assert(vq.broken);
}

Test(vq, indirect_table_loop)
{
	mkvq(8, true, false);
	put_desc(TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	put_desc(TABLE, 1, DATA, 16, VRING_DESC_F_NEXT, 0);
	desc(0, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_ELOOP);
	cr_assert(vq.broken);

	mkvq(8, true, false);
	avail_idx = 0;
	put_desc(TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 0);
	desc(0, TABLE, 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_ELOOP);
}

Test(vq, indirect_table_next_out_of_range)
{
	mkvq(8, true, false);
	put_desc(TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 2); /* table has 2 entries */
	put_desc(TABLE, 1, DATA, 16, 0, 0);
	desc(0, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EBADHEAD);
}

Test(vq, indirect_table_outside_ram)
{
	mkvq(8, true, false);
	desc(0, RAM - 16, 32, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EBADADDR);

	mkvq(8, true, false);
	avail_idx = 0;
	desc(0, 0xfffffffffffffff0ULL, 32, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EBADADDR);

	/* a table entry pointing outside RAM */
	mkvq(8, true, false);
	avail_idx = 0;
	put_desc(TABLE, 0, LAYOUT_VIRTIO_BASE, 16, 0, 0);
	desc(0, TABLE, 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EBADADDR);
}

Test(vq, indirect_table_longer_than_queue)
{
	/* a chain, indirect or not, is at most the queue size (§2.7.5.3.1) */
	mkvq(4, true, false);
	for (uint16_t i = 0; i < 8; i++)
		put_desc(TABLE, i, DATA, 16, i < 7 ? VRING_DESC_F_NEXT : 0, i + 1);
	desc(0, TABLE, 8 * 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_ELOOP);

	/* 4 entries in a size-4 queue is fine; unchained entries are not read */
	mkvq(4, true, false);
	avail_idx = 0;
	put_desc(TABLE, 3, DATA, 16, 0, 0);
	desc(0, TABLE, 8 * 16, VRING_DESC_F_INDIRECT, 0);
	put_desc(TABLE, 1, DATA, 16, VRING_DESC_F_NEXT, 3);
	put_desc(TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	cr_assert_eq(ch.nbufs, 3);
}

Test(vq, indirect_table_order_error)
{
	mkvq(8, true, false);
	put_desc(TABLE, 0, DATA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	put_desc(TABLE, 1, DATA, 16, 0, 0);
	desc(0, TABLE, 32, VRING_DESC_F_INDIRECT, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_EORDER);
}

/* ---- used ring ---- */

Test(vq, push_writes_used_entry_then_index)
{
	mkvq(8, false, false);
	vq_push(&vq, 5, 1234);
	cr_assert_eq(rd32(USED + 4), 5);
	cr_assert_eq(rd32(USED + 8), 1234);
	cr_assert_eq(rd16(USED + 2), 1);
	vq_push(&vq, 7, 0);
	cr_assert_eq(rd32(USED + 12), 7);
	cr_assert_eq(rd32(USED + 16), 0);
	cr_assert_eq(rd16(USED + 2), 2);
	cr_assert_eq(vq.used_idx, 2);
	cr_assert_eq(rd16(USED), 0, "used flags untouched");
}

Test(vq, push_index_wraps)
{
	mkvq(8, false, false);
	vq.used_idx = 0xffff;
	vq_push(&vq, 3, 0xffffffff);
	/* slot 0xffff % 8 = 7 */
	cr_assert_eq(rd32(USED + 4 + 8 * 7), 3);
	cr_assert_eq(rd32(USED + 8 + 8 * 7), 0xffffffff);
	cr_assert_eq(rd16(USED + 2), 0);
	cr_assert_eq(vq.used_idx, 0);
	vq_push(&vq, 4, 9);
	cr_assert_eq(rd32(USED + 4), 4);
	cr_assert_eq(rd16(USED + 2), 1);
	/* nothing was written past the used ring (avail_event stays 0) */
	cr_assert_eq(rd16(USED + 4 + 8 * 8), 0);
}

/* ---- notification suppression (§2.7.7, §2.7.10) ---- */

Test(vq, signal_without_event_idx_follows_flags)
{
	mkvq(8, false, false);
	vq_push(&vq, 0, 1);
	cr_assert(vq_should_signal(&vq));
	wr16(AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
	vq_push(&vq, 0, 1);
	cr_assert_not(vq_should_signal(&vq));
	wr16(AVAIL, 0);
	cr_assert(vq_should_signal(&vq));
}

static void push_n(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vq_push(&vq, 0, 0);
}

static void used_event(uint16_t v)
{
	wr16(AVAIL + 4 + 2ULL * vq.size, v);
}

Test(vq, signal_event_idx_crossing)
{
	mkvq(8, false, true);
	used_event(0xabcd);
	push_n(1);
	cr_assert(vq_should_signal(&vq), "the first interrupt is always sent");
	cr_assert_eq(vq.signalled_used, 1);
	/* old = 1, push 3 → new = 4: signal iff used_event in [1, 3] */
	push_n(3);
	used_event(4);
	cr_assert_not(vq_should_signal(&vq));
	cr_assert_eq(vq.signalled_used, 4);
	push_n(3); /* old 4, new 7 */
	used_event(3);
	cr_assert_not(vq_should_signal(&vq), "event before the pushed range");
	push_n(3); /* old 7, new 10 */
	used_event(7);
	cr_assert(vq_should_signal(&vq));
	push_n(3); /* old 10, new 13 */
	used_event(12);
	cr_assert(vq_should_signal(&vq));
	push_n(3); /* old 13, new 16 */
	used_event(14);
	cr_assert(vq_should_signal(&vq));
	/* nothing pushed since: no interrupt whatever used_event says */
	used_event(15);
	cr_assert_not(vq_should_signal(&vq));
}

Test(vq, signal_event_idx_wraps_16_bits)
{
	mkvq(8, false, true);
	vq.used_idx = 0xfffe;
	cr_assert(vq_should_signal(&vq));
	cr_assert_eq(vq.signalled_used, 0xfffe);
	push_n(4); /* old 0xfffe, new 2 */
	cr_assert_eq(vq.used_idx, 2);
	used_event(0xffff);
	cr_assert(vq_should_signal(&vq));

	push_n(4); /* old 2, new 6 */
	used_event(6);
	cr_assert_not(vq_should_signal(&vq));

	vq.used_idx = vq.signalled_used = 0xfffc;
	push_n(4); /* old 0xfffc, new 0 */
	used_event(0xffff);
	cr_assert(vq_should_signal(&vq));
	push_n(4); /* old 0, new 4 */
	used_event(0xfffd);
	cr_assert_not(vq_should_signal(&vq));
	push_n(2); /* old 4, new 6 */
	used_event(5);
	cr_assert(vq_should_signal(&vq));
}

Test(vq, signal_event_idx_ignores_no_interrupt_flag)
{
	/* §2.7.7.2: with EVENT_IDX the device ignores avail->flags */
	mkvq(8, false, true);
	wr16(AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
	push_n(1);
	cr_assert(vq_should_signal(&vq));
	push_n(1); /* old 1, new 2 */
	used_event(1);
	cr_assert(vq_should_signal(&vq));
}

Test(vq, enable_notify_event_idx_writes_avail_event)
{
	mkvq(8, false, true);
	desc(0, DATA, 16, 0, 0);
	avail_add(0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	cr_assert_not(vq_enable_notify(&vq));
	cr_assert_eq(rd16(USED + 4 + 8 * 8), 2);
	cr_assert_eq(rd16(USED), 0, "used flags untouched with EVENT_IDX");
	avail_add(0);
	cr_assert(vq_enable_notify(&vq), "more became available");
	cr_assert_eq(rd16(USED + 4 + 8 * 8), 2);
}

Test(vq, enable_notify_without_event_idx_clears_no_notify)
{
	mkvq(8, false, false);
	wr16(USED, VRING_USED_F_NO_NOTIFY);
	cr_assert_not(vq_enable_notify(&vq));
	cr_assert_eq(rd16(USED), 0);
	cr_assert_eq(rd16(USED + 4 + 8 * 8), 0, "avail_event untouched");
	desc(0, DATA, 16, 0, 0);
	avail_add(0);
	cr_assert(vq_enable_notify(&vq));
}

/* ---- vq_chain_read ---- */

Test(vq, chain_read_gathers_across_buffers)
{
	uint8_t pat[64], out[64];

	for (unsigned i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i + 1);
	gm_write(&gm, DATA, pat, 4);
	gm_write(&gm, DATA + 0x100, pat + 4, 8);
	gm_write(&gm, DATA + 0x200, pat + 12, 4);
	gm_write(&gm, DATA + 0x300, pat + 16, 16); /* writable: never read */
	mkvq(8, false, false);
	desc(0, DATA, 4, VRING_DESC_F_NEXT, 1);
	desc(1, DATA + 0x100, 8, VRING_DESC_F_NEXT, 2);
	desc(2, DATA + 0x200, 4, VRING_DESC_F_NEXT, 3);
	desc(3, DATA + 0x300, 16, VRING_DESC_F_WRITE, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);

	memset(out, 0, sizeof(out));
	cr_assert_eq(vq_chain_read(&vq, &ch, 0, out, 16), 16);
	cr_assert_arr_eq(out, pat, 16);
	memset(out, 0, sizeof(out));
	cr_assert_eq(vq_chain_read(&vq, &ch, 2, out, 12), 12);
	cr_assert_arr_eq(out, pat + 2, 12);
	memset(out, 0, sizeof(out));
	cr_assert_eq(vq_chain_read(&vq, &ch, 5, out, 64), 11);
	cr_assert_arr_eq(out, pat + 5, 11);
	cr_assert_eq(out[11], 0);
	cr_assert_eq(vq_chain_read(&vq, &ch, 16, out, 64), 0);
	cr_assert_eq(vq_chain_read(&vq, &ch, UINT64_MAX, out, 64), 0);
	cr_assert_eq(vq_chain_read(&vq, &ch, 0, out, 0), 0);
}

Test(vq, strerror_names_every_error)
{
	for (int e = VQ_EORDER; e <= VQ_EMPTY; e++)
		cr_assert_str_neq(vq_strerror(e), "unknown error");
	cr_assert_str_eq(vq_strerror(-100), "unknown error");
}

/* ---- dirty marking for Diff snapshots (gm_mark_dirty) ----
 * Every other test here runs without dirty tracking, so pops and pushes
 * there show that marking is a no-op then. */

#define PG 4096ULL
#define XUSED 0x3f00ULL /* a 256-entry used ring here crosses into page 4 */

static void dirty_setup(void)
{
	setup();
	cr_assert_eq(gm_dirty_enable(&gm), 0);
}

TestSuite(vq_dirty, .init = dirty_setup, .fini = teardown);

/* The pages marked since the last call (RAM's 512 pages), then cleared. */
static uint64_t marked[RAM / PG / 64];

static void take(void)
{
	memset(marked, 0, sizeof(marked));
	gm_dirty_collect(&gm, 0, marked);
}

static bool page(uint64_t gpa)
{
	return marked[gpa / PG / 64] >> (gpa / PG % 64) & 1;
}

static unsigned npages(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(marked); i++)
		n += (unsigned)__builtin_popcountll(marked[i]);
	return n;
}

Test(vq_dirty, pop_marks_writable_buffers_only)
{
	mkvq(8, false, false);
	/* readable header (page 16), writable data crossing pages 18-19,
	 * writable status byte on page 21 (as a blk read request). */
	desc(0, DATA, 16, VRING_DESC_F_NEXT, 1);
	desc(1, DATA + 2 * PG + 4000, 200, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	desc(2, DATA + 5 * PG, 1, VRING_DESC_F_WRITE, 0);
	avail_add(0);
	take(); /* forget the test's own ring set-up */
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	take();
	cr_assert(page(DATA + 2 * PG) && page(DATA + 3 * PG) && page(DATA + 5 * PG));
	cr_assert_not(page(DATA), "a device-readable buffer is not written");
	cr_assert_not(page(DESC) || page(AVAIL) || page(USED), "pop writes no ring");
	cr_assert_eq(npages(), 3);
}

Test(vq_dirty, pop_marks_indirect_writable_buffers)
{
	mkvq(8, true, false);
	put_desc(TABLE, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	put_desc(TABLE, 1, DATA + 7 * PG, 64, VRING_DESC_F_WRITE, 0);
	desc(3, TABLE, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	avail_add(3);
	take();
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	take();
	cr_assert(page(DATA + 7 * PG));
	cr_assert_eq(npages(), 1, "not the table, not the readable buffer");
}

Test(vq_dirty, readable_only_chain_marks_nothing)
{
	mkvq(8, false, false);
	desc(0, DATA, 4096, VRING_DESC_F_NEXT, 1);
	desc(1, DATA + PG, 4096, 0, 0);
	avail_add(0);
	take();
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	take();
	cr_assert_eq(npages(), 0);
}

Test(vq_dirty, unpopped_chain_is_marked_again_when_popped_again)
{
	mkvq(8, false, false);
	desc(0, DATA, 100, VRING_DESC_F_WRITE, 0);
	avail_add(0);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	take(); /* a snapshot taken meanwhile */
	vq_unpop(&vq, 1);
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	take();
	cr_assert(page(DATA));
	vq_chain_mark_dirty(&vq, &ch);
	take();
	cr_assert(page(DATA) && npages() == 1, "vq_chain_mark_dirty marks the same pages");
}

Test(vq_dirty, chain_write_lands_in_marked_pages)
{
	uint8_t buf[300];

	memset(buf, 0xab, sizeof(buf));
	mkvq(8, false, false);
	desc(0, DATA + PG - 100, 300, VRING_DESC_F_WRITE, 0);
	avail_add(0);
	take();
	cr_assert_eq(vq_pop(&vq, &ch), VQ_OK);
	cr_assert_eq(vq_chain_write(&vq, &ch, buf, sizeof(buf)), sizeof(buf));
	take();
	cr_assert(page(DATA) && page(DATA + PG));
	cr_assert_eq(npages(), 2);
}

Test(vq_dirty, push_marks_used_element_and_index)
{
	cr_assert_eq(geom(256, 256, DESC, AVAIL, XUSED), 0);
	take();
	vq_push(&vq, 0, 1);
	take();
	/* element 0 and the index both sit in the ring's first page */
	cr_assert(page(XUSED));
	cr_assert_eq(npages(), 1);
	vq.used_idx = 200; /* element 200 is on the next page */
	vq_push(&vq, 0, 1);
	take();
	cr_assert(page(XUSED + 4 + 8 * 200), "the element's page");
	cr_assert(page(XUSED), "the index's page");
	cr_assert_eq(npages(), 2);
}

Test(vq_dirty, push_many_across_the_wrap_marks_both_ends)
{
	uint16_t heads[3] = { 1, 2, 3 };
	uint32_t lens[3] = { 4, 5, 6 };

	cr_assert_eq(geom(256, 256, DESC, AVAIL, XUSED), 0);
	vq.used_idx = 255; /* elements 255, 0, 1 */
	take();
	vq_push_many(&vq, heads, lens, 3);
	take();
	cr_assert(page(XUSED + 4 + 8 * 255) && page(XUSED));
	cr_assert_eq(npages(), 2);
}

Test(vq_dirty, enable_notify_marks_avail_event_or_flags)
{
	cr_assert_eq(geom(256, 256, DESC, AVAIL, XUSED), 0);
	vq.event_idx = true;
	take();
	vq_enable_notify(&vq);
	take();
	cr_assert(page(XUSED + 4 + 8 * 256), "avail_event after the last element");
	cr_assert_eq(npages(), 1);
	vq.event_idx = false;
	vq_enable_notify(&vq);
	take();
	cr_assert(page(XUSED), "used flags");
	cr_assert_eq(npages(), 1);
}
