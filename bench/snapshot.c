/*
 * snapshot: Full snapshot create and restore of the count guest, femtovm
 * through its API, QEMU microvm through QMP migration (peer).
 *
 * femtovm mode (default), for one guest size:
 *   1. exec `FEMTOVM --api-sock S`, boot KERNEL (count.elf) with MEM_MIB and
 *      1 vCPU, wait for a count line, PATCH /vm Paused, then
 *      PUT /snapshot/create {Full}:             create_us (round trip, the
 *      memory file write included; no fsync, so it lands in page cache)
 *   2. RUNS times: exec a fresh `FEMTOVM --api-sock S`, wait for the socket,
 *      PUT /snapshot/load {File backend, resume_vm:true}:
 *        load_us          the load call's round trip (write -> 204)
 *        load_to_line_us  load call written -> the guest's next complete
 *                         "count: N" line on FEMTOVM's stdout
 *        exec_to_line_us  execve() -> that line (process + socket + load)
 *
 * Snapshot-only mode (-S PREFIX): step 1 with the wait text of -w, the
 * files kept as PREFIX.state / PREFIX.mem (for femtovm-fanout, see
 * bench/snapshot.sh); prints create_us and mem_file_mib.
 *
 * Cold-boot mode (-B N): N monitors cold-boot KERNEL at once (API boot);
 * when each printed the -w text, sum Rss, Pss and Private of
 * /proc/PID/smaps_rollup: cold_{rss,pss,private}_sum_mib (n = N), and
 * cold_ready_ms (first exec -> the last VM's line).
 *
 * QEMU mode (-Q): the FEMTOVM argv is the QEMU command line without
 * -qmp/-incoming (count-pvh.elf); boot, wait for a count line, QMP
 * migrate "exec:cat > FILE" until completed (create_us; no stop first, see
 * qemu_mode), then RUNS
 * times: exec QEMU ... -incoming defer, QMP migrate-incoming "exec:cat FILE"
 * (the VM auto-starts when the migration completes):
 *        load_to_line_us  migrate-incoming written -> next count line
 *        exec_to_line_us  execve() -> that line
 *
 * -w TEXT: the serial line to wait for (a line containing TEXT); default a
 * "count: <digits>" line.
 *
 * Usage: snapshot [-Q] [-n RUNS] [-m MEM_MIB] [-a BOOT_ARGS] [-w TEXT]
 *                 [-S PREFIX | -B N] [-d DIR] [-e STDERR_FILE] -k KERNEL
 *                 -- CMD [ARG...]
 */
#include "benchlib.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define MAX_RUNS 1000
#define MAX_CLONES 200

struct opts {
	int runs, mem_mib, cold, qemu;
	const char *kernel, *args, *dir, *err_file, *wait, *keep;
	char **argv;
};
static struct opts o = { .runs = 20, .mem_mib = 128, .args = "console=ttyS0 period_ms=10" };
static double *t_exec;		/* shared page: CLOCK_MONOTONIC before execvp */
static char st_path[512], mem_path[512];

struct vm {
	pid_t pid;
	int out;		/* read end of the VM's stdout */
	char sock[108];
	struct http_conn *c;
	size_t len;
	char buf[8192];
};

/* Children still running, killed by die() so a failure leaves no VM. */
static pid_t live[MAX_CLONES + 1];

static void live_set(pid_t old, pid_t new)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] == old) {
			live[i] = new;
			return;
		}
}

static void die(const char *m)
{
	fprintf(stderr, "snapshot: %s\n", m);
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] > 0) {
			kill(live[i], SIGKILL);
			waitpid(live[i], NULL, 0);
		}
	for (int i = 0; i <= MAX_CLONES; i++) {
		char sock[108];

		snprintf(sock, sizeof(sock), "/tmp/femtovm-bench-snap-%d-%d.sock", (int)getpid(), i);
		unlink(sock);
	}
	{
		char sock[108];

		snprintf(sock, sizeof(sock), "/tmp/femtovm-bench-snapq-%d.sock", (int)getpid());
		unlink(sock);
	}
	unlink(st_path);
	unlink(mem_path);
	exit(1);
}

