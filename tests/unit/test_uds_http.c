/* Unit tests for femtovm-fanout's HTTP client (src/tools/uds_http.c):
 * request formatting, the incremental response parser on every prefix of
 * valid responses (copied to exact-size heap blocks so ASan sees any
 * over-read), malformed and oversized responses, and the fault message.
 * The tool is not part of the monitor library the unit binary links, so
 * its source is compiled into this file. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/uds_http.c"

static long parse_copy(const char *s, size_t len, struct uds_http_resp *r)
{
	char *copy = malloc(len ? len : 1);
	long n;

	cr_assert(copy);
	memcpy(copy, s, len);
	n = uds_http_parse(copy, len, r);
	free(copy);
	return n;
}

Test(uds_http, format_with_and_without_body)
{
	char buf[512];
	int n = uds_http_format(buf, sizeof(buf), "PUT", "/snapshot/load", "{\"a\":1}");

	cr_assert_eq(n, (int)strlen(buf));
	cr_assert_str_eq(buf, "PUT /snapshot/load HTTP/1.1\r\nHost: localhost\r\n"
			 "Accept: application/json\r\nContent-Type: application/json\r\n"
			 "Content-Length: 7\r\n\r\n{\"a\":1}");
	n = uds_http_format(buf, sizeof(buf), "GET", "/", NULL);
	cr_assert_str_eq(buf, "GET / HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n");
	cr_assert_eq(n, (int)strlen(buf));
}

Test(uds_http, format_too_small)
{
	char buf[40];

	cr_assert_eq(uds_http_format(buf, sizeof(buf), "PUT", "/snapshot/load", "{}"), -ENOSPC);
}

Test(uds_http, every_prefix_of_204_is_incomplete)
{
	static const char r204[] = "HTTP/1.1 204 No Content\r\nServer: femtovm\r\n\r\n";
	struct uds_http_resp r;

	for (size_t i = 0; i < strlen(r204); i++)
		cr_assert_eq(parse_copy(r204, i, &r), 0, "prefix %zu", i);
	cr_assert_eq(parse_copy(r204, strlen(r204), &r), (long)strlen(r204));
	cr_assert_eq(r.status, 204);
	cr_assert_eq(r.body_len, 0);
	cr_assert_eq(r.body_off, strlen(r204));
}

Test(uds_http, error_with_body_and_pipelined_rest)
{
	static const char resp[] = "HTTP/1.1 400 Bad Request\r\ncontent-length: 27\r\n"
				   "Content-Type: application/json\r\n\r\n"
				   "{\"fault_message\":\"no way\"}\n"
				   "HTTP/1.1 204 No Content\r\n\r\n";
	size_t first = strlen(resp) - strlen("HTTP/1.1 204 No Content\r\n\r\n");
	struct uds_http_resp r;

	for (size_t i = 0; i < first; i++)
		cr_assert_eq(parse_copy(resp, i, &r), 0, "prefix %zu", i);
	cr_assert_eq(parse_copy(resp, strlen(resp), &r), (long)first);
	cr_assert_eq(r.status, 400);
	cr_assert_eq(r.body_len, 27);
	cr_assert_eq(memcmp(resp + r.body_off, "{\"fault_message\"", 16), 0);
}

Test(uds_http, malformed_status_lines)
{
	static const char *const bad[] = {
		"HTTP/2 204 No\r\n\r\n", "HTTP/1.1 20 No\r\n\r\n", "HTTP/1.1 2x4 No\r\n\r\n",
		"HTTP/1.1 204No\r\n\r\n", "http/1.1 204 No\r\n\r\n", "HTTP/1.1 099 Low\r\n\r\n",
		"HTTP/1.1 600 High\r\n\r\n", "\r\n\r\n", "HTTP/1.1  204\r\n\r\n",
	};
	struct uds_http_resp r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse_copy(bad[i], strlen(bad[i]), &r), -EPROTO, "%s", bad[i]);
	cr_assert_eq(parse_copy("HTTP/1.0 200\r\n\r\n", 16, &r), 16, "no reason phrase is fine");
	cr_assert_eq(r.status, 200);
}

Test(uds_http, malformed_headers)
{
	static const char *const bad[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
	};
	struct uds_http_resp r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse_copy(bad[i], strlen(bad[i]), &r), -EPROTO, "%s", bad[i]);
}

Test(uds_http, chunked_and_oversized)
{
	static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	static const char big[] = "HTTP/1.1 200 OK\r\nContent-Length: 65537\r\n\r\n";
	struct uds_http_resp r;
	size_t n = UDS_HTTP_HEAD_MAX + 10;
	char *head = malloc(n);

	cr_assert_eq(parse_copy(chunked, strlen(chunked), &r), -ENOTSUP);
	cr_assert_eq(parse_copy(big, strlen(big), &r), -E2BIG);
	cr_assert(head);
	memset(head, 'a', n);
	memcpy(head, "HTTP/1.1 200 OK\r\nX: ", 20);
	cr_assert_eq(uds_http_parse(head, n, &r), -E2BIG, "a head without end past the limit");
	free(head);
}

Test(uds_http, fault_message)
{
	char out[64];
	static const char json[] = "{\"fault_message\": \"vsock_override: no vsock\"}";
	static const char text[] = "plain\ntext\x01!";

	uds_http_fault(json, strlen(json), out, sizeof(out));
	cr_assert_str_eq(out, "vsock_override: no vsock");
	uds_http_fault(text, strlen(text), out, sizeof(out));
	cr_assert_str_eq(out, "plain text !");
	uds_http_fault("", 0, out, sizeof(out));
	cr_assert_str_eq(out, "(no body)");
	uds_http_fault("{\"fault_message\": 3}", 20, out, 8);
	cr_assert_str_eq(out, "{\"fault", "a non-string fault is shown raw, cut to fit");
}

Test(uds_http, connect_errors)
{
	char longp[200];

	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	cr_assert_eq(uds_http_connect(longp), -ENAMETOOLONG);
	cr_assert_eq(uds_http_connect("/nonexistent/femtovm-unit.sock"), -ENOENT);
}
