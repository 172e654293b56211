/* Unit tests for the HTTP/1.1 request parser and response formatter: every
 * split of valid and invalid requests (each prefix copied to an exact-size
 * heap buffer so ASan sees any over-read), pipelining, size limits, header
 * semantics and byte-exact responses. Lowercase "get" is a valid token but
 * not a method: -405 (methods are case-sensitive, RFC 9110 §9.1). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"

/* Parse @len bytes copied to a heap block of exactly that size. */
static int parse_n(const char *s, size_t len, size_t max_body, struct http_request *req,
		   size_t *consumed, bool *hdone)
{
	char *copy = malloc(len ? len : 1);
	int r;

	cr_assert(copy);
	memcpy(copy, s, len);
	r = http_parse(copy, len, max_body, req, consumed, hdone);
	free(copy);
	return r;
}

/* Whole-string parse with the default limit; frees the request. */
static int parse_str(const char *s)
{
	struct http_request req;
	size_t used;
	bool hd;
	int r = parse_n(s, strlen(s), HTTP_DEFAULT_MAX_BODY, &req, &used, &hd);

	if (r < 0)
		cr_assert(req.error && req.error[0], "error without a message for %s", s);
	http_request_free(&req);
	return r;
}

/* Every proper prefix must say NEED_MORE or the final error, never more. */
static void check_prefixes(const char *s, size_t len, size_t max_body, int final)
{
	for (size_t k = 0; k < len; k++) {
		struct http_request req;
		size_t used;
		bool hd;
		int r = parse_n(s, k, max_body, &req, &used, &hd);

		if (r == HTTP_DONE)
			http_request_free(&req);
		cr_assert(r == HTTP_NEED_MORE || (final < 0 && r == final),
			  "prefix %zu of %zu: got %d, final %d", k, len, r, final);
	}
}

static void expect_status(const char *s, int status)
{
	int r = parse_str(s);

	cr_assert_eq(r, status, "%s: got %d want %d", s, r, status);
	check_prefixes(s, strlen(s), HTTP_DEFAULT_MAX_BODY, status);
}

#define PUT_HEAD "PUT /drives/rootfs HTTP/1.1\r\nHost: localhost\r\n" \
		 "Content-Type: application/json\r\nContent-Length: 42\r\n\r\n"
#define PUT_BODY "{\"drive_id\":\"rootfs\",\"is_read_only\":false}"

Test(http, put_every_split)
{
	const char *s = PUT_HEAD PUT_BODY;
	size_t len = strlen(s), hlen = strlen(PUT_HEAD);
	struct http_request req;
	size_t used;
	bool hd;

	cr_assert_eq(strlen(PUT_BODY), 42);
	for (size_t k = 0; k < len; k++) {
		int r = parse_n(s, k, HTTP_DEFAULT_MAX_BODY, &req, &used, &hd);

		cr_assert_eq(r, HTTP_NEED_MORE, "prefix %zu", k);
		cr_assert_eq(hd, k >= hlen, "prefix %zu headers_done %d", k, hd);
		cr_assert_null(req.body);
		if (hd)
			cr_assert_str_eq(req.path, "/drives/rootfs");
	}
	cr_assert_eq(parse_n(s, len, HTTP_DEFAULT_MAX_BODY, &req, &used, &hd), HTTP_DONE);
	cr_assert(hd);
	cr_assert_eq(used, len);
	cr_assert_str_eq(req.method, "PUT");
	cr_assert_str_eq(req.path, "/drives/rootfs");
	cr_assert_eq(req.body_len, 42);
	cr_assert_str_eq(req.body, PUT_BODY);
	cr_assert(req.keep_alive);
	cr_assert_not(req.expect_continue);
	cr_assert_null(req.error);
	http_request_free(&req);
	cr_assert_null(req.body);
}

/* Feed @s in chunks of @step bytes through a connection-like buffer and
 * record "METHOD path body_len;" for each request. */
