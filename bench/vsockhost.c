/*
 * Host side of the virtio-vsock benchmark (bench/vsock.sh) against the
 * perf/vsockbench guest, through femtovm's hybrid Unix-socket protocol:
 * connect to UDS, write "CONNECT <port>\n", read "OK <host_port>\n", then
 * raw bytes. One connection per run.
 *
 *   vsockhost echo   -u UDS -p PORT [-m MiB]        stream MiB through the
 *       guest's echo port, writing and reading at once (poll), check every
 *       byte, shut down the write side, wait for EOF; MB/s of one direction
 *       from the OK line to the last echoed byte.
 *   vsockhost rr     -u UDS -p PORT [-n N] [-s SIZE] [-w WARMUP]
 *       N round trips of SIZE bytes, one at a time (write, read SIZE back),
 *       after WARMUP untimed ones; per-trip time in us.
 *   vsockhost sink   -u UDS -p PORT [-m MiB]        send MiB to the guest's
 *       sink port, shut down, wait for the guest's shutdown (EOF): MB/s.
 *   vsockhost source -u UDS -p PORT [-m MiB]        read MiB from the
 *       guest's source port: MB/s from the OK line to the last byte.
 * -P PID: also report the CPU time of that process (all threads, from
 * /proc/PID/task/{*}/schedstat) during the run: <key>_cpu_ms and per MB /
 * per round trip. -k KEY: key prefix (default vsock). Output: the
 * "KEY median=.. p10=.. .." / "KEY value=.. n=.." lines of benchlib.h.
 * MB = 10^6 bytes.
 */
#include "benchlib.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

static const char *key = "vsock";
static int vmm_pid;

static void die(const char *m)
{
	fprintf(stderr, "vsockhost: %s%s%s\n", m, errno ? ": " : "", errno ? strerror(errno) : "");
	exit(1);
}

/* CPU ns of all threads of vmm_pid (0 without -P). */
static double cpu_ns(void)
{
	char path[64], buf[128];
	struct dirent *e;
	double sum = 0;
	DIR *d;

	if (!vmm_pid)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task", vmm_pid);
	if (!(d = opendir(path)))
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", vmm_pid, e->d_name);
		if (!read_small(path, buf, sizeof(buf)))
			sum += strtod(buf, NULL);
	}
	closedir(d);
	return sum;
}

/* Connect, CONNECT/OK; returns the fd (blocking). */
static int vconnect(const char *uds, int port)
{
	char line[64];
	size_t n = 0;
	int fd = unix_connect(uds);

	if (fd < 0)
		die("connect");
	n = (size_t)snprintf(line, sizeof(line), "CONNECT %d\n", port);
	if (write_all(fd, line, n))
		die("write CONNECT");
	n = 0;
	while (n < sizeof(line) - 1) {
		ssize_t r = read(fd, line + n, 1);

		if (r <= 0)
			die("no OK line (guest not listening?)");
		if (line[n++] == '\n')
			break;
	}
	line[n] = 0;
	if (strncmp(line, "OK ", 3))
		die("bad reply to CONNECT");
	return fd;
}

static void nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

#define PERIOD (1048576 + 7)	/* odd: misplaced chunks show */
#define CHUNK 65536
static uint8_t *pat;

static void pattern(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	pat = malloc(PERIOD + CHUNK);
	if (!pat)
		die("malloc");
	for (size_t i = 0; i < PERIOD + CHUNK; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pat[i] = (uint8_t)(x >> 32);
	}
	memcpy(pat + PERIOD, pat, CHUNK);
}

static void rate(const char *what, uint64_t bytes, double us, double cpu)
{
	char k[96];

	snprintf(k, sizeof(k), "%s_%s_mbps", key, what);
	report_value(k, bytes / us, 1);
	snprintf(k, sizeof(k), "%s_%s_ms", key, what);
	report_value(k, us / 1000, 1);
	snprintf(k, sizeof(k), "%s_%s_bytes", key, what);
	report_value(k, (double)bytes, 1);
	if (vmm_pid) {
		snprintf(k, sizeof(k), "%s_%s_cpu_ms", key, what);
		report_value(k, cpu / 1e6, 1);
		snprintf(k, sizeof(k), "%s_%s_cpu_us_per_mb", key, what);
		report_value(k, cpu / 1e3 / (bytes / 1e6), 1);
	}
}

static int do_echo(const char *uds, int port, uint64_t total)
{
	uint64_t sent = 0, got = 0, bad = 0;
	static uint8_t rbuf[CHUNK];
	bool shut = false, eof = false;
	double t0, t1, c0, c1;
	int fd = vconnect(uds, port);

	nonblock(fd);
	c0 = cpu_ns();
	t0 = now_us();
	t1 = t0;
	while (!eof) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (shut ? 0 : POLLOUT) };

		if (poll(&p, 1, 10000) <= 0)
			die("echo: stalled for 10 s");
		if (!shut && (p.revents & POLLOUT)) {
			size_t n = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
			ssize_t w = send(fd, pat + sent % PERIOD, n, MSG_NOSIGNAL);

			if (w < 0 && errno != EAGAIN)
				die("echo: send");
			if (w > 0)
				sent += (uint64_t)w;
			if (sent == total) {
				shutdown(fd, SHUT_WR);
				shut = true;
			}
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = recv(fd, rbuf, sizeof(rbuf), 0);

			if (r < 0 && errno != EAGAIN)
				die("echo: recv");
			if (r == 0)
				eof = true;
			if (r > 0) {
				if (memcmp(rbuf, pat + got % PERIOD, (size_t)r))
					bad++;
				got += (uint64_t)r;
				if (got == total)
					t1 = now_us();
			}
		}
	}
	c1 = cpu_ns();
	close(fd);
	if (got != total || bad) {
		fprintf(stderr, "vsockhost: echo: got %llu of %llu bytes, %llu bad chunks\n",
			(unsigned long long)got, (unsigned long long)total, (unsigned long long)bad);
		return 1;
	}
	rate("echo", total, t1 - t0, c1 - c0);
	return 0;
}

