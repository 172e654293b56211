/* Unit tests for the snapshot memory file (src/snapshot/memfile.h): a full
 * write mapped back MAP_PRIVATE reads the same bytes and its writes never
 * reach the file; a dirty-pages write leaves holes exactly at clean pages;
 * merging a diff onto its base gives the full image of the newer state. */
#define _GNU_SOURCE /* SEEK_DATA, SEEK_HOLE */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/memfile.h"
#include "vmm/layout.h"

#define PG SNAP_PAGE_SIZE
#define R0_PAGES 256 /* region 0: 1 MiB at gpa 0 */
#define R1_PAGES 100 /* region 1: 400 KiB at 4 GiB (not a multiple of 64 pages) */

static char dir[64];
static char base_path[96], diff_path[96];
static uint8_t *ram;
static struct guest_mem gm;
static char err[160];

/* Two regions around the hole, backed by one small buffer as gm_init()
 * would lay them out (back to back in the host mapping). */
static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/femtovm-test-memfile-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(base_path, sizeof(base_path), "%s/base", dir);
	snprintf(diff_path, sizeof(diff_path), "%s/diff", dir);
	ram = aligned_alloc(PG, (R0_PAGES + R1_PAGES) * PG);
	for (size_t i = 0; i < (R0_PAGES + R1_PAGES) * PG; i++)
		ram[i] = (uint8_t)(i / PG * 13 + i % 251);
	gm = (struct guest_mem){
		.regions = { { 0, R0_PAGES * PG, ram },
			     { LAYOUT_MMIO_HOLE_END, R1_PAGES * PG, ram + R0_PAGES * PG } },
		.nr_regions = 2, .base = ram, .size = (R0_PAGES + R1_PAGES) * PG,
	};
}

static void teardown(void)
{
	unlink(base_path);
	unlink(diff_path);
	rmdir(dir);
	free(ram);
}

TestSuite(snap_mem, .init = setup, .fini = teardown);

static int create(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	cr_assert_geq(fd, 0);
	return fd;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *b;

	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	b = malloc(st.st_size + 1);
	cr_assert_eq(pread(fd, b, st.st_size, 0), st.st_size);
	close(fd);
	*len = st.st_size;
	return b;
}

/* Holes only mark clean pages exactly on page-granular filesystems. */
static void need_exact_holes(int fd)
{
	struct stat st;

	cr_assert_eq(fstat(fd, &st), 0);
	if (st.st_blksize > PG)
		cr_skip_test("filesystem block size %ld above the page size", (long)st.st_blksize);
}

Test(snap_mem, full_write_and_private_map)
{
	int fd = create(base_path);
	size_t len;
	uint8_t *file, *map;
	struct guest_mem m;

	cr_assert_eq(snap_mem_write_full(fd, &gm), 0);
	close(fd);
	file = slurp(base_path, &len);
	cr_assert_eq(len, gm.size);
	cr_assert_eq(memcmp(file, ram, gm.size), 0);

	cr_assert_eq(gm_layout(&m, gm.size), 0);
	cr_assert_eq(snap_mem_map_gm(base_path, &m, err, sizeof(err)), 0, "%s", err);
	map = m.base;
	cr_assert_eq(m.regions[0].hva, m.base);
	cr_assert_eq(memcmp(map, ram, gm.size), 0);
	memset(map + 5 * PG, 0xee, 3 * PG); /* copy-on-write: the file keeps its bytes */
	map[gm.size - 1] ^= 0xff;
	cr_assert_eq(msync(map, gm.size, MS_SYNC), 0);
	free(file);
	file = slurp(base_path, &len);
	cr_assert_eq(memcmp(file, ram, gm.size), 0);
	cr_assert_eq(map[5 * PG], 0xee);
	gm_destroy(&m);
	free(file);
}

