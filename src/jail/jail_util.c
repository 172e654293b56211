/* Shared helpers of the jailer steps: the one error-line format, small file
 * reads/writes relative to a directory fd, and a mkdir -p that never
 * follows a symlink (the jail root belongs to the unprivileged uid after a
 * first run, so anything below it may have been planted). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jail/jail.h"

int jail_err(int err, const char *step, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "femtovm-jailer: %s: ", step);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -(err > 0 ? err : EINVAL);
}

int jail_write_file(int dirfd, const char *name, const char *s, bool create)
{
	int flags = O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT | O_TRUNC : 0);
	size_t len = strlen(s);
	ssize_t n;
	int fd, ret = 0;

	fd = openat(dirfd, name, flags, 0644);
	if (fd < 0)
		return -errno;
	/* cgroupfs takes one value per write(); a short write is an error. */
	n = write(fd, s, len);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

int jail_read_file(int dirfd, const char *name, char *buf, size_t len)
{
	ssize_t n;
	size_t got = 0;
	int fd;

	if (len == 0)
		return -EINVAL;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	while (got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = 0;
	close(fd);
	return 0;
}

int jail_mkdir_at(int dirfd, const char *rel, mode_t mode)
{
	char comp[256];
	const char *p = rel, *slash;
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	while (*p) {
		size_t n;
		int next;

		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || n >= sizeof(comp)) {
			close(fd);
			return n ? -ENAMETOOLONG : -EINVAL;
		}
		memcpy(comp, p, n);
		comp[n] = 0;
		if (mkdirat(fd, comp, mode) < 0 && errno != EEXIST) {
			int e = errno;

			close(fd);
			return -e;
		}
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		if (next < 0)
			return errno == ELOOP ? -ENOTDIR : -errno;
		fd = next;
		p += n + (slash ? 1 : 0);
	}
	return fd;
}
