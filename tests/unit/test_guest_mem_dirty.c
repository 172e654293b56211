/* Unit tests for device-write tracking in guest memory (Diff snapshots):
 * gm_mark_dirty over ranges inside a page, across pages, words and the
 * MMIO hole between regions, outside RAM and wrapping; nothing when
 * tracking is off; gm_dirty_collect as fetch-and-clear (OR into the
 * caller's bitmap) and gm_dirty_restore; concurrent marking. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>

#include "vmm/guest_mem.h"
#include "vmm/layout.h"
#include "vmm/util.h"

#define PG 4096ULL

static struct guest_mem gm;

/* Layout only (no mapping is needed to mark pages): @size bytes of RAM. */
static void track(uint64_t size)
{
	cr_assert_eq(gm_layout(&gm, size), 0);
	cr_assert_eq(gm_dirty_enable(&gm), 0);
	cr_assert_eq(gm_dirty_enable(&gm), 0, "idempotent");
}

static void teardown(void)
{
	gm_destroy(&gm);
}

TestSuite(gm_dirty, .fini = teardown);

/* Region @r's marked pages, collected (and so cleared). Caller frees. */
static uint64_t *take(unsigned r)
{
	uint64_t *bm = calloc(gm_dirty_words(&gm.regions[r]), sizeof(uint64_t));

	cr_assert_not_null(bm);
	gm_dirty_collect(&gm, r, bm);
	return bm;
}

static unsigned count_bits(const uint64_t *bm, unsigned r)
{
	unsigned n = 0;

	for (uint64_t w = 0; w < gm_dirty_words(&gm.regions[r]); w++)
		n += (unsigned)__builtin_popcountll(bm[w]);
	return n;
}

static bool bit(const uint64_t *bm, uint64_t page)
{
	return bm[page / 64] >> (page % 64) & 1;
}

Test(gm_dirty, words_round_up_to_64_pages)
{
	track(100 * PG);
	cr_assert_eq(gm_dirty_words(&gm.regions[0]), 2);
	gm_destroy(&gm);
	track(128 * PG);
	cr_assert_eq(gm_dirty_words(&gm.regions[0]), 2);
}

Test(gm_dirty, not_tracking_marks_nothing)
{
	uint64_t bm[4] = { 0 };

	cr_assert_eq(gm_layout(&gm, 256 * PG), 0);
	gm_mark_dirty(&gm, 0, 256 * PG); /* no bitmap: must not crash */
	gm_dirty_collect(&gm, 0, bm);
	gm_dirty_restore(&gm, 0, bm);
	for (unsigned i = 0; i < 4; i++)
		cr_assert_eq(bm[i], 0);
}

Test(gm_dirty, range_inside_one_page)
{
	uint64_t *bm;

	track(256 * PG);
	gm_mark_dirty(&gm, 5 * PG + 100, 200);
	gm_mark_dirty(&gm, 7 * PG, 1);
	gm_mark_dirty(&gm, 9 * PG - 1, 1);
	bm = take(0);
	cr_assert_eq(count_bits(bm, 0), 3);
	cr_assert(bit(bm, 5) && bit(bm, 7) && bit(bm, 8));
	free(bm);
}

Test(gm_dirty, range_crossing_pages_and_words)
{
	uint64_t *bm;

	track(256 * PG);
	gm_mark_dirty(&gm, 3 * PG - 2, 4); /* last bytes of page 2, first of 3 */
	gm_mark_dirty(&gm, 60 * PG + 1, 70 * PG); /* pages 60..130: three words */
	bm = take(0);
	cr_assert(bit(bm, 2) && bit(bm, 3));
	for (uint64_t p = 60; p <= 130; p++)
		cr_assert(bit(bm, p), "page %lu", (unsigned long)p);
	cr_assert_not(bit(bm, 59));
	cr_assert_not(bit(bm, 131));
	cr_assert_eq(count_bits(bm, 0), 2 + 71);
	free(bm);
}

Test(gm_dirty, len_zero_marks_nothing)
{
	uint64_t *bm;

	track(64 * PG);
	gm_mark_dirty(&gm, 4 * PG, 0);
	bm = take(0);
	cr_assert_eq(count_bits(bm, 0), 0);
	free(bm);
}

