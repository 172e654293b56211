/* femtovm-fanout: restore COUNT clones of one snapshot concurrently (the
 * FaaS fan-out path): start a femtovm per clone, send every clone its
 * PUT /snapshot/load (own overrides) at once, time each load, report the
 * clones' combined memory (smaps_rollup), then stop, hold or detach them. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/fanout.h"
#include "tools/fanout_proc.h"
#include "tools/uds_http.h"

static const char usage_text[] =
"Usage: femtovm-fanout -n COUNT -s STATE_FILE -m MEM_FILE [OPTIONS]\n"
"\n"
"Restore COUNT clones of one femtovm snapshot at once: start COUNT femtovm\n"
"processes (each with its own API socket, serial output and log in the work\n"
"directory), wait until every API socket accepts, then send every clone its\n"
"PUT /snapshot/load concurrently. Reports each clone's load latency (request\n"
"sent -> 204), the whole fan-out, and the clones' combined memory from\n"
"/proc/PID/smaps_rollup (Rss, Pss, Private, Shared). Clones share the memory\n"
"file's page cache (it is mapped MAP_PRIVATE). Then the clones are stopped\n"
"(default), held for --hold seconds, or left running (--detach).\n"
"\n"
"  -n, --count N              clones to restore, 1-1000 (required)\n"
"  -s, --snapshot PATH        snapshot state file (required)\n"
"  -m, --mem-file PATH        guest memory file, File backend (required)\n"
"  -d, --work-dir DIR         clone-<i>.sock (API), clone-<i>.serial (guest\n"
"                             serial), clone-<i>.log (monitor log); created if\n"
"                             missing (default: a new /tmp/femtovm-fanout.XXXXXX)\n"
"      --femtovm PATH         monitor binary (default: femtovm in the directory\n"
"                             of this program)\n"
"      --femtovm-arg ARG      one more argument for every femtovm, a template\n"
"                             (repeatable: --femtovm-arg --id --femtovm-arg fn%d)\n"
"      --net-override IFACE=TEMPLATE\n"
"                             network_overrides entry: interface IFACE of the\n"
"                             snapshot uses tap TEMPLATE (repeatable)\n"
"      --vsock-uds TEMPLATE   vsock_override: the vsock device's uds_path\n"
"      --paused               resume_vm false: clones stay paused after loading\n"
"      --track-dirty-pages    track_dirty_pages true (for later Diff snapshots)\n"
"      --wait-serial TEXT     after the loads, wait until TEXT appears in each\n"
"                             clone's serial output before measuring memory\n"
"      --wait-count N         ... N times (default 1)\n"
"      --settle MS            then sleep MS before measuring memory (default 0)\n"
"      --timeout SECONDS      limit for each step of each clone: its API socket,\n"
"                             its load answer, --wait-serial (default 30)\n"
"      --keep-going           when clones fail, keep the others (default: stop all)\n"
"      --hold SECONDS         after the report keep the clones running this long\n"
"                             (SIGINT/SIGTERM end it early), then stop them\n"
"      --detach               after the report exit and leave the clones running\n"
"                             (pids and API sockets are in the report)\n"
"      --clean                after stopping, remove the clones' files (and the\n"
"                             work directory if this run created it)\n"
"      --json                 print the report as one JSON object (sizes in KiB)\n"
"  -h, --help                 print this help and exit\n"
"\n"
"Templates: %d is the clone index (0 to COUNT-1), %% a '%'. With COUNT > 1 the\n"
"--net-override and --vsock-uds templates must contain %d (a tap or a socket\n"
"serves one clone); host_dev_name may have 15 bytes, uds_path 107.\n"
"\n"
"A clone whose monitor dies, whose socket does not appear or whose load is\n"
"refused is reported with the reason (the API's fault_message for a refused\n"
"load). Without --keep-going every clone is then stopped.\n"
"\n"
"Exit codes:\n"
"  0  every clone loaded (and, with --wait-serial, printed TEXT)\n"
"  1  at least one clone failed (the others are stopped unless --keep-going)\n"
"  2  bad command line, or the femtovm binary is not executable\n"
"  3  host error: the work directory, fork, reading /proc\n"
"  4  interrupted (SIGINT/SIGTERM/SIGHUP) before the report; clones stopped\n";

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void fail_clone(struct fanout_clone *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail_clone(struct fanout_clone *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->state = CLONE_FAILED;
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

/* The clone's monitor is gone: say how, with its last log line. */
static void fail_exited(struct fanout_clone *c, const char *when)
{
	char how[64], last[256];

	fanout_describe_exit(c->wstatus, how, sizeof(how));
	fanout_last_log_line(c->log, last, sizeof(last));
	fail_clone(c, "femtovm %s %s%s%s", how, when, last[0] ? ": " : "", last);
}

