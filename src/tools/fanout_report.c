/* femtovm-fanout reports: per-process memory from /proc/PID/smaps_rollup,
 * load-latency statistics, and the human-readable and JSON reports of one
 * fan-out (per clone and combined). */
#define _GNU_SOURCE
#include "tools/fanout.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* "Key:   <digits> kB" at the start of a line. */
static int smaps_field(const char *line, const char *key, uint64_t *v, bool *seen)
{
	size_t klen = strlen(key);
	const char *p;
	uint64_t x = 0;

	if (strncmp(line, key, klen) || line[klen] != ':')
		return 0;
	for (p = line + klen + 1; *p == ' ' || *p == '\t'; p++)
		;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	if (strncmp(p, " kB", 3))
		return -EINVAL;
	*v += x;
	*seen = true;
	return 1;
}

int fanout_parse_smaps(const char *text, struct fanout_mem *m)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "Rss", offsetof(struct fanout_mem, rss) },
		{ "Pss", offsetof(struct fanout_mem, pss) },
		{ "Shared_Clean", offsetof(struct fanout_mem, shared) },
		{ "Shared_Dirty", offsetof(struct fanout_mem, shared) },
		{ "Private_Clean", offsetof(struct fanout_mem, private_) },
		{ "Private_Dirty", offsetof(struct fanout_mem, private_) },
		{ "Anonymous", offsetof(struct fanout_mem, anon) },
	};
	bool seen[sizeof(keys) / sizeof(keys[0])] = { false };

	memset(m, 0, sizeof(*m));
	for (const char *line = text; line && *line;) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			uint64_t *v = (uint64_t *)((char *)m + keys[i].off);
			int r;

			if (seen[i] && !strncmp(line, keys[i].key, strlen(keys[i].key)) &&
			    line[strlen(keys[i].key)] == ':')
				return -EINVAL;	/* a key twice */
			r = smaps_field(line, keys[i].key, v, &seen[i]);
			if (r < 0)
				return r;
			if (r)
				break;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return seen[0] && seen[1] ? 0 : -EINVAL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void fanout_stats(double *v, unsigned n, double *median, double *min, double *max)
{
	*median = *min = *max = 0;
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_double);
	*median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*min = v[0];
	*max = v[n - 1];
}

/* Totals over the run's clones. */
struct totals {
	unsigned ok, failed, measured;
	struct fanout_mem mem;
	double med, min, max;
};

static void totals(const struct fanout_run *r, struct totals *t)
{
	double *lat = calloc(r->o->count ? r->o->count : 1, sizeof(*lat));
	unsigned n = 0;

	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < r->o->count; i++) {
		const struct fanout_clone *c = &r->c[i];

		if (c->state == CLONE_OK) {
			t->ok++;
			if (lat)
				lat[n++] = c->t_done - c->t_sent;
		} else {
			t->failed++;
		}
		if (c->have_mem) {
			t->measured++;
			t->mem.rss += c->mem.rss;
			t->mem.pss += c->mem.pss;
			t->mem.shared += c->mem.shared;
			t->mem.private_ += c->mem.private_;
			t->mem.anon += c->mem.anon;
		}
	}
	fanout_stats(lat ? lat : &t->med, n, &t->med, &t->min, &t->max);
	free(lat);
}

static double mib(uint64_t kb)
{
	return kb / 1024.0;
}

/* "ready -> all sockets" etc. only when both ends exist. */
static double span(double a, double b)
{
	return a > 0 && b > 0 ? b - a : 0;
}

static void clone_line(FILE *f, const struct fanout_run *r, const struct fanout_clone *c)
{
	fprintf(f, "%6u %8d ", c->idx, (int)c->pid);
	if (c->state == CLONE_OK)
		fprintf(f, "%9.2f ", c->t_done - c->t_sent);
	else
		fprintf(f, "%9s ", "-");
	if (c->have_mem)
		fprintf(f, "%8.2f %8.2f %8.2f %8.2f  ", mib(c->mem.rss), mib(c->mem.pss),
			mib(c->mem.private_), mib(c->mem.shared));
	else
		fprintf(f, "%8s %8s %8s %8s  ", "-", "-", "-", "-");
	if (c->state == CLONE_OK)
		fprintf(f, "%s\n", r->o->end == FANOUT_DETACH ? c->sock : "ok");
	else
		fprintf(f, "FAILED: %s\n", c->err[0] ? c->err : "not loaded");
}

