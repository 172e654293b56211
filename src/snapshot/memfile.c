/* Memory file writing (full and dirty-pages-only) and the MAP_PRIVATE
 * mapping used on restore. Guest RAM regions sit back to back in the file,
 * which is also how gm_init() lays them out in its single host mapping, so
 * one mapping of the whole file serves all regions. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/internal.h"
#include "snapshot/memfile.h"

#define CHUNK (1ULL << 30) /* below Linux's 0x7ffff000 per-call transfer limit */

/* pwrite all of [@p, @p+@len) at @off, retrying short writes and EINTR. */
static int pwrite_all(int fd, const uint8_t *p, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len < CHUNK ? len : CHUNK, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int snap_mem_write_full(int fd, const struct guest_mem *gm)
{
	uint64_t off = 0;
	int ret;

	for (unsigned i = 0; i < gm->nr_regions; i++) {
		ret = pwrite_all(fd, gm->regions[i].hva, gm->regions[i].size, off);
		if (ret)
			return ret;
		off += gm->regions[i].size;
	}
	return ftruncate(fd, (off_t)off) ? -errno : 0;
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

static bool page_dirty(const uint64_t *bm, uint64_t page)
{
	return bm[page / 64] >> (page % 64) & 1;
}

/* Write each run of dirty pages of region @r with one pwrite. */
static int write_region_dirty(int fd, const struct gm_region *r, uint64_t file_off,
			      const uint64_t *bm)
{
	uint64_t pages = r->size / SNAP_PAGE_SIZE, p = 0;
	int ret;

	while (p < pages) {
		uint64_t start;

		if (!bm[p / 64] && p % 64 == 0) { /* skip clean words fast */
			p += 64;
			continue;
		}
		if (!page_dirty(bm, p)) {
			p++;
			continue;
		}
		start = p;
		while (p < pages && page_dirty(bm, p))
			p++;
		ret = pwrite_all(fd, r->hva + start * SNAP_PAGE_SIZE,
				 (p - start) * SNAP_PAGE_SIZE, file_off + start * SNAP_PAGE_SIZE);
		if (ret)
			return ret;
	}
	return 0;
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

int snap_mem_map_private(const char *path, uint64_t size, void **addr, char *err,
			 size_t errlen)
{
	struct stat st;
	void *p;
	int fd, ret;

	if (!size || size % SNAP_PAGE_SIZE)
		return snap_errf(-EINVAL, err, errlen, "memory size %llu not a page multiple",
				 (unsigned long long)size);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return snap_errf(-errno, err, errlen, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		ret = snap_errf(-errno, err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) {
		ret = snap_errf(-EINVAL, err, errlen, "%s: %s %lld bytes, expected %llu", path,
				S_ISREG(st.st_mode) ? "size" : "not a regular file,",
				(long long)st.st_size, (unsigned long long)size);
		goto out;
	}
	/* Private and lazy: pages fault in from the page cache, shared by every
	 * clone mapping the same file, and are copied only when written. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED) {
		ret = snap_errf(-errno, err, errlen, "cannot map %s: %s", path, strerror(errno));
		goto out;
	}
	*addr = p;
	ret = 0;
out:
	close(fd);
	return ret;
}