/* Phase 1+2: start every monitor, then connect to each API socket. */
static int start_all(struct fanout_run *r, const char *femtovm)
{
	const struct fanout_opts *o = r->o;
	unsigned pending = 0;
	int ret;

	r->t0 = fanout_now_ms();
	for (unsigned i = 0; i < o->count; i++) {
		ret = fanout_spawn(&r->c[i], femtovm, o);
		if (ret) {
			fail_clone(&r->c[i], "cannot start femtovm: %s", strerror(-ret));
			return -EIO;
		}
		pending++;
	}
	while (pending) {
		if (interrupted)
			return -EINTR;
		for (unsigned i = 0; i < o->count; i++) {
			struct fanout_clone *c = &r->c[i];
			int fd;

			if (c->state != CLONE_SPAWNED)
				continue;
			fd = uds_http_connect(c->sock);
			if (fd >= 0) {
				c->fd = fd;
				c->state = CLONE_READY;
				c->t_ready = fanout_now_ms();
			} else if (fanout_reap(c, false)) {
				fail_exited(c, "before its API socket accepted");
			} else if (fd != -ENOENT && fd != -ECONNREFUSED) {
				fail_clone(c, "connect %s: %s", c->sock, strerror(-fd));
			} else if (fanout_now_ms() - c->t_spawn > o->timeout_ms) {
				fail_clone(c, "API socket %s did not accept within %u s", c->sock,
					   o->timeout_ms / 1000);
			}
			if (c->state != CLONE_SPAWNED)
				pending--;
		}
		if (pending)
			usleep(200);
	}
	r->t_ready = fanout_now_ms();
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Phase 3a: every ready clone gets its load request, back to back. */
static void send_all(struct fanout_run *r)
{
	char req[8192];

	for (unsigned i = 0; i < r->o->count; i++) {
		struct fanout_clone *c = &r->c[i];
		char *body;
		int n, ret;

		if (c->state != CLONE_READY)
			continue;
		body = fanout_load_body(r->o, c->idx);
		n = body ? uds_http_format(req, sizeof(req), "PUT", "/snapshot/load", body)
			 : -ENOMEM;
		free(body);
		if (n < 0) {
			fail_clone(c, "cannot build the load request: %s", strerror(-n));
			continue;
		}
		c->t_sent = fanout_now_ms();
		if (!r->t_first_sent)
			r->t_first_sent = c->t_sent;
		ret = write_all(c->fd, req, (size_t)n);
		if (ret) {
			fail_clone(c, "sending the load request: %s", strerror(-ret));
			continue;
		}
		c->state = CLONE_SENT;
	}
}

/* One readable API connection: read, and finish the clone on a complete
 * response (204 = loaded, anything else = the fault message). */
static void read_answer(struct fanout_clone *c)
{
	struct uds_http_resp resp;
	char fault[400];
	ssize_t n;
	long len;

	n = read(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - 1 - c->rlen);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (fanout_reap(c, false))
			fail_exited(c, "before answering the load");
		else
			fail_clone(c, "the API connection closed before the load answer");
		return;
	}
	c->rlen += (size_t)n;
	len = uds_http_parse(c->rbuf, c->rlen, &resp);
	if (len == 0 && c->rlen == sizeof(c->rbuf) - 1)
		len = -E2BIG;
	if (len < 0) {
		fail_clone(c, "bad HTTP response to the load: %s", strerror((int)-len));
		return;
	}
	if (len == 0)
		return;
	c->t_done = fanout_now_ms();
	if (resp.status == 204) {
		c->state = CLONE_OK;
		close(c->fd);
		c->fd = -1;
		return;
	}
	uds_http_fault(c->rbuf + resp.body_off, resp.body_len, fault, sizeof(fault));
	fail_clone(c, "PUT /snapshot/load: HTTP %d: %s", resp.status, fault);
}