static int feed(const char *s, size_t step, char *log, size_t logsz)
{
	size_t len = strlen(s), have = 0, off = 0;
	char buf[4096];
	int r = HTTP_NEED_MORE;

	log[0] = 0;
	while (off < len || r == HTTP_DONE) {
		struct http_request req;
		size_t used;
		bool hd;
		size_t n = len - off < step ? len - off : step;

		if (r != HTTP_DONE) {
			memcpy(buf + have, s + off, n);
			have += n;
			off += n;
		}
		r = http_parse(buf, have, HTTP_DEFAULT_MAX_BODY, &req, &used, &hd);
		if (r < 0)
			return r;
		if (r == HTTP_DONE) {
			size_t l = strlen(log);

			snprintf(log + l, logsz - l, "%s %s %zu;", req.method, req.path,
				 req.body_len);
			http_request_free(&req);
			memmove(buf, buf + used, have - used);
			have -= used;
		}
	}
	return have ? HTTP_NEED_MORE : 0;
}

Test(http, pipelined_two_and_three)
{
	const char *two = "GET / HTTP/1.1\r\n\r\nPUT /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
	const char *three = "GET /version HTTP/1.1\r\nHost: x\r\n\r\n"
			    "PATCH /vm HTTP/1.1\r\nContent-Length: 20\r\n\r\n{\"state\":\"Paused\"}  "
			    "GET /machine-config HTTP/1.1\r\n\r\n";
	struct http_request req;
	size_t used;
	bool hd;
	char log[512];

	cr_assert_eq(http_parse(two, strlen(two), 1000, &req, &used, &hd), HTTP_DONE);
	cr_assert_eq(used, 18);
	cr_assert_str_eq(req.method, "GET");
	cr_assert_null(req.body);
	cr_assert_eq(http_parse(two + used, strlen(two) - used, 1000, &req, &used, &hd), HTTP_DONE);
	cr_assert_str_eq(req.body, "{}");
	http_request_free(&req);
	for (size_t step = 1; step <= strlen(three); step++) {
		cr_assert_eq(feed(three, step, log, sizeof(log)), 0, "step %zu", step);
		cr_assert_str_eq(log, "GET /version 0;PATCH /vm 20;GET /machine-config 0;",
				 "step %zu: %s", step, log);
	}
	/* Third request incomplete: two parsed, the rest waits. */
	cr_assert_eq(feed("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n", 7,
			  log, sizeof(log)), HTTP_NEED_MORE);
	cr_assert_str_eq(log, "GET /a 0;GET /b 0;");
}

/* "GET / HTTP/1.1\r\nX: " + filler + "\r\n\r\n", @total bytes in all. */
static char *big_header(size_t total)
{
	const char *pre = "GET / HTTP/1.1\r\nX: ";
	size_t plen = strlen(pre);
	char *s = malloc(total + 1);

	cr_assert(s && total > plen + 4);
	memcpy(s, pre, plen);
	memset(s + plen, 'a', total - plen - 4);
	memcpy(s + total - 4, "\r\n\r\n", 5);
	return s;
}

Test(http, header_block_limit)
{
	char *ok = big_header(HTTP_MAX_HEADER), *big = big_header(HTTP_MAX_HEADER + 1);
	struct http_request req;
	size_t used;
	bool hd;

	cr_assert_eq(parse_str(ok), HTTP_DONE);
	cr_assert_eq(parse_str(big), -431);
	/* Detected as soon as the buffer passes the limit without CRLFCRLF. */
	cr_assert_eq(parse_n(big, HTTP_MAX_HEADER, 100, &req, &used, &hd), HTTP_NEED_MORE);
	cr_assert_eq(parse_n(big, HTTP_MAX_HEADER + 1, 100, &req, &used, &hd), -431);
	cr_assert_str_eq(req.error, "request header block larger than 8192 bytes");
	/* A request line that never ends is a header block that never ends. */
	memset(big, 'A', HTTP_MAX_HEADER + 1);
	cr_assert_eq(parse_n(big, HTTP_MAX_HEADER + 1, 100, &req, &used, &hd), -431);
	free(ok);
	free(big);
}