/* Start argv + extra (NULL-terminated); stdout -> pipe. */
static void vm_exec(struct vm *v, char **extra)
{
	int pfd[2], argc = 0, ne = 0, i;
	char **av;

	while (o.argv[argc])
		argc++;
	while (extra && extra[ne])
		ne++;
	av = calloc((size_t)(argc + ne + 1), sizeof(*av));
	for (i = 0; i < argc; i++)
		av[i] = o.argv[i];
	for (i = 0; i < ne; i++)
		av[argc + i] = extra[i];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		die("pipe");
	v->len = 0;
	v->pid = fork();
	if (v->pid < 0)
		die("fork");
	if (v->pid == 0) {
		int nfd = open("/dev/null", O_RDONLY);
		int efd = open(o.err_file ? o.err_file : "/dev/null",
			       O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (nfd < 0 || efd < 0 || dup2(nfd, 0) < 0 || dup2(pfd[1], 1) < 0 ||
		    dup2(efd, 2) < 0)
			_exit(126);
		*t_exec = now_us();
		execvp(av[0], av);
		_exit(127);
	}
	live_set(0, v->pid);
	free(av);
	close(pfd[1]);
	v->out = pfd[0];
}

static int sock_connect(struct vm *v, const char *path)
{
	double deadline = now_us() + 10e6;
	int fd;

	while ((fd = unix_connect(path)) < 0) {
		if (now_us() > deadline || waitpid(v->pid, NULL, WNOHANG) == v->pid)
			return -1;
		usleep(50);
	}
	return fd;
}

/* A fresh connection to the monitor's socket (v->sock), or die with @what
 * ("API socket did not appear"). */
static void vm_connect(struct vm *v, const char *what)
{
	if (!v->c)
		v->c = calloc(1, sizeof(*v->c));
	v->c->len = 0;
	v->c->fd = sock_connect(v, v->sock);
	if (v->c->fd < 0)
		die(what);
}

static void fvm_start(struct vm *v, int idx)
{
	char *extra[] = { "--api-sock", v->sock, NULL };

	snprintf(v->sock, sizeof(v->sock), "/tmp/femtovm-bench-snap-%d-%d.sock",
		 (int)getpid(), idx);
	unlink(v->sock);
	vm_exec(v, extra);
	vm_connect(v, "API socket did not appear");
}

static void vm_kill(struct vm *v)
{
	if (v->c && v->c->fd >= 0) {
		close(v->c->fd);
		v->c->fd = -1;
	}
	kill(v->pid, SIGKILL);
	waitpid(v->pid, NULL, 0);
	live_set(v->pid, 0);
	close(v->out);
	if (v->sock[0])
		unlink(v->sock);
}

/* A complete line containing o.wait in buf. */
static int has_wait_line(const char *buf)
{
	const char *s = strstr(buf, o.wait);

	return s && strchr(s, '\n');
}

/* Read what is available on the VM's stdout (waits up to ms); returns 1
 * once a complete "count: <digits>\n" line (or one containing -w TEXT)
 * arrived since the last reset. */
static int vm_poll_line(struct vm *v, int ms)
{
	struct pollfd p = { .fd = v->out, .events = POLLIN };
	ssize_t n;
	char *s;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	if (v->len >= sizeof(v->buf) - 1) {	/* keep the tail: a line may span */
		memmove(v->buf, v->buf + v->len - 256, 256);
		v->len = 256;
	}
	n = read(v->out, v->buf + v->len, sizeof(v->buf) - 1 - v->len);
	if (n <= 0)
		die("VM stdout closed");
	v->len += (size_t)n;
	v->buf[v->len] = '\0';
	if (o.wait)
		return has_wait_line(v->buf);
	for (s = v->buf; (s = strstr(s, "count: ")); s += 7) {
		char *q = s + 7;

		if (*q < '0' || *q > '9')
			continue;
		while (*q >= '0' && *q <= '9')
			q++;
		if (*q == '\n')
			return 1;
	}
	return 0;
}

static void vm_wait_line(struct vm *v, int timeout_ms)
{
	double deadline = now_us() + timeout_ms * 1000.0;

	while (!vm_poll_line(v, 10))
		if (now_us() > deadline)
			die("no count line from the guest");
}

static int api(struct vm *v, const char *method, const char *path, const char *body)
{
	if (http_send(v->c, method, path, body) < 0)
		return -1;
	return http_recv(v->c, 60000);
}

static void api_ok(struct vm *v, const char *method, const char *path, const char *body)
{
	int st = api(v, method, path, body);

	if (st != 204) {
		fprintf(stderr, "snapshot: %s %s: status %d\n", method, path, st);
		die("API call failed");
	}
}

static void fvm_boot(struct vm *v)
{
	char body[1024];

	snprintf(body, sizeof(body), "{\"kernel_image_path\":\"%s\",\"boot_args\":\"%s\"}",
		 o.kernel, o.args);
	api_ok(v, "PUT", "/boot-source", body);
	snprintf(body, sizeof(body), "{\"vcpu_count\":1,\"mem_size_mib\":%d}", o.mem_mib);
	api_ok(v, "PUT", "/machine-config", body);
	api_ok(v, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}");
}

static char load_body[2048];

static void fvm_load_send(struct vm *v)
{
	if (http_send(v->c, "PUT", "/snapshot/load", load_body) < 0)
		die("send load");
}

/* -B N: N cold boots at once; each waits for its line, then the sums of
 * Rss, Pss and Private (Clean + Dirty) over /proc/PID/smaps_rollup. */
static void cold_mode(int n)
{
	static struct vm vms[MAX_CLONES];
	static const char *const keys[] = { "\nRss:", "\nPss:", "\nPrivate_Clean:",
					    "\nPrivate_Dirty:" };
	double sum[4] = { 0 }, t0 = now_us();
	char path[64], buf[4096];
	int i, k;

	for (i = 0; i < n; i++) {
		fvm_start(&vms[i], i);
		fvm_boot(&vms[i]);
	}
	for (i = 0; i < n; i++)
		vm_wait_line(&vms[i], 60000);
	report_value("cold_ready_ms", (now_us() - t0) / 1000, n);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)vms[i].pid);
		if (read_small(path, buf, sizeof(buf)) < 0)
			die("smaps_rollup");
		for (k = 0; k < 4; k++) {
			long kb = status_kb(buf, keys[k]);

			if (kb < 0)
				die("smaps_rollup field");
			sum[k] += kb;
		}
	}
	for (i = 0; i < n; i++)
		vm_kill(&vms[i]);
	report_value("cold_rss_sum_mib", sum[0] / 1024, n);
	report_value("cold_pss_sum_mib", sum[1] / 1024, n);
	report_value("cold_private_sum_mib", (sum[2] + sum[3]) / 1024, n);
}

