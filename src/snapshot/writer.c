/* State-file writer: sections are appended to a growing buffer behind a
 * header placeholder; finish() fills in the count and length and appends the
 * CRC. Everything the reader would reject is refused here first, so a
 * finished file always reads back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/format.h"
#include "snapshot/internal.h"

#define INITIAL_CAP (64u << 10)

int snap_writer_begin(struct snap_writer *w, uint32_t flags)
{
	memset(w, 0, sizeof(*w));
	if (flags & ~SNAP_F_ALL)
		return w->error = snap_errf(-EINVAL, w->err, sizeof(w->err),
					    "unknown flags 0x%x", flags & ~SNAP_F_ALL);
	w->buf = malloc(INITIAL_CAP);
	if (!w->buf)
		return w->error = -ENOMEM;
	w->cap = INITIAL_CAP;
	w->len = SNAP_HEADER_SIZE;
	w->flags = flags;
	return 0;
}

static int fail(struct snap_writer *w, int ret)
{
	w->error = ret;
	return ret;
}

/* Room for @more bytes plus the CRC that finish() appends. */
static int reserve(struct snap_writer *w, size_t more)
{
	size_t cap = w->cap;
	uint8_t *p;

	if (more > SNAP_MAX_FILE - SNAP_CRC_SIZE - w->len)
		return snap_errf(-E2BIG, w->err, sizeof(w->err),
				 "state file would exceed cap %u", SNAP_MAX_FILE);
	while (cap < w->len + more + SNAP_CRC_SIZE)
		cap *= 2;
	if (cap == w->cap)
		return 0;
	p = realloc(w->buf, cap);
	if (!p)
		return -ENOMEM;
	w->buf = p;
	w->cap = cap;
	return 0;
}

static bool written(const struct snap_writer *w, uint32_t id, uint32_t index)
{
	size_t pos = SNAP_HEADER_SIZE;

	for (uint32_t i = 0; i < w->nsections; i++) {
		const uint8_t *h = w->buf + pos;

		if (snap_get32(h) == id && snap_get32(h + 4) == index)
			return true;
		pos += SNAP_SECTION_HEADER_SIZE + snap_get32(h + 12);
	}
	return false;
}

static int check_section(struct snap_writer *w, uint32_t id, uint32_t index, uint32_t version,
			 size_t len)
{
	const struct snap_section_info *info = snap_section_info(id);
	uint32_t cap = info ? info->cap : SNAP_MAX_OPAQUE;
	char label[48];

	snap_section_label(id, index, label, sizeof(label));
	if (!info && !(id & SNAP_SEC_SKIPPABLE))
		return snap_errf(-EINVAL, w->err, sizeof(w->err), "unknown section id 0x%x", id);
	if (version == 0 || (info && version > info->max_version))
		return snap_errf(-EINVAL, w->err, sizeof(w->err),
				 "section %s version %u unsupported", label, version);
	if (info && index > info->max_index)
		return snap_errf(-EINVAL, w->err, sizeof(w->err),
				 "section %s index exceeds %u", label, info->max_index);
	if (len > cap)
		return snap_errf(-E2BIG, w->err, sizeof(w->err),
				 "section %s length %zu exceeds cap %u", label, len, cap);
	if (w->nsections >= SNAP_MAX_SECTIONS)
		return snap_errf(-E2BIG, w->err, sizeof(w->err),
				 "section count exceeds cap %u", SNAP_MAX_SECTIONS);
	if (written(w, id, index))
		return snap_errf(-EINVAL, w->err, sizeof(w->err), "duplicate section %s", label);
	return 0;
}

int snap_put_sectionv(struct snap_writer *w, uint32_t id, uint32_t index, uint32_t version,
		      const struct iovec *iov, unsigned n)
{
	size_t len = 0;
	uint8_t *h;
	int ret;

	if (w->error)
		return w->error;
	if (!w->buf)
		return fail(w, -EINVAL);
	for (unsigned i = 0; i < n; i++) {
		/* Saturate: SNAP_MAX_FILE is above every section cap. */
		if (iov[i].iov_len > SNAP_MAX_FILE - len) {
			len = SNAP_MAX_FILE;
			break;
		}
		len += iov[i].iov_len;
	}
	ret = check_section(w, id, index, version, len);
	if (!ret)
		ret = reserve(w, SNAP_SECTION_HEADER_SIZE + len);
	if (ret)
		return fail(w, ret);
	h = w->buf + w->len;
	snap_le32(h, id);
	snap_le32(h + 4, index);
	snap_le32(h + 8, version);
	snap_le32(h + 12, (uint32_t)len);
	w->len += SNAP_SECTION_HEADER_SIZE;
	for (unsigned i = 0; i < n; i++) {
		if (iov[i].iov_len)
			memcpy(w->buf + w->len, iov[i].iov_base, iov[i].iov_len);
		w->len += iov[i].iov_len;
	}
	w->nsections++;
	return 0;
}

int snap_put_section(struct snap_writer *w, uint32_t id, uint32_t index, uint32_t version,
		     const void *payload, uint32_t len)
{
	struct iovec iov = { (void *)payload, len };

	return snap_put_sectionv(w, id, index, version, &iov, 1);
}

int snap_writer_finish(struct snap_writer *w, uint8_t **buf, size_t *len)
{
	int ret = w->error;

	if (!ret && !w->buf)
		ret = -EINVAL;
	if (ret) {
		snap_writer_abort(w);
		w->error = ret;
		return ret;
	}
	memcpy(w->buf, SNAP_MAGIC, 8);
	snap_le32(w->buf + 8, SNAP_FORMAT_VERSION);
	snap_le32(w->buf + 12, SNAP_ARCH);
	snap_le32(w->buf + 16, w->flags);
	snap_le32(w->buf + 20, w->nsections);
	snap_le64(w->buf + 24, w->len + SNAP_CRC_SIZE);
	snap_le32(w->buf + w->len, snap_crc32(0, w->buf, w->len));
	*buf = w->buf;
	*len = w->len + SNAP_CRC_SIZE;
	w->buf = NULL;
	w->len = w->cap = 0;
	return 0;
}

void snap_writer_abort(struct snap_writer *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
	w->nsections = 0;
}
