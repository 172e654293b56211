/*
 * Helpers shared by the bench tools (header-only, all static): monotonic
 * time, statistics lines in the format bench/run.sh parses, and a minimal
 * HTTP/1.1 client on one keep-alive Unix-socket connection.
 *
 * Statistics line: "KEY median=.. p10=.. p90=.. p99=.. min=.. max=.. n=.."
 * (nearest-rank percentiles); single values: "KEY value=.. n=..".
 */
#ifndef BENCHLIB_H
#define BENCHLIB_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static inline double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static inline double pct(const double *v, int n, double p)
{
	int i = (int)(p / 100.0 * n + 0.5) - 1;

	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

/* Sorts v and prints its statistics line; returns the median. */
static inline double report(const char *key, double *v, int n)
{
	double med;

	if (n <= 0) {
		printf("%s n=0\n", key);
		return 0;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	printf("%s median=%.1f p10=%.1f p90=%.1f p99=%.1f min=%.1f max=%.1f n=%d\n",
	       key, med, pct(v, n, 10), pct(v, n, 90), pct(v, n, 99), v[0],
	       v[n - 1], n);
	return med;
}

static inline void report_value(const char *key, double v, int n)
{
	printf("%s value=%.2f n=%d\n", key, v, n);
}

/* Connect to a Unix stream socket; -1 with errno on failure. */
static inline int unix_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static inline int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One keep-alive HTTP connection. Bytes after a response stay in buf. */
struct http_conn {
	int fd;
	size_t len;
	char buf[65536];
};

/* Send METHOD PATH [BODY]; the request is formatted into one write. */
static inline int http_send(struct http_conn *c, const char *method,
			    const char *path, const char *body)
{
	char req[8192];
	int n;

	if (body)
		n = snprintf(req, sizeof(req),
			     "%s %s HTTP/1.1\r\nHost: localhost\r\n"
			     "Accept: application/json\r\n"
			     "Content-Type: application/json\r\n"
			     "Content-Length: %zu\r\n\r\n%s",
			     method, path, strlen(body), body);
	else
		n = snprintf(req, sizeof(req),
			     "%s %s HTTP/1.1\r\nHost: localhost\r\n"
			     "Accept: application/json\r\n\r\n",
			     method, path);
	if (n < 0 || (size_t)n >= sizeof(req))
		return -1;
	return write_all(c->fd, req, (size_t)n);
}

/* Read one response (status line, headers, Content-Length bytes of body;
 * no Content-Length means no body, as femtovm's 204s). Returns the status
 * code, -1 on error/EOF/timeout. The body is not kept. */
/* Append what @c's socket has to its buffer, waiting until @deadline (µs,
 * now_us() clock). 0, or -1 on timeout, EOF, error or a full buffer. */
static inline int conn_read_more(struct http_conn *c, double deadline)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	int left = (int)((deadline - now_us()) / 1000) + 1;
	ssize_t n;

	if (left <= 0 || poll(&p, 1, left) <= 0)
		return -1;
	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	return 0;
}

static inline int http_recv(struct http_conn *c, int timeout_ms)
{
	double deadline = now_us() + timeout_ms * 1000.0;
	size_t hdr_end = 0, total;
	long clen = 0;
	int status;

	for (;;) {
		char *e;

		if (c->len >= 4) {
			c->buf[c->len] = '\0';
			e = memmem(c->buf, c->len, "\r\n\r\n", 4);
			if (e) {
				hdr_end = (size_t)(e - c->buf) + 4;
				break;
			}
		}
		if (c->len >= sizeof(c->buf) - 1)
			return -1;
		if (conn_read_more(c, deadline))
			return -1;
	}
	if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	{
		/* Header names are case-insensitive. */
		char save = c->buf[hdr_end];
		char *h;

		c->buf[hdr_end] = '\0';
		h = strcasestr(c->buf, "\r\ncontent-length:");
		if (h)
			clen = strtol(h + 17, NULL, 10);
		c->buf[hdr_end] = save;
	}
	if (clen < 0 || hdr_end + (size_t)clen >= sizeof(c->buf))
		return -1;
	total = hdr_end + (size_t)clen;
	while (c->len < total)
		if (conn_read_more(c, deadline))
			return -1;
	memmove(c->buf, c->buf + total, c->len - total);
	c->len -= total;
	return status;
}

/* Value in kB of "Key:" in /proc/<pid>/status text, -1 if absent. */
static inline long status_kb(const char *status, const char *key)
{
	const char *p = strstr(status, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* Read a small /proc file into buf (NUL-terminated); -1 on failure. */
static inline int read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

#endif