void fanout_report_text(FILE *f, const struct fanout_run *r)
{
	const struct fanout_opts *o = r->o;
	struct totals t;

	totals(r, &t);
	fprintf(f, "femtovm-fanout: %u clone(s) of %s (memory file %s): %u loaded, %u failed\n",
		o->count, o->snapshot, o->mem_file, t.ok, t.failed);
	if (r->t_ready > 0)
		fprintf(f, "  spawn -> every API socket accepting   %9.2f ms\n",
			span(r->t0, r->t_ready));
	if (t.ok) {
		fprintf(f, "  fan-out: first load sent -> last 204  %9.2f ms\n",
			span(r->t_first_sent, r->t_last_done));
		fprintf(f, "  spawn -> last 204                     %9.2f ms\n",
			span(r->t0, r->t_last_done));
		fprintf(f, "  load (request sent -> 204) per clone: median %.2f ms, min %.2f ms, "
			"max %.2f ms\n", t.med, t.min, t.max);
	}
	if (t.measured)
		fprintf(f, "  memory of %u clone(s) (smaps_rollup, %.0f ms after the last 204): "
			"Rss %.2f MiB, Pss %.2f MiB, Private %.2f MiB, Shared %.2f MiB, "
			"Pss per clone %.2f MiB\n", t.measured, span(r->t_last_done, r->t_measured),
			mib(t.mem.rss), mib(t.mem.pss), mib(t.mem.private_), mib(t.mem.shared),
			mib(t.mem.pss) / t.measured);
	fprintf(f, "%6s %8s %9s %8s %8s %8s %8s  %s\n", "clone", "pid", "load ms", "Rss MiB",
		"Pss MiB", "Private", "Shared", o->end == FANOUT_DETACH ? "API socket" : "state");
	for (unsigned i = 0; i < o->count; i++)
		clone_line(f, r, &r->c[i]);
	fprintf(f, "  work dir %s (clone-<i>.sock, .serial: guest serial, .log: monitor log); "
		"clones %s\n", r->work_dir, r->outcome);
}

/* Milliseconds to the microsecond, so the JSON stays readable. */
static double ms3(double ms)
{
	return (double)(long long)(ms * 1000 + (ms >= 0 ? 0.5 : -0.5)) / 1000;
}

static cJSON *mem_json(const struct fanout_mem *m)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "rss", (double)m->rss);
	cJSON_AddNumberToObject(j, "pss", (double)m->pss);
	cJSON_AddNumberToObject(j, "private", (double)m->private_);
	cJSON_AddNumberToObject(j, "shared", (double)m->shared);
	cJSON_AddNumberToObject(j, "anonymous", (double)m->anon);
	return j;
}

static const char *const state_names[] = {
	[CLONE_SPAWNED] = "spawned", [CLONE_READY] = "ready", [CLONE_SENT] = "sent",
	[CLONE_OK] = "ok", [CLONE_FAILED] = "failed",
};

static cJSON *clone_json(const struct fanout_clone *c)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "index", c->idx);
	cJSON_AddNumberToObject(j, "pid", c->pid);
	cJSON_AddStringToObject(j, "state", state_names[c->state]);
	cJSON_AddStringToObject(j, "api_sock", c->sock);
	cJSON_AddStringToObject(j, "serial", c->serial);
	cJSON_AddStringToObject(j, "log", c->log);
	if (c->state == CLONE_OK)
		cJSON_AddNumberToObject(j, "load_ms", ms3(c->t_done - c->t_sent));
	else
		cJSON_AddStringToObject(j, "error", c->err[0] ? c->err : "not loaded");
	if (c->have_mem)
		cJSON_AddItemToObject(j, "memory_kib", mem_json(&c->mem));
	return j;
}

char *fanout_report_json(const struct fanout_run *r)
{
	cJSON *j = cJSON_CreateObject(), *tm, *lat, *arr;
	struct totals t;
	char *text;

	if (!j)
		return NULL;
	totals(r, &t);
	cJSON_AddStringToObject(j, "snapshot_path", r->o->snapshot);
	cJSON_AddStringToObject(j, "mem_file_path", r->o->mem_file);
	cJSON_AddStringToObject(j, "work_dir", r->work_dir);
	cJSON_AddNumberToObject(j, "count", r->o->count);
	cJSON_AddNumberToObject(j, "loaded", t.ok);
	cJSON_AddNumberToObject(j, "failed", t.failed);
	cJSON_AddStringToObject(j, "clones_are", r->outcome);
	tm = cJSON_AddObjectToObject(j, "timing_ms");
	cJSON_AddNumberToObject(tm, "spawn_to_ready", ms3(span(r->t0, r->t_ready)));
	cJSON_AddNumberToObject(tm, "fanout", ms3(span(r->t_first_sent, r->t_last_done)));
	cJSON_AddNumberToObject(tm, "spawn_to_last_loaded", ms3(span(r->t0, r->t_last_done)));
	cJSON_AddNumberToObject(tm, "memory_measured_after",
				ms3(span(r->t_last_done, r->t_measured)));
	lat = cJSON_AddObjectToObject(tm, "load");
	cJSON_AddNumberToObject(lat, "median", ms3(t.med));
	cJSON_AddNumberToObject(lat, "min", ms3(t.min));
	cJSON_AddNumberToObject(lat, "max", ms3(t.max));
	cJSON_AddNumberToObject(j, "measured", t.measured);
	cJSON_AddItemToObject(j, "memory_kib", mem_json(&t.mem));
	arr = cJSON_AddArrayToObject(j, "clones");
	for (unsigned i = 0; i < r->o->count; i++)
		cJSON_AddItemToArray(arr, clone_json(&r->c[i]));
	text = cJSON_Print(j);
	cJSON_Delete(j);
	return text;
}
