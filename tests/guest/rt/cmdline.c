/* Kernel command-line lookup over the runtime's copy of the command line:
 * words separated by spaces, each "key=value" or a bare flag "key". */
#include "rt.h"

extern const char *rt_cmdline;

/* Finds the word whose key is `key`; returns its value start (after '=',
 * or the word end for a flag) and sets *vlen, or returns NULL. */
static const char *find(const char *key, size_t *vlen)
{
	size_t klen = strlen(key);
	const char *p = rt_cmdline;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		size_t wlen = (size_t)(p - w);
		if (wlen >= klen && strncmp(w, key, klen) == 0 &&
		    (wlen == klen || w[klen] == '=')) {
			const char *v = w + klen + (wlen > klen);
			*vlen = (size_t)(p - v);
			return v;
		}
	}
	return NULL;
}

int rt_cmdline_get(const char *key, char *buf, size_t len)
{
	size_t vlen;
	const char *v = find(key, &vlen);
	if (!v)
		return -1;
	if (len) {
		if (vlen >= len)
			vlen = len - 1;
		memcpy(buf, v, vlen);
		buf[vlen] = 0;
	}
	return 0;
}

bool rt_cmdline_has(const char *key)
{
	size_t vlen;
	return find(key, &vlen) != NULL;
}

const char *rt_parse_num(const char *s, uint64_t *v)
{
	unsigned base = 10;
	uint64_t x = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (;; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && (*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			d = (unsigned)((*s | 0x20) - 'a' + 10);
		else
			break;
		x = x * base + d;
	}
	*v = x;
	return s;
}

/* Decimal or 0x-prefixed hex; dflt when absent or empty. */
uint64_t rt_cmdline_u64(const char *key, uint64_t dflt)
{
	char buf[24];
	uint64_t v;

	if (rt_cmdline_get(key, buf, sizeof(buf)) || !buf[0])
		return dflt;
	rt_parse_num(buf, &v);
	return v;
}