Test(http, body_limit)
{
	char s[256];
	struct http_request req;
	size_t used;
	bool hd;

	snprintf(s, sizeof(s), "PUT /a HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
		 HTTP_DEFAULT_MAX_BODY + 1);
	expect_status(s, -413);
	snprintf(s, sizeof(s), "PUT /a HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
		 HTTP_DEFAULT_MAX_BODY);
	cr_assert_eq(parse_str(s), HTTP_NEED_MORE);
	strcpy(s, "PUT /a HTTP/1.1\r\nContent-Length: 11\r\n\r\n0123456789a");
	cr_assert_eq(http_parse(s, strlen(s), 10, &req, &used, &hd), -413);
	cr_assert_eq(http_parse(s, strlen(s), 11, &req, &used, &hd), HTTP_DONE);
	cr_assert_str_eq(req.body, "0123456789a");
	http_request_free(&req);
}

Test(http, body_without_content_length)
{
	const char *s = "PUT /a HTTP/1.1\r\n\r\n{\"x\": 1}\r\n";
	struct http_request req;
	size_t used;
	bool hd;

	cr_assert_eq(http_parse(s, strlen(s), 100, &req, &used, &hd), HTTP_DONE);
	cr_assert_eq(used, 19);
	cr_assert_null(req.body);
	cr_assert_eq(req.body_len, 0);
	/* The stray body is the next "request": garbage, rejected at once. */
	cr_assert_eq(http_parse(s + used, 1, 100, &req, &used, &hd), -400);
	cr_assert_str_eq(req.error, "malformed request line");
}

Test(http, content_length_values)
{
	expect_status("PUT /a HTTP/1.1\r\nContent-Length: abc\r\n\r\n", -400);
	expect_status("PUT /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n", -400);
	expect_status("PUT /a HTTP/1.1\r\nContent-Length: +1\r\n\r\n", -400);
	expect_status("PUT /a HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", -400);
	expect_status("PUT /a HTTP/1.1\r\nContent-Length:\r\n\r\n", -400);
	expect_status("PUT /a HTTP/1.1\r\nContent-Length: 1 1\r\n\r\nab", -400);
	expect_status("PUT /a HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\nab", -400);
	expect_status("PUT /a HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n", -413);
	expect_status("PUT /a HTTP/1.1\r\nContent-Length: 18446744073709551617\r\n\r\n", -413);
	expect_status("PUT /a HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", -400);
	/* Equal duplicates, OWS and leading zeros are fine. */
	expect_status("PUT /a HTTP/1.1\r\nContent-Length: 2\r\ncontent-length:2\r\n\r\nab", HTTP_DONE);
	expect_status("PUT /a HTTP/1.1\r\nContent-Length: \t002 \r\n\r\nab", HTTP_DONE);
	expect_status("PUT /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n", HTTP_DONE);
}

Test(http, transfer_encoding)
{
	expect_status("PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
		      -501);
	expect_status("PUT /a HTTP/1.1\r\ntransfer-encoding: identity\r\n\r\n", -501);
	expect_status("PUT /a HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
		      -501);
}

Test(http, methods)
{
	expect_status("DELETE /a HTTP/1.1\r\n\r\n", -405);
	expect_status("POST /a HTTP/1.1\r\n\r\n", -405);
	expect_status("get / HTTP/1.1\r\n\r\n", -405);
	expect_status("PATCHX / HTTP/1.1\r\n\r\n", -405);
	expect_status("G@T / HTTP/1.1\r\n\r\n", -400);
	expect_status(" GET / HTTP/1.1\r\n\r\n", -400);
	expect_status("GET  / HTTP/1.1\r\n\r\n", -400);
	expect_status("GET / HTTP/1.1 \r\n\r\n", -400);
	expect_status("GET /\r\n\r\n", -400);
	expect_status("GET\r\n\r\n", -400);
	expect_status("\r\nGET / HTTP/1.1\r\n\r\n", -400);
	expect_status("GET / HTTP/1.1\r\n\r\n", HTTP_DONE);
	expect_status("PUT / HTTP/1.1\r\n\r\n", HTTP_DONE);
	expect_status("PATCH / HTTP/1.1\r\n\r\n", HTTP_DONE);
}

