/* virtio-vsock host sockets: the listener on uds_path, accepting clients
 * and reading their CONNECT line, connecting to <uds_path>_<port> for the
 * guest, the half-open timeout timer, and the event-loop handlers. Each
 * handler does its work through vsock_locked() (the transport lock). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "virtio/mmio.h"
#include "virtio/vsock_conn.h"
#include "vmm/log.h"
#include "vmm/util.h"

uint64_t vsock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void vsock_locked(struct vsock *vs, int (*fn)(void *dev, void *arg), void *arg)
{
	if (vs->tp)
		vmmio_locked_call(vs->tp, fn, arg);
	else
		fn(vs, arg);
}

static int make_addr(struct sockaddr_un *sa, const char *path, const char *suffix)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s%s", path, suffix) >=
	    sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

int vsock_connect_host(const struct vsock *vs, uint32_t port)
{
	struct sockaddr_un sa;
	char suffix[16];
	int fd, ret;

	snprintf(suffix, sizeof(suffix), "_%u", port);
	ret = make_addr(&sa, vs->uds_path, suffix);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A Unix-socket connect completes at once or fails (EAGAIN: backlog
	 * full), so the guest gets RESPONSE or RST right away. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* A stale socket file (nobody listening) is removed; a live one, or a
 * file that is not a socket, is the caller's mistake and reported. */
static int clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, ret;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("vsock: uds_path %s exists and is not a socket", sa->sun_path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 ? -EADDRINUSE : -errno;
	close(fd);
	if (ret == -EADDRINUSE) {
		log_err("vsock: uds_path %s is in use by a running listener", sa->sun_path);
		return ret;
	}
	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static void on_listen(struct el_handler *h, uint32_t events);
static void on_timer(struct el_handler *h, uint32_t events);

int vsock_listen(struct vsock *vs, const char *path)
{
	struct sockaddr_un sa;
	int fd, ret;

	ret = make_addr(&sa, path, "");
	if (ret) {
		log_err("vsock: uds_path %s is too long for a Unix socket", path);
		return ret;
	}
	ret = clear_stale(&sa);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		ret = -errno;
		log_err("vsock: cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	vs->listen_h = (struct el_handler){ fd, on_listen, vs };
	vs->timer_h = (struct el_handler){ timerfd_create(CLOCK_MONOTONIC,
							  TFD_CLOEXEC | TFD_NONBLOCK),
					   on_timer, vs };
	if (vs->timer_h.fd < 0)
		return -errno;
	if (vs->el && ((ret = el_add(vs->el, &vs->listen_h, EPOLLIN)) ||
		       (ret = el_add(vs->el, &vs->timer_h, EPOLLIN))))
		return ret;
	return 0;
}

void vsock_arm_timer(struct vsock *vs)
{
	struct itimerspec its = {
		.it_interval = { 0, VSOCK_TICK_MS * 1000000L },
		.it_value = { 0, VSOCK_TICK_MS * 1000000L },
	};

	if (vs->timer_armed || vs->timer_h.fd < 0)
		return;
	if (timerfd_settime(vs->timer_h.fd, 0, &its, NULL) == 0)
		vs->timer_armed = true;
}

static int timer_locked(void *dev, void *arg)
{
	struct vsock *vs = dev;
	struct itimerspec off = { 0 };

	(void)arg;
	if (!vsock_conns_expire(vs, vsock_now_ns())) {
		timerfd_settime(vs->timer_h.fd, 0, &off, NULL);
		vs->timer_armed = false;
	}
	vsock_process_rx(vs);
	return 0;
}

static void on_timer(struct el_handler *h, uint32_t events)
{
	struct vsock *vs = h->opaque;
	uint64_t n;

	(void)events;
	if (read(h->fd, &n, sizeof(n)) < 0) {
		/* spurious: nothing expired */
	}
	vsock_locked(vs, timer_locked, NULL);
}

static int accept_locked(void *dev, void *arg)
{
	struct vsock *vs = dev;

	(void)arg;
	for (unsigned i = 0; i < 64; i++) {
		struct vsock_conn *c;
		int fd = accept4(vs->listen_h.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			break;
		c = vs->nconns < VSOCK_MAX_CONNS ? vsock_conn_alloc(vs, fd) : NULL;
		if (!c) {
			vs->stats.conns_refused++;
			log_ratelimited(LOG_WARN, "vsock: host connection refused: %u "
					"connections open", VSOCK_MAX_CONNS);
			close(fd);
			continue;
		}
		c->state = VC_LINE;
		c->host_initiated = true;
		c->deadline_ns = vsock_now_ns() + vs->line_timeout_ms * 1000000ULL;
		vsock_conn_update_poll(c);
		vsock_arm_timer(vs);
	}
	return 0;
}

static void on_listen(struct el_handler *h, uint32_t events)
{
	(void)events;
	vsock_locked(h->opaque, accept_locked, NULL);
}

/* VC_LINE: gather "CONNECT <port>\n", then ask the guest. */
void vsock_conn_read_line(struct vsock_conn *c)
{
	struct vsock *vs = c->vs;
	uint32_t port;
	ssize_t r;
	int n;

	r = recv(c->h.fd, c->line + c->line_len, VSOCK_LINE_MAX - c->line_len, MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		vsock_conn_free(c);
		return;
	}
	c->line_len = (uint8_t)(c->line_len + r);
	n = vsock_parse_connect(c->line, c->line_len, &port);
	if (n == 0)
		return;
	if (n < 0) {
		vs->stats.bad_connect_lines++;
		log_ratelimited(LOG_WARN, "vsock: bad CONNECT line from a host client: closed");
		vsock_conn_free(c);
		return;
	}
	c->pre_len = (uint8_t)(c->line_len - n);
	memcpy(c->pre, c->line + n, c->pre_len);
	c->peer_port = port;
	c->local_port = vsock_alloc_host_port(vs, port);
	c->state = VC_REQ_SENT;
	c->pend = VC_PEND_REQUEST;
	c->deadline_ns = vsock_now_ns() + vs->req_timeout_ms * 1000000ULL;
	vsock_conn_hash_add(c);
	vsock_conn_update_poll(c);
	vsock_conn_sched(c);
}

void vsock_conn_host_event(struct vsock_conn *c, uint32_t events)
{
	if (c->state == VC_LINE) {
		vsock_conn_read_line(c);
		return;
	}
	if (c->state != VC_ESTABLISHED)
		return;
	if (events & EPOLLOUT)
		vsock_conn_flush(c);
	if (c->state == VC_ESTABLISHED && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		c->host_readable = true;
		vsock_conn_update_poll(c);
		vsock_conn_sched(c);
	}
}

struct host_ev {
	struct vsock_conn *c;
	uint32_t events;
};

static int host_locked(void *dev, void *arg)
{
	struct host_ev *e = arg;

	/* A slot closed (and maybe reused) earlier in this epoll batch: the
	 * handlers below only act on what the socket calls return. */
	if (e->c->state == VC_FREE || e->c->h.fd < 0)
		return 0;
	vsock_conn_host_event(e->c, e->events);
	vsock_process_rx(dev);
	return 0;
}

void vsock_conn_on_host(struct el_handler *h, uint32_t events)
{
	struct vsock_conn *c = h->opaque;
	struct host_ev e = { c, events };

	vsock_locked(c->vs, host_locked, &e);
}