Test(gm_dirty, whole_ram_and_last_page)
{
	uint64_t *bm;

	track(100 * PG); /* 100 pages: the last word is partial */
	gm_mark_dirty(&gm, 0, 100 * PG);
	bm = take(0);
	cr_assert_eq(count_bits(bm, 0), 100, "no bit beyond the last page");
	free(bm);
	gm_mark_dirty(&gm, 99 * PG + 4095, 1);
	bm = take(0);
	cr_assert_eq(count_bits(bm, 0), 1);
	cr_assert(bit(bm, 99));
	free(bm);
}

Test(gm_dirty, out_of_range_is_ignored)
{
	uint64_t *bm;

	track(64 * PG);
	gm_mark_dirty(&gm, 64 * PG, PG);             /* just past the end */
	gm_mark_dirty(&gm, GIB(5), PG);              /* far away */
	gm_mark_dirty(&gm, UINT64_MAX - 10, 100);    /* wraps around 2^64 */
	gm_mark_dirty(&gm, 63 * PG + 10, 2 * PG);    /* straddles the end */
	bm = take(0);
	cr_assert_eq(count_bits(bm, 0), 1);
	cr_assert(bit(bm, 63));
	free(bm);
}

Test(gm_dirty, ranges_across_the_mmio_hole)
{
	uint64_t low = LAYOUT_MMIO_HOLE / PG, *b0, *b1;

	track(LAYOUT_MMIO_HOLE + 64 * PG); /* two regions */
	cr_assert_eq(gm.nr_regions, 2);
	/* Last page below the hole and into the hole: only the RAM part. */
	gm_mark_dirty(&gm, LAYOUT_MMIO_HOLE - 8, 64);
	/* Inside the hole: nothing. */
	gm_mark_dirty(&gm, LAYOUT_MMIO_HOLE + PG, PG);
	/* From below the hole to above it: tail of region 0, head of 1. */
	gm_mark_dirty(&gm, LAYOUT_MMIO_HOLE - 2 * PG,
		      LAYOUT_MMIO_HOLE_END - LAYOUT_MMIO_HOLE + 3 * PG);
	/* Region 1 alone. */
	gm_mark_dirty(&gm, LAYOUT_MMIO_HOLE_END + 10 * PG, 1);
	b0 = take(0);
	b1 = take(1);
	cr_assert_eq(count_bits(b0, 0), 2);
	cr_assert(bit(b0, low - 1) && bit(b0, low - 2));
	cr_assert_eq(count_bits(b1, 1), 2);
	cr_assert(bit(b1, 0) && bit(b1, 10));
	free(b0);
	free(b1);
}

Test(gm_dirty, collect_ors_and_clears_restore_puts_back)
{
	uint64_t *bm, *again;

	track(128 * PG);
	gm_mark_dirty(&gm, 1 * PG, 1);
	bm = calloc(gm_dirty_words(&gm.regions[0]), sizeof(uint64_t));
	bm[1] = 1; /* page 64, set by someone else (KVM's log) */
	gm_dirty_collect(&gm, 0, bm);
	cr_assert(bit(bm, 1) && bit(bm, 64), "ORed in, caller's bits kept");
	again = take(0);
	cr_assert_eq(count_bits(again, 0), 0, "collect cleared the bitmap");
	free(again);
	gm_dirty_restore(&gm, 0, bm);
	again = take(0);
	cr_assert_eq(count_bits(again, 0), 2);
	cr_assert(bit(again, 1) && bit(again, 64));
	free(again);
	free(bm);
	gm_dirty_collect(&gm, 5, NULL); /* no such region: ignored */
}

#define THREADS 4

static void *mark_every_fourth(void *arg)
{
	uintptr_t t = (uintptr_t)arg;

	for (int round = 0; round < 200; round++)
		for (uint64_t p = t; p < 256; p += THREADS)
			gm_mark_dirty(&gm, p * PG, 1);
	return NULL;
}

Test(gm_dirty, concurrent_marks_in_the_same_words_all_land)
{
	pthread_t th[THREADS];
	uint64_t *bm;

	track(256 * PG);
	for (uintptr_t t = 0; t < THREADS; t++)
		cr_assert_eq(pthread_create(&th[t], NULL, mark_every_fourth, (void *)t), 0);
	for (unsigned t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	bm = take(0);
	cr_assert_eq(count_bits(bm, 0), 256);
	free(bm);
}
