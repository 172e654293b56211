/* Bounded kernel command-line builder (Linux x86 accepts at most 2048 bytes
 * including the NUL; the bzImage header may say less via cmdline_size). */
#include "vmm/cmdline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cmdline_init(struct cmdline *c, const char *user, size_t cap)
{
	const char *s = user ? user : CMDLINE_DEFAULT;
	size_t n = strlen(s);

	c->buf = NULL;
	c->len = 0;
	c->cap = cap;
	if (cap == 0 || n + 1 > cap)
		return -E2BIG;
	c->buf = malloc(cap);
	if (!c->buf)
		return -ENOMEM;
	memcpy(c->buf, s, n + 1);
	c->len = n;
	return 0;
}

int cmdline_append(struct cmdline *c, const char *param)
{
	size_t n = strlen(param);
	size_t sep = c->len ? 1 : 0;

	if (c->len + sep + n + 1 > c->cap)
		return -E2BIG;
	if (sep)
		c->buf[c->len++] = ' ';
	memcpy(c->buf + c->len, param, n + 1);
	c->len += n;
	return 0;
}

void cmdline_free(struct cmdline *c)
{
	free(c->buf);
	c->buf = NULL;
}
