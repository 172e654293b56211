/* uds_http: a minimal HTTP/1.1 client for femtovm's API on a Unix socket,
 * for host tools (femtovm-fanout). The formatter and the response parser
 * are pure (no I/O) so callers can drive many connections from one poll()
 * loop and the parsing is unit-tested. */
#ifndef FEMTOVM_TOOLS_UDS_HTTP_H
#define FEMTOVM_TOOLS_UDS_HTTP_H

#include <stddef.h>

/* Largest response head (status line + headers) and body accepted. */
#define UDS_HTTP_HEAD_MAX 8192
#define UDS_HTTP_BODY_MAX 65536

/* One parsed response: status code and where its body lies in the buffer. */
struct uds_http_resp {
	int status;		/* 100-599 */
	size_t body_off;	/* body starts at buf + body_off */
	size_t body_len;	/* Content-Length (0 without the header) */
};

/* Format "METHOD PATH HTTP/1.1" with Host, Accept and, when body is not
 * NULL, Content-Type: application/json and Content-Length, into out.
 * Returns the request length, or -ENOSPC if it does not fit in cap. */
int uds_http_format(char *out, size_t cap, const char *method, const char *path,
		    const char *body);

/* Parse one response at buf[0..len). Returns the length of the complete
 * response (head + body) and fills *r; 0 when more bytes are needed;
 * -EPROTO for a malformed status line or header, -E2BIG when the head or
 * body exceeds the limits above, -ENOTSUP for Transfer-Encoding. */
long uds_http_parse(const char *buf, size_t len, struct uds_http_resp *r);

/* The "fault_message" string of a JSON error body, else the body itself
 * (control characters replaced, cut to fit), into out (NUL-terminated). */
void uds_http_fault(const char *body, size_t len, char *out, size_t cap);

/* Connect to a Unix stream socket (close-on-exec). Returns the fd or
 * -errno (-ENOENT / -ECONNREFUSED while nobody listens yet,
 * -ENAMETOOLONG if the path does not fit in sun_path). */
int uds_http_connect(const char *path);

#endif