/* Over a reserved range (--prepare-mem-mib): the file lands exactly there. */
Test(snap_mem, map_over_reserved_range)
{
	int fd = create(base_path);
	struct guest_mem m;
	uint8_t *resv;

	cr_assert_eq(snap_mem_write_full(fd, &gm), 0);
	close(fd);
	resv = mmap(NULL, gm.size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(resv, MAP_FAILED);
	cr_assert_eq(gm_layout(&m, gm.size), 0);
	m.base = resv;
	cr_assert_eq(snap_mem_map_gm(base_path, &m, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(m.base, resv);
	cr_assert_eq(memcmp(resv, ram, gm.size), 0);
	gm_destroy(&m);
}

Test(snap_mem, map_private_validates)
{
	int fd = create(base_path);
	struct guest_mem m;

	cr_assert_eq(snap_mem_write_full(fd, &gm), 0);
	close(fd);
	cr_assert_eq(gm_layout(&m, gm.size + PG), 0);
	cr_assert_eq(snap_mem_map_gm(base_path, &m, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "expected"), "%s", err);
	cr_assert_null(m.base);
	cr_assert_eq(gm_layout(&m, PG), 0);
	cr_assert_eq(snap_mem_map_gm(dir, &m, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "not a regular file"), "%s", err);
	cr_assert_eq(snap_mem_map_gm(diff_path, &m, err, sizeof(err)), -ENOENT);
	cr_assert_null(m.base);
}

static void set_bit(uint64_t *bm, unsigned page)
{
	bm[page / 64] |= 1ULL << (page % 64);
}

/* Offsets of the data ranges of @path, as [start, end) pairs. */
static unsigned data_ranges(const char *path, off_t *out, unsigned max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t off = 0, end, size = lseek(fd, 0, SEEK_END);
	unsigned n = 0;

	while (off < size && n + 2 <= max) {
		off = lseek(fd, off, SEEK_DATA);
		if (off < 0)
			break;
		end = lseek(fd, off, SEEK_HOLE);
		out[n++] = off;
		out[n++] = end;
		off = end;
	}
	close(fd);
	return n;
}

Test(snap_mem, dirty_write_leaves_holes)
{
	uint64_t bm0[R0_PAGES / 64] = { 0 }, bm1[(R1_PAGES + 63) / 64] = { 0 };
	const uint64_t *const dirty[] = { bm0, bm1 };
	const off_t r1 = R0_PAGES * PG;
	const off_t want[] = { 0, PG, 5 * PG, 8 * PG, 63 * PG, 65 * PG, 200 * PG, 201 * PG,
			       r1 + PG, r1 + 2 * PG, r1 + 99 * PG, r1 + 100 * PG };
	off_t got[32];
	int fd = create(diff_path);
	struct stat st;
	size_t len;
	uint8_t *file;
	unsigned n;

	need_exact_holes(fd);
	for (unsigned p = 0; p < R0_PAGES; p++)
		if (p == 0 || (p >= 5 && p <= 7) || p == 63 || p == 64 || p == 200)
			set_bit(bm0, p);
	set_bit(bm1, 1);
	set_bit(bm1, 99);
	cr_assert_eq(pwrite(fd, "stale", 5, 10 * PG), 5); /* discarded by the write */
	cr_assert_eq(snap_mem_write_dirty(fd, &gm, dirty), 0);
	cr_assert_eq(fsync(fd), 0);
	cr_assert_eq(fstat(fd, &st), 0);
	close(fd);
	cr_assert_eq(st.st_size, (off_t)gm.size);
	/* 9 dirty pages (plus maybe an extent block), far below the full size. */
	cr_assert(st.st_blocks * 512 >= 9 * PG && st.st_blocks * 512 <= 11 * PG,
		  "%lld blocks", (long long)st.st_blocks);
	n = data_ranges(diff_path, got, 32);
	cr_assert_eq(n, sizeof(want) / sizeof(want[0]), "%u range ends", n);
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(got[i], want[i], "range end %u: %lld", i, (long long)got[i]);
	file = slurp(diff_path, &len);
	for (unsigned p = 0; p < R0_PAGES + R1_PAGES; p++) {
		bool d = p < R0_PAGES ? bm0[p / 64] >> (p % 64) & 1
				      : bm1[(p - R0_PAGES) / 64] >> ((p - R0_PAGES) % 64) & 1;
		uint8_t zero[PG] = { 0 };

		cr_assert_eq(memcmp(file + p * PG, d ? ram + p * PG : zero, PG), 0, "page %u", p);
	}
	free(file);
}

Test(snap_mem, merge_diff_onto_base)
{
	uint64_t bm0[R0_PAGES / 64] = { 0 }, bm1[(R1_PAGES + 63) / 64] = { 0 };
	const uint64_t *const dirty[] = { bm0, bm1 };
	int fd = create(base_path), dfd;
	size_t len;
	uint8_t *file;

	cr_assert_eq(snap_mem_write_full(fd, &gm), 0);
	close(fd);
	/* The guest runs on: pages change (one becomes all zeros) and are dirty. */
	memset(ram + 3 * PG, 0x33, PG);
	memset(ram + 100 * PG, 0, 2 * PG);
	memset(ram + (R0_PAGES + 50) * PG, 0x77, PG);
	set_bit(bm0, 3);
	set_bit(bm0, 100);
	set_bit(bm0, 101);
	set_bit(bm1, 50);
	dfd = create(diff_path);
	need_exact_holes(dfd);
	cr_assert_eq(snap_mem_write_dirty(dfd, &gm, dirty), 0);
	close(dfd);

	cr_assert_eq(snap_mem_merge(base_path, diff_path, err, sizeof(err)), 0, "%s", err);
	file = slurp(base_path, &len);
	cr_assert_eq(len, gm.size);
	cr_assert_eq(memcmp(file, ram, gm.size), 0);
	free(file);

	/* Sizes must agree. */
	cr_assert_eq(truncate(diff_path, gm.size + PG), 0);
	cr_assert_eq(snap_mem_merge(base_path, diff_path, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "size mismatch"), "%s", err);
	cr_assert_eq(snap_mem_merge(base_path, "/nonexistent/diff", err, sizeof(err)), -ENOENT);
}

Test(snap_mem, merge_empty_diff_changes_nothing)
{
	uint64_t bm0[R0_PAGES / 64] = { 0 }, bm1[(R1_PAGES + 63) / 64] = { 0 };
	const uint64_t *const dirty[] = { bm0, bm1 };
	int fd = create(base_path), dfd = create(diff_path);
	size_t len;
	uint8_t *file;

	need_exact_holes(dfd);
	cr_assert_eq(snap_mem_write_full(fd, &gm), 0);
	close(fd);
	cr_assert_eq(snap_mem_write_dirty(dfd, &gm, dirty), 0);
	close(dfd);
	cr_assert_eq(snap_mem_merge(base_path, diff_path, err, sizeof(err)), 0, "%s", err);
	file = slurp(base_path, &len);
	cr_assert_eq(memcmp(file, ram, gm.size), 0);
	free(file);
}