static void femtovm_mode(void)
{
	static double load[MAX_RUNS], line[MAX_RUNS], eline[MAX_RUNS];
	struct vm v = { 0 };
	char body[2048];
	double t, create;
	int i, st;

	fvm_start(&v, 0);
	fvm_boot(&v);
	vm_wait_line(&v, 20000);
	api_ok(&v, "PATCH", "/vm", "{\"state\":\"Paused\"}");
	snprintf(body, sizeof(body),
		 "{\"snapshot_path\":\"%s\",\"mem_file_path\":\"%s\",\"snapshot_type\":\"Full\"}",
		 st_path, mem_path);
	t = now_us();
	st = api(&v, "PUT", "/snapshot/create", body);
	create = now_us() - t;
	if (st != 204)
		die("snapshot/create failed");
	vm_kill(&v);
	report_value("create_us", create, 1);
	if (o.keep)
		return;	/* -S: the files are the product */
	snprintf(load_body, sizeof(load_body),
		 "{\"snapshot_path\":\"%s\",\"mem_backend\":{\"backend_type\":\"File\","
		 "\"backend_path\":\"%s\"},\"resume_vm\":true}", st_path, mem_path);

	for (i = 0; i < o.runs; i++) {
		double t0, t_resp = 0, t_line = 0, deadline;

		fvm_start(&v, 0);
		t0 = now_us();
		fvm_load_send(&v);
		deadline = t0 + 20e6;
		/* The response and the first line may come in either order. */
		while (!t_resp || !t_line) {
			struct pollfd p[2] = { { .fd = v.c->fd, .events = POLLIN },
					       { .fd = v.out, .events = POLLIN } };

			if (now_us() > deadline || poll(p, 2, 1000) < 0)
				die("timeout waiting for load response / count line");
			if (!t_resp && (p[0].revents & (POLLIN | POLLHUP))) {
				st = http_recv(v.c, 20000);
				t_resp = now_us();
				if (st != 204)
					die("snapshot/load failed");
			}
			if (!t_line && (p[1].revents & (POLLIN | POLLHUP)) && vm_poll_line(&v, 0))
				t_line = now_us();
		}
		load[i] = t_resp - t0;
		line[i] = t_line - t0;
		eline[i] = t_line - *t_exec;
		vm_kill(&v);
	}
	report("load_us", load, o.runs);
	report("load_to_line_us", line, o.runs);
	report("exec_to_line_us", eline, o.runs);
}