static int do_sink(const char *uds, int port, uint64_t total)
{
	uint64_t sent = 0;
	double t0, t1, c0, c1;
	char c;
	int fd = vconnect(uds, port);

	c0 = cpu_ns();
	t0 = now_us();
	while (sent < total) {
		size_t n = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
		ssize_t w = send(fd, pat + sent % PERIOD, n, MSG_NOSIGNAL);

		if (w <= 0)
			die("sink: send");
		sent += (uint64_t)w;
	}
	shutdown(fd, SHUT_WR);
	if (read(fd, &c, 1) != 0)	/* the guest's SHUTDOWN: all consumed */
		die("sink: expected EOF");
	t1 = now_us();
	c1 = cpu_ns();
	close(fd);
	rate("sink", total, t1 - t0, c1 - c0);
	return 0;
}

static int do_source(const char *uds, int port, uint64_t total)
{
	static uint8_t rbuf[CHUNK];
	uint64_t got = 0;
	double t0, t1, c0, c1;
	int fd = vconnect(uds, port);

	c0 = cpu_ns();
	t0 = now_us();
	while (got < total) {
		ssize_t r = read(fd, rbuf, sizeof(rbuf));

		if (r <= 0)
			die("source: read");
		got += (uint64_t)r;
	}
	t1 = now_us();
	c1 = cpu_ns();
	close(fd);
	rate("source", total, t1 - t0, c1 - c0);
	return 0;
}

static int do_rr(const char *uds, int port, int n, int warm, size_t size)
{
	double *v = calloc((size_t)n, sizeof(double)), c0 = 0, c1, t0 = 0, t1;
	uint8_t *buf = malloc(size);
	char k[96];
	int fd = vconnect(uds, port);

	if (!v || !buf)
		die("malloc");
	for (int i = -warm; i < n; i++) {
		double a;
		size_t got = 0;

		if (i == 0) {
			c0 = cpu_ns();
			t0 = now_us();
		}
		memset(buf, (uint8_t)i, size);
		a = now_us();
		if (write_all(fd, (const char *)buf, size))
			die("rr: write");
		while (got < size) {
			ssize_t r = read(fd, buf + got, size - got);

			if (r <= 0)
				die("rr: read");
			got += (size_t)r;
		}
		if (i >= 0)
			v[i] = now_us() - a;
		if (buf[0] != (uint8_t)i || buf[size - 1] != (uint8_t)i)
			die("rr: wrong echo");
	}
	t1 = now_us();
	c1 = cpu_ns();
	close(fd);
	snprintf(k, sizeof(k), "%s_rr%zu_us", key, size);
	report(k, v, n);
	snprintf(k, sizeof(k), "%s_rr%zu_rate", key, size);
	report_value(k, n / ((t1 - t0) / 1e6), n);
	if (vmm_pid) {
		snprintf(k, sizeof(k), "%s_rr%zu_cpu_us_per_rt", key, size);
		report_value(k, (c1 - c0) / 1e3 / n, n);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *uds = NULL, *mode;
	int port = 5000, n = 2000, warm = 100, o;
	uint64_t mib = 256;
	size_t size = 1;

	if (argc < 2)
		goto usage;
	mode = argv[1];
	optind = 2;
	while ((o = getopt(argc, argv, "u:p:m:n:s:w:P:k:")) != -1) {
		switch (o) {
		case 'u': uds = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'm': mib = strtoull(optarg, NULL, 0); break;
		case 'n': n = atoi(optarg); break;
		case 's': size = (size_t)atoi(optarg); break;
		case 'w': warm = atoi(optarg); break;
		case 'P': vmm_pid = atoi(optarg); break;
		case 'k': key = optarg; break;
		default: goto usage;
		}
	}
	if (!uds || n <= 0 || !size || size > 65536 || warm < 0 || !mib)
		goto usage;
	pattern();
	if (!strcmp(mode, "echo"))
		return do_echo(uds, port, mib << 20);
	if (!strcmp(mode, "sink"))
		return do_sink(uds, port, mib << 20);
	if (!strcmp(mode, "source"))
		return do_source(uds, port, mib << 20);
	if (!strcmp(mode, "rr"))
		return do_rr(uds, port, n, warm, size);
usage:
	fprintf(stderr, "usage: vsockhost echo|sink|source|rr -u UDS [-p PORT] [-m MiB] "
			"[-n N] [-s SIZE] [-w WARMUP] [-P VMM_PID] [-k KEY]\n");
	return 2;
}
