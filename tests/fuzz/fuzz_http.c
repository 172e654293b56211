/* libFuzzer harness for http_parse(): a byte stream of pipelined requests is
 * parsed once whole and once fed in random splits (each parse on an
 * exact-size heap copy so ASan sees over-reads); both must yield the same
 * requests and the same final status, and every request must satisfy the
 * documented limits. Input: [max_body selector][split seed][stream...]. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	uint64_t hash;      /* FNV-1a over every parsed request */
	unsigned count;
	int status;         /* final: HTTP_NEED_MORE or a negative status */
	size_t left;        /* unparsed bytes at the end */
};

static void mix(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		*h = (*h ^ b[i]) * 0x100000001b3ULL;
}

static void check_done(const struct http_request *req, size_t used, size_t len, size_t max_body)
{
	if (used == 0 || used > len || req->body_len > max_body || req->error)
		__builtin_trap();
	if (strcmp(req->method, "GET") && strcmp(req->method, "PUT") &&
	    strcmp(req->method, "PATCH"))
		__builtin_trap();
	if (req->path[0] != '/' || !memchr(req->path, 0, sizeof(req->path)) ||
	    strpbrk(req->path, "?# \r\n"))
		__builtin_trap();
	if ((req->body_len == 0) != (req->body == NULL))
		__builtin_trap();
	if (req->body && req->body[req->body_len] != 0)
		__builtin_trap();
}

static void check_status(int r, const struct http_request *req, size_t len, size_t max_body)
{
	if (r == HTTP_NEED_MORE && len > HTTP_MAX_HEADER + max_body)
		__builtin_trap(); /* the parser must decide within the bounds */
	if (r < 0 && (!req->error || !req->error[0]))
		__builtin_trap();
	if (r < 0 && r != -400 && r != -405 && r != -413 && r != -414 && r != -431 &&
	    r != -501 && r != -505)
		__builtin_trap();
}

/* One parse on an exact-size copy; records a finished request. */
static int step(const uint8_t *buf, size_t len, size_t max_body, struct run *run,
		size_t *used)
{
	struct http_request req;
	uint8_t *copy = malloc(len ? len : 1);
	bool hd;
	int r;

	memcpy(copy, buf, len);
	r = http_parse((const char *)copy, len, max_body, &req, used, &hd);
	free(copy);
	check_status(r, &req, len, max_body);
	if (r == HTTP_DONE) {
		check_done(&req, *used, len, max_body);
		mix(&run->hash, req.method, strlen(req.method));
		mix(&run->hash, req.path, strlen(req.path));
		mix(&run->hash, &req.body_len, sizeof(req.body_len));
		if (req.body)
			mix(&run->hash, req.body, req.body_len);
		mix(&run->hash, &req.keep_alive, 1);
		mix(&run->hash, &req.expect_continue, 1);
		run->count++;
		http_request_free(&req);
	}
	return r;
}

static void run_whole(const uint8_t *s, size_t len, size_t max_body, struct run *run)
{
	size_t off = 0, used;
	int r;

	while ((r = step(s + off, len - off, max_body, run, &used)) == HTTP_DONE)
		off += used;
	run->status = r;
	run->left = len - off;
}

/* Feed random-sized chunks into a connection-like buffer. */
static void run_split(const uint8_t *s, size_t len, size_t max_body, uint32_t seed,
		      struct run *run)
{
	uint8_t *buf = malloc(len ? len : 1);
	size_t have = 0, fed = 0, used;
	int r = HTTP_NEED_MORE;

	while (fed < len || r == HTTP_DONE) {
		if (r != HTTP_DONE) {
			size_t n;

			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % ((seed & 1) ? 8 : 300);
			if (n > len - fed)
				n = len - fed;
			memcpy(buf + have, s + fed, n);
			have += n;
			fed += n;
		}
		r = step(buf, have, max_body, run, &used);
		if (r < 0)
			break;
		if (r == HTTP_DONE) {
			memmove(buf, buf + used, have - used);
			have -= used;
		}
	}
	run->status = r;
	run->left = have + (len - fed);
	free(buf);
}

static void fuzz_format(const uint8_t *data, size_t size)
{
	char body[64];
	size_t n = size < sizeof(body) - 1 ? size : sizeof(body) - 1, len;
	int status = 100 + (size ? data[0] : 0) * 2;
	char *out;

	for (size_t i = 0; i < n; i++)
		body[i] = (char)(0x20 + data[i] % 0x5f);
	body[n] = 0;
	out = http_format_response(status, n & 1 ? body : NULL, size & 2, &len);
	if (!out || len < 17 || memcmp(out, "HTTP/1.1 ", 9) || strlen(out) != len)
		__builtin_trap();
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole = { .hash = 0xcbf29ce484222325ULL };
	struct run split = { .hash = 0xcbf29ce484222325ULL };
	size_t max_body;

	if (size < 2)
		return 0;
	max_body = data[0] == 0xff ? HTTP_DEFAULT_MAX_BODY : (size_t)data[0] * 3;
	run_whole(data + 2, size - 2, max_body, &whole);
	run_split(data + 2, size - 2, max_body, data[1] * 2654435761u, &split);
	if (whole.hash != split.hash || whole.count != split.count ||
	    whole.status != split.status || whole.left != split.left)
		__builtin_trap(); /* result depends on how the bytes were split */
	fuzz_format(data + 2, size - 2);
	return 0;
}
