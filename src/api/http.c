/* Strict HTTP/1.1 request parser and response formatter for the API socket
 * (RFC 9112 message syntax narrowed to what Firecracker's clients send:
 * origin-form targets, Content-Length bodies, no chunking, no obs-fold, CRLF
 * line endings only). Errors are decided line by line in byte order, so any
 * split of the input gives the same result. */
#include "api/http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What the header lines said, folded into @req once the block is complete. */
struct parse_state {
	uint64_t content_length; /* saturates at UINT64_MAX */
	bool have_cl;
	bool http10;
	bool conn_close;
	bool conn_keep_alive;
	bool expect;
};

static int fail(struct http_request *req, int status, const char *why)
{
	req->error = why;
	return -status;
}

/* RFC 9110 §5.6.2 token characters. */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Case-insensitive compare of p[0..n) with the NUL-terminated @lit. */
static bool eq_ci(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && !strncasecmp(p, lit, n);
}

/* "HTTP/d.d": 1 for 1.1, 0 for 1.0, -505 other versions, -400 not a version. */
static int parse_version(const char *v, size_t n, struct http_request *req)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) || !is_digit(v[5]) || v[6] != '.' || !is_digit(v[7]))
		return fail(req, 400, "malformed HTTP version in request line");
	if (v[5] == '1' && v[7] == '1')
		return 1;
	if (v[5] == '1' && v[7] == '0')
		return 0;
	return fail(req, 505, "HTTP version not supported (HTTP/1.0 and HTTP/1.1 only)");
}

/* origin-form "/path": printable ASCII, no query or fragment. */
static int parse_target(const char *t, size_t n, struct http_request *req)
{
	if (n == 0 || t[0] != '/')
		return fail(req, 400, "request target must be an absolute path starting with '/'");
	if (n >= sizeof(req->path))
		return fail(req, 414, "request target longer than 255 bytes");
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '?' || t[i] == '#')
			return fail(req, 400, "query strings and fragments are not supported");
	}
	memcpy(req->path, t, n);
	req->path[n] = 0;
	return 0;
}

/* METHOD SP target SP HTTP-version, all checked here. */
static int parse_request_line(const char *p, size_t n, struct http_request *req,
			      struct parse_state *st)
{
	size_t m = 0, t0, t1;
	int ver;

	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)p[i] <= 0x20 && p[i] != ' ')
			return fail(req, 400, "control character in request line");
		if ((unsigned char)p[i] >= 0x7f)
			return fail(req, 400, "non-ASCII byte in request line");
	}
	while (m < n && is_tchar((unsigned char)p[m]))
		m++;
	if (m == 0 || m == n || p[m] != ' ')
		return fail(req, 400, "malformed request line");
	t0 = t1 = m + 1;
	while (t1 < n && p[t1] != ' ')
		t1++;
	if (t1 == n)
		return fail(req, 400, "malformed request line");
	ver = parse_version(p + t1 + 1, n - t1 - 1, req);
	if (ver < 0)
		return ver;
	st->http10 = ver == 0;
	if (!((m == 3 && !memcmp(p, "GET", 3)) || (m == 3 && !memcmp(p, "PUT", 3)) ||
	      (m == 5 && !memcmp(p, "PATCH", 5))))
		return fail(req, 405, "method not allowed (GET, PUT and PATCH only)");
	memcpy(req->method, p, m);
	req->method[m] = 0;
	return parse_target(p + t0, t1 - t0, req);
}

/* Content-Length: 1*DIGIT, one value; equal duplicates are tolerated. */
static int parse_content_length(const char *v, size_t n, size_t max_body,
				struct http_request *req, struct parse_state *st)
{
	uint64_t val = 0;

	if (n == 0)
		return fail(req, 400, "empty Content-Length");
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(v[i]))
			return fail(req, 400, "Content-Length is not a decimal number");
		if (val > (UINT64_MAX - 9) / 10)
			val = UINT64_MAX;
		else
			val = val * 10 + (uint64_t)(v[i] - '0');
	}
	if (st->have_cl && st->content_length != val)
		return fail(req, 400, "conflicting Content-Length headers");
	st->have_cl = true;
	st->content_length = val;
	if (val > max_body)
		return fail(req, 413, "request body larger than the API payload limit");
	return 0;
}

/* Connection: comma-separated options; only close and keep-alive matter. */
static void parse_connection(const char *v, size_t n, struct parse_state *st)
{
	size_t i = 0;

	while (i < n) {
		size_t s, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (eq_ci(v + s, e - s, "close"))
			st->conn_close = true;
		else if (eq_ci(v + s, e - s, "keep-alive"))
			st->conn_keep_alive = true;
	}
}

/* field-name ":" OWS field-value OWS (RFC 9112 §5). */
static int parse_header(const char *p, size_t n, size_t max_body, struct http_request *req,
			struct parse_state *st)
{
	size_t name = 0, v, e;

