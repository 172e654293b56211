/* femtovm-fanout command line: options, per-clone templates ("%d" = clone
 * index) checked for every index up front, and the PUT /snapshot/load body
 * of each clone (Firecracker's snapshot-load shape, DESIGN.md §6). */
#define _GNU_SOURCE
#include "tools/fanout.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int fanout_expand(const char *tmpl, unsigned idx, char *out, size_t cap)
{
	size_t n = 0;
	char num[16];
	int k;

	for (const char *p = tmpl; *p; p++) {
		const char *add = p;
		size_t alen = 1;

		if (*p == '%') {
			if (p[1] == '%') {
				p++;
			} else if (p[1] == 'd') {
				k = snprintf(num, sizeof(num), "%u", idx);
				add = num;
				alen = (size_t)k;
				p++;
			} else {
				return -EINVAL;
			}
		}
		if (n + alen >= cap)
			return -ENAMETOOLONG;
		memcpy(out + n, add, alen);
		n += alen;
	}
	if (n >= cap)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return (int)n;
}

bool fanout_tmpl_has_index(const char *tmpl)
{
	for (const char *p = tmpl; *p; p++) {
		if (*p != '%')
			continue;
		if (p[1] == 'd')
			return true;
		if (p[1] == '%')
			p++;
	}
	return false;
}

static int errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Decimal in [lo, hi], nothing else. */
static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *v)
{
	char *end;
	unsigned long x;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno || *end || x < lo || x > hi)
		return -EINVAL;
	*v = (unsigned)x;
	return 0;
}

/* A template must expand for every clone to at most max bytes; when
 * several clones share a resource (tap, socket) it must contain %d. */
static int check_tmpl(const struct fanout_opts *o, const char *what, const char *tmpl,
		      size_t max, bool per_clone, char *err, size_t errlen)
{
	char buf[FANOUT_SUN_PATH_MAX + PATH_MAX];
	int n;

	if (!*tmpl)
		return errf(err, errlen, "%s: empty", what);
	if (per_clone && o->count > 1 && !fanout_tmpl_has_index(tmpl))
		return errf(err, errlen, "%s '%s': needs %%d when --count > 1 (each clone needs "
			    "its own)", what, tmpl);
	for (unsigned i = 0; i < o->count; i++) {
		n = fanout_expand(tmpl, i, buf, sizeof(buf));
		if (n == -EINVAL)
			return errf(err, errlen, "%s '%s': only %%d and %%%% may follow '%%'",
				    what, tmpl);
		if (n < 0 || (size_t)n > max)
			return errf(err, errlen, "%s '%s': clone %u's value is longer than %zu bytes",
				    what, tmpl, i, max);
	}
	return 0;
}

static int add_net(struct fanout_opts *o, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	struct fanout_net *n = &o->net[o->nnet];

	if (!eq || eq == arg || !eq[1])
		return errf(err, errlen, "--net-override '%s': expected IFACE=TEMPLATE", arg);
	if (o->nnet == FANOUT_MAX_NET)
		return errf(err, errlen, "--net-override: at most %d", FANOUT_MAX_NET);
	if (eq - arg > FANOUT_IFACE_MAX)
		return errf(err, errlen, "--net-override: IFACE longer than %d bytes",
			    FANOUT_IFACE_MAX);
	memcpy(n->iface, arg, (size_t)(eq - arg));
	n->iface[eq - arg] = '\0';
	for (unsigned i = 0; i < o->nnet; i++)
		if (!strcmp(o->net[i].iface, n->iface))
			return errf(err, errlen, "--net-override: interface '%s' given twice",
				    n->iface);
	n->tmpl = eq + 1;
	o->nnet++;
	return 0;
}

enum {
	OPT_FEMTOVM = 256, OPT_NET, OPT_VSOCK, OPT_PAUSED, OPT_DIRTY, OPT_ARG, OPT_WAIT,
	OPT_WAIT_COUNT, OPT_SETTLE, OPT_TIMEOUT, OPT_KEEP, OPT_DETACH, OPT_HOLD, OPT_JSON,
	OPT_CLEAN,
};

