/* --resource-limit: the two bounds Firecracker's jailer knows, fsize
 * (RLIMIT_FSIZE, bytes) and no-file (RLIMIT_NOFILE, one more than the
 * highest fd), set as soft = hard so femtovm cannot raise them. Without
 * a no-file limit the jailer sets 2048, as Firecracker does. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "jail/jail.h"

static const struct {
	const char *name;
	int resource;
} jail_rlimit_names[] = {
	{ "fsize", RLIMIT_FSIZE },
	{ "no-file", RLIMIT_NOFILE },
};

int jail_parse_rlimit(const char *arg, struct jail_rlimit_arg *out)
{
	const char *eq = strchr(arg, '=');
	unsigned long long v = 0;
	size_t i;

	if (!eq || !eq[1] || strlen(eq + 1) > 19)
		return -EINVAL;
	for (i = 0; i < sizeof(jail_rlimit_names) / sizeof(jail_rlimit_names[0]); i++)
		if (strlen(jail_rlimit_names[i].name) == (size_t)(eq - arg) &&
		    !strncmp(arg, jail_rlimit_names[i].name, (size_t)(eq - arg)))
			break;
	if (i == sizeof(jail_rlimit_names) / sizeof(jail_rlimit_names[0]))
		return -EINVAL;
	for (const char *p = eq + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
	}
	/* RLIM_INFINITY is all ones; anything that large is a typo. */
	if (v >= RLIM_INFINITY)
		return -EINVAL;
	out->resource = jail_rlimit_names[i].resource;
	out->value = v;
	return 0;
}

int jail_rlimits_apply(const struct jail_args *a)
{
	bool have_nofile = false;
	struct rlimit rl;

	for (unsigned i = 0; i < a->n_rlimits; i++) {
		rl.rlim_cur = rl.rlim_max = a->rlimits[i].value;
		if (setrlimit(a->rlimits[i].resource, &rl) < 0)
			return jail_err(errno, "rlimit", "%s=%llu: %s",
					a->rlimits[i].resource == RLIMIT_FSIZE ? "fsize" : "no-file",
					a->rlimits[i].value, strerror(errno));
		have_nofile |= a->rlimits[i].resource == RLIMIT_NOFILE;
	}
	if (!have_nofile) {
		rl.rlim_cur = rl.rlim_max = JAIL_DEFAULT_NOFILE;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return jail_err(errno, "rlimit", "no-file=%d: %s", JAIL_DEFAULT_NOFILE,
					strerror(errno));
	}
	return 0;
}
