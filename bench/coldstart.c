/*
 * coldstart: time from exec() of a command to the first byte it writes to
 * stdout (for a VMM: process start -> guest's first serial byte), repeated
 * N times; optionally wait for a given output line and then sample the
 * process's memory (VmRSS, VmHWM, RssAnon from /proc/<pid>/status).
 *
 * Usage: coldstart [-n RUNS] [-t TIMEOUT_S] [-w TEXT] [-s SETTLE_MS]
 *                  [-e STDERR_FILE] [-v] -- COMMAND [ARG...]
 * Prints "key median=.. p10=.. p90=.. min=.. max=.." lines (see README).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 10000

struct opts {
	int runs;
	int timeout_ms;
	const char *wait_text;	/* NULL: cold start only */
	int settle_ms;
	const char *err_file;	/* child's stderr; /dev/null if NULL */
	int verbose;
	char **argv;
};

/* One run's measurements; mem values are in kB, -1 when not sampled. */
struct sample {
	double first_us;
	double line_us;
	long rss_kb, hwm_kb, anon_kb;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: coldstart [-n RUNS] [-t TIMEOUT_S] [-w TEXT] [-s SETTLE_MS]\n"
		"                 [-e STDERR_FILE] [-v] -- COMMAND [ARG...]\n");
	exit(2);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){ .runs = 20, .timeout_ms = 10000, .settle_ms = 200 };
	while ((c = getopt(argc, argv, "+n:t:w:s:e:v")) != -1) {
		switch (c) {
		case 'n': o->runs = atoi(optarg); break;
		case 't': o->timeout_ms = (int)(atof(optarg) * 1000); break;
		case 'w': o->wait_text = optarg; break;
		case 's': o->settle_ms = atoi(optarg); break;
		case 'e': o->err_file = optarg; break;
		case 'v': o->verbose = 1; break;
		default: usage();
		}
	}
	if (optind >= argc || o->runs < 1 || o->runs > MAX_RUNS ||
	    o->timeout_ms <= 0 || o->settle_ms < 0)
		usage();
	o->argv = argv + optind;
}

/* Child side: stdin from /dev/null (a VMM must not put our terminal in raw
 * mode), stdout -> pipe, stderr -> file, record t0, exec. */
static void child_exec(const struct opts *o, int wfd, int rfd, double *t0)
{
	int nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int efd = open(o->err_file ? o->err_file : "/dev/null",
		       O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (nfd < 0 || efd < 0 || dup2(nfd, STDIN_FILENO) < 0 ||
	    dup2(wfd, STDOUT_FILENO) < 0 || dup2(efd, STDERR_FILENO) < 0)
		_exit(126);
	close(rfd);
	*t0 = now_us();		/* shared page: the parent reads it */
	execvp(o->argv[0], o->argv);
	_exit(127);
}

/* One read from fd once it is readable, waiting until the deadline at
 * most. Returns the bytes read, 0 on EOF, error or timeout. */
static ssize_t read_some(int fd, char *buf, size_t cap, double deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	double left = deadline - now_us();
	int r;

	if (left <= 0)
		return 0;
	r = poll(&p, 1, (int)(left / 1000) + 1);
	if (r <= 0)
		return 0;
	do {
		r = (int)read(fd, buf, cap);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? 0 : r;
}

/* Value in kB of "Key:" in /proc/<pid>/status, -1 if absent. */
static long status_kb(const char *status, const char *key)
{
	const char *p = strstr(status, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static int sample_mem(pid_t pid, struct sample *s)
{
	char path[64], buf[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	s->rss_kb = status_kb(buf, "\nVmRSS:");
	s->hwm_kb = status_kb(buf, "\nVmHWM:");
	s->anon_kb = status_kb(buf, "\nRssAnon:");
	return 0;
}

/* After the first byte: read until a line containing wait_text. The
 * output seen so far (first chunk included) is acc[0..len), acc holds cap. */
static int wait_line(const struct opts *o, int fd, char *acc, size_t len,
		     size_t cap, double deadline, struct sample *s)
{
	ssize_t n;

	for (;;) {
		char *nl = memchr(acc, '\n', len);

		while (nl) {
			*nl = '\0';
			if (strstr(acc, o->wait_text)) {
				s->line_us = now_us();
				return 0;
			}
			len -= (size_t)(nl + 1 - acc);
			memmove(acc, nl + 1, len);
			nl = memchr(acc, '\n', len);
		}
		if (len >= cap - 1)
			len = 0;	/* absurdly long line: drop it */
		n = read_some(fd, acc + len, cap - 1 - len, deadline);
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
}

static int run_once(const struct opts *o, double *t0, struct sample *s)
{
	static char acc[1 << 15];
	int pfd[2], rc = -1;
	double deadline;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	*t0 = 0;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		child_exec(o, pfd[1], pfd[0], t0);
	close(pfd[1]);
	deadline = now_us() + o->timeout_ms * 1000.0;
	n = read_some(pfd[0], acc, sizeof(acc) - 1, deadline);
	s->first_us = now_us() - *t0;
	if (n <= 0) {
		fprintf(stderr, "coldstart: no output from %s within %d ms\n",
			o->argv[0], o->timeout_ms);
		goto out;
	}
	if (o->wait_text) {
		if (wait_line(o, pfd[0], acc, (size_t)n, sizeof(acc), deadline,
			      s) < 0) {
			fprintf(stderr, "coldstart: no line with \"%s\"\n",
				o->wait_text);
			goto out;
		}
		s->line_us -= *t0;
		usleep((useconds_t)o->settle_ms * 1000);
		if (sample_mem(pid, s) < 0)
			goto out;
	}
	rc = 0;
out:
	kill(pid, SIGKILL);
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	return rc;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, int n, double p)
{
	int i = (int)(p / 100.0 * n + 0.5) - 1;

	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

static void report(const char *key, double *v, int n)
{
	double med;

	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	printf("%s median=%.1f p10=%.1f p90=%.1f min=%.1f max=%.1f n=%d\n",
	       key, med, pct(v, n, 10), pct(v, n, 90), v[0], v[n - 1], n);
}

int main(int argc, char **argv)
{
	static double first[MAX_RUNS], line[MAX_RUNS], rss[MAX_RUNS],
		hwm[MAX_RUNS], anon[MAX_RUNS];
	struct opts o;
	double *t0;
	int i;

	parse_opts(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	t0 = mmap(NULL, sizeof(*t0), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t0 == MAP_FAILED) {
		perror("coldstart: mmap");
		return 1;
	}
	for (i = 0; i < o.runs; i++) {
		struct sample s = { .rss_kb = -1, .hwm_kb = -1, .anon_kb = -1 };

		if (run_once(&o, t0, &s) < 0) {
			fprintf(stderr, "coldstart: run %d failed\n", i + 1);
			return 1;
		}
		first[i] = s.first_us;
		line[i] = s.line_us;
		rss[i] = (double)s.rss_kb;
		hwm[i] = (double)s.hwm_kb;
		anon[i] = (double)s.anon_kb;
		if (o.verbose)
			fprintf(stderr, "run %d: first_byte_us=%.1f line_us=%.1f "
				"rss_kb=%ld hwm_kb=%ld anon_kb=%ld\n", i + 1,
				s.first_us, s.line_us, s.rss_kb, s.hwm_kb,
				s.anon_kb);
	}
	report("first_byte_us", first, o.runs);
	if (o.wait_text) {
		report("line_us", line, o.runs);
		report("vmrss_kb", rss, o.runs);
		report("vmhwm_kb", hwm, o.runs);
		report("rssanon_kb", anon, o.runs);
	}
	return 0;
}