Test(http, versions)
{
	expect_status("GET / HTTP/2.0\r\n\r\n", -505);
	expect_status("GET / HTTP/1.2\r\n\r\n", -505);
	expect_status("GET / HTTP/0.9\r\n\r\n", -505);
	expect_status("GET / HTTP/1\r\n\r\n", -400);
	expect_status("GET / http/1.1\r\n\r\n", -400);
	expect_status("GET / HTTP/1.1x\r\n\r\n", -400);
	expect_status("GET / HTTP/1.0\r\n\r\n", HTTP_DONE);
}

Test(http, line_endings)
{
	expect_status("GET / HTTP/1.1\n\n", -400);
	expect_status("GET / HTTP/1.1\r\nHost: a\n\r\n", -400);
	expect_status("GET / HTTP/1.1\r\n\n", -400);
	expect_status("GET / HTTP/1.1\r\r\n\r\n", -400);
	expect_status("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", -400);
	expect_status("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", -400);
	expect_status("GET / HTTP/1.1\r\nHost : a\r\n\r\n", -400);
	expect_status("GET / HTTP/1.1\r\nNoColon\r\n\r\n", -400);
	expect_status("GET / HTTP/1.1\r\n: empty-name\r\n\r\n", -400);
}

Test(http, targets)
{
	char s[600], path[300];
	struct http_request req;
	size_t used;
	bool hd;

	expect_status("GET /a?b=c HTTP/1.1\r\n\r\n", -400);
	expect_status("GET /a#frag HTTP/1.1\r\n\r\n", -400);
	expect_status("GET http://localhost/ HTTP/1.1\r\n\r\n", -400);
	expect_status("GET * HTTP/1.1\r\n\r\n", -400);
	expect_status("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", -400);
	path[0] = '/';
	memset(path + 1, 'p', 254);
	path[255] = 0;
	snprintf(s, sizeof(s), "GET %s HTTP/1.1\r\n\r\n", path);
	cr_assert_eq(http_parse(s, strlen(s), 0, &req, &used, &hd), HTTP_DONE);
	cr_assert_str_eq(req.path, path);
	strcat(path, "q");
	snprintf(s, sizeof(s), "GET %s HTTP/1.1\r\n\r\n", path);
	expect_status(s, -414);
}

