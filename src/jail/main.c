/* femtovm-jailer entry point: runs the steps of DESIGN.md §8 in their fixed
 * order and execs /<exec_name> --id <id> <args after -->. Any failing step
 * has printed "femtovm-jailer: <step>: <reason>"; we exit 2 for argument
 * errors and 1 for setup errors, always before exec. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jail/jail.h"

/* cgroups: from /proc/mounts, with the version detected unless given. */
static int jail_cgroups(const struct jail_args *a)
{
	struct jail_cg_mounts *m;
	int version = a->cgroup_version, ret;

	if (a->n_cgroups == 0)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return jail_err(ENOMEM, "cgroup", "out of memory");
	ret = jail_cg_read_mounts("/proc/mounts", m);
	if (ret) {
		jail_err(-ret, "cgroup", "/proc/mounts: %s", strerror(-ret));
		goto out;
	}
	if (!version)
		version = jail_cg_detect(m, a);
	if (version < 0)
		ret = jail_err(ENOENT, "cgroup", "no cgroup hierarchy mounted");
	else
		ret = jail_cg_setup(m, a, version, getpid(), 0);
out:
	free(m);
	return ret;
}

/* /<exec_name> --id <id> <extra args...>, with an empty environment. */
static int jail_exec(const struct jail_args *a)
{
	char path[300];
	char **argv = calloc((size_t)a->extra_argc + 4, sizeof(*argv));
	char *envp[] = { NULL };

	if (!argv)
		return jail_err(ENOMEM, "exec", "out of memory");
	snprintf(path, sizeof(path), "/%s", a->exec_name);
	argv[0] = path;
	argv[1] = (char *)"--id";
	argv[2] = (char *)a->id;
	for (int i = 0; i < a->extra_argc; i++)
		argv[3 + i] = a->extra_argv[i];
	execve(path, argv, envp);
	free(argv);
	return jail_err(errno, "exec", "%s: %s", path, strerror(errno));
}

/* Everything from the chroot directory to the jailed root's namespaces. */
static int jail_build(const struct jail_args *a, int *devnull)
{
	struct jail_dev devs[JAIL_NDEVS];
	char root[JAIL_PATH_MAX];

	if (jail_chroot_create(a, root, sizeof(root)) || jail_netns_join(a) ||
	    jail_rlimits_apply(a) || jail_cgroups(a))
		return -1;
	jail_dev_probe(devs);
	if (a->daemonize) {
		*devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (*devnull < 0)
			return jail_err(errno, "daemonize", "/dev/null: %s", strerror(errno));
	}
	if (jail_pivot(root) || jail_dev_create(devs, a->uid, a->gid))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct jail_args *a;
	int devnull = -1, ret;

	if (jail_sanitize())
		return JAIL_EXIT_SETUP;
	a = calloc(1, sizeof(*a));
	if (!a)
		return JAIL_EXIT_SETUP;
	ret = jail_args_parse(argc, argv, a);
	if (ret)
		return ret > 0 ? 0 : JAIL_EXIT_USAGE;
	if (geteuid() != 0) {
		jail_err(EPERM, "privileges", "must run as root");
		return JAIL_EXIT_SETUP;
	}
	if (jail_build(a, &devnull) || jail_pidns_enter(a) ||
	    (a->daemonize && jail_daemonize(devnull)) || jail_drop_privs(a->uid, a->gid))
		return JAIL_EXIT_SETUP;
	jail_exec(a);
	return JAIL_EXIT_SETUP;
}