static const struct option long_opts[] = {
	{ "count", required_argument, NULL, 'n' },
	{ "snapshot", required_argument, NULL, 's' },
	{ "mem-file", required_argument, NULL, 'm' },
	{ "work-dir", required_argument, NULL, 'd' },
	{ "femtovm", required_argument, NULL, OPT_FEMTOVM },
	{ "net-override", required_argument, NULL, OPT_NET },
	{ "vsock-uds", required_argument, NULL, OPT_VSOCK },
	{ "paused", no_argument, NULL, OPT_PAUSED },
	{ "track-dirty-pages", no_argument, NULL, OPT_DIRTY },
	{ "femtovm-arg", required_argument, NULL, OPT_ARG },
	{ "wait-serial", required_argument, NULL, OPT_WAIT },
	{ "wait-count", required_argument, NULL, OPT_WAIT_COUNT },
	{ "settle", required_argument, NULL, OPT_SETTLE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "keep-going", no_argument, NULL, OPT_KEEP },
	{ "detach", no_argument, NULL, OPT_DETACH },
	{ "hold", required_argument, NULL, OPT_HOLD },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "clean", no_argument, NULL, OPT_CLEAN },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* One option; 0 or -EINVAL with err set. */
static int take_opt(struct fanout_opts *o, int c, char *arg, bool *hold_set, char *err,
		    size_t errlen)
{
	unsigned v;

	switch (c) {
	case 'n':
		if (parse_uint(arg, 1, FANOUT_MAX_CLONES, &o->count))
			return errf(err, errlen, "--count '%s': expected 1-%d", arg,
				    FANOUT_MAX_CLONES);
		return 0;
	case 's': o->snapshot = arg; return 0;
	case 'm': o->mem_file = arg; return 0;
	case 'd': o->work_dir = arg; return 0;
	case OPT_FEMTOVM: o->femtovm = arg; return 0;
	case OPT_NET: return add_net(o, arg, err, errlen);
	case OPT_VSOCK: o->vsock_tmpl = arg; return 0;
	case OPT_PAUSED: o->paused = true; return 0;
	case OPT_DIRTY: o->track_dirty = true; return 0;
	case OPT_ARG:
		if (o->nextra == FANOUT_MAX_EXTRA)
			return errf(err, errlen, "--femtovm-arg: at most %d", FANOUT_MAX_EXTRA);
		o->extra[o->nextra++] = arg;
		return 0;
	case OPT_WAIT: o->wait_text = arg; return 0;
	case OPT_WAIT_COUNT:
		if (parse_uint(arg, 1, 1000000, &o->wait_count))
			return errf(err, errlen, "--wait-count '%s': expected 1-1000000", arg);
		return 0;
	case OPT_SETTLE:
		if (parse_uint(arg, 0, 3600000, &o->settle_ms))
			return errf(err, errlen, "--settle '%s': expected 0-3600000 ms", arg);
		return 0;
	case OPT_TIMEOUT:
		if (parse_uint(arg, 1, 3600, &v))
			return errf(err, errlen, "--timeout '%s': expected 1-3600 s", arg);
		o->timeout_ms = v * 1000;
		return 0;
	case OPT_KEEP: o->keep_going = true; return 0;
	case OPT_DETACH: o->end = FANOUT_DETACH; return 0;
	case OPT_HOLD:
		if (parse_uint(arg, 0, 86400 * 365, &o->hold_s))
			return errf(err, errlen, "--hold '%s': expected seconds", arg);
		*hold_set = true;
		return 0;
	case OPT_JSON: o->json = true; return 0;
	case OPT_CLEAN: o->clean = true; return 0;
	case 'h': o->help = true; return 0;
	default: return errf(err, errlen, "unknown option (see --help)");
	}
}

