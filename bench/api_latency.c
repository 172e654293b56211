/*
 * api_latency: round-trip latency of femtovm's HTTP API on one keep-alive
 * Unix-socket connection. Starts `FEMTOVM --api-sock SOCK` (no config, so
 * the VM stays "Not started"), connects once, then sends requests one at a
 * time, each timed from just before its write() to the read() that
 * completes its response (end found from Content-Length):
 *   - N x GET /                                     -> get_us
 *   - N x PUT /machine-config {"vcpu_count":1,...}  -> put_us (pre-boot)
 * after W warm-up requests of each kind (not counted).
 *
 * Usage: api_latency [-n N] [-w WARMUP] [-s SOCK] [-e STDERR_FILE] -- FEMTOVM [ARG...]
 * Prints statistics lines (benchlib.h) plus "<key>_rps value=.." (requests
 * per second over the timed loop).
 */
#include "benchlib.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

static void usage(void)
{
	fprintf(stderr, "usage: api_latency [-n N] [-w WARMUP] [-s SOCK] "
			"[-e STDERR_FILE] -- FEMTOVM [ARG...]\n");
	exit(2);
}

static pid_t child = -1;
static char sock_path[108];

static void cleanup(void)
{
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = -1;
	}
	unlink(sock_path);
}

static void die(const char *msg)
{
	fprintf(stderr, "api_latency: %s\n", msg);
	cleanup();
	exit(1);
}

static pid_t start_vmm(char **argv, const char *err_file)
{
	char **av;
	int argc = 0, i;
	pid_t pid;

	while (argv[argc])
		argc++;
	av = calloc((size_t)argc + 3, sizeof(*av));
	for (i = 0; i < argc; i++)
		av[i] = argv[i];
	av[argc] = "--api-sock";
	av[argc + 1] = sock_path;
	pid = fork();
	if (pid == 0) {
		int nfd = open("/dev/null", O_RDWR);
		int efd = open(err_file ? err_file : "/dev/null",
			       O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (nfd < 0 || efd < 0 || dup2(nfd, 0) < 0 || dup2(nfd, 1) < 0 ||
		    dup2(efd, 2) < 0)
			_exit(126);
		execvp(av[0], av);
		_exit(127);
	}
	free(av);
	return pid;
}

/* Connect, retrying until the socket is there (10 s at most). */
static int connect_retry(void)
{
	double deadline = now_us() + 10e6;
	int fd;

	while ((fd = unix_connect(sock_path)) < 0) {
		if (now_us() > deadline || waitpid(child, NULL, WNOHANG) == child)
			return -1;
		usleep(1000);
	}
	return fd;
}

/* Time n requests; v[i] in microseconds. Returns the loop's wall time. */
static double run(struct http_conn *c, const char *method, const char *path,
		  const char *body, int expect, double *v, int n)
{
	double start = now_us();

	for (int i = 0; i < n; i++) {
		double t = now_us();
		int st;

		if (http_send(c, method, path, body) < 0)
			die("write to the API socket failed");
		st = http_recv(c, 5000);
		if (v)
			v[i] = now_us() - t;
		if (st != expect) {
			fprintf(stderr, "api_latency: %s %s: status %d, expected %d\n",
				method, path, st, expect);
			die("unexpected response");
		}
	}
	return now_us() - start;
}

int main(int argc, char **argv)
{
	static struct http_conn conn;
	const char *err_file = NULL, *body = "{\"vcpu_count\":1,\"mem_size_mib\":128}";
	int n = 2000, warm = 100, c;
	double *get, *put, tg, tp;

	while ((c = getopt(argc, argv, "+n:w:s:e:")) != -1) {
		switch (c) {
		case 'n': n = atoi(optarg); break;
		case 'w': warm = atoi(optarg); break;
		case 's': snprintf(sock_path, sizeof(sock_path), "%s", optarg); break;
		case 'e': err_file = optarg; break;
		default: usage();
		}
	}
	if (optind >= argc || n < 1 || warm < 0)
		usage();
	if (!sock_path[0])
		snprintf(sock_path, sizeof(sock_path), "/tmp/femtovm-bench-api-%d.sock",
			 (int)getpid());
	signal(SIGPIPE, SIG_IGN);
	unlink(sock_path);
	get = calloc((size_t)n, sizeof(*get));
	put = calloc((size_t)n, sizeof(*put));
	if (!get || !put)
		die("out of memory");

	child = start_vmm(argv + optind, err_file);
	if (child < 0)
		die("fork failed");
	conn.fd = connect_retry();
	if (conn.fd < 0)
		die("API socket did not appear");

	run(&conn, "GET", "/", NULL, 200, NULL, warm);
	run(&conn, "PUT", "/machine-config", body, 204, NULL, warm);
	tg = run(&conn, "GET", "/", NULL, 200, get, n);
	tp = run(&conn, "PUT", "/machine-config", body, 204, put, n);
	close(conn.fd);
	if (waitpid(child, NULL, WNOHANG) == child) {
		child = -1;
		die("femtovm exited during the run");
	}
	cleanup();

	report("get_us", get, n);
	report("put_us", put, n);
	report_value("get_rps", n / (tg / 1e6), n);
	report_value("put_rps", n / (tp / 1e6), n);
	return 0;
}
