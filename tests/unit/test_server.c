/* Unit tests for the API server over a real Unix socket in a temp dir: the
 * event loop runs on a thread, the test is the client. Keep-alive,
 * pipelining, split writes, 100-continue, errors that close only the bad
 * connection, back-pressure, the connection limit and socket-path rules
 * (stale replaced, live or non-socket refused). Responses are exact bytes. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/server.h"

#define BIG_LEN 65536 /* body of GET /big: more than a socket buffer holds */

struct fixture {
	struct event_loop el;
	struct api_server srv;
	struct el_handler stop_h;
	pthread_t thr;
	char dir[64];
	char path[128];
};

static struct fixture fx;

/* Echo handler: {"method":M,"path":P,"body":B}; /nocontent → 204, /big →
 * a BIG_LEN-byte body of 'x' (as a JSON string). */
static void echo_handler(void *opaque, const struct http_request *req, struct api_response *resp)
{
	if (opaque != &fx)
		abort(); /* no cr_assert off the test's thread */
	if (!strcmp(req->path, "/nocontent")) {
		resp->status = 204;
		return;
	}
	if (!strcmp(req->path, "/big")) {
		resp->body = malloc(BIG_LEN + 1);
		memset(resp->body, 'x', BIG_LEN);
		resp->body[0] = resp->body[BIG_LEN - 1] = '"';
		resp->body[BIG_LEN] = 0;
		resp->status = 200;
		return;
	}
	if (asprintf(&resp->body, "{\"method\":\"%s\",\"path\":\"%s\",\"body\":\"%s\"}",
		     req->method, req->path, req->body ? req->body : "") < 0)
		abort();
	resp->status = 200;
}

static void stop_cb(struct el_handler *h, uint32_t events)
{
	uint64_t v;

	(void)events;
	if (read(h->fd, &v, sizeof(v)) != sizeof(v))
		abort();
	fx.el.stop = true;
}

static int loop_ret = 1;

static void *loop_thread(void *arg)
{
	(void)arg;
	loop_ret = el_run(&fx.el);
	return NULL;
}

static void make_dir(void)
{
	/* Watchdog instead of Criterion's .timeout (whose runner leaks when
	 * timed tests run in parallel, which the unit target flags). */
	alarm(60);
	strcpy(fx.dir, "/tmp/femtovm-api-XXXXXX");
	cr_assert(mkdtemp(fx.dir));
	snprintf(fx.path, sizeof(fx.path), "%s/api.sock", fx.dir);
}

static void start_server(void)
{
	cr_assert_eq(el_init(&fx.el), 0);
	fx.stop_h.fd = eventfd(0, EFD_CLOEXEC);
	fx.stop_h.cb = stop_cb;
	cr_assert_eq(el_add(&fx.el, &fx.stop_h, EPOLLIN), 0);
	cr_assert_eq(api_server_init(&fx.srv, fx.path, HTTP_DEFAULT_MAX_BODY, &fx.el,
				     echo_handler, &fx), 0);
	cr_assert_eq(pthread_create(&fx.thr, NULL, loop_thread, NULL), 0);
}

/* Stop the loop, destroy the server; the socket file must be gone. */
static void stop_server(void)
{
	uint64_t one = 1;

	cr_assert_eq(write(fx.stop_h.fd, &one, sizeof(one)), sizeof(one));
	cr_assert_eq(pthread_join(fx.thr, NULL), 0);
	cr_assert_eq(loop_ret, 0);
	api_server_destroy(&fx.srv);
	cr_assert_eq(access(fx.path, F_OK), -1);
	cr_assert_eq(errno, ENOENT);
	cr_assert_eq(fx.srv.nconns, 0);
	close(fx.stop_h.fd);
	el_destroy(&fx.el);
	rmdir(fx.dir);
}

