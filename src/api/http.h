/* Strict, bounded HTTP/1.1 request parsing for the API socket: request
 * line, headers, Content-Length bodies. Incremental (bytes may arrive in
 * any split) and pure, so it is unit-tested and fuzzed without sockets. */
#ifndef FEMTOVM_HTTP_H
#define FEMTOVM_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HEADER 8192      /* request line + headers, bytes */
#define HTTP_DEFAULT_MAX_BODY 51200 /* Firecracker's default payload limit */

struct http_request {
	char method[8];          /* "GET", "PUT", "PATCH" (others rejected) */
	char path[256];          /* origin-form target, no query allowed */
	char *body;              /* NUL-terminated copy, NULL if none */
	size_t body_len;
	bool keep_alive;         /* false after "Connection: close" */
	bool expect_continue;    /* "Expect: 100-continue" was sent (1.1 only) */
	const char *error;       /* static text naming the problem when
				    http_parse fails, NULL otherwise */
};

enum http_status_result {
	HTTP_NEED_MORE = 0,      /* incomplete: feed more bytes */
	HTTP_DONE = 1,           /* one request parsed; see *consumed */
	/* errors are negative HTTP status codes: -400, -405, -413, -414,
	 * -431, -501, -505 */
};

/* Try to parse one request from @buf[0..len). On HTTP_DONE, *consumed is
 * the number of bytes that request used (pipelined requests follow) and
 * @req is filled (free it with http_request_free). HTTP_NEED_MORE when the
 * request is incomplete (but not over the limits); *headers_done tells if
 * the header block is complete (to answer 100-continue) and then @req has
 * everything but the body (nothing allocated). Negative HTTP status on a
 * malformed or oversized request, req->error says why; the first offending
 * line decides, so the result does not depend on how bytes were split.
 * -500 only if the body copy cannot be allocated. Method names are
 * case-sensitive: "get" is a valid token but not a method here (-405). */
int http_parse(const char *buf, size_t len, size_t max_body, struct http_request *req,
	       size_t *consumed, bool *headers_done);

void http_request_free(struct http_request *req);

/* Reason phrase for a status code ("OK", "No Content", "Bad Request", ...). */
const char *http_reason(int status);

/* Format a response: status line, Content-Type/Length when @body is not
 * NULL, Connection header. Returns a malloc'd buffer and its length. */
char *http_format_response(int status, const char *body, bool keep_alive, size_t *len);

#endif
