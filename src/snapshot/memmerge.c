/* Merging a diff memory file onto its base: the diff's data ranges (found
 * with SEEK_DATA/SEEK_HOLE) are the pages dirtied since the base, copied to
 * the same offsets; holes are left alone. Filesystems whose holes would not
 * mark clean pages exactly are refused. */
#define _GNU_SOURCE /* SEEK_DATA, SEEK_HOLE */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/internal.h"
#include "snapshot/memfile.h"

#define BUF (1u << 20)

static int copy_range(int dst, int src, uint8_t *buf, off_t off, off_t end)
{
	while (off < end) {
		size_t want = end - off < BUF ? (size_t)(end - off) : BUF;
		ssize_t n = pread(src, buf, want, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = pwrite(dst, buf + done, (size_t)(n - done), off + done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return w < 0 ? -errno : -EIO;
			done += w;
		}
		off += n;
	}
	return 0;
}

/* Both files regular, same size; the diff's holes trustworthy. */
static int check_files(int base, int diff, off_t *size, char *err, size_t errlen)
{
	struct stat bs, ds;
	off_t hole;

	if (fstat(base, &bs) || fstat(diff, &ds))
		return snap_errf(-errno, err, errlen, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(bs.st_mode) || !S_ISREG(ds.st_mode))
		return snap_errf(-EINVAL, err, errlen, "memory files must be regular files");
	if (bs.st_size != ds.st_size)
		return snap_errf(-EINVAL, err, errlen, "size mismatch: base %lld bytes, diff %lld",
				 (long long)bs.st_size, (long long)ds.st_size);
	if (ds.st_blksize > SNAP_PAGE_SIZE)
		return snap_errf(-EOPNOTSUPP, err, errlen,
				 "diff file's filesystem block size %ld above the page size",
				 (long)ds.st_blksize);
	hole = lseek(diff, 0, SEEK_HOLE);
	if (hole < 0)
		return snap_errf(-errno, err, errlen, "SEEK_HOLE: %s", strerror(errno));
	/* No hole reported although blocks are missing: holes not supported. */
	if (hole == ds.st_size && (uint64_t)ds.st_blocks * 512 < (uint64_t)ds.st_size)
		return snap_errf(-EOPNOTSUPP, err, errlen,
				 "diff file's filesystem does not report holes");
	*size = ds.st_size;
	return 0;
}

static int merge_fds(int base, int diff, uint8_t *buf, char *err, size_t errlen)
{
	off_t size, off = 0, end;
	int ret = check_files(base, diff, &size, err, errlen);

	while (!ret && off < size) {
		off = lseek(diff, off, SEEK_DATA);
		if (off < 0)
			return errno == ENXIO ? 0 : snap_errf(-errno, err, errlen, "SEEK_DATA: %s",
							      strerror(errno));
		end = lseek(diff, off, SEEK_HOLE);
		if (end < 0)
			return snap_errf(-errno, err, errlen, "SEEK_HOLE: %s", strerror(errno));
		ret = copy_range(base, diff, buf, off, end);
		if (ret)
			snap_errf(ret, err, errlen, "copying diff range at %lld: %s",
				  (long long)off, strerror(-ret));
		off = end;
	}
	return ret;
}

int snap_mem_merge(const char *base_path, const char *diff_path, char *err, size_t errlen)
{
	int base, diff, ret;
	uint8_t *buf;

	diff = open(diff_path, O_RDONLY | O_CLOEXEC);
	if (diff < 0)
		return snap_errf(-errno, err, errlen, "cannot open %s: %s", diff_path,
				 strerror(errno));
	base = open(base_path, O_WRONLY | O_CLOEXEC);
	if (base < 0) {
		ret = snap_errf(-errno, err, errlen, "cannot open %s: %s", base_path,
				strerror(errno));
		goto err_diff;
	}
	buf = malloc(BUF);
	ret = buf ? merge_fds(base, diff, buf, err, errlen) : -ENOMEM;
	free(buf);
	if (!ret && fsync(base))
		ret = snap_errf(-errno, err, errlen, "fsync %s: %s", base_path, strerror(errno));
	close(base);
err_diff:
	close(diff);
	return ret;
}
