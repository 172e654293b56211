/* cgroups for the jailed VM (DESIGN.md §8; Firecracker docs/jailer.md).
 * v1: one <mount>/<parent>/<id> per hierarchy carrying a controller named
 * in --cgroup; v2: <unified mount>/<parent>/<id>, with the controllers
 * enabled in cgroup.subtree_control from the mount root down to the parent.
 * Values are written first, then the pid goes to cgroup.procs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jail/jail.h"

struct jail_cg_walk {
	const char *mount;  /* hierarchy root */
	const char *enable; /* v2: "+a +b" for each subtree_control, or NULL */
	bool cpuset;        /* v1 cpuset: new levels inherit cpus/mems */
	bool fake;
};

static int jail_cg_put(int dirfd, const char *where, const char *file,
		       const char *val, bool fake)
{
	int ret = jail_write_file(dirfd, file, val, fake);

	if (ret)
		return jail_err(-ret, "cgroup", "writing '%s' to %s/%s: %s", val, where, file,
				strerror(-ret));
	return 0;
}

/* A new v1 cpuset cgroup has empty cpuset.cpus/mems and takes no task until
 * they are set; copy them from the parent (what clone_children would do). */
static int jail_cg_cpuset_inherit(int parentfd, int childfd, const char *where, bool fake)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char own[256], up[256];
	int ret;

	for (unsigned i = 0; i < 2; i++) {
		ret = jail_read_file(childfd, files[i], own, sizeof(own));
		if (ret == -ENOENT && fake)
			own[0] = 0;
		else if (ret)
			return jail_err(-ret, "cgroup", "%s/%s: %s", where, files[i], strerror(-ret));
		if (own[0] && own[0] != '\n')
			continue;
		ret = jail_read_file(parentfd, files[i], up, sizeof(up));
		if (ret)
			return jail_err(-ret, "cgroup", "parent of %s/%s: %s", where, files[i],
					strerror(-ret));
		ret = jail_cg_put(childfd, where, files[i], up, fake);
		if (ret)
			return ret;
	}
	return 0;
}

/* Creates w->mount/rel one level at a time; returns the last level's fd. */
static int jail_cg_mkpath(const struct jail_cg_walk *w, const char *rel, char *where,
			  size_t wlen)
{
	const char *p = rel;
	int fd, next, ret;

	snprintf(where, wlen, "%s", w->mount);
	fd = open(w->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return jail_err(errno, "cgroup", "%s: %s", w->mount, strerror(errno));
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		char comp[256];

		if (w->enable && (ret = jail_cg_put(fd, where, "cgroup.subtree_control",
						    w->enable, w->fake)))
			goto err;
		snprintf(comp, sizeof(comp), "%.*s", (int)n, p);
		snprintf(where + strlen(where), wlen - strlen(where), "/%s", comp);
		next = jail_mkdir_at(fd, comp, 0755);
		if (next < 0) {
			ret = jail_err(-next, "cgroup", "mkdir %s: %s", where, strerror(-next));
			goto err;
		}
		ret = w->cpuset ? jail_cg_cpuset_inherit(fd, next, where, w->fake) : 0;
		close(fd);
		fd = next;
		if (ret)
			goto err;
		p += n + (slash ? 1 : 0);
	}
	return fd;
err:
	close(fd);
	return ret;
}

/* Writes every --cgroup value whose hierarchy is mount (v1) or all (v2,
 * mount NULL), then moves pid in. */
static int jail_cg_fill(const struct jail_cg_mounts *m, const struct jail_args *a,
			int fd, const char *where, const char *mount, pid_t pid, bool fake)
{
	char pidstr[24];
	int ret;

	for (unsigned i = 0; i < a->n_cgroups; i++) {
		const char *mi = mount ? jail_cg_v1_mount(m, a->cgroups[i].controller) : NULL;

		if (mount && (!mi || strcmp(mi, mount)))
			continue;
		ret = jail_cg_put(fd, where, a->cgroups[i].key, a->cgroups[i].value, fake);
		if (ret)
			return ret;
	}
	snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	return jail_cg_put(fd, where, "cgroup.procs", pidstr, fake);
}

