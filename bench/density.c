/*
 * density: start N copies of a VMM command at once (each an idle guest),
 * wait until every one has printed a line containing TEXT on its stdout
 * (one pipe each, all watched with poll()), then measure what the idle
 * fleet costs and check that it is still healthy, and kill it.
 *
 * Usage: density [-n N] [-t TIMEOUT_S] [-w TEXT] [-s SETTLE_MS]
 *                [-c CPU_WINDOW_MS] [-e STDERR_FILE] -- COMMAND [ARG...]
 *
 * Output (statistics lines as in benchlib.h):
 *   ready_ms      per VM: its own spawn -> its TEXT line (under the load of
 *                 all the others starting at the same time)
 *   vmrss_kb, pss_kb, rssanon_kb   per VM, after SETTLE_MS
 *   spawn_s       time to fork+exec all N
 *   total_s       first spawn -> the last VM's TEXT line
 *   start_rate    N / total_s (VMs per second)
 *   rss_sum_mib   sum of VmRSS (counts shared file pages once per process)
 *   pss_sum_mib   sum of Pss (shared pages divided among their users)
 *   memavail_drop_mib       MemAvailable before spawning - after settling
 *   memavail_per_vm_mib     the same / N (includes KVM's kernel memory)
 *   kernel_per_vm_kib       growth of SUnreclaim + KernelStack + PageTables +
 *                 SecPageTables + Percpu in /proc/meminfo, / N: the kernel's
 *                 share (KVM VM/vCPU structures, stage-2 page tables,
 *                 thread stacks); host-wide, like MemAvailable
 *   idle_cpu_pct  CPU used by all N processes together over CPU_WINDOW_MS,
 *                 in % of one CPU (an idle guest in hlt should use ~0)
 *   alive         VMs still running, silent after TEXT, at the end
 *   kill_s        SIGKILL all -> all reaped
 *   memavail_release_mib    MemAvailable SETTLE_MS after the kill - before
 *                 it: what the host got back (a cross-check of the drop,
 *                 since other processes move MemAvailable too)
 * Exit status 1 if any VM did not reach TEXT or was not alive at the end.
 */
#include "benchlib.h"

#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define TAIL 256

struct vm {
	pid_t pid;
	int fd;			/* read end of its stdout pipe, -1 after EOF */
	int ready, dead;
	size_t extra;		/* bytes printed after the TEXT line */
	double t_spawn, t_ready;
	size_t len;
	char tail[TAIL];	/* the current, incomplete output line */
};

struct opts {
	int n, timeout_ms, settle_ms, cpu_ms;
	const char *text, *err_file;
	char **argv;
};

static struct vm *vms;
static int nvms;

static void usage(void)
{
	fprintf(stderr, "usage: density [-n N] [-t TIMEOUT_S] [-w TEXT] [-s SETTLE_MS]\n"
			"               [-c CPU_WINDOW_MS] [-e STDERR_FILE] -- COMMAND [ARG...]\n");
	exit(2);
}

static long meminfo_kb(const char *key)
{
	char buf[8192];

	if (read_small("/proc/meminfo", buf, sizeof(buf)) < 0)
		return -1;
	return status_kb(buf, key);
}

/* Kernel memory that grows with each VM; absent keys count 0. */
static long kernel_kb(void)
{
	static const char *const keys[] = { "\nSUnreclaim:", "\nKernelStack:",
		"\nPageTables:", "\nSecPageTables:", "\nPercpu:" };
	char buf[8192];
	long sum = 0;

	if (read_small("/proc/meminfo", buf, sizeof(buf)) < 0)
		return 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		long v = status_kb(buf, keys[i]);

		sum += v > 0 ? v : 0;
	}
	return sum;
}

/* utime + stime of a process (all its threads), in clock ticks. */
static long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	p = strrchr(buf, ')');	/* comm may contain spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

/* Consume output of one VM: look for the TEXT line, count bytes after it. */
static void on_output(struct vm *v, const char *text, double t)
{
	char buf[4096];
	ssize_t n = read(v->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {		/* EOF: the VMM exited */
		close(v->fd);
		v->fd = -1;
		v->dead = 1;
		return;
	}
	if (v->ready) {
		v->extra += (size_t)n;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			v->tail[v->len] = '\0';
			if (strstr(v->tail, text)) {
				v->ready = 1;
				v->t_ready = t;
				v->extra += (size_t)(n - i - 1);
				return;
			}
			v->len = 0;
		} else if (v->len < TAIL - 1) {
			v->tail[v->len++] = buf[i];
		}
	}
}