static int cli_connect(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	strcpy(a.sun_path, fx.path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %m");
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void cli_send(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		cr_assert_gt(w, 0, "send: %m");
		s += w;
		n -= (size_t)w;
	}
}

static void cli_sends(int fd, const char *s)
{
	cli_send(fd, s, strlen(s));
}

/* Read exactly strlen(@want) bytes and compare. */
static void cli_expect(int fd, const char *want)
{
	size_t n = strlen(want), got = 0;
	char *buf = malloc(n + 1);

	while (got < n) {
		ssize_t r = recv(fd, buf + got, n - got, 0);

		cr_assert_gt(r, 0, "recv after %zu of %zu bytes: %zd %m\nwant:\n%s", got, n, r,
			     want);
		got += (size_t)r;
	}
	buf[n] = 0;
	cr_assert_eq(memcmp(buf, want, n), 0, "got:\n%s\nwant:\n%s", buf, want);
	free(buf);
}

static void cli_expect_eof(int fd)
{
	char c;
	ssize_t r = recv(fd, &c, 1, 0);

	cr_assert(r == 0 || (r < 0 && errno == ECONNRESET), "expected EOF, got %zd", r);
}

/* The exact response echo_handler produces. */
static const char *echo_resp(const char *m, const char *p, const char *b, bool close_conn)
{
	static char out[4][512];
	static int i;
	char body[256];
	char *o = out[i++ % 4];

	snprintf(body, sizeof(body), "{\"method\":\"%s\",\"path\":\"%s\",\"body\":\"%s\"}", m, p, b);
	snprintf(o, 512,
		 "HTTP/1.1 200 OK\r\nServer: femtovm\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\n%s\r\n%s",
		 strlen(body), close_conn ? "Connection: close\r\n" : "", body);
	return o;
}

static const char *fault_resp(int status, const char *reason, const char *msg)
{
	static char o[512];
	char body[256];

	snprintf(body, sizeof(body), "{\"fault_message\": \"%s\"}", msg);
	snprintf(o, sizeof(o),
		 "HTTP/1.1 %d %s\r\nServer: femtovm\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 status, reason, strlen(body), body);
	return o;
}

Test(server, keep_alive_and_close)
{
	int fd;

	make_dir();
	start_server();
	fd = cli_connect();
	cli_sends(fd, "GET /version HTTP/1.1\r\nHost: localhost\r\n\r\n");
	cli_expect(fd, "HTTP/1.1 200 OK\r\nServer: femtovm\r\nContent-Type: application/json\r\n"
		       "Content-Length: 44\r\n\r\n"
		       "{\"method\":\"GET\",\"path\":\"/version\",\"body\":\"\"}");
	cli_sends(fd, "PUT /machine-config HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\":1}");
	cli_expect(fd, echo_resp("PUT", "/machine-config", "{\"a\":1}", false));
	cli_sends(fd, "PATCH /vm HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
	cli_expect(fd, echo_resp("PATCH", "/vm", "{}", false));
	cli_sends(fd, "GET /nocontent HTTP/1.1\r\n\r\n");
	cli_expect(fd, "HTTP/1.1 204 No Content\r\nServer: femtovm\r\n\r\n");
	cli_sends(fd, "GET /last HTTP/1.1\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\n\r\n");
	cli_expect(fd, echo_resp("GET", "/last", "", true));
	cli_expect_eof(fd);
	close(fd);
	stop_server();
	cr_assert_eq(fx.srv.requests, 5);
}

Test(server, pipelined_in_one_write)
{
	int fd;
	char want[2048];

	make_dir();
	start_server();
	fd = cli_connect();
	cli_sends(fd, "GET /a HTTP/1.1\r\n\r\n"
		      "PUT /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
		      "PATCH /c HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	snprintf(want, sizeof(want), "%s", echo_resp("GET", "/a", "", false));
	strcat(want, echo_resp("PUT", "/b", "xyz", false));
	strcat(want, echo_resp("PATCH", "/c", "", false));
	cli_expect(fd, want);
	close(fd);
	stop_server();
	cr_assert_eq(fx.srv.requests, 3);
}

Test(server, split_writes)
{
	const char *req = "PUT /drives/rootfs HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789"
			  "GET /x HTTP/1.1\r\n\r\n";
	int fd;

	make_dir();
	start_server();
	fd = cli_connect();
	for (size_t i = 0; req[i]; i++) {
		cli_send(fd, req + i, 1);
		usleep(300);
	}
	cli_expect(fd, echo_resp("PUT", "/drives/rootfs", "0123456789", false));
	cli_expect(fd, echo_resp("GET", "/x", "", false));
	close(fd);
	stop_server();
}

Test(server, expect_100_continue)
{
	int fd;

	make_dir();
	start_server();
	fd = cli_connect();
	cli_sends(fd, "PUT /boot-source HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
	cli_expect(fd, "HTTP/1.1 100 Continue\r\n\r\n");
	cli_sends(fd, "ab");
	usleep(20000); /* a second partial read must not repeat the 100 */
	cli_sends(fd, "cde");
	cli_expect(fd, echo_resp("PUT", "/boot-source", "abcde", false));
	/* Body sent with the headers: no interim response at all. */
	cli_sends(fd, "PUT /b HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
	cli_expect(fd, echo_resp("PUT", "/b", "hi", false));
	close(fd);
	stop_server();
}

Test(server, garbage_then_next_client)
{
	int bad, good;

	make_dir();
	start_server();
	bad = cli_connect();
	cli_sends(bad, "garbage\r\n\r\n");
	cli_expect(bad, fault_resp(400, "Bad Request", "malformed request line"));
	cli_expect_eof(bad);
	close(bad);
	bad = cli_connect();
	cli_sends(bad, "DELETE /drives/x HTTP/1.1\r\n\r\n");
	cli_expect(bad, fault_resp(405, "Method Not Allowed",
				   "method not allowed (GET, PUT and PATCH only)"));
	cli_expect_eof(bad);
	close(bad);
	bad = cli_connect();
	cli_sends(bad, "GET /ok HTTP/1.1\r\n\r\nPUT /a HTTP/1.1\r\nContent-Length: 99999\r\n\r\n");
	cli_expect(bad, echo_resp("GET", "/ok", "", false));
	cli_expect(bad, fault_resp(413, "Content Too Large",
				   "request body larger than the API payload limit"));
	cli_expect_eof(bad);
	close(bad);
	good = cli_connect();
	cli_sends(good, "GET / HTTP/1.1\r\n\r\n");
	cli_expect(good, echo_resp("GET", "/", "", false));
	close(good);
	stop_server();
	cr_assert_eq(fx.srv.requests, 2);
}

Test(server, half_close_still_answered)
{
	int fd;

	make_dir();
	start_server();
	fd = cli_connect();
	cli_sends(fd, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /incomplete HTTP/1.1\r\n");
	shutdown(fd, SHUT_WR);
	cli_expect(fd, echo_resp("GET", "/1", "", false));
	cli_expect(fd, echo_resp("GET", "/2", "", false));
	cli_expect_eof(fd);
	close(fd);
	stop_server();
}

/* A client that pipelines big responses and does not read: the server
 * keeps serving others and later delivers everything in order. */
Test(server, slow_reader_backpressure)
{
	enum { N = 40 };
	char hdr[256], *body = malloc(BIG_LEN + 1);
	int slow, other;

	make_dir();
	start_server();
	slow = cli_connect();
	for (int i = 0; i < N; i++)
		cli_sends(slow, "GET /big HTTP/1.1\r\n\r\n");
	usleep(100000);
	other = cli_connect();
	cli_sends(other, "GET /other HTTP/1.1\r\n\r\n");
	cli_expect(other, echo_resp("GET", "/other", "", false));
	close(other);
	snprintf(hdr, sizeof(hdr),
		 "HTTP/1.1 200 OK\r\nServer: femtovm\r\nContent-Type: application/json\r\n"
		 "Content-Length: %d\r\n\r\n", BIG_LEN);
	memset(body, 'x', BIG_LEN);
	body[0] = body[BIG_LEN - 1] = '"';
	body[BIG_LEN] = 0;
	for (int i = 0; i < N; i++) {
		cli_expect(slow, hdr);
		cli_expect(slow, body);
	}
	close(slow);
	free(body);
	stop_server();
	cr_assert_eq(fx.srv.requests, N + 1);
}

Test(server, connection_limit)
{
	int fds[API_MAX_CONNECTIONS], extra, fd = -1;
	bool served = false;

	make_dir();
	start_server();
	for (int i = 0; i < API_MAX_CONNECTIONS; i++) {
		fds[i] = cli_connect();
		cli_sends(fds[i], "GET /n HTTP/1.1\r\n\r\n");
		cli_expect(fds[i], echo_resp("GET", "/n", "", false));
	}
	extra = cli_connect();
	cli_expect_eof(extra); /* accepted and closed at once */
	close(extra);
	close(fds[0]);
	/* The freed slot becomes usable once the server has seen the close. */
	for (int tries = 0; tries < 100 && !served; tries++) {
		char c;

		fd = cli_connect();
		cli_sends(fd, "GET /n HTTP/1.1\r\n\r\n");
		if (recv(fd, &c, 1, MSG_PEEK) == 1) {
			served = true;
			break;
		}
		close(fd);
		usleep(10000);
	}
	cr_assert(served);
	cli_expect(fd, echo_resp("GET", "/n", "", false));
	close(fd);
	for (int i = 1; i < API_MAX_CONNECTIONS; i++)
		close(fds[i]);
	stop_server();
}

Test(server, stale_socket_replaced)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s, fd;

	make_dir();
	strcpy(a.sun_path, fx.path);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	close(s); /* file left behind, nobody listening */
	cr_assert_eq(access(fx.path, F_OK), 0);
	start_server();
	fd = cli_connect();
	cli_sends(fd, "GET / HTTP/1.1\r\n\r\n");
	cli_expect(fd, echo_resp("GET", "/", "", false));
	close(fd);
	stop_server();
}

Test(server, live_socket_refused)
{
	struct event_loop el2;
	struct api_server s2;
	int fd;

	make_dir();
	start_server();
	cr_assert_eq(el_init(&el2), 0);
	cr_assert_eq(api_server_init(&s2, fx.path, 100, &el2, echo_handler, &fx), -EADDRINUSE);
	el_destroy(&el2);
	/* The live server still owns the path and answers. */
	fd = cli_connect();
	cli_sends(fd, "GET /still HTTP/1.1\r\n\r\n");
	cli_expect(fd, echo_resp("GET", "/still", "", false));
	close(fd);
	stop_server();
}

Test(server, regular_file_refused)
{
	struct event_loop el2;
	struct api_server s2;
	char buf[16] = { 0 };
	int f;

	make_dir();
	f = open(fx.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	cr_assert_eq(write(f, "keep me", 7), 7);
	close(f);
	cr_assert_eq(el_init(&el2), 0);
	cr_assert_eq(api_server_init(&s2, fx.path, 100, &el2, echo_handler, &fx), -EEXIST);
	el_destroy(&el2);
	f = open(fx.path, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(read(f, buf, sizeof(buf)), 7);
	cr_assert_str_eq(buf, "keep me");
	close(f);
	unlink(fx.path);
	rmdir(fx.dir);
}

Test(server, path_too_long)
{
	struct event_loop el2;
	struct api_server s2;
	char path[200];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = 0;
	cr_assert_eq(el_init(&el2), 0);
	cr_assert_eq(api_server_init(&s2, path, 100, &el2, echo_handler, &fx), -ENAMETOOLONG);
	el_destroy(&el2);
}
