/* The API server (DESIGN.md §6): a non-blocking Unix stream listener on the
 * event loop, keep-alive connections with bounded input buffers, pipelined
 * requests answered in order by one synchronous handler, 100-continue, and
 * back-pressure (no new requests are read while a response is unsent). A
 * connection is freed only from its own callback or api_server_destroy. */
#define _GNU_SOURCE
#include "api/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/log.h"

#define CONN_IN_INITIAL 4096 /* first input allocation; grows on demand */
#define CONN_IN_SLACK 4096   /* room for the start of a pipelined request */
#define ACCEPT_BATCH 32      /* accepts per listener wakeup, for fairness */
#define LISTEN_BACKLOG 128

struct api_conn {
	struct el_handler h;
	struct api_server *s;
	struct api_conn *prev, *next;
	char *in;               /* received, not yet parsed */
	size_t in_len, in_cap;
	char *out;              /* formatted, not yet sent: out[out_off..out_len) */
	size_t out_off, out_len, out_cap;
	uint32_t events;        /* current epoll mask */
	bool continue_sent;     /* 100 Continue answered for the pending request */
	bool peer_eof;          /* client shut down its sending side */
	bool closing;           /* close once the output is flushed */
};

static const char continue_msg[] = "HTTP/1.1 100 Continue\r\n\r\n";

static size_t conn_pending(const struct api_conn *c)
{
	return c->out_len - c->out_off;
}

/* A request needs at most HTTP_MAX_HEADER + max_body bytes (the parser
 * rejects anything larger), so a full buffer never waits forever. */
static size_t conn_in_limit(const struct api_conn *c)
{
	return HTTP_MAX_HEADER + c->s->max_body + CONN_IN_SLACK;
}

static void conn_free(struct api_conn *c)
{
	struct api_server *s = c->s;

	el_del(s->el, &c->h);
	close(c->h.fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	free(c->in);
	free(c->out);
	free(c);
}

static int conn_append(struct api_conn *c, const char *data, size_t n)
{
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_len + n + 1024;
		char *p = realloc(c->out, cap);

		if (!p)
			return -ENOMEM;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, n);
	c->out_len += n;
	return 0;
}