/* One poll() over every VM still connected; returns how many are ready. */
static int pump(const struct opts *o, struct pollfd *pfd, int timeout_ms)
{
	int np = 0, ready = 0;

	for (int i = 0; i < nvms; i++) {
		if (vms[i].fd >= 0) {
			pfd[np].fd = vms[i].fd;
			pfd[np].events = POLLIN;
			pfd[np].revents = 0;
			np++;
		}
	}
	if (np && poll(pfd, (nfds_t)np, timeout_ms) > 0) {
		double t = now_us();

		for (int i = 0, j = 0; i < nvms; i++) {
			if (vms[i].fd < 0)
				continue;
			if (pfd[j].revents)
				on_output(&vms[i], o->text, t);
			j++;
		}
	}
	for (int i = 0; i < nvms; i++)
		ready += vms[i].ready;
	return ready;
}

static int spawn_one(const struct opts *o, struct vm *v, int efd)
{
	posix_spawn_file_actions_t fa;
	extern char **environ;
	int p[2], r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, efd, 2);
	v->t_spawn = now_us();
	r = posix_spawnp(&v->pid, o->argv[0], &fa, NULL, o->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		errno = r;
		return -1;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	v->fd = p[0];
	return 0;
}

static void kill_all(void)
{
	for (int i = 0; i < nvms; i++)
		if (vms[i].pid > 0)
			kill(vms[i].pid, SIGKILL);
	for (int i = 0; i < nvms; i++) {
		if (vms[i].pid > 0)
			waitpid(vms[i].pid, NULL, 0);
		vms[i].pid = 0;
		if (vms[i].fd >= 0)
			close(vms[i].fd);
		vms[i].fd = -1;
	}
}

static void on_signal(int sig)
{
	(void)sig;
	for (int i = 0; i < nvms; i++)
		if (vms[i].pid > 0)
			kill(vms[i].pid, SIGKILL);
	_exit(130);
}

