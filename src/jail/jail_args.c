/* Command line of femtovm-jailer (Firecracker docs/jailer.md "Jailer Usage"):
 * parse, then validate every value before anything is created. Errors name
 * the flag as the step ("femtovm-jailer: exec-file: ..."); the caller exits
 * JAIL_EXIT_USAGE. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jail/jail.h"

const char jail_usage_text[] =
	"Usage: femtovm-jailer --id ID --exec-file PATH --uid UID --gid GID [OPTIONS]\n"
	"                      [-- FEMTOVM-ARGS...]\n"
	"\n"
	"Build a chroot jail for one femtovm, put it in its own mount (and optionally\n"
	"PID) namespace, network namespace and cgroups, drop to UID:GID with no\n"
	"capabilities and no_new_privs, and exec /<exec-file name> --id ID FEMTOVM-ARGS.\n"
	"Paths in FEMTOVM-ARGS and in its config file are relative to the jail root\n"
	"<chroot-base-dir>/<exec-file name>/<ID>/root.\n"
	"\n"
	"Options:\n"
	"  --id ID                 VM id, 1-64 characters of [A-Za-z0-9-]\n"
	"  --exec-file PATH        the femtovm binary (copied into the jail)\n"
	"  --uid UID, --gid GID    numeric ids femtovm runs as\n"
	"  --chroot-base-dir DIR   absolute; default " JAIL_DEFAULT_BASE "\n"
	"  --netns PATH            network namespace to join (e.g. /var/run/netns/NAME)\n"
	"  --cgroup-version 1|2    default: detected from /proc/mounts\n"
	"  --cgroup CTRL.FILE=VAL  write VAL to FILE of the VM's cgroup (repeatable),\n"
	"                          e.g. pids.max=64, cpu.max=\"50000 100000\" (v2)\n"
	"  --parent-cgroup PATH    cgroup parent, relative (default: exec-file name)\n"
	"  --resource-limit R=N    fsize=BYTES or no-file=N (repeatable; no-file\n"
	"                          defaults to 2048)\n"
	"  --daemonize             setsid() and stdin/stdout/stderr to /dev/null\n"
	"  --new-pid-ns            run femtovm as pid 1 of a new PID namespace; its\n"
	"                          host pid goes to <jail root>/<exec-file name>.pid\n"
	"  --version, --help\n"
	"\n"
	"Every failure stops before exec with \"femtovm-jailer: <step>: <reason>\".\n"
	"\n"
	"Exit codes (on success the jailer becomes femtovm and its codes apply):\n"
	"  0  --help or --version; with --new-pid-ns, the jailer's own process once\n"
	"     the jailed child has been started and its pid file written\n"
	"  1  a setup step failed (chroot, copy, netns, rlimit, cgroup, mount-ns,\n"
	"     dev, pid-ns, daemonize, drop-privileges, exec)\n"
	"  2  bad command line or an argument failed validation\n";

int jail_valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > JAIL_ID_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!(c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z')))
			return -EINVAL;
	}
	return 0;
}

/* Plain decimal 0..2^32-2 (-1 means "unchanged" to setresuid). */
int jail_parse_id_number(const char *s, unsigned *out)
{
	unsigned long long v = 0;

	if (!*s || strlen(s) > 10)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v >= 0xffffffffULL)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static bool jail_cg_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* <controller>.<file>=<value>: controller [a-z0-9_]+, file of name
 * characters, no '/', no "..", value non-empty, printable, one line. */
