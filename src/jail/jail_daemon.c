/* --daemonize: a new session without a controlling terminal and
 * stdin/stdout/stderr on /dev/null (opened before the jail was entered:
 * the jail has no /dev/null). Runs after the PID-namespace fork, so the
 * process is never a group leader and setsid() cannot fail on that. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "jail/jail.h"

int jail_daemonize(int devnull_fd)
{
	if (setsid() < 0)
		return jail_err(errno, "daemonize", "setsid: %s", strerror(errno));
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(devnull_fd, fd) < 0)
			return -errno; /* stderr may be gone already: no message */
	if (devnull_fd > 2)
		close(devnull_fd);
	return 0;
}