Test(http, nul_bytes)
{
	static const char line[] = "GET /a\0b HTTP/1.1\r\n\r\n";
	static const char hdr[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
	static const char body[] = "PUT / HTTP/1.1\r\nContent-Length: 3\r\n\r\na\0b";
	struct http_request req;
	size_t used;
	bool hd;

	cr_assert_eq(parse_n(line, sizeof(line) - 1, 100, &req, &used, &hd), -400);
	check_prefixes(line, sizeof(line) - 1, 100, -400);
	cr_assert_eq(parse_n(hdr, sizeof(hdr) - 1, 100, &req, &used, &hd), -400);
	check_prefixes(hdr, sizeof(hdr) - 1, 100, -400);
	cr_assert_eq(parse_n(body, sizeof(body) - 1, 100, &req, &used, &hd), HTTP_DONE);
	cr_assert_eq(req.body_len, 3);
	cr_assert_eq(memcmp(req.body, "a\0b", 4), 0);
	http_request_free(&req);
}

Test(http, expect_continue)
{
	const char *s = "PUT /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
	const char *s10 = "PUT /a HTTP/1.0\r\nEXPECT: 100-Continue\r\nContent-Length: 5\r\n\r\n";
	struct http_request req;
	size_t used;
	bool hd;

	cr_assert_eq(http_parse(s, strlen(s), 100, &req, &used, &hd), HTTP_NEED_MORE);
	cr_assert(hd);
	cr_assert(req.expect_continue);
	cr_assert_str_eq(req.method, "PUT");
	cr_assert_null(req.body);
	cr_assert_eq(http_parse(s, strlen(s) - 2, 100, &req, &used, &hd), HTTP_NEED_MORE);
	cr_assert_not(hd);
	cr_assert_not(req.expect_continue);
	/* HTTP/1.0 clients get no 100 (RFC 9110 §10.1.1). */
	cr_assert_eq(http_parse(s10, strlen(s10), 100, &req, &used, &hd), HTTP_NEED_MORE);
	cr_assert(hd);
	cr_assert_not(req.expect_continue);
	/* Unknown expectations are ignored. */
	cr_assert_eq(http_parse("GET / HTTP/1.1\r\nExpect: x\r\n\r\n", 29, 0, &req, &used, &hd),
		     HTTP_DONE);
	cr_assert_not(req.expect_continue);
}

static bool keep_alive_of(const char *s)
{
	struct http_request req;
	size_t used;
	bool hd;

	cr_assert_eq(http_parse(s, strlen(s), 0, &req, &used, &hd), HTTP_DONE, "%s", s);
	return req.keep_alive;
}

Test(http, connection_header)
{
	cr_assert(keep_alive_of("GET / HTTP/1.1\r\n\r\n"));
	cr_assert_not(keep_alive_of("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
	cr_assert_not(keep_alive_of("GET / HTTP/1.1\r\nCONNECTION: Close\r\n\r\n"));
	cr_assert_not(keep_alive_of("GET / HTTP/1.1\r\nConnection: upgrade, close\r\n\r\n"));
	cr_assert_not(keep_alive_of("GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n"));
	cr_assert(keep_alive_of("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n"));
	cr_assert_not(keep_alive_of("GET / HTTP/1.0\r\n\r\n"));
	cr_assert(keep_alive_of("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
	cr_assert_not(keep_alive_of("GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
				    "Connection: close\r\n\r\n"));
}

Test(http, get_with_body)
{
	const char *s = "GET /vm/config HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET";
	struct http_request req;
	size_t used;
	bool hd;

	cr_assert_eq(http_parse(s, strlen(s), 100, &req, &used, &hd), HTTP_DONE);
	cr_assert_eq(used, strlen(s) - 3);
	cr_assert_str_eq(req.body, "abc");
	http_request_free(&req);
}

static void expect_response(int status, const char *body, bool ka, const char *want)
{
	size_t len = 0;
	char *out = http_format_response(status, body, ka, &len);

	cr_assert(out);
	cr_assert_eq(len, strlen(want), "len %zu want %zu: %s", len, strlen(want), out);
	cr_assert_eq(memcmp(out, want, len), 0, "got\n%s\nwant\n%s", out, want);
	free(out);
}

Test(http, format_responses)
{
	expect_response(200, "{\"id\":\"x\"}", true,
			"HTTP/1.1 200 OK\r\nServer: femtovm\r\nContent-Type: application/json\r\n"
			"Content-Length: 10\r\n\r\n{\"id\":\"x\"}");
	expect_response(204, NULL, true, "HTTP/1.1 204 No Content\r\nServer: femtovm\r\n\r\n");
	expect_response(204, "{}", false,
			"HTTP/1.1 204 No Content\r\nServer: femtovm\r\nConnection: close\r\n\r\n");
	expect_response(400, "{\"fault_message\": \"bad\"}", false,
			"HTTP/1.1 400 Bad Request\r\nServer: femtovm\r\n"
			"Content-Type: application/json\r\nContent-Length: 24\r\n"
			"Connection: close\r\n\r\n{\"fault_message\": \"bad\"}");
	expect_response(404, NULL, true,
			"HTTP/1.1 404 Not Found\r\nServer: femtovm\r\nContent-Length: 0\r\n\r\n");
	expect_response(100, NULL, true, "HTTP/1.1 100 Continue\r\nServer: femtovm\r\n\r\n");
	expect_response(7, NULL, true,
			"HTTP/1.1 500 Internal Server Error\r\nServer: femtovm\r\n"
			"Content-Length: 0\r\n\r\n");
}

Test(http, reasons)
{
	cr_assert_str_eq(http_reason(413), "Content Too Large");
	cr_assert_str_eq(http_reason(431), "Request Header Fields Too Large");
	cr_assert_str_eq(http_reason(505), "HTTP Version Not Supported");
	cr_assert_str_eq(http_reason(299), "Unknown");
}
