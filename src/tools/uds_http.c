/* uds_http: request formatting, incremental response parsing and the
 * fault-message extraction for femtovm's API (HTTP/1.1 over a Unix socket,
 * Firecracker's error shape {"fault_message": "..."}). */
#define _GNU_SOURCE
#include "tools/uds_http.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int uds_http_format(char *out, size_t cap, const char *method, const char *path,
		    const char *body)
{
	int n;

	if (body)
		n = snprintf(out, cap,
			     "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			     method, path, strlen(body), body);
	else
		n = snprintf(out, cap,
			     "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n",
			     method, path);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

/* "HTTP/1.x NNN[ reason]" at line[0..len); the status or -EPROTO. */
static int parse_status_line(const char *line, size_t len)
{
	int st;

	if (len < 12 || memcmp(line, "HTTP/1.", 7) || !isdigit((unsigned char)line[7]) ||
	    line[8] != ' ')
		return -EPROTO;
	for (int i = 9; i < 12; i++)
		if (!isdigit((unsigned char)line[i]))
			return -EPROTO;
	if (len > 12 && line[12] != ' ')
		return -EPROTO;
	st = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	return st >= 100 && st <= 599 ? st : -EPROTO;
}

/* One header line at line[0..len): updates *clen (-1 = none yet). */
static int parse_header(const char *line, size_t len, long *clen)
{
	const char *colon = memchr(line, ':', len);
	size_t nlen, i;
	long v = 0;

	if (!colon || colon == line)
		return -EPROTO;
	nlen = (size_t)(colon - line);
	i = nlen + 1;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (nlen == 17 && !strncasecmp(line, "Transfer-Encoding", 17))
		return -ENOTSUP;
	if (nlen != 14 || strncasecmp(line, "Content-Length", 14))
		return 0;
	if (*clen >= 0 || i == len)
		return -EPROTO;	/* repeated or empty */
	for (; i < len && line[i] != ' ' && line[i] != '\t'; i++) {
		if (!isdigit((unsigned char)line[i]))
			return -EPROTO;
		v = v * 10 + (line[i] - '0');
		if (v > UDS_HTTP_BODY_MAX)
			return -E2BIG;
	}
	*clen = v;
	return 0;
}

long uds_http_parse(const char *buf, size_t len, struct uds_http_resp *r)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	const char *p, *eol;
	long clen = -1;
	size_t head;
	int ret;

	if (!end)
		return len >= UDS_HTTP_HEAD_MAX ? -E2BIG : 0;
	head = (size_t)(end - buf) + 4;
	if (head > UDS_HTTP_HEAD_MAX)
		return -E2BIG;
	eol = memmem(buf, head, "\r\n", 2);
	ret = parse_status_line(buf, (size_t)(eol - buf));
	if (ret < 0)
		return ret;
	r->status = ret;
	for (p = eol + 2; p < end + 2; p = eol + 2) {
		eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		ret = parse_header(p, (size_t)(eol - p), &clen);
		if (ret < 0)
			return ret;
	}
	r->body_off = head;
	r->body_len = clen < 0 ? 0 : (size_t)clen;
	if (len < head + r->body_len)
		return 0;
	return (long)(head + r->body_len);
}

void uds_http_fault(const char *body, size_t len, char *out, size_t cap)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "fault_message");
	size_t i;

	if (cap == 0)
		goto out;
	if (cJSON_IsString(m)) {
		snprintf(out, cap, "%s", m->valuestring);
		goto out;
	}
	for (i = 0; i < len && i + 1 < cap; i++)
		out[i] = (unsigned char)body[i] < 0x20 ? ' ' : body[i];
	out[i] = '\0';
	if (i == 0)
		snprintf(out, cap, "(no body)");
out:
	cJSON_Delete(j);
}

int uds_http_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return fd;
	e = errno;
	close(fd);
	return -e;
}
