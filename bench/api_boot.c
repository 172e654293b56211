/*
 * api_boot: the FaaS path, timed from exec() of `FEMTOVM --api-sock SOCK`:
 *   sock_us          the API socket accepts a connection
 *   boot_source_us   PUT /boot-source answered (204)
 *   machine_cfg_us   PUT /machine-config answered (204)
 *   start_resp_us    PUT /actions {"action_type":"InstanceStart"} answered
 *   first_byte_us    the guest's first serial byte read from FEMTOVM's stdout
 * plus start_to_first_us (InstanceStart written -> first byte) and
 * start_rtt_us (InstanceStart written -> its response). All requests go
 * over one keep-alive connection, sent one after the other as a client
 * would. The child records CLOCK_MONOTONIC into a shared page just before
 * execvp(); the parent polls connect() every 50 us until it succeeds.
 *
 * Usage: api_boot [-n RUNS] [-m MEM_MIB] [-a BOOT_ARGS] [-e STDERR_FILE]
 *                 -k KERNEL -- FEMTOVM [ARG...]
 */
#include "benchlib.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define MAX_RUNS 10000

enum { SOCK, BOOT_SRC, MACH_CFG, START_RESP, FIRST, START_FIRST, START_RTT, NKEYS };
static const char *const keys[NKEYS] = {
	"sock_us", "boot_source_us", "machine_cfg_us", "start_resp_us",
	"first_byte_us", "start_to_first_us", "start_rtt_us",
};

struct opts {
	int runs, mem_mib;
	const char *kernel, *args, *err_file;
	char **argv;
};

static void usage(void)
{
	fprintf(stderr, "usage: api_boot [-n RUNS] [-m MEM_MIB] [-a BOOT_ARGS] "
			"[-e STDERR_FILE] -k KERNEL -- FEMTOVM [ARG...]\n");
	exit(2);
}

static void child_exec(const struct opts *o, const char *sock, int wfd, double *t0)
{
	char **av;
	int argc = 0, i;
	int nfd = open("/dev/null", O_RDONLY);
	int efd = open(o->err_file ? o->err_file : "/dev/null",
		       O_WRONLY | O_CREAT | O_APPEND, 0644);

	while (o->argv[argc])
		argc++;
	av = calloc((size_t)argc + 3, sizeof(*av));
	for (i = 0; i < argc; i++)
		av[i] = o->argv[i];
	av[argc] = "--api-sock";
	av[argc + 1] = (char *)sock;
	if (!av || nfd < 0 || efd < 0 || dup2(nfd, 0) < 0 || dup2(wfd, 1) < 0 ||
	    dup2(efd, 2) < 0)
		_exit(126);
	*t0 = now_us();
	execvp(av[0], av);
	_exit(127);
}

static int put(struct http_conn *c, const char *path, const char *body)
{
	int st;

	if (http_send(c, "PUT", path, body) < 0)
		return -1;
	st = http_recv(c, 10000);
	if (st != 204) {
		fprintf(stderr, "api_boot: PUT %s: status %d\n", path, st);
		return -1;
	}
	return 0;
}

static int run_once(const struct opts *o, double *t0, double *v)
{
	static struct http_conn conn;
	char sock[108], body[4096];
	int pfd[2], rc = -1, have_resp = 0, have_first = 0;
	double deadline, t_start;
	pid_t pid;

	snprintf(sock, sizeof(sock), "/tmp/femtovm-bench-boot-%d.sock", (int)getpid());
	unlink(sock);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	*t0 = 0;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		child_exec(o, sock, pfd[1], t0);
	close(pfd[1]);
	deadline = now_us() + 10e6;
	conn.len = 0;
	while ((conn.fd = unix_connect(sock)) < 0) {
		if (now_us() > deadline || waitpid(pid, NULL, WNOHANG) == pid) {
			fprintf(stderr, "api_boot: API socket did not appear\n");
			goto out;
		}
		usleep(50);
	}
	v[SOCK] = now_us() - *t0;

	snprintf(body, sizeof(body),
		 "{\"kernel_image_path\":\"%s\",\"boot_args\":\"%s\"}", o->kernel, o->args);
	if (put(&conn, "/boot-source", body) < 0)
		goto out;
	v[BOOT_SRC] = now_us() - *t0;
	snprintf(body, sizeof(body), "{\"vcpu_count\":1,\"mem_size_mib\":%d}", o->mem_mib);
	if (put(&conn, "/machine-config", body) < 0)
		goto out;
	v[MACH_CFG] = now_us() - *t0;

	t_start = now_us();
	if (http_send(&conn, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}") < 0)
		goto out;
	/* The response and the first byte may come in either order. */
	while (!have_resp || !have_first) {
		struct pollfd p[2] = { { .fd = conn.fd, .events = POLLIN },
				       { .fd = pfd[0], .events = POLLIN } };
		int left = (int)((deadline - now_us()) / 1000) + 1;

		if (left <= 0 || poll(p, 2, left) <= 0) {
			fprintf(stderr, "api_boot: timeout (response %d, first byte %d)\n",
				have_resp, have_first);
			goto out;
		}
		if (!have_first && (p[1].revents & (POLLIN | POLLHUP))) {
			char b[4096];

			if (read(pfd[0], b, sizeof(b)) <= 0) {
				fprintf(stderr, "api_boot: femtovm stdout closed, no output\n");
				goto out;
			}
			v[FIRST] = now_us() - *t0;
			v[START_FIRST] = now_us() - t_start;
			have_first = 1;
		}
		if (!have_resp && (p[0].revents & (POLLIN | POLLHUP))) {
			int st = http_recv(&conn, 10000);
			double t = now_us();

			if (st != 204) {
				fprintf(stderr, "api_boot: InstanceStart: status %d\n", st);
				goto out;
			}
			v[START_RESP] = t - *t0;
			v[START_RTT] = t - t_start;
			have_resp = 1;
		}
	}
	rc = 0;
out:
	if (conn.fd >= 0)
		close(conn.fd);
	kill(pid, SIGKILL);
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	unlink(sock);
	return rc;
}

int main(int argc, char **argv)
{
	static double v[NKEYS][MAX_RUNS];
	struct opts o = { .runs = 30, .mem_mib = 128, .args = "console=ttyS0" };
	double *t0, s[NKEYS];
	int c, i, k;

	while ((c = getopt(argc, argv, "+n:m:a:e:k:")) != -1) {
		switch (c) {
		case 'n': o.runs = atoi(optarg); break;
		case 'm': o.mem_mib = atoi(optarg); break;
		case 'a': o.args = optarg; break;
		case 'e': o.err_file = optarg; break;
		case 'k': o.kernel = optarg; break;
		default: usage();
		}
	}
	if (optind >= argc || !o.kernel || o.runs < 1 || o.runs > MAX_RUNS)
		usage();
	o.argv = argv + optind;
	signal(SIGPIPE, SIG_IGN);
	t0 = mmap(NULL, sizeof(*t0), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t0 == MAP_FAILED) {
		perror("api_boot: mmap");
		return 1;
	}
	for (i = 0; i < o.runs; i++) {
		if (run_once(&o, t0, s) < 0) {
			fprintf(stderr, "api_boot: run %d failed\n", i + 1);
			return 1;
		}
		for (k = 0; k < NKEYS; k++)
			v[k][i] = s[k];
	}
	for (k = 0; k < NKEYS; k++)
		report(keys[k], v[k], o.runs);
	return 0;
}