static int jail_cg_setup_v1(const struct jail_cg_mounts *m, const struct jail_args *a,
			    const char *rel, pid_t pid, bool fake)
{
	char where[JAIL_CG_PATH_MAX + JAIL_PATH_MAX];
	const char *mount, *cpuset = jail_cg_v1_mount(m, "cpuset");
	int fd, ret;

	for (unsigned i = 0; i < a->n_cgroups; i++)
		if (!jail_cg_v1_mount(m, a->cgroups[i].controller))
			return jail_err(ENOENT, "cgroup", "%s: no cgroup v1 hierarchy with controller "
					"'%s' in /proc/mounts", a->cgroups[i].key,
					a->cgroups[i].controller);
	for (unsigned i = 0; i < a->n_cgroups; i++) {
		struct jail_cg_walk w = { .fake = fake };
		bool seen = false;

		mount = jail_cg_v1_mount(m, a->cgroups[i].controller);
		for (unsigned j = 0; j < i; j++)
			seen |= !strcmp(jail_cg_v1_mount(m, a->cgroups[j].controller), mount);
		if (seen)
			continue; /* controllers sharing a hierarchy share the cgroup */
		w.mount = mount;
		w.cpuset = cpuset && !strcmp(cpuset, mount);
		fd = jail_cg_mkpath(&w, rel, where, sizeof(where));
		if (fd < 0)
			return fd;
		ret = jail_cg_fill(m, a, fd, where, mount, pid, fake);
		close(fd);
		if (ret)
			return ret;
	}
	return 0;
}

/* "+c1 +c2" for the distinct controllers of a (core "cgroup.*" files need
 * none); checks each is in the root's cgroup.controllers. */
static int jail_cg_v2_enable(const struct jail_args *a, const char *mount, char *out,
			     size_t len)
{
	char avail[1024], pat[JAIL_CG_KEY_MAX + 2];
	int root, ret;

	out[0] = 0;
	root = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return jail_err(errno, "cgroup", "%s: %s", mount, strerror(errno));
	ret = jail_read_file(root, "cgroup.controllers", avail, sizeof(avail) - 1);
	close(root);
	if (ret)
		return jail_err(-ret, "cgroup", "%s/cgroup.controllers: %s", mount, strerror(-ret));
	avail[strcspn(avail, "\n")] = 0;
	memmove(avail + 1, avail, strlen(avail) + 1);
	avail[0] = ' ';
	strcat(avail, " ");
	for (unsigned i = 0; i < a->n_cgroups; i++) {
		const char *c = a->cgroups[i].controller;
		bool dup = false;

		if (!strcmp(c, "cgroup"))
			continue;
		snprintf(pat, sizeof(pat), " %s ", c);
		if (!strstr(avail, pat))
			return jail_err(ENOENT, "cgroup", "%s: controller '%s' is not available in "
					"the cgroup v2 hierarchy at %s (cgroup.controllers:%.*s)",
					a->cgroups[i].key, c, mount, (int)strlen(avail) - 1, avail);
		for (unsigned j = 0; j < i; j++)
			dup |= !strcmp(a->cgroups[j].controller, c);
		if (dup)
			continue;
		snprintf(pat, sizeof(pat), "+%s", c);
		if (strlen(out) + strlen(pat) + 2 > len)
			return jail_err(E2BIG, "cgroup", "too many controllers");
		if (out[0])
			strcat(out, " ");
		strcat(out, pat);
	}
	return 0;
}

static int jail_cg_setup_v2(const struct jail_cg_mounts *m, const struct jail_args *a,
			    const char *rel, pid_t pid, bool fake)
{
	char where[JAIL_CG_PATH_MAX + JAIL_PATH_MAX], enable[512];
	struct jail_cg_walk w = { .mount = jail_cg_v2_mount(m), .fake = fake };
	int fd, ret;

	if (!w.mount)
		return jail_err(ENOENT, "cgroup", "no cgroup2 mount in /proc/mounts");
	ret = jail_cg_v2_enable(a, w.mount, enable, sizeof(enable));
	if (ret)
		return ret;
	w.enable = enable[0] ? enable : NULL;
	fd = jail_cg_mkpath(&w, rel, where, sizeof(where));
	if (fd < 0)
		return fd;
	ret = jail_cg_fill(m, a, fd, where, NULL, pid, fake);
	close(fd);
	return ret;
}

int jail_cg_setup(const struct jail_cg_mounts *m, const struct jail_args *a,
		  int version, pid_t pid, unsigned flags)
{
	char rel[JAIL_PATH_MAX];
	bool fake = flags & JAIL_CG_FAKE_FS;

	if (a->n_cgroups == 0)
		return 0;
	snprintf(rel, sizeof(rel), "%s/%s", a->parent_cgroup, a->id);
	if (version == 1)
		return jail_cg_setup_v1(m, a, rel, pid, fake);
	if (version == 2)
		return jail_cg_setup_v2(m, a, rel, pid, fake);
	return jail_err(EINVAL, "cgroup", "unknown cgroup version %d", version);
}
