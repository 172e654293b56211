/* Device nodes femtovm needs inside the jail: /dev/kvm, /dev/net/tun and
 * /dev/urandom, with the host nodes' major/minor (read before pivot_root;
 * the well-known numbers if a host node is missing), 0600 and owned by the
 * jailed uid:gid. Also /run for the default API socket. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "jail/jail.h"

void jail_dev_probe(struct jail_dev devs[JAIL_NDEVS])
{
	static const struct jail_dev defaults[JAIL_NDEVS] = {
		{ "dev/kvm", "/dev/kvm", 10, 232 },
		{ "dev/net/tun", "/dev/net/tun", 10, 200 },
		{ "dev/urandom", "/dev/urandom", 1, 9 },
	};
	struct stat st;

	for (unsigned i = 0; i < JAIL_NDEVS; i++) {
		devs[i] = defaults[i];
		if (stat(devs[i].host, &st) == 0 && S_ISCHR(st.st_mode)) {
			devs[i].major = major(st.st_rdev);
			devs[i].minor = minor(st.st_rdev);
		}
	}
}

/* (Re)creates one node; rootfd is the jail's "/". */
static int jail_dev_node(int rootfd, const struct jail_dev *d, uid_t uid, gid_t gid)
{
	const char *slash = strrchr(d->path, '/');
	char dir[64];
	int dfd, ret = 0;

	memcpy(dir, d->path, (size_t)(slash - d->path));
	dir[slash - d->path] = 0;
	dfd = jail_mkdir_at(rootfd, dir, 0755);
	if (dfd < 0)
		return dfd;
	/* A node left by an earlier run may have other numbers or owner. */
	if (unlinkat(dfd, slash + 1, 0) < 0 && errno != ENOENT)
		ret = -errno;
	else if (mknodat(dfd, slash + 1, S_IFCHR | 0600, makedev(d->major, d->minor)) < 0)
		ret = -errno;
	else if (fchownat(dfd, slash + 1, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		ret = -errno;
	close(dfd);
	return ret;
}

int jail_dev_create(const struct jail_dev devs[JAIL_NDEVS], uid_t uid, gid_t gid)
{
	int rootfd, fd, ret = 0;

	rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return jail_err(errno, "dev", "/: %s", strerror(errno));
	for (unsigned i = 0; i < JAIL_NDEVS && !ret; i++) {
		ret = jail_dev_node(rootfd, &devs[i], uid, gid);
		if (ret)
			jail_err(-ret, "dev", "/%s (%u:%u): %s", devs[i].path, devs[i].major,
				 devs[i].minor, strerror(-ret));
	}
	if (!ret) {
		fd = jail_mkdir_at(rootfd, "run", 0700);
		if (fd < 0 || fchown(fd, uid, gid) < 0)
			ret = jail_err(fd < 0 ? -fd : errno, "dev", "/run: %s",
				       strerror(fd < 0 ? -fd : errno));
		if (fd >= 0)
			close(fd);
	}
	close(rootfd);
	return ret;
}