int jail_parse_cgroup(const char *arg, struct jail_cgroup_arg *out)
{
	const char *eq = strchr(arg, '='), *dot;
	size_t klen;

	if (!eq)
		return -EINVAL;
	klen = (size_t)(eq - arg);
	dot = memchr(arg, '.', klen);
	if (klen == 0 || klen >= sizeof(out->key) || !dot || dot == arg ||
	    dot + 1 == eq || !eq[1] || strlen(eq + 1) >= sizeof(out->value))
		return -EINVAL;
	for (const char *p = arg; p < dot; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return -EINVAL;
	for (const char *p = dot + 1; p < eq; p++)
		if (!jail_cg_name_char(*p) || (p[0] == '.' && p[1] == '.'))
			return -EINVAL;
	for (const char *p = eq + 1; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -EINVAL;
	/* The jailer itself moves the process; these are not limits. */
	memcpy(out->key, arg, klen);
	out->key[klen] = 0;
	if (!strcmp(out->key, "cgroup.procs") || !strcmp(out->key, "cgroup.threads") ||
	    !strcmp(out->key, "cgroup.subtree_control"))
		return -EINVAL;
	memcpy(out->controller, arg, (size_t)(dot - arg));
	out->controller[dot - arg] = 0;
	strcpy(out->value, eq + 1);
	return 0;
}

/* Relative path of name components, no "." / ".." / empty components. */
int jail_valid_parent_cgroup(const char *p)
{
	size_t n = strlen(p), comp = 0;

	if (n == 0 || n > 255 || p[0] == '/' || p[n - 1] == '/')
		return -EINVAL;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || p[i] == '/') {
			if (comp == 0 || (comp == 1 && p[i - 1] == '.') ||
			    (comp == 2 && p[i - 1] == '.' && p[i - 2] == '.'))
				return -EINVAL;
			comp = 0;
		} else if (!jail_cg_name_char(p[i])) {
			return -EINVAL;
		} else {
			comp++;
		}
	}
	return 0;
}

/* exec_file: an existing regular file with an execute bit; its name goes
 * into the chroot path so it must be a plain name. */
