/* Where the cgroup hierarchies are: the cgroup (v1, one per controller or
 * controller group, the controllers named in the mount options) and cgroup2
 * lines of /proc/mounts. Pure parsing of the text, so tests can describe a
 * fake cgroupfs tree in a temporary directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jail/jail.h"

/* Copies one space-separated /proc/mounts field, decoding the \ooo octal
 * escapes the kernel uses for space, tab, newline and backslash. */
static const char *jail_cg_field(const char *p, char *out, size_t len)
{
	size_t n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
		char c = *p++;

		if (c == '\\' && p[0] >= '0' && p[0] <= '3' && p[1] >= '0' && p[1] <= '7' &&
		    p[2] >= '0' && p[2] <= '7') {
			c = (char)((p[0] - '0') * 64 + (p[1] - '0') * 8 + (p[2] - '0'));
			p += 3;
		}
		if (n + 1 >= len)
			return NULL;
		out[n++] = c;
	}
	out[n] = 0;
	return p;
}

/* Parses one line; 1 = a cgroup mount stored, 0 = other line, -errno. */
static int jail_cg_line(const char *line, struct jail_cg_mounts *out)
{
	char dev[64], path[JAIL_CG_PATH_MAX], type[16], opts[256];
	struct jail_cg_mount *m;
	const char *p = line;

	if (!(p = jail_cg_field(p, dev, sizeof(dev))) ||
	    !(p = jail_cg_field(p, path, sizeof(path))) ||
	    !(p = jail_cg_field(p, type, sizeof(type))))
		return 0; /* not a cgroup line (they are all short) */
	if (strcmp(type, "cgroup") && strcmp(type, "cgroup2"))
		return 0;
	if (!jail_cg_field(p, opts, sizeof(opts)) || path[0] != '/')
		return -EINVAL;
	if (out->n == JAIL_CG_MAX_MOUNTS)
		return -E2BIG;
	m = &out->m[out->n++];
	strcpy(m->path, path);
	strcpy(m->opts, opts);
	m->version = type[6] == '2' ? 2 : 1;
	return 1;
}

int jail_cg_parse_mounts(const char *text, struct jail_cg_mounts *out)
{
	const char *p = text;

	out->n = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		int ret = jail_cg_line(p, out);

		if (ret < 0)
			return ret;
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

int jail_cg_read_mounts(const char *proc_mounts, struct jail_cg_mounts *out)
{
	FILE *f = fopen(proc_mounts, "re");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	int ret = 0;

	if (!f)
		return -errno;
	out->n = 0;
	while ((n = getline(&buf, &cap, f)) >= 0) {
		ret = jail_cg_line(buf, out);
		if (ret < 0)
			break;
		ret = 0;
	}
	free(buf);
	fclose(f);
	return ret;
}

/* True when the comma-separated opts contain exactly name. */
static bool jail_cg_has_opt(const char *opts, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = opts; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == 0))
			return true;
	return false;
}

const char *jail_cg_v1_mount(const struct jail_cg_mounts *m, const char *controller)
{
	if (!*controller || strchr(controller, ','))
		return NULL;
	for (unsigned i = 0; i < m->n; i++)
		if (m->m[i].version == 1 && jail_cg_has_opt(m->m[i].opts, controller))
			return m->m[i].path;
	return NULL;
}

const char *jail_cg_v2_mount(const struct jail_cg_mounts *m)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->m[i].version == 2)
			return m->m[i].path;
	return NULL;
}

int jail_cg_detect(const struct jail_cg_mounts *m, const struct jail_args *a)
{
	bool all_v1 = a->n_cgroups > 0;

	for (unsigned i = 0; i < a->n_cgroups; i++)
		if (!jail_cg_v1_mount(m, a->cgroups[i].controller))
			all_v1 = false;
	if (all_v1)
		return 1;
	if (jail_cg_v2_mount(m))
		return 2;
	for (unsigned i = 0; i < m->n; i++)
		if (m->m[i].version == 1)
			return 1; /* v1 only: setup will name the missing controller */
	return -ENOENT;
}

int jail_cg_dir(const char *mount, const char *parent, const char *id,
		char *buf, size_t len)
{
	size_t ml = strlen(mount);
	int n;

	while (ml > 1 && mount[ml - 1] == '/')
		ml--;
	if (ml == 1 && mount[0] == '/')
		ml = 0;
	n = snprintf(buf, len, "%.*s/%s/%s", (int)ml, mount, parent, id);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}
