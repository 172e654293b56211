/* First step of the jailer: nothing inherited reaches femtovm except
 * stdin/stdout/stderr. Every other fd is closed (close_range, or a walk of
 * /proc/self/fd on kernels without it) and the environment is emptied. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "jail/jail.h"

static int jail_close_fds_proc(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int self;

	if (!d)
		return -errno;
	self = dirfd(d);
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end || e->d_name[0] == '.' || fd <= 2 || fd == self)
			continue;
		close((int)fd);
	}
	closedir(d);
	return 0;
}

int jail_sanitize(void)
{
	int ret = 0;

	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
		ret = jail_close_fds_proc();
		if (ret)
			return jail_err(-ret, "sanitize", "closing inherited fds: %s",
					strerror(-ret));
	}
	if (clearenv())
		return jail_err(ENOMEM, "sanitize", "clearenv failed");
	return 0;
}