static int jail_check_exec(struct jail_args *a)
{
	const char *slash = strrchr(a->exec_file, '/');
	const char *name = slash ? slash + 1 : a->exec_file;
	struct stat st;

	if (stat(a->exec_file, &st) < 0)
		return jail_err(errno, "exec-file", "%s: %s", a->exec_file, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return jail_err(EINVAL, "exec-file", "%s: not a regular file", a->exec_file);
	if (!(st.st_mode & 0111))
		return jail_err(EACCES, "exec-file", "%s: not executable", a->exec_file);
	if (jail_valid_parent_cgroup(name) || strchr(name, '/') ||
	    strlen(name) >= sizeof(a->exec_name))
		return jail_err(EINVAL, "exec-file", "%s: file name must be [A-Za-z0-9._-]",
				a->exec_file);
	strcpy(a->exec_name, name);
	return 0;
}

/* chroot-base-dir: absolute, no ".." component, room for the rest. */
static int jail_check_base(const char *b)
{
	size_t n = strlen(b);

	if (b[0] != '/' || n > JAIL_PATH_MAX - 2 * JAIL_ID_MAX - 300)
		return jail_err(EINVAL, "chroot-base-dir", "%s: must be an absolute path", b);
	for (const char *p = b; (p = strstr(p, "..")); p += 2)
		if (p[-1] == '/' && (p[2] == '/' || p[2] == 0))
			return jail_err(EINVAL, "chroot-base-dir", "%s: no '..' components", b);
	return 0;
}

/* One option; step names are the flag names. */
static int jail_opt(struct jail_args *a, int o, const char *v)
{
	unsigned n;

	switch (o) {
	case 'i': a->id = v; break;
	case 'e': a->exec_file = v; break;
	case 'b': a->chroot_base = v; break;
	case 'n': a->netns = v; break;
	case 'd': a->daemonize = true; break;
	case 'p': a->new_pid_ns = true; break;
	case 'u':
		if (jail_parse_id_number(v, &n))
			return jail_err(EINVAL, "uid", "'%s': must be a number below 4294967295", v);
		a->uid = n;
		break;
	case 'g':
		if (jail_parse_id_number(v, &n))
			return jail_err(EINVAL, "gid", "'%s': must be a number below 4294967295", v);
		a->gid = n;
		break;
	case 'V':
		if (strcmp(v, "1") && strcmp(v, "2"))
			return jail_err(EINVAL, "cgroup-version", "'%s': must be 1 or 2", v);
		a->cgroup_version = v[0] - '0';
		break;
	case 'c':
		if (a->n_cgroups == JAIL_MAX_CGROUPS)
			return jail_err(E2BIG, "cgroup", "more than %d --cgroup", JAIL_MAX_CGROUPS);
		if (jail_parse_cgroup(v, &a->cgroups[a->n_cgroups]))
			return jail_err(EINVAL, "cgroup", "'%s': must be <controller>.<file>=<value> "
					"(controller [a-z0-9_], file [A-Za-z0-9._-], no '/' or '..')", v);
		a->n_cgroups++;
		break;
	case 'P':
		if (jail_valid_parent_cgroup(v))
			return jail_err(EINVAL, "parent-cgroup", "'%s': must be a relative path of "
					"[A-Za-z0-9._-] components without '.' or '..'", v);
		a->parent_cgroup = v;
		break;
	case 'r':
		if (a->n_rlimits == JAIL_MAX_RLIMITS)
			return jail_err(E2BIG, "resource-limit", "too many --resource-limit");
		if (jail_parse_rlimit(v, &a->rlimits[a->n_rlimits]))
			return jail_err(EINVAL, "resource-limit", "'%s': must be fsize=N or no-file=N", v);
		a->n_rlimits++;
		break;
	default:
		return jail_err(EINVAL, "args", "unknown option");
	}
	return 0;
}

/* Required flags and the checks that look at the file system. */
static int jail_args_check(struct jail_args *a, bool have_uid, bool have_gid)
{
	struct stat st;

	if (!a->id)
		return jail_err(EINVAL, "id", "--id is required");
	if (jail_valid_id(a->id))
		return jail_err(EINVAL, "id", "'%s': must be 1-%d characters of [A-Za-z0-9-]",
				a->id, JAIL_ID_MAX);
	if (!a->exec_file)
		return jail_err(EINVAL, "exec-file", "--exec-file is required");
	if (!have_uid)
		return jail_err(EINVAL, "uid", "--uid is required");
	if (!have_gid)
		return jail_err(EINVAL, "gid", "--gid is required");
	if (jail_check_exec(a) || jail_check_base(a->chroot_base))
		return -EINVAL;
	if (a->netns && stat(a->netns, &st) < 0)
		return jail_err(errno, "netns", "%s: %s", a->netns, strerror(errno));
	if (!a->parent_cgroup)
		a->parent_cgroup = a->exec_name;
	return 0;
}

int jail_args_parse(int argc, char **argv, struct jail_args *a)
{
	static const struct option opts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "exec-file", required_argument, NULL, 'e' },
		{ "uid", required_argument, NULL, 'u' },
		{ "gid", required_argument, NULL, 'g' },
		{ "chroot-base-dir", required_argument, NULL, 'b' },
		{ "netns", required_argument, NULL, 'n' },
		{ "cgroup-version", required_argument, NULL, 'V' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "parent-cgroup", required_argument, NULL, 'P' },
		{ "resource-limit", required_argument, NULL, 'r' },
		{ "daemonize", no_argument, NULL, 'd' },
		{ "new-pid-ns", no_argument, NULL, 'p' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool have_uid = false, have_gid = false;
	int o;

	memset(a, 0, sizeof(*a));
	a->chroot_base = JAIL_DEFAULT_BASE;
	optind = 0; /* full getopt reset (glibc) */
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
		if (o == 'h') {
			fputs(jail_usage_text, stdout);
			return 1;
		}
		if (o == 'v') {
			printf("femtovm-jailer %s\n", FEMTOVM_VERSION);
			return 1;
		}
		if (o == '?' || o == ':')
			return jail_err(EINVAL, "args", "%s option '%s'",
					o == ':' ? "missing value for" : "unknown",
					argv[optind - 1]);
		have_uid |= o == 'u';
		have_gid |= o == 'g';
		if (jail_opt(a, o, optarg))
			return -EINVAL;
	}
	if (optind < argc && strcmp(argv[optind - 1], "--"))
		return jail_err(EINVAL, "args", "unexpected argument '%s' (femtovm arguments "
				"go after --)", argv[optind]);
	a->extra_argv = argv + optind;
	a->extra_argc = argc - optind;
	return jail_args_check(a, have_uid, have_gid) ? -EINVAL : 0;
}