/* Phase 3b: collect the answers. */
static int collect_all(struct fanout_run *r)
{
	unsigned n = r->o->count;
	struct pollfd *p = calloc(n, sizeof(*p));
	unsigned *who = calloc(n, sizeof(*who));
	unsigned np;

	if (!p || !who) {
		free(p);
		free(who);
		return -ENOMEM;
	}
	for (;;) {
		double now = fanout_now_ms();

		np = 0;
		for (unsigned i = 0; i < n; i++) {
			struct fanout_clone *c = &r->c[i];

			if (c->state != CLONE_SENT)
				continue;
			if (now - c->t_sent > r->o->timeout_ms) {
				fail_clone(c, "no answer to the load within %u s", r->o->timeout_ms / 1000);
				continue;
			}
			p[np] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
			who[np++] = i;
		}
		if (!np || interrupted)
			break;
		if (poll(p, np, 20) < 0 && errno != EINTR)
			break;
		for (unsigned k = 0; k < np; k++)
			if (p[k].revents)
				read_answer(&r->c[who[k]]);
	}
	for (unsigned i = 0; i < n; i++)
		if (r->c[i].state == CLONE_OK && r->c[i].t_done > r->t_last_done)
			r->t_last_done = r->c[i].t_done;
	free(p);
	free(who);
	return interrupted ? -EINTR : 0;
}

/* Count new occurrences of the --wait-serial text in a clone's serial. */
static void scan_serial(struct fanout_clone *c, const char *text)
{
	size_t tlen = strlen(text), len, pos = 0, keep;
	char buf[FANOUT_WAIT_MAX + 65536];
	FILE *f = fopen(c->serial, "re");
	char *m;

	if (!f)
		return;
	memcpy(buf, c->carry, c->ncarry);
	if (fseek(f, c->serial_off, SEEK_SET) == 0) {
		len = c->ncarry + fread(buf + c->ncarry, 1, sizeof(buf) - c->ncarry, f);
		c->serial_off += (long)(len - c->ncarry);
	} else {
		len = c->ncarry;
	}
	fclose(f);
	while ((m = memmem(buf + pos, len - pos, text, tlen))) {
		c->waited++;
		pos = (size_t)(m - buf) + tlen;
	}
	keep = len - pos < tlen - 1 ? len - pos : tlen - 1;
	memcpy(c->carry, buf + len - keep, keep);
	c->ncarry = keep;
}

/* Phase 4: --wait-serial. */
static int wait_serial(struct fanout_run *r)
{
	const struct fanout_opts *o = r->o;
	double start = fanout_now_ms();
	bool pending = true;

	while (pending && !interrupted) {
		pending = false;
		for (unsigned i = 0; i < o->count; i++) {
			struct fanout_clone *c = &r->c[i];

			if (c->state != CLONE_OK || c->waited >= o->wait_count)
				continue;
			scan_serial(c, o->wait_text);
			if (c->waited >= o->wait_count)
				continue;
			if (fanout_reap(c, false))
				fail_exited(c, "while waiting for its serial output");
			else if (fanout_now_ms() - start > o->timeout_ms)
				fail_clone(c, "'%s' seen %u of %u times on its serial within %u s",
					   o->wait_text, c->waited, o->wait_count,
					   o->timeout_ms / 1000);
			else
				pending = true;
		}
		if (pending)
			usleep(10000);
	}
	return interrupted ? -EINTR : 0;
}

/* Sleep ms unless interrupted. */
static void nap(double ms)
{
	double end = fanout_now_ms() + ms;

	while (!interrupted && fanout_now_ms() < end)
		usleep(ms > 50 ? 50000 : (useconds_t)(ms * 1000) + 1);
}

/* Phase 5: smaps_rollup of every loaded clone. */
static int measure(struct fanout_run *r)
{
	char path[64], text[8192];

	r->t_measured = fanout_now_ms();
	for (unsigned i = 0; i < r->o->count; i++) {
		struct fanout_clone *c = &r->c[i];
		FILE *f;
		size_t n;

		if (c->state != CLONE_OK)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)c->pid);
		f = fopen(path, "re");
		n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
		if (f)
			fclose(f);
		text[n] = '\0';
		if (fanout_reap(c, false)) {
			fail_exited(c, "before its memory was measured");
			continue;
		}
		if (!f || fanout_parse_smaps(text, &c->mem)) {
			fprintf(stderr, "femtovm-fanout: cannot read %s\n", path);
			return -EIO;
		}
		c->have_mem = true;
	}
	return 0;
}

static void print_report(const struct fanout_run *r)
{
	for (unsigned i = 0; i < r->o->count; i++)
		if (r->c[i].state == CLONE_FAILED)
			fprintf(stderr, "femtovm-fanout: clone %u: %s\n", i, r->c[i].err);
	if (r->o->json) {
		char *j = fanout_report_json(r);

		if (j)
			printf("%s\n", j);
		free(j);
	} else {
		fanout_report_text(stdout, r);
	}
	fflush(stdout);
}