	while (name < n && is_tchar((unsigned char)p[name]))
		name++;
	if (name == 0 || name == n || p[name] != ':')
		return fail(req, 400, "malformed header line");
	for (size_t i = name + 1; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(req, 400, "control character in header value");
	}
	v = name + 1;
	e = n;
	while (v < e && (p[v] == ' ' || p[v] == '\t'))
		v++;
	while (e > v && (p[e - 1] == ' ' || p[e - 1] == '\t'))
		e--;
	if (eq_ci(p, name, "content-length"))
		return parse_content_length(p + v, e - v, max_body, req, st);
	if (eq_ci(p, name, "transfer-encoding"))
		return fail(req, 501, "Transfer-Encoding is not supported; send Content-Length");
	if (eq_ci(p, name, "connection"))
		parse_connection(p + v, e - v, st);
	else if (eq_ci(p, name, "expect") && eq_ci(p + v, e - v, "100-continue"))
		st->expect = true;
	return 0;
}

/* Walk CRLF-terminated lines until the empty line. 1 with *hdr_end set when
 * the block is complete, HTTP_NEED_MORE (0), or a negative status. */
static int parse_head(const char *buf, size_t len, size_t max_body, struct http_request *req,
		      struct parse_state *st, size_t *hdr_end)
{
	size_t pos = 0, m = 0;

	/* A first byte that cannot start "METHOD SP" is garbage whatever
	 * follows: say so now rather than wait for a CRLF that may never come
	 * (e.g. a body sent without Content-Length). */
	while (m < len && is_tchar((unsigned char)buf[m]))
		m++;
	if (m < len && (m == 0 || buf[m] != ' '))
		return fail(req, 400, "malformed request line");
	for (unsigned line = 0;; line++) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end, n;
		int r;

		if (!nl)
			return len > HTTP_MAX_HEADER ?
				fail(req, 431, "request header block larger than 8192 bytes") :
				HTTP_NEED_MORE;
		end = (size_t)(nl - buf) + 1;
		if (end > HTTP_MAX_HEADER)
			return fail(req, 431, "request header block larger than 8192 bytes");
		if (end - pos < 2 || nl[-1] != '\r')
			return fail(req, 400, "line not terminated by CRLF");
		n = end - pos - 2;
		if (line == 0)
			r = parse_request_line(buf + pos, n, req, st);
		else if (n == 0)
			r = 1;
		else
			r = parse_header(buf + pos, n, max_body, req, st);
		if (r < 0)
			return r;
		pos = end;
		if (r == 1) {
			*hdr_end = pos;
			return 1;
		}
	}
}

int http_parse(const char *buf, size_t len, size_t max_body, struct http_request *req,
	       size_t *consumed, bool *headers_done)
{
	struct parse_state st = { 0 };
	size_t hdr_end = 0;
	int r;

	memset(req, 0, sizeof(*req));
	*headers_done = false;
	*consumed = 0;
	r = parse_head(buf, len, max_body, req, &st, &hdr_end);
	if (r != 1)
		return r;
	*headers_done = true;
	req->keep_alive = st.http10 ? st.conn_keep_alive && !st.conn_close : !st.conn_close;
	req->expect_continue = st.expect && !st.http10; /* RFC 9110 §10.1.1 */
	if (len - hdr_end < st.content_length)
		return HTTP_NEED_MORE;
	if (st.content_length) {
		req->body = malloc(st.content_length + 1);
		if (!req->body)
			return fail(req, 500, "out of memory for the request body");
		memcpy(req->body, buf + hdr_end, st.content_length);
		req->body[st.content_length] = 0;
		req->body_len = st.content_length;
	}
	*consumed = hdr_end + st.content_length;
	return HTTP_DONE;
}

void http_request_free(struct http_request *req)
{
	free(req->body);
	req->body = NULL;
	req->body_len = 0;
}

const char *http_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
		{ 100, "Continue" },	      { 200, "OK" },
		{ 201, "Created" },	      { 204, "No Content" },
		{ 400, "Bad Request" },	      { 404, "Not Found" },
		{ 405, "Method Not Allowed" }, { 408, "Request Timeout" },
		{ 413, "Content Too Large" },  { 414, "URI Too Long" },
		{ 415, "Unsupported Media Type" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 503, "Service Unavailable" }, { 505, "HTTP Version Not Supported" },
	};

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (reasons[i].status == status)
			return reasons[i].reason;
	}
	return "Unknown";
}

char *http_format_response(int status, const char *body, bool keep_alive, size_t *len)
{
	char head[256];
	size_t blen = 0, hlen;
	char *out;
	int n;

	if (status < 100 || status > 999)
		status = 500;
	/* 1xx, 204 and 304 never carry a body (RFC 9110 §6.4.1). */
	if (status < 200 || status == 204 || status == 304)
		body = NULL;
	if (body)
		blen = strlen(body);
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nServer: femtovm\r\n", status,
		     http_reason(status));
	if (body)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
			      "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
	else if (status >= 200 && status != 204 && status != 304)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: 0\r\n");
	if (!keep_alive)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Connection: close\r\n");
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	hlen = (size_t)n;
	out = malloc(hlen + blen + 1);
	if (!out)
		return NULL;
	memcpy(out, head, hlen);
	if (blen)
		memcpy(out + hlen, body, blen);
	out[hlen + blen] = 0;
	*len = hlen + blen;
	return out;
}
