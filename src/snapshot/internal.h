/* Helpers private to src/snapshot/: error messages into a caller buffer and
 * little-endian encoding through bounded cursors, so no decoder ever reads
 * past its payload (a short read sets a sticky flag instead). */
#ifndef FEMTOVM_SNAPSHOT_INTERNAL_H
#define FEMTOVM_SNAPSHOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* pwrite all of [@p, @p+@len) at @off, retrying short writes and EINTR
 * (state files and memory files). 0 or -errno (-EIO if nothing moves). */
int snap_pwrite_all(int fd, const uint8_t *p, uint64_t len, uint64_t off);

/* snprintf into @err when it is not NULL; returns @ret for tail calls. */
int snap_errf(int ret, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline void snap_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void snap_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void snap_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t snap_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t snap_get64(const uint8_t *p)
{
	return (uint64_t)snap_get32(p) | (uint64_t)snap_get32(p + 4) << 32;
}

/* Encoding cursor over a buffer the caller sized exactly. */
struct snap_out {
	uint8_t *p;
	size_t len, cap;
};

static inline void snap_out16(struct snap_out *o, uint16_t v)
{
	if (o->len + 2 <= o->cap)
		snap_le16(o->p + o->len, v);
	o->len += 2;
}

static inline void snap_out32(struct snap_out *o, uint32_t v)
{
	if (o->len + 4 <= o->cap)
		snap_le32(o->p + o->len, v);
	o->len += 4;
}

static inline void snap_out64(struct snap_out *o, uint64_t v)
{
	if (o->len + 8 <= o->cap)
		snap_le64(o->p + o->len, v);
	o->len += 8;
}

/* Decoding cursor: reads past the end return zeros and set @short_. */
struct snap_in {
	const uint8_t *p;
	size_t left;
	bool short_;
};

static inline bool snap_in_take(struct snap_in *in, void *dst, size_t n)
{
	if (in->short_ || n > in->left) {
		in->short_ = true;
		memset(dst, 0, n);
		return false;
	}
	memcpy(dst, in->p, n);
	in->p += n;
	in->left -= n;
	return true;
}

static inline uint16_t snap_in16(struct snap_in *in)
{
	uint8_t b[2];

	snap_in_take(in, b, 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t snap_in32(struct snap_in *in)
{
	uint8_t b[4];

	snap_in_take(in, b, 4);
	return snap_get32(b);
}

static inline uint64_t snap_in64(struct snap_in *in)
{
	uint8_t b[8];

	snap_in_take(in, b, 8);
	return snap_get64(b);
}

/* The payload had exactly the bytes the decoder took: 0, else -EINVAL with
 * "truncated <what>" or "<n> trailing bytes in <what>". */
int snap_in_done(const struct snap_in *in, const char *what, char *err, size_t errlen);

#endif
