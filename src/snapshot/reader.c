/* State-file reader: one validation pass over untrusted bytes (header, CRC,
 * then each section bounds-checked in order), after which lookups walk the
 * already-checked section list. No allocation; the caller owns the buffer. */
#include <errno.h>
#include <string.h>

#include "snapshot/format.h"
#include "snapshot/internal.h"

static int check_header(const uint8_t *b, size_t len, struct snap_reader *r, char *err,
			size_t errlen)
{
	uint32_t arch = snap_get32(b + 12);
	uint64_t total = snap_get64(b + 24);

	if (memcmp(b, SNAP_MAGIC, 8))
		return snap_errf(-EINVAL, err, errlen, "bad magic (not a femtovm snapshot)");
	r->version = snap_get32(b + 8);
	if (r->version != SNAP_FORMAT_VERSION)
		return snap_errf(-EINVAL, err, errlen, "unsupported format version %u",
				 r->version);
	if (arch != SNAP_ARCH)
		return snap_errf(-EINVAL, err, errlen, "wrong arch %u (expected x86_64, %u)",
				 arch, SNAP_ARCH);
	r->flags = snap_get32(b + 16);
	if (r->flags & ~SNAP_F_ALL)
		return snap_errf(-EINVAL, err, errlen, "unknown flags 0x%x",
				 r->flags & ~SNAP_F_ALL);
	if (total != len)
		return snap_errf(-EINVAL, err, errlen,
				 "length mismatch: header says %llu bytes, file has %zu",
				 (unsigned long long)total, len);
	if (len < SNAP_HEADER_SIZE + SNAP_CRC_SIZE)
		return snap_errf(-EINVAL, err, errlen, "truncated file (%zu bytes, no CRC)", len);
	r->nsections = snap_get32(b + 20);
	if (r->nsections > SNAP_MAX_SECTIONS)
		return snap_errf(-EINVAL, err, errlen, "section count %u exceeds cap %u",
				 r->nsections, SNAP_MAX_SECTIONS);
	return 0;
}

/* Whether (id, index) occurs among the sections before offset @end. */
static bool seen_before(const uint8_t *b, size_t end, uint32_t id, uint32_t index)
{
	for (size_t pos = SNAP_HEADER_SIZE; pos < end;
	     pos += SNAP_SECTION_HEADER_SIZE + snap_get32(b + pos + 12))
		if (snap_get32(b + pos) == id && snap_get32(b + pos + 4) == index)
			return true;
	return false;
}

static int check_section(const uint8_t *b, size_t pos, size_t end, uint32_t i, char *err,
			 size_t errlen)
{
	uint32_t id = snap_get32(b + pos), index = snap_get32(b + pos + 4);
	uint32_t version = snap_get32(b + pos + 8), len = snap_get32(b + pos + 12);
	const struct snap_section_info *info = snap_section_info(id);
	uint32_t cap = info ? info->cap : SNAP_MAX_OPAQUE;
	char label[48];

	snap_section_label(id, index, label, sizeof(label));
	if (!info && !(id & SNAP_SEC_SKIPPABLE))
		return snap_errf(-EINVAL, err, errlen, "section %u: unknown id 0x%x", i, id);
	if (version == 0 || (info && version > info->max_version))
		return snap_errf(-EINVAL, err, errlen, "section %s version %u unsupported", label,
				 version);
	if (info && index > info->max_index)
		return snap_errf(-EINVAL, err, errlen, "section %s index exceeds %u", label,
				 info->max_index);
	if (len > cap)
		return snap_errf(-EINVAL, err, errlen, "section %s length %u exceeds cap %u",
				 label, len, cap);
	if (len > end - pos - SNAP_SECTION_HEADER_SIZE)
		return snap_errf(-EINVAL, err, errlen,
				 "section %u (%s) length %u runs past the end of the file", i,
				 label, len);
	if (seen_before(b, pos, id, index))
		return snap_errf(-EINVAL, err, errlen, "duplicate section %s", label);
	return 0;
}

int snap_reader_open(const void *buf, size_t len, struct snap_reader *r, char *err,
		     size_t errlen)
{
	const uint8_t *b = buf;
	size_t pos = SNAP_HEADER_SIZE, end;
	uint32_t crc;
	int ret;

	memset(r, 0, sizeof(*r));
	if (len > SNAP_MAX_FILE)
		return snap_errf(-E2BIG, err, errlen, "file size %zu exceeds cap %u", len,
				 SNAP_MAX_FILE);
	if (len < SNAP_HEADER_SIZE)
		return snap_errf(-EINVAL, err, errlen, "truncated header (%zu of %u bytes)", len,
				 SNAP_HEADER_SIZE);
	ret = check_header(b, len, r, err, errlen);
	if (ret)
		return ret;
	end = len - SNAP_CRC_SIZE;
	crc = snap_crc32(0, b, end);
	if (crc != snap_get32(b + end))
		return snap_errf(-EINVAL, err, errlen, "bad CRC (stored 0x%08x, computed 0x%08x)",
				 snap_get32(b + end), crc);
	for (uint32_t i = 0; i < r->nsections; i++) {
		if (end - pos < SNAP_SECTION_HEADER_SIZE)
			return snap_errf(-EINVAL, err, errlen, "truncated section %u header", i);
		ret = check_section(b, pos, end, i, err, errlen);
		if (ret)
			return ret;
		pos += SNAP_SECTION_HEADER_SIZE + snap_get32(b + pos + 12);
	}
	if (pos != end)
		return snap_errf(-EINVAL, err, errlen, "%zu bytes after the last section",
				 end - pos);
	r->buf = b;
	r->len = len;
	return 0;
}

int snap_next_section(const struct snap_reader *r, size_t *pos, struct snap_section *s)
{
	const uint8_t *h;

	if (!r->buf)
		return 0;
	if (*pos < SNAP_HEADER_SIZE)
		*pos = SNAP_HEADER_SIZE;
	if (*pos >= r->len - SNAP_CRC_SIZE)
		return 0;
	h = r->buf + *pos;
	s->id = snap_get32(h);
	s->index = snap_get32(h + 4);
	s->version = snap_get32(h + 8);
	s->len = snap_get32(h + 12);
	s->payload = h + SNAP_SECTION_HEADER_SIZE;
	*pos += SNAP_SECTION_HEADER_SIZE + s->len;
	return 1;
}

int snap_find_section(const struct snap_reader *r, uint32_t id, uint32_t index,
		      const void **payload, uint32_t *len)
{
	struct snap_section s;
	size_t pos = 0;

	while (snap_next_section(r, &pos, &s))
		if (s.id == id && s.index == index) {
			*payload = s.payload;
			*len = s.len;
			return 0;
		}
	return -ENOENT;
}

int snap_require_section(const struct snap_reader *r, uint32_t id, uint32_t index,
			 const void **payload, uint32_t *len, char *err, size_t errlen)
{
	char label[48];

	if (!snap_find_section(r, id, index, payload, len))
		return 0;
	snap_section_label(id, index, label, sizeof(label));
	return snap_errf(-ENOENT, err, errlen, "missing section %s", label);
}