/* ---- QEMU through QMP ---- */

/* Send one QMP command, return 0 on "return", -1 on "error"/EOF. Events are
 * skipped. The reply line is left in c->buf when out is given. */
static int qmp(struct http_conn *c, const char *cmd, char *out, size_t cap)
{
	double deadline = now_us() + 60e6;

	if (cmd && write_all(c->fd, cmd, strlen(cmd)) < 0)
		return -1;
	for (;;) {
		char *nl;

		c->buf[c->len] = '\0';
		while ((nl = strchr(c->buf, '\n'))) {
			size_t l = (size_t)(nl - c->buf) + 1;
			int r = strstr(c->buf, "\"return\"") && nl > strstr(c->buf, "\"return\"") ? 0
				: strstr(c->buf, "\"error\"") && nl > strstr(c->buf, "\"error\"") ? -1
				: strstr(c->buf, "\"QMP\"") && nl > strstr(c->buf, "\"QMP\"") ? 0 : 1;

			if (r <= 0 && out)
				snprintf(out, cap, "%.*s", (int)l, c->buf);
			memmove(c->buf, c->buf + l, c->len - l + 1);
			c->len -= l;
			if (r <= 0)
				return r;
		}
		{
			struct pollfd p = { .fd = c->fd, .events = POLLIN };
			ssize_t n;

			if (now_us() > deadline || poll(&p, 1, 1000) < 0)
				return -1;
			if (!(p.revents & (POLLIN | POLLHUP)))
				continue;
			n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
			if (n <= 0)
				return -1;
			c->len += (size_t)n;
		}
	}
}

static void qemu_start(struct vm *v, int incoming)
{
	static char qarg[200];
	char *extra[] = { "-qmp", qarg, incoming ? "-incoming" : NULL, "defer", NULL };

	snprintf(v->sock, sizeof(v->sock), "/tmp/femtovm-bench-snapq-%d.sock", (int)getpid());
	unlink(v->sock);
	snprintf(qarg, sizeof(qarg), "unix:%s,server=on,wait=off", v->sock);
	vm_exec(v, extra);
	vm_connect(v, "QMP socket did not appear");
	if (qmp(v->c, NULL, NULL, 0) < 0 ||
	    qmp(v->c, "{\"execute\":\"qmp_capabilities\"}\n", NULL, 0) < 0)
		die("QMP handshake failed");
}