/* Cross-option rules, after every option was seen. */
static int check_opts(struct fanout_opts *o, bool hold_set, bool wait_count_set, char *err,
		      size_t errlen)
{
	int ret;

	if (!o->count)
		return errf(err, errlen, "--count is required");
	if (!o->snapshot || !*o->snapshot)
		return errf(err, errlen, "--snapshot is required");
	if (!o->mem_file || !*o->mem_file)
		return errf(err, errlen, "--mem-file is required");
	if (hold_set && o->end == FANOUT_DETACH)
		return errf(err, errlen, "--hold and --detach exclude each other");
	if (hold_set)
		o->end = FANOUT_HOLD;
	if (o->clean && o->end == FANOUT_DETACH)
		return errf(err, errlen, "--clean and --detach exclude each other");
	if (wait_count_set && !o->wait_text)
		return errf(err, errlen, "--wait-count needs --wait-serial");
	if (o->wait_text && (!*o->wait_text || strlen(o->wait_text) >= FANOUT_WAIT_MAX))
		return errf(err, errlen, "--wait-serial: 1-%d bytes of text", FANOUT_WAIT_MAX - 1);
	/* The longest socket path is DIR/clone-<max index>.sock. */
	if (o->work_dir) {
		char sock[FANOUT_SUN_PATH_MAX + 2];

		if (!*o->work_dir)
			return errf(err, errlen, "--work-dir: empty");
		if ((size_t)snprintf(sock, sizeof(sock), "%s/clone-%u.sock", o->work_dir,
				     o->count - 1) > FANOUT_SUN_PATH_MAX)
			return errf(err, errlen, "--work-dir '%s': too long for the clones' API "
				    "sockets (%d bytes at most in all)", o->work_dir,
				    FANOUT_SUN_PATH_MAX);
	}
	for (unsigned i = 0; i < o->nnet; i++) {
		ret = check_tmpl(o, "--net-override", o->net[i].tmpl, FANOUT_IFNAME_MAX, true,
				 err, errlen);
		if (ret)
			return ret;
	}
	if (o->vsock_tmpl) {
		ret = check_tmpl(o, "--vsock-uds", o->vsock_tmpl, FANOUT_SUN_PATH_MAX, true, err,
				 errlen);
		if (ret)
			return ret;
	}
	for (unsigned i = 0; i < o->nextra; i++) {
		ret = check_tmpl(o, "--femtovm-arg", o->extra[i], PATH_MAX, false, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

int fanout_parse_args(int argc, char **argv, struct fanout_opts *o, char *err, size_t errlen)
{
	bool hold_set = false, wait_count_set = false;
	int c, ret;

	memset(o, 0, sizeof(*o));
	o->timeout_ms = 30000;
	o->wait_count = 1;
	optind = 0;	/* full reset: callers may parse more than once */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:s:m:d:h", long_opts, NULL)) != -1) {
		if (c == '?')
			return errf(err, errlen, "unknown option '%s' (see --help)",
				    argv[optind - 1]);
		if (c == ':')
			return errf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		if (c == OPT_WAIT_COUNT)
			wait_count_set = true;
		ret = take_opt(o, c, optarg, &hold_set, err, errlen);
		if (ret)
			return ret;
	}
	if (o->help)
		return 0;
	if (optind < argc)
		return errf(err, errlen, "unexpected argument '%s'", argv[optind]);
	return check_opts(o, hold_set, wait_count_set, err, errlen);
}

/* Adds {"iface_id", "host_dev_name"} per --net-override. */
static int add_net_overrides(cJSON *body, const struct fanout_opts *o, unsigned idx)
{
	cJSON *arr = cJSON_AddArrayToObject(body, "network_overrides");
	char dev[FANOUT_IFNAME_MAX + 1];

	if (!arr)
		return -ENOMEM;
	for (unsigned i = 0; i < o->nnet; i++) {
		cJSON *e = cJSON_CreateObject();

		if (!e || !cJSON_AddItemToArray(arr, e))
			return -ENOMEM;
		if (fanout_expand(o->net[i].tmpl, idx, dev, sizeof(dev)) < 0)
			return -EINVAL;
		if (!cJSON_AddStringToObject(e, "iface_id", o->net[i].iface) ||
		    !cJSON_AddStringToObject(e, "host_dev_name", dev))
			return -ENOMEM;
	}
	return 0;
}

char *fanout_load_body(const struct fanout_opts *o, unsigned idx)
{
	cJSON *body = cJSON_CreateObject(), *mem, *vs;
	char uds[FANOUT_SUN_PATH_MAX + 1];
	char *text = NULL;

	if (!body)
		return NULL;
	if (!cJSON_AddStringToObject(body, "snapshot_path", o->snapshot) ||
	    !(mem = cJSON_AddObjectToObject(body, "mem_backend")) ||
	    !cJSON_AddStringToObject(mem, "backend_type", "File") ||
	    !cJSON_AddStringToObject(mem, "backend_path", o->mem_file) ||
	    !cJSON_AddBoolToObject(body, "resume_vm", !o->paused))
		goto out;
	if (o->track_dirty && !cJSON_AddTrueToObject(body, "track_dirty_pages"))
		goto out;
	if (o->nnet && add_net_overrides(body, o, idx))
		goto out;
	if (o->vsock_tmpl) {
		vs = cJSON_AddObjectToObject(body, "vsock_override");
		if (!vs || fanout_expand(o->vsock_tmpl, idx, uds, sizeof(uds)) < 0 ||
		    !cJSON_AddStringToObject(vs, "uds_path", uds))
			goto out;
	}
	text = cJSON_PrintUnformatted(body);
out:
	cJSON_Delete(body);
	return text;
}
