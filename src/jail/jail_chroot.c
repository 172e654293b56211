/* The jail directory <base>/<exec_name>/<id>/root (Firecracker's chroot_dir)
 * and the private copy of the femtovm binary in it. A copy, not a hard link:
 * the jailed uid owns the root directory and must not reach the host's
 * binary inode. Below the base nothing is followed through a symlink. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jail/jail.h"

int jail_chroot_path(const char *base, const char *exec_name, const char *id,
		     char *buf, size_t len)
{
	size_t bl = strlen(base);
	int n;

	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	n = snprintf(buf, len, "%.*s/%s/%s/root", (int)bl, base, exec_name, id);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* mkdir -p of the (administrator-chosen, absolute) base directory. */
static int jail_mkdir_base(const char *base)
{
	char p[JAIL_PATH_MAX];
	size_t n = strlen(base);

	if (n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, base, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != 0)
			continue;
		p[i] = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		p[i] = i == n ? 0 : '/';
	}
	return 0;
}

static int jail_copy_data(int in, int out)
{
	char buf[65536];
	ssize_t n, w;

	for (;;) {
		n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		for (ssize_t off = 0; off < n; off += w) {
			w = write(out, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				w = 0;
			else if (w < 0)
				return -errno;
		}
	}
}

/* Copies src to rootfd/name via a temporary name and rename, so a file or
 * symlink left at name by an earlier jailed run is replaced, never written
 * through. Root-owned, 0755. */
static int jail_copy_exec(int rootfd, const char *src, const char *name)
{
	char tmp[300];
	int in, out, ret;

	snprintf(tmp, sizeof(tmp), ".%s.jailer-tmp", name);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	if (unlinkat(rootfd, tmp, 0) < 0 && errno != ENOENT) {
		ret = -errno;
		goto err_in;
	}
	out = openat(rootfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
	if (out < 0) {
		ret = -errno;
		goto err_in;
	}
	ret = jail_copy_data(in, out);
	if (!ret && geteuid() == 0 && fchown(out, 0, 0) < 0)
		ret = -errno;
	if (!ret && fchmod(out, 0755) < 0)
		ret = -errno;
	if (close(out) < 0 && !ret)
		ret = -errno;
	if (!ret && renameat(rootfd, tmp, rootfd, name) < 0)
		ret = -errno;
	if (ret)
		unlinkat(rootfd, tmp, 0);
err_in:
	close(in);
	return ret;
}

/* Opens (creating) <base>/<exec_name>/<id>/root; fd or -errno. */
static int jail_open_root(const struct jail_args *a)
{
	char rel[300];
	int basefd, idfd, rootfd, ret;

	ret = jail_mkdir_base(a->chroot_base);
	if (ret)
		return ret;
	basefd = open(a->chroot_base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (basefd < 0)
		return -errno;
	snprintf(rel, sizeof(rel), "%s/%s", a->exec_name, a->id);
	idfd = jail_mkdir_at(basefd, rel, 0755);
	close(basefd);
	if (idfd < 0)
		return idfd;
	rootfd = jail_mkdir_at(idfd, "root", 0700);
	close(idfd);
	return rootfd;
}

int jail_chroot_create(const struct jail_args *a, char *root, size_t len)
{
	int rootfd, ret;

	ret = jail_chroot_path(a->chroot_base, a->exec_name, a->id, root, len);
	if (ret)
		return jail_err(-ret, "chroot", "jail path too long");
	rootfd = jail_open_root(a);
	if (rootfd < 0)
		return jail_err(-rootfd, "chroot", "%s: %s", root, strerror(-rootfd));
	/* femtovm creates its API socket in "/": the jail root is the uid's. */
	if (fchown(rootfd, a->uid, a->gid) < 0 || fchmod(rootfd, 0700) < 0) {
		ret = -errno;
		close(rootfd);
		return jail_err(-ret, "chroot", "%s: %s", root, strerror(-ret));
	}
	ret = jail_copy_exec(rootfd, a->exec_file, a->exec_name);
	close(rootfd);
	if (ret)
		return jail_err(-ret, "copy", "%s -> %s/%s: %s", a->exec_file, root,
				a->exec_name, strerror(-ret));
	return 0;
}