int main(int argc, char **argv)
{
	struct opts o = { .n = 200, .timeout_ms = 300000, .settle_ms = 500,
			  .cpu_ms = 2000, .text = "hello: idle" };
	struct rlimit rl;
	struct pollfd *pfd;
	double t0, t_spawned, t_last = 0, t_kill, *dv;
	long avail0, avail1, avail2, kern0, kern1, ticks0 = 0, ticks1 = 0;
	double rss_sum = 0, pss_sum = 0;
	int c, efd, ready = 0, alive = 0, failed = 0;

	while ((c = getopt(argc, argv, "+n:t:w:s:c:e:")) != -1) {
		switch (c) {
		case 'n': o.n = atoi(optarg); break;
		case 't': o.timeout_ms = (int)(atof(optarg) * 1000); break;
		case 'w': o.text = optarg; break;
		case 's': o.settle_ms = atoi(optarg); break;
		case 'c': o.cpu_ms = atoi(optarg); break;
		case 'e': o.err_file = optarg; break;
		default: usage();
		}
	}
	if (optind >= argc || o.n < 1 || o.timeout_ms <= 0 || o.cpu_ms <= 0)
		usage();
	o.argv = argv + optind;

	/* One pipe per VM in this process, plus whatever each VMM opens. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)o.n + 64) {
		fprintf(stderr, "density: RLIMIT_NOFILE %lu too low for %d VMs\n",
			(unsigned long)rl.rlim_cur, o.n);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	vms = calloc((size_t)o.n, sizeof(*vms));
	pfd = calloc((size_t)o.n, sizeof(*pfd));
	dv = calloc((size_t)o.n, sizeof(*dv));
	if (!vms || !pfd || !dv)
		return 1;
	efd = open(o.err_file ? o.err_file : "/dev/null",
		   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (efd < 0) {
		perror("density: stderr file");
		return 1;
	}

	avail0 = meminfo_kb("\nMemAvailable:");
	kern0 = kernel_kb();
	t0 = now_us();
	for (int i = 0; i < o.n; i++) {
		vms[i].fd = -1;
		if (spawn_one(&o, &vms[i], efd) < 0) {
			fprintf(stderr, "density: spawn %d failed: %s\n", i + 1, strerror(errno));
			kill_all();
			return 1;
		}
		nvms = i + 1;
		if (i % 16 == 15)	/* keep the line timestamps honest */
			pump(&o, pfd, 0);
	}
	t_spawned = now_us();
	while ((ready = pump(&o, pfd, 100)) < o.n) {
		int dead = 0;

		for (int i = 0; i < nvms; i++)
			dead += vms[i].dead && !vms[i].ready;
		if (dead || now_us() - t0 > o.timeout_ms * 1000.0) {
			fprintf(stderr, "density: %d of %d reached \"%s\" (%d exited before)\n",
				ready, o.n, o.text, dead);
			kill_all();
			return 1;
		}
	}
	for (int i = 0; i < o.n; i++) {
		if (vms[i].t_ready > t_last)
			t_last = vms[i].t_ready;
		dv[i] = (vms[i].t_ready - vms[i].t_spawn) / 1000;
	}
	report("ready_ms", dv, o.n);

	/* Settle, then memory. */
	usleep((useconds_t)o.settle_ms * 1000);
	pump(&o, pfd, 0);
	avail1 = meminfo_kb("\nMemAvailable:");
	kern1 = kernel_kb();
	{
		double *rss = calloc((size_t)o.n, sizeof(double));
		double *pss = calloc((size_t)o.n, sizeof(double));
		double *anon = calloc((size_t)o.n, sizeof(double));
		char path[64], buf[8192];

		for (int i = 0; i < o.n; i++) {
			snprintf(path, sizeof(path), "/proc/%d/status", (int)vms[i].pid);
			if (read_small(path, buf, sizeof(buf)) == 0) {
				rss[i] = (double)status_kb(buf, "\nVmRSS:");
				anon[i] = (double)status_kb(buf, "\nRssAnon:");
			}
			snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)vms[i].pid);
			if (read_small(path, buf, sizeof(buf)) == 0)
				pss[i] = (double)status_kb(buf, "\nPss:");
			rss_sum += rss[i];
			pss_sum += pss[i];
		}
		report("vmrss_kb", rss, o.n);
		report("pss_kb", pss, o.n);
		report("rssanon_kb", anon, o.n);
	}

	/* CPU of the idle fleet over a window. */
	for (int i = 0; i < o.n; i++) {
		long t = cpu_ticks(vms[i].pid);
		ticks0 += t > 0 ? t : 0;
	}
	{
		double w0 = now_us(), w;

		while ((w = now_us() - w0) < o.cpu_ms * 1000.0)
			pump(&o, pfd, (int)((o.cpu_ms * 1000.0 - w) / 1000) + 1);
		for (int i = 0; i < o.n; i++) {
			long t = cpu_ticks(vms[i].pid);
			ticks1 += t > 0 ? t : 0;
		}
		w = now_us() - w0;
		report_value("idle_cpu_pct",
			     100.0 * (double)(ticks1 - ticks0) / (double)sysconf(_SC_CLK_TCK) /
				     (w / 1e6), o.n);
	}

	/* Healthy: still running, nothing printed after the idle line. */
	for (int i = 0; i < o.n; i++) {
		int ok = !vms[i].dead && vms[i].extra == 0 &&
			 waitpid(vms[i].pid, NULL, WNOHANG) == 0;

		alive += ok;
		if (!ok && failed++ < 5)
			fprintf(stderr, "density: VM %d (pid %d) not healthy: %s, %zu bytes after \"%s\"\n",
				i + 1, (int)vms[i].pid, vms[i].dead ? "exited" : "running",
				vms[i].extra, o.text);
	}

	avail2 = meminfo_kb("\nMemAvailable:");
	t_kill = now_us();
	kill_all();
	t_kill = now_us() - t_kill;
	usleep((useconds_t)o.settle_ms * 1000);
	avail2 = meminfo_kb("\nMemAvailable:") - avail2;

	report_value("spawn_s", (t_spawned - t0) / 1e6, o.n);
	report_value("total_s", (t_last - t0) / 1e6, o.n);
	report_value("start_rate", o.n / ((t_last - t0) / 1e6), o.n);
	report_value("rss_sum_mib", rss_sum / 1024, o.n);
	report_value("pss_sum_mib", pss_sum / 1024, o.n);
	report_value("memavail_drop_mib", (double)(avail0 - avail1) / 1024, o.n);
	report_value("memavail_per_vm_mib", (double)(avail0 - avail1) / 1024 / o.n, o.n);
	report_value("kernel_per_vm_kib", (double)(kern1 - kern0) / o.n, o.n);
	report_value("alive", alive, o.n);
	report_value("kill_s", t_kill / 1e6, o.n);
	report_value("memavail_release_mib", (double)avail2 / 1024, o.n);
	return alive == o.n ? 0 : 1;
}
