/* --new-pid-ns: unshare(CLONE_NEWPID) and fork, so femtovm becomes pid 1
 * of its own PID namespace (it cannot see or signal any host process). The
 * parent records the child's host pid in /<exec_name>.pid of the jail
 * (Firecracker's convention) and exits 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jail/jail.h"

/* Via a fresh temporary name and rename: the jail root belongs to the
 * jailed uid, so the final name may be a planted link. */
static int jail_pidfile(const char *exec_name, pid_t pid)
{
	char name[300], tmp[320], s[24];
	int fd, ret;

	snprintf(name, sizeof(name), "/%s.pid", exec_name);
	snprintf(tmp, sizeof(tmp), "%s.jailer-tmp", name);
	if (unlink(tmp) < 0 && errno != ENOENT)
		return -errno;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	snprintf(s, sizeof(s), "%d\n", (int)pid);
	ret = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -EIO;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, name) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

int jail_pidns_enter(const struct jail_args *a)
{
	pid_t pid;
	int ret;

	if (!a->new_pid_ns)
		return 0;
	if (unshare(CLONE_NEWPID) < 0)
		return jail_err(errno, "pid-ns", "unshare(CLONE_NEWPID): %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return jail_err(errno, "pid-ns", "fork: %s", strerror(errno));
	if (pid == 0)
		return 0;
	ret = jail_pidfile(a->exec_name, pid);
	if (ret) {
		kill(pid, SIGKILL);
		return jail_err(-ret, "pid-ns", "writing /%s.pid: %s", a->exec_name,
				strerror(-ret));
	}
	_exit(0);
}
