/* Reading and writing whole state files: full writes with fsync so a
 * snapshot reported as created is on disk, and a capped read so a hostile or
 * mistaken path (a device, a huge file) is refused before any allocation. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/format.h"
#include "snapshot/internal.h"

#define CHUNK (1ULL << 30) /* below Linux's 0x7ffff000 per-call transfer limit */

int snap_pwrite_all(int fd, const uint8_t *p, uint64_t len, uint64_t off)
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

int snap_write_file(const char *path, const void *buf, size_t len)
{
	char tmp[PATH_MAX];
	int fd, ret;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = snap_pwrite_all(fd, buf, len, 0);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	/* Whole or not at all; and a file someone has mapped (a memory file
	 * given as snapshot_path by mistake) keeps its inode and bytes. */
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

static int read_all(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* shrank under us */
		got += (size_t)n;
	}
	return 0;
}

int snap_read_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *b = NULL;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return snap_errf(-errno, err, errlen, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		ret = snap_errf(-errno, err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = snap_errf(-EINVAL, err, errlen, "%s is not a regular file", path);
		goto err_close;
	}
	if ((uint64_t)st.st_size > SNAP_MAX_FILE) {
		ret = snap_errf(-E2BIG, err, errlen, "%s: size %lld exceeds cap %u", path,
				(long long)st.st_size, SNAP_MAX_FILE);
		goto err_close;
	}
	b = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!b) {
		ret = snap_errf(-ENOMEM, err, errlen, "out of memory reading %s", path);
		goto err_close;
	}
	ret = read_all(fd, b, (size_t)st.st_size);
	if (ret) {
		snap_errf(ret, err, errlen, "cannot read %s: %s", path, strerror(-ret));
		free(b);
		goto err_close;
	}
	close(fd);
	*buf = b;
	*len = (size_t)st.st_size;
	return 0;
err_close:
	close(fd);
	return ret;
}