static void qemu_mode(void)
{
	static double line[MAX_RUNS], eline[MAX_RUNS];
	struct vm v = { 0 };
	char cmd[1200], r[4096];
	double t, create;
	int i;

	qemu_start(&v, 0);
	vm_wait_line(&v, 20000);
	/* No "stop" first: a migration of a stopped VM restores paused (QEMU
	 * keeps the source's run state). QEMU stops the source itself when the
	 * last pass is done, so the guest (idle in hlt) is consistent. */
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:cat > %s\"}}\n", mem_path);
	t = now_us();
	if (qmp(v.c, cmd, r, sizeof(r)) < 0) {
		fprintf(stderr, "snapshot: QMP migrate: %s", r);
		die("migrate failed");
	}
	for (;;) {
		if (qmp(v.c, "{\"execute\":\"query-migrate\"}\n", r, sizeof(r)) < 0)
			die("query-migrate failed");
		if (strstr(r, "\"completed\""))
			break;
		if (strstr(r, "\"failed\"")) {
			fprintf(stderr, "snapshot: migration failed: %s", r);
			die("migration failed");
		}
		if (now_us() - t > 60e6)
			die("migration did not complete");
		usleep(200);
	}
	create = now_us() - t;
	vm_kill(&v);
	report_value("create_us", create, 1);

	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"exec:cat %s\"}}\n",
		 mem_path);
	for (i = 0; i < o.runs; i++) {
		double t0;

		qemu_start(&v, 1);
		t0 = now_us();
		if (write_all(v.c->fd, cmd, strlen(cmd)) < 0)
			die("QMP write");
		vm_wait_line(&v, 20000);
		line[i] = now_us() - t0;
		eline[i] = now_us() - *t_exec;
		vm_kill(&v);
	}
	report("load_to_line_us", line, o.runs);
	report("exec_to_line_us", eline, o.runs);
}

int main(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "+Qn:m:a:w:S:B:d:e:k:")) != -1) {
		switch (c) {
		case 'Q': o.qemu = 1; break;
		case 'n': o.runs = atoi(optarg); break;
		case 'm': o.mem_mib = atoi(optarg); break;
		case 'a': o.args = optarg; break;
		case 'w': o.wait = optarg; break;
		case 'S': o.keep = optarg; break;
		case 'B': o.cold = atoi(optarg); break;
		case 'd': o.dir = optarg; break;
		case 'e': o.err_file = optarg; break;
		case 'k': o.kernel = optarg; break;
		default: goto usage;
		}
	}
	if (optind >= argc || (!o.kernel && !o.qemu) || o.runs < 1 || o.runs > MAX_RUNS ||
	    o.cold < 0 || o.cold > MAX_CLONES || (o.qemu && (o.keep || o.cold)) ||
	    (o.keep && o.cold))
		goto usage;
	o.argv = argv + optind;
	if (!o.dir)
		o.dir = "/var/tmp";
	if (o.keep) {
		snprintf(st_path, sizeof(st_path), "%s.state", o.keep);
		snprintf(mem_path, sizeof(mem_path), "%s.mem", o.keep);
	} else {
		snprintf(st_path, sizeof(st_path), "%s/femtovm-bench-snap-%d.state", o.dir,
			 (int)getpid());
		snprintf(mem_path, sizeof(mem_path), "%s/femtovm-bench-snap-%d.mem", o.dir,
			 (int)getpid());
	}
	signal(SIGPIPE, SIG_IGN);
	t_exec = mmap(NULL, sizeof(*t_exec), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t_exec == MAP_FAILED)
		die("mmap");
	if (o.cold) {
		cold_mode(o.cold);
		return 0;
	}
	if (o.qemu)
		qemu_mode();
	else
		femtovm_mode();
	{
		struct stat sb;

		/* Allocated blocks: less than the size where zero pages are holes. */
		if (stat(mem_path, &sb) == 0) {
			report_value("mem_file_mib", sb.st_size / 1048576.0, 1);
			report_value("mem_file_alloc_mib", sb.st_blocks * 512 / 1048576.0, 1);
		}
	}
	if (!o.keep) {
		unlink(st_path);
		unlink(mem_path);
	}
	return 0;
usage:
	fprintf(stderr, "usage: snapshot [-Q] [-n RUNS] [-m MEM_MIB] [-a BOOT_ARGS] [-w TEXT] "
			"[-S PREFIX | -B N] [-d DIR] [-e STDERR_FILE] -k KERNEL -- CMD [ARG...]\n");
	return 2;
}
