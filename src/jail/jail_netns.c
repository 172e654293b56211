/* --netns: join an existing network namespace (e.g. one made by `ip netns
 * add`, bind-mounted at /var/run/netns/NAME) before the jail is entered, so
 * femtovm's tap devices live there and never in the host's namespace. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "jail/jail.h"

int jail_netns_join(const struct jail_args *a)
{
	int fd, ret = 0;

	if (!a->netns)
		return 0;
	fd = open(a->netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return jail_err(errno, "netns", "%s: %s", a->netns, strerror(errno));
	if (setns(fd, CLONE_NEWNET) < 0)
		ret = jail_err(errno, "netns", "setns %s: %s", a->netns, strerror(errno));
	close(fd);
	return ret;
}