/* Send what the socket takes now; the rest waits for EPOLLOUT. */
static int conn_flush(struct api_conn *c)
{
	while (conn_pending(c)) {
		ssize_t n = send(c->h.fd, c->out + c->out_off, conn_pending(c),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return -errno;
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

static int conn_respond(struct api_conn *c, int status, const char *body, bool keep_alive)
{
	size_t len;
	char *msg = http_format_response(status, body, keep_alive, &len);
	int r;

	if (!msg)
		return -ENOMEM;
	r = conn_append(c, msg, len);
	free(msg);
	if (!keep_alive)
		c->closing = true;
	return r;
}

/* Malformed request: say why, then close (the stream cannot be resynced). */
static int conn_fault(struct api_conn *c, int status, const char *why)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"fault_message\": \"%s\"}",
		 why ? why : "malformed HTTP request");
	log_ratelimited(LOG_WARN, "api: rejected request: %d %s", status, body);
	return conn_respond(c, status, body, false);
}

static int conn_dispatch(struct api_conn *c, const struct http_request *req)
{
	struct api_server *s = c->s;
	struct api_response resp = { .status = 500, .body = NULL };
	int r;

	s->handler(s->opaque, req, &resp);
	s->requests++;
	r = conn_respond(c, resp.status, resp.body, req->keep_alive);
	free(resp.body);
	return r;
}

/* Answer every complete request in the input, in order, as long as the
 * previous answer went out; 100 Continue for a body still to come. */
static int conn_serve(struct api_conn *c)
{
	size_t off = 0;
	int r = 0;

	while (!r && !c->closing && !conn_pending(c)) {
		struct http_request req;
		size_t used;
		bool hdone;
		int p = http_parse(c->in + off, c->in_len - off, c->s->max_body, &req, &used,
				   &hdone);

		if (p == HTTP_NEED_MORE) {
			if (hdone && req.expect_continue && !c->continue_sent) {
				c->continue_sent = true;
				r = conn_append(c, continue_msg, sizeof(continue_msg) - 1);
			} else if (c->in_len - off >= conn_in_limit(c)) {
				r = conn_fault(c, 400, "request does not fit the input buffer");
			}
		} else if (p < 0) {
			r = conn_fault(c, -p, req.error);
		} else {
			off += used;
			c->continue_sent = false;
			r = conn_dispatch(c, &req);
			http_request_free(&req);
		}
		if (!r)
			r = conn_flush(c);
		if (p == HTTP_NEED_MORE || p < 0)
			break;
	}
	if (c->closing) {
		c->in_len = 0; /* nothing after an error or "Connection: close" */
	} else if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	return r;
}

/* One recv per wakeup (fairness between clients). 1 on EOF. */
static int conn_read(struct api_conn *c)
{
	size_t limit = conn_in_limit(c);
	ssize_t n;

	if (c->in_len == c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap * 2 : CONN_IN_INITIAL;
		char *p;

		if (cap > limit)
			cap = limit;
		if (cap <= c->in_cap)
			return 0; /* full: conn_serve answers 400 */
		p = realloc(c->in, cap);
		if (!p)
			return -ENOMEM;
		c->in = p;
		c->in_cap = cap;
	}
	n = recv(c->h.fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return 1;
	c->in_len += (size_t)n;
	return 0;
}

static int conn_update_events(struct api_conn *c)
{
	uint32_t want = conn_pending(c) ? EPOLLOUT : EPOLLIN;
	int r;

	if (want == c->events)
		return 0;
	r = el_mod(c->s->el, &c->h, want);
	if (!r)
		c->events = want;
	return r;
}

static void conn_cb(struct el_handler *h, uint32_t events)
{
	struct api_conn *c = h->opaque;

	if (events & EPOLLERR)
		goto kill;
	if ((events & (EPOLLOUT | EPOLLHUP)) && conn_pending(c) && conn_flush(c) < 0)
		goto kill;
	if (!conn_pending(c) && !c->closing) {
		if (!c->peer_eof && (events & (EPOLLIN | EPOLLHUP))) {
			int r = conn_read(c);

			if (r < 0)
				goto kill;
			c->peer_eof = r == 1;
		}
		if (conn_serve(c) < 0)
			goto kill;
		if (c->peer_eof && !conn_pending(c))
			c->closing = true; /* everything complete has been answered */
	}
	if (c->closing && !conn_pending(c))
		goto kill;
	if ((events & EPOLLHUP) && conn_pending(c))
		goto kill; /* the client is gone; nobody will read the rest */
	if (conn_update_events(c) < 0)
		goto kill;
	return;
kill:
	conn_free(c); /* last touch: epoll names each fd once per batch */
}

static int conn_new(struct api_server *s, int fd)
{
	struct api_conn *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->s = s;
	c->h.fd = fd;
	c->h.cb = conn_cb;
	c->h.opaque = c;
	c->events = EPOLLIN;
	r = el_add(s->el, &c->h, EPOLLIN);
	if (r) {
		free(c);
		return r;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	return 0;
}

/* Out of fds: spend the reserved one to accept and drop a client, so the
 * level-triggered listener does not spin. */
static void api_shed_one(struct api_server *s)
{
	int fd;

	log_ratelimited(LOG_WARN, "api: out of file descriptors, dropping a connection");
	if (s->spare_fd < 0)
		return;
	close(s->spare_fd);
	fd = accept4(s->listen_h.fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void listen_cb(struct el_handler *h, uint32_t events)
{
	struct api_server *s = h->opaque;

	(void)events;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			api_shed_one(s);
			break;
		}
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_ratelimited(LOG_WARN, "api: accept: %s", strerror(errno));
			break;
		}
		if (s->nconns >= API_MAX_CONNECTIONS) {
			log_ratelimited(LOG_WARN, "api: more than %d connections, closing new one",
					API_MAX_CONNECTIONS);
			close(fd);
		} else if (conn_new(s, fd) < 0) {
			close(fd);
		}
	}
}

/* Make @path free for bind: absent is fine, a socket nobody answers on is
 * stale and removed; a live socket or any other file is left alone. */
static int api_claim_path(const char *path, const struct sockaddr_un *addr)
{
	struct stat st;
	int probe, r, err;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		err = -errno;
		log_err("api: cannot stat %s: %s", path, strerror(-err));
		return err;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_err("api: %s exists and is not a socket; refusing to replace it", path);
		return -EEXIST;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	r = connect(probe, (const struct sockaddr *)addr, sizeof(*addr));
	err = r < 0 ? errno : 0;
	close(probe);
	if (!err || err == EAGAIN || err == EINPROGRESS) {
		log_err("socket %s is in use by another process", path);
		return -EADDRINUSE;
	}
	if (err == ENOENT)
		return 0;
	if (err != ECONNREFUSED) {
		log_err("api: cannot probe %s: %s", path, strerror(err));
		return -err;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	log_info("api: replaced stale socket %s", path);
	return 0;
}

static int api_listen(struct api_server *s, const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, r;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0) {
		r = -errno;
		if (r == -EADDRINUSE)
			log_err("socket %s is in use by another process", addr->sun_path);
		else
			log_err("api: bind %s: %s", addr->sun_path, strerror(-r));
		goto err_close;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0 || stat(addr->sun_path, &st) < 0) {
		r = -errno;
		goto err_unlink;
	}
	s->sock_dev = st.st_dev;
	s->sock_ino = st.st_ino;
	s->listen_h.fd = fd;
	return 0;
err_unlink:
	unlink(addr->sun_path);
err_close:
	close(fd);
	return r;
}

int api_server_init(struct api_server *s, const char *path, size_t max_body,
		    struct event_loop *el, api_handler_fn fn, void *opaque)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int r;

	memset(s, 0, sizeof(*s));
	s->listen_h.fd = -1;
	s->spare_fd = -1;
	if (!path || !el || !fn)
		return -EINVAL;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_err("api: socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	s->el = el;
	s->max_body = max_body;
	s->handler = fn;
	s->opaque = opaque;
	s->listen_h.cb = listen_cb;
	s->listen_h.opaque = s;
	s->path = strdup(path);
	if (!s->path)
		return -ENOMEM;
	r = api_claim_path(path, &addr);
	if (!r)
		r = api_listen(s, &addr);
	if (r)
		goto err_free;
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	r = el_add(el, &s->listen_h, EPOLLIN);
	if (r)
		goto err_destroy;
	log_info("api: listening on %s", path);
	return 0;
err_destroy:
	api_server_destroy(s);
	return r;
err_free:
	free(s->path);
	s->path = NULL;
	return r;
}

void api_server_destroy(struct api_server *s)
{
	struct stat st;

	while (s->conns)
		conn_free(s->conns);
	if (s->listen_h.fd >= 0) {
		el_del(s->el, &s->listen_h);
		close(s->listen_h.fd);
		s->listen_h.fd = -1;
	}
	if (s->path && !lstat(s->path, &st) && S_ISSOCK(st.st_mode) &&
	    st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
		unlink(s->path);
	free(s->path);
	s->path = NULL;
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	s->spare_fd = -1;
}