static unsigned count_state(const struct fanout_run *r, enum fanout_state s)
{
	unsigned n = 0;

	for (unsigned i = 0; i < r->o->count; i++)
		n += r->c[i].state == s;
	return n;
}

/* Phases 2-5; 0, -EINTR, or -EIO (host error). Failures are per clone. */
static int run(struct fanout_run *r, const char *femtovm)
{
	int ret = start_all(r, femtovm);

	if (ret)
		return ret;
	if (!r->o->keep_going && count_state(r, CLONE_FAILED))
		return 0;	/* no loads: every clone will be stopped */
	send_all(r);
	ret = collect_all(r);
	if (ret)
		return ret;
	if (r->o->wait_text) {
		ret = wait_serial(r);
		if (ret)
			return ret;
	}
	nap(r->o->settle_ms);
	if (interrupted)
		return -EINTR;
	return measure(r);
}

/* After the report: stop, hold then stop, or detach. */
static void finish(struct fanout_run *r, bool created)
{
	const struct fanout_opts *o = r->o;

	if (o->end == FANOUT_HOLD) {
		nap(o->hold_s * 1000.0);
		fanout_stop(r->c, o->count, false);
	}
	if (o->clean)
		fanout_clean(r->c, o->count, r->work_dir, created);
}

int main(int argc, char **argv)
{
	static struct fanout_run r;
	struct fanout_opts o;
	char err[512], femtovm[PATH_MAX];
	bool created;
	int ret, failed;

	if (fanout_parse_args(argc, argv, &o, err, sizeof(err))) {
		fprintf(stderr, "femtovm-fanout: %s\n", err);
		return FANOUT_EXIT_USAGE;
	}
	if (o.help) {
		fputs(usage_text, stdout);
		return FANOUT_EXIT_OK;
	}
	if (o.femtovm)
		snprintf(femtovm, sizeof(femtovm), "%s", o.femtovm);
	else if (fanout_default_femtovm(femtovm, sizeof(femtovm)))
		snprintf(femtovm, sizeof(femtovm), "femtovm");
	if (access(femtovm, X_OK)) {
		fprintf(stderr, "femtovm-fanout: monitor %s: %s (see --femtovm)\n", femtovm,
			strerror(errno));
		return FANOUT_EXIT_USAGE;
	}
	ret = fanout_work_dir(o.work_dir, r.work_dir, sizeof(r.work_dir), &created);
	if (ret) {
		fprintf(stderr, "femtovm-fanout: work dir %s: %s\n", o.work_dir ? o.work_dir : "/tmp",
			strerror(-ret));
		return FANOUT_EXIT_HOST;
	}
	r.o = &o;
	r.c = calloc(o.count, sizeof(*r.c));
	if (!r.c) {
		fprintf(stderr, "femtovm-fanout: out of memory\n");
		return FANOUT_EXIT_HOST;
	}
	for (unsigned i = 0; i < o.count; i++)
		fanout_clone_paths(&r.c[i], r.work_dir, i);
	install_signals();

	ret = run(&r, femtovm);
	failed = count_state(&r, CLONE_FAILED) || count_state(&r, CLONE_OK) < o.count;
	for (unsigned i = 0; i < o.count; i++)
		if (r.c[i].state != CLONE_OK && r.c[i].state != CLONE_FAILED && !r.c[i].err[0])
			snprintf(r.c[i].err, sizeof(r.c[i].err), "not loaded: %s",
				 ret ? "the fan-out was cut short" : "another clone failed");
	if (ret || (failed && !o.keep_going) || o.end == FANOUT_STOP) {
		fanout_stop(r.c, o.count, false);
		r.outcome = "stopped";
	} else {
		fanout_stop(r.c, o.count, true);
		r.outcome = o.end == FANOUT_HOLD ? "held, then stopped" : "left running";
	}
	if (ret == -EINTR)
		fprintf(stderr, "femtovm-fanout: interrupted; every clone stopped\n");
	else
		print_report(&r);
	if (!ret)
		finish(&r, created);
	else if (o.clean)
		fanout_clean(r.c, o.count, r.work_dir, created);
	free(r.c);
	if (ret)
		return ret == -EINTR ? FANOUT_EXIT_INTR : FANOUT_EXIT_HOST;
	return failed ? FANOUT_EXIT_CLONE : FANOUT_EXIT_OK;
}
