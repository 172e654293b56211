/* femtovm-fanout: restore many clones of one snapshot at once (the FaaS
 * fan-out path). Shared between fanout.c (processes, the fan-out loop),
 * fanout_opts.c (command line, templates, load bodies) and fanout_report.c
 * (smaps_rollup, statistics, text and JSON reports). */
#ifndef FEMTOVM_TOOLS_FANOUT_H
#define FEMTOVM_TOOLS_FANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define FANOUT_MAX_CLONES 1000
#define FANOUT_MAX_NET 16		/* --net-override entries */
#define FANOUT_MAX_EXTRA 32		/* --femtovm-arg entries */
#define FANOUT_SUN_PATH_MAX 107		/* sizeof(sun_path) - 1 */
#define FANOUT_IFNAME_MAX 15		/* IFNAMSIZ - 1 */
#define FANOUT_IFACE_MAX 64		/* iface_id of --net-override */
#define FANOUT_RBUF 16384		/* one API response */
#define FANOUT_WAIT_MAX 256		/* --wait-serial text, NUL included */

/* Exit codes (documented in --help and README.md). */
enum {
	FANOUT_EXIT_OK = 0,		/* every clone loaded */
	FANOUT_EXIT_CLONE = 1,		/* a clone failed to start, load or wait */
	FANOUT_EXIT_USAGE = 2,		/* bad command line */
	FANOUT_EXIT_HOST = 3,		/* host error: work dir, fork, /proc */
	FANOUT_EXIT_INTR = 4,		/* SIGINT/SIGTERM/SIGHUP before the report */
};

enum fanout_end { FANOUT_STOP, FANOUT_HOLD, FANOUT_DETACH };

struct fanout_net {
	char iface[FANOUT_IFACE_MAX + 1];	/* iface_id */
	const char *tmpl;		/* host_dev_name template */
};

struct fanout_opts {
	unsigned count;
	const char *snapshot, *mem_file, *femtovm, *work_dir;
	struct fanout_net net[FANOUT_MAX_NET];
	unsigned nnet;
	const char *vsock_tmpl;		/* vsock_override.uds_path template */
	const char *extra[FANOUT_MAX_EXTRA];	/* femtovm argument templates */
	unsigned nextra;
	bool paused, track_dirty, json, keep_going, clean, help;
	enum fanout_end end;
	unsigned hold_s;
	unsigned timeout_ms;		/* per step: socket, load, wait */
	const char *wait_text;		/* --wait-serial */
	unsigned wait_count;
	unsigned settle_ms;
};

/* Parse argv into *o (defaults first). 0 on success (o->help set for
 * --help); -EINVAL with a message in err otherwise. argv strings are
 * referenced, not copied. Checks every template for every clone index. */
int fanout_parse_args(int argc, char **argv, struct fanout_opts *o, char *err, size_t errlen);

/* Expand a template for clone idx: "%d" -> idx, "%%" -> "%". Returns the
 * length, -EINVAL for any other '%' sequence, -ENAMETOOLONG when the result
 * does not fit in cap (NUL included). */
int fanout_expand(const char *tmpl, unsigned idx, char *out, size_t cap);

/* True when tmpl contains "%d" (so each clone gets its own value). */
bool fanout_tmpl_has_index(const char *tmpl);

/* The PUT /snapshot/load body for clone idx (malloc'd JSON text; NULL on
 * an expansion error or out of memory). */
char *fanout_load_body(const struct fanout_opts *o, unsigned idx);

/* Memory of one process, kB, from /proc/PID/smaps_rollup. */
struct fanout_mem {
	uint64_t rss, pss, shared, private_, anon;
};

/* Parse smaps_rollup text: Rss, Pss, Shared_{Clean,Dirty},
 * Private_{Clean,Dirty}, Anonymous. 0, or -EINVAL if Rss or Pss is missing
 * or a value is malformed. */
int fanout_parse_smaps(const char *text, struct fanout_mem *m);

enum fanout_state { CLONE_SPAWNED, CLONE_READY, CLONE_SENT, CLONE_OK, CLONE_FAILED };

struct fanout_clone {
	unsigned idx;
	pid_t pid;
	bool reaped;			/* waited for: pid is gone */
	int wstatus;			/* its wait status once reaped */
	int fd;				/* API connection, -1 when closed */
	enum fanout_state state;
	char sock[FANOUT_SUN_PATH_MAX + 1];
	char serial[FANOUT_SUN_PATH_MAX + 16], log[FANOUT_SUN_PATH_MAX + 16];
	double t_spawn, t_ready, t_sent, t_done;	/* ms, CLOCK_MONOTONIC */
	char *body;			/* request being sent */
	char rbuf[FANOUT_RBUF];
	size_t rlen;
	unsigned waited;		/* --wait-serial occurrences seen */
	long serial_off;		/* serial bytes scanned so far */
	char carry[FANOUT_WAIT_MAX];	/* tail that may start a match */
	size_t ncarry;
	bool have_mem;
	struct fanout_mem mem;
	char err[512];
};

/* Whole-run numbers for the report. */
struct fanout_run {
	const struct fanout_opts *o;
	struct fanout_clone *c;
	char work_dir[FANOUT_SUN_PATH_MAX + 1];
	double t0, t_ready, t_first_sent, t_last_done, t_measured;	/* ms */
	const char *outcome;		/* "stopped", "held", "detached" */
};

/* Median / min / max of v[0..n) (sorts v); zeros when n == 0. */
void fanout_stats(double *v, unsigned n, double *median, double *min, double *max);

/* Human-readable report (per clone and totals) to f. */
void fanout_report_text(FILE *f, const struct fanout_run *r);

/* The same as one JSON object (malloc'd text, NULL when out of memory). */
char *fanout_report_json(const struct fanout_run *r);

#endif
