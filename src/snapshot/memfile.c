/* Memory file writing (non-zero pages, or dirty pages only) and the
 * MAP_PRIVATE mapping used on restore. Guest RAM regions sit back to back
 * in the file, which is also how gm_init() lays them out in its single host
 * mapping, so one mapping of the whole file serves all regions. Both writes
 * leave holes where nothing is written, so files stay as small as what the
 * guest really uses. */
#define _GNU_SOURCE /* SEEK_DATA, SEEK_HOLE */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/internal.h"
#include "snapshot/memfile.h"

/* A run of consecutive pages of one region that go to the file, written
 * with one pwrite when it ends. */
struct run {
	int fd;
	const struct gm_region *r;
	uint64_t file_off;      /* where the region starts in the file */
	uint64_t start, len;    /* pending run, in pages */
};

static int run_flush(struct run *w)
{
	int ret = 0;

	if (w->len)
		ret = snap_pwrite_all(w->fd, w->r->hva + w->start * SNAP_PAGE_SIZE,
				 w->len * SNAP_PAGE_SIZE, w->file_off + w->start * SNAP_PAGE_SIZE);
	w->len = 0;
	return ret;
}

/* Page @p goes to the file (@data) or is left a hole. */
static int run_add(struct run *w, uint64_t p, bool data)
{
	int ret;

	if (!data)
		return run_flush(w);
	if (w->len && w->start + w->len == p) {
		w->len++;
		return 0;
	}
	ret = run_flush(w);
	if (ret)
		return ret;
	w->start = p;
	w->len = 1;
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[SNAP_PAGE_SIZE];

	return memcmp(p, zero, SNAP_PAGE_SIZE) == 0;
}

/* /proc/self/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define PM_FILE (1ULL << 61) /* a page-cache page, not a private (COW) copy */
#define PM_BATCH 512u /* pages per pagemap read: 4 KiB of entries, 2 MiB of RAM */

/* Pagemap entries of @n pages from @hva into @pm; false if unavailable. */
static bool read_pagemap(int pm_fd, const uint8_t *hva, unsigned n, uint64_t *pm)
{
	off_t off = (off_t)((uintptr_t)hva / SNAP_PAGE_SIZE * sizeof(uint64_t));

	return pm_fd >= 0 && pread(pm_fd, pm, n * sizeof(uint64_t), off) ==
				     (ssize_t)(n * sizeof(uint64_t));
}

static bool page_bit(const uint64_t *bm, uint64_t page)
{
	return bm[page / 64] >> (page % 64) & 1;
}

/* Known to be zero without reading it, from its pagemap entry @pm: in
 * anonymous RAM a page never touched (neither present nor swapped); in RAM
 * mapped from a memory file, a page still the file's (not a private copy:
 * absent, or present from the page cache) where the file had a hole. */
static bool known_zero(const struct guest_mem *gm, unsigned r, uint64_t page, uint64_t pm)
{
	if (pm & PM_SWAPPED)
		return false;
	if (gm->anon)
		return !(pm & PM_PRESENT);
	return gm->file_data[r] && (!(pm & PM_PRESENT) || (pm & PM_FILE)) &&
	       !page_bit(gm->file_data[r], page);
}

/* Every non-zero page of region @r. With @pm_fd (/proc/self/pagemap) the
 * pages known_zero() are skipped unread, so untouched RAM is not faulted
 * in; the others are read and compared. */
static int write_region_nonzero(int fd, int pm_fd, const struct guest_mem *gm, unsigned r,
				uint64_t file_off)
{
	const struct gm_region *reg = &gm->regions[r];
	struct run w = { .fd = fd, .r = reg, .file_off = file_off };
	uint64_t pages = reg->size / SNAP_PAGE_SIZE, pm[PM_BATCH];
	int ret = 0;

	for (uint64_t p = 0; !ret && p < pages; p += PM_BATCH) {
		unsigned n = (unsigned)MIN((uint64_t)PM_BATCH, pages - p);
		bool have_pm = read_pagemap(pm_fd, reg->hva + p * SNAP_PAGE_SIZE, n, pm);

		for (unsigned i = 0; !ret && i < n; i++) {
			bool zero = (have_pm && known_zero(gm, r, p + i, pm[i])) ||
				    page_is_zero(reg->hva + (p + i) * SNAP_PAGE_SIZE);

			ret = run_add(&w, p + i, !zero);
		}
	}
	return ret ? ret : run_flush(&w);
}

int snap_mem_write_full(int fd, const struct guest_mem *gm)
{
	uint64_t off = 0;
	int pm_fd, ret = 0;

	if (ftruncate(fd, 0) || ftruncate(fd, (off_t)gm->size))
		return -errno;
	/* No /proc (a jail): every page is read and compared. */
	pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	for (unsigned i = 0; !ret && i < gm->nr_regions; i++) {
		if (gm->regions[i].size % SNAP_PAGE_SIZE)
			ret = -EINVAL;
		else
			ret = write_region_nonzero(fd, pm_fd, gm, i, off);
		off += gm->regions[i].size;
	}
	if (pm_fd >= 0)
		close(pm_fd);
	return ret;
}

/* Holes mark clean pages only if the filesystem allocates per page. */
static int holes_exact(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	return st.st_blksize > SNAP_PAGE_SIZE ? -EOPNOTSUPP : 0;
}

