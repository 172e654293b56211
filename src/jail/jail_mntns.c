/* Enter the jail: a new mount namespace with private propagation (so
 * nothing below leaks back to the host), the jail root bind-mounted onto
 * itself to make it a mount point, pivot_root into it and a lazy unmount
 * of the old root, which leaves no path back to the host's tree. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail/jail.h"

int jail_pivot(const char *root)
{
	if (unshare(CLONE_NEWNS) < 0)
		return jail_err(errno, "mount-ns", "unshare(CLONE_NEWNS): %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0)
		return jail_err(errno, "mount-ns", "making / private: %s", strerror(errno));
	if (mount(root, root, NULL, MS_BIND, NULL) < 0)
		return jail_err(errno, "mount-ns", "bind-mounting %s: %s", root, strerror(errno));
	if (chdir(root) < 0)
		return jail_err(errno, "mount-ns", "chdir %s: %s", root, strerror(errno));
	/* pivot_root(".", "."): the old root ends up stacked on the new one
	 * (pivot_root(2), NOTES) and is detached below; no old_root directory
	 * inside the uid-owned jail is needed. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return jail_err(errno, "mount-ns", "pivot_root %s: %s", root, strerror(errno));
	if (umount2(".", MNT_DETACH) < 0)
		return jail_err(errno, "mount-ns", "unmounting the old root: %s", strerror(errno));
	if (chdir("/") < 0 || chroot(".") < 0)
		return jail_err(errno, "mount-ns", "chroot: %s", strerror(errno));
	return 0;
}
