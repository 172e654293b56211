/* virtio-mmio device discovery from the kernel command line, the way
 * Linux's CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES reads it:
 * virtio_mmio.device=<size>@<base>:<irq>[:<id>] (virtio 1.2 §4.2.1 leaves
 * discovery to the platform). Numbers as in memparse/kstrtoul: 0x prefix for
 * hex, size suffix K/M/G. */
#include "rt.h"

extern const char *rt_cmdline;

/* Parses one value; false if it is malformed. */
static bool parse_dev(const char *s, struct rt_vmmio *d)
{
	uint64_t v;

	s = rt_parse_num(s, &d->size);
	switch (*s | 0x20) {
	case 'k': d->size <<= 10; s++; break;
	case 'm': d->size <<= 20; s++; break;
	case 'g': d->size <<= 30; s++; break;
	}
	if (*s++ != '@')
		return false;
	s = rt_parse_num(s, &d->base);
	if (*s++ != ':')
		return false;
	s = rt_parse_num(s, &v);
	d->gsi = (unsigned)v;
	return *s == 0 || *s == ' ' || *s == ':';
}

int rt_virtio_mmio_devices(struct rt_vmmio *devs, int max)
{
	static const char key[] = "virtio_mmio.device=";
	const size_t klen = sizeof(key) - 1;
	const char *p = rt_cmdline;
	int n = 0;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, klen)) {
			struct rt_vmmio d;

			if (parse_dev(p + klen, &d)) {
				if (n < max)
					devs[n] = d;
				n++;
			}
		}
		while (*p && *p != ' ')
			p++;
	}
	return n;
}