/* Write each run of dirty pages of region @r with one pwrite. */
static int write_region_dirty(int fd, const struct gm_region *r, uint64_t file_off,
			      const uint64_t *bm)
{
	struct run w = { .fd = fd, .r = r, .file_off = file_off };
	uint64_t pages = r->size / SNAP_PAGE_SIZE;
	int ret = 0;

	for (uint64_t p = 0; !ret && p < pages; p++) {
		if (!bm[p / 64] && p % 64 == 0) { /* skip clean words fast */
			ret = run_flush(&w);
			p += 63;
			continue;
		}
		ret = run_add(&w, p, page_bit(bm, p));
	}
	return ret ? ret : run_flush(&w);
}

int snap_mem_write_dirty(int fd, const struct guest_mem *gm, const uint64_t *const dirty[])
{
	uint64_t off = 0;
	int ret = holes_exact(fd);

	if (ret)
		return ret;
	if (ftruncate(fd, 0) || ftruncate(fd, (off_t)gm->size))
		return -errno;
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		if (gm->regions[i].size % SNAP_PAGE_SIZE)
			return -EINVAL;
		ret = write_region_dirty(fd, &gm->regions[i], off, dirty[i]);
		if (ret)
			return ret;
		off += gm->regions[i].size;
	}
	return 0;
}

/* Open @path read-only and check it is a regular file of exactly @size
 * bytes (@st filled); the mapped fd, or -errno with @err set. */
static int open_mem_file(const char *path, uint64_t size, struct stat *st, char *err,
			 size_t errlen)
{
	int fd;

	if (!size || size % SNAP_PAGE_SIZE)
		return snap_errf(-EINVAL, err, errlen, "memory size %llu not a page multiple",
				 (unsigned long long)size);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return snap_errf(-errno, err, errlen, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, st)) {
		int ret = snap_errf(-errno, err, errlen, "cannot stat %s: %s", path,
				    strerror(errno));

		close(fd);
		return ret;
	}
	if (!S_ISREG(st->st_mode) || (uint64_t)st->st_size != size) {
		snap_errf(-EINVAL, err, errlen, "%s: %s %lld bytes, expected %llu", path,
			  S_ISREG(st->st_mode) ? "size" : "not a regular file,",
			  (long long)st->st_size, (unsigned long long)size);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* Map @size bytes of @fd MAP_PRIVATE at *@addr exactly (MAP_FIXED) when it
 * is not NULL, else anywhere; *@addr is where it went. Private and lazy:
 * pages fault in from the page cache, shared by every clone mapping the
 * same file, and are copied only when written. */
static int map_fd(int fd, const char *path, uint64_t size, void **addr, char *err,
		  size_t errlen)
{
	void *p = mmap(*addr, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_NORESERVE | (*addr ? MAP_FIXED : 0), fd, 0);

	if (p == MAP_FAILED)
		return snap_errf(-errno, err, errlen, "cannot map %s: %s", path, strerror(errno));
	*addr = p;
	return 0;
}

/* Record in gm->file_data where @fd has data (SEEK_DATA/SEEK_HOLE; a
 * filesystem without holes reports all data). Best effort: on any failure
 * no map is kept, which only means every page gets read. */
static void map_file_data(int fd, struct guest_mem *gm)
{
	uint64_t r0 = gm->regions[0].size / SNAP_PAGE_SIZE; /* pages of region 0 */
	off_t off = 0, end;

	for (unsigned i = 0; i < gm->nr_regions; i++) {
		gm->file_data[i] = calloc(gm_dirty_words(&gm->regions[i]), sizeof(uint64_t));
		if (!gm->file_data[i])
			goto err_free;
	}
	while ((uint64_t)off < gm->size) {
		uint64_t p, e;

		off = lseek(fd, off, SEEK_DATA);
		if (off < 0 && errno == ENXIO)
			return; /* no data after off */
		if (off < 0 || (end = lseek(fd, off, SEEK_HOLE)) < 0)
			goto err_free;
		/* The file may have grown since it was checked: only the
		 * guest's size counts (the mapping ends there). */
		if ((uint64_t)end > gm->size)
			end = (off_t)gm->size;
		/* Pages [p, e) hold data (rounded outwards); region 1 follows
		 * region 0 in the file. */
		p = (uint64_t)off / SNAP_PAGE_SIZE;
		e = ((uint64_t)end + SNAP_PAGE_SIZE - 1) / SNAP_PAGE_SIZE;
		if (p < r0)
			gm_bitmap_set(gm->file_data[0], p, MIN(e, r0) - p);
		if (e > r0 && gm->nr_regions > 1)
			gm_bitmap_set(gm->file_data[1], MAX(p, r0) - r0, e - MAX(p, r0));
		off = end;
	}
	return;
err_free:
	for (unsigned i = 0; i < GM_MAX_REGIONS; i++) {
		free(gm->file_data[i]);
		gm->file_data[i] = NULL;
	}
}

int snap_mem_map_gm(const char *path, struct guest_mem *gm, char *err, size_t errlen)
{
	struct stat st;
	void *p = gm->base; /* a reserved range to map over, or NULL */
	int fd = open_mem_file(path, gm->size, &st, err, errlen), ret;

	if (fd < 0)
		return fd;
	ret = map_fd(fd, path, gm->size, &p, err, errlen);
	if (ret) {
		close(fd);
		return ret;
	}
	gm->base = p;
	gm->anon = false;
	gm->regions[0].hva = gm->base;
	if (gm->nr_regions > 1) /* back to back, as in gm_init() */
		gm->regions[1].hva = gm->base + gm->regions[0].size;
	gm->file_known = true;
	gm->file_dev = st.st_dev;
	gm->file_ino = st.st_ino;
	map_file_data(fd, gm);
	close(fd);
	return 0;
}
