/* Shared helpers for the unit tests: a recording bus device and small
 * guest-memory fixtures. Header-only so each test file stays standalone. */
#ifndef FEMTOVM_UNIT_UTIL_H
#define FEMTOVM_UNIT_UTIL_H

#include <stdint.h>
#include <string.h>

#include "vmm/bus.h"

/* A bus device that records its last access and answers reads with
 * (fill + offset + i) in byte i. */
struct rec_dev {
	unsigned reads, writes;
	uint64_t last_off;
	uint32_t last_len;
	uint8_t last_data[8];
	uint8_t fill;
	uint8_t all_data[256]; /* every written byte, in order (first 256) */
	unsigned nall;
};

static inline void rec_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct rec_dev *d = opaque;

	d->reads++;
	d->last_off = off;
	d->last_len = len;
	for (uint32_t i = 0; i < len; i++)
		data[i] = (uint8_t)(d->fill + off + i);
}

static inline void rec_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct rec_dev *d = opaque;

	d->writes++;
	d->last_off = off;
	d->last_len = len;
	memcpy(d->last_data, data, len < 8 ? len : 8);
	for (uint32_t i = 0; i < len && d->nall < sizeof(d->all_data); i++)
		d->all_data[d->nall++] = data[i];
}

static const struct bus_ops rec_ops = { .read = rec_read, .write = rec_write };

#endif
