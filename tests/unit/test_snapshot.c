/* Unit tests for the snapshot state-file container (src/snapshot/format.h):
 * CRC, writer/reader round trips, and the reader against hostile files —
 * every truncation, every byte flipped, wrong magic/version/arch/flags,
 * lengths past the end, overlapping and duplicate sections, count and size
 * caps — each rejected with -EINVAL (-E2BIG for the file cap) and a message. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot/format.h"

static char err[SNAP_ERR_LEN];

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Re-seal a hand-edited file: total length = @len, CRC recomputed. */
static void reseal(uint8_t *b, size_t len)
{
	for (int i = 0; i < 8; i++)
		b[24 + i] = (uint8_t)((uint64_t)len >> (8 * i));
	le32(b + len - 4, snap_crc32(0, b, len - 4));
}

struct raw_sec {
	uint32_t id, index, version, len; /* len as written in the header */
	uint32_t body;                    /* payload bytes actually emitted */
};

/* Emit a file with no validation at all: header, sections, CRC. */
static size_t raw_file(uint8_t *b, uint32_t count, const struct raw_sec *s, unsigned n)
{
	size_t pos = SNAP_HEADER_SIZE;

	memcpy(b, SNAP_MAGIC, 8);
	le32(b + 8, SNAP_FORMAT_VERSION);
	le32(b + 12, SNAP_ARCH);
	le32(b + 16, 0);
	le32(b + 20, count);
	for (unsigned i = 0; i < n; i++) {
		le32(b + pos, s[i].id);
		le32(b + pos + 4, s[i].index);
		le32(b + pos + 8, s[i].version);
		le32(b + pos + 12, s[i].len);
		memset(b + pos + 16, 0xa0 + i, s[i].body);
		pos += 16 + s[i].body;
	}
	reseal(b, pos + 4);
	return pos + 4;
}

static int open_raw(const uint8_t *b, size_t len)
{
	struct snap_reader r;

	memset(err, 0, sizeof(err));
	return snap_reader_open(b, len, &r, err, sizeof(err));
}

#define REJECT(b, len, what)                                                           \
	do {                                                                           \
		int ret_ = open_raw(b, len);                                           \
		cr_assert_eq(ret_, -EINVAL, "ret %d (%s)", ret_, err);                 \
		cr_assert(strstr(err, what), "message \"%s\" lacks \"%s\"", err, what); \
	} while (0)

/* A small valid file: config, serial, and two opaque sections. */
static uint8_t *small_file(size_t *len)
{
	struct snap_writer w;
	uint8_t *b;

	cr_assert_eq(snap_writer_begin(&w, SNAP_F_DIRTY_TRACKING), 0);
	cr_assert_eq(snap_put_section(&w, SNAP_SEC_CONFIG, 0, 1, "{\"a\":1}", 7), 0);
	cr_assert_eq(snap_put_section(&w, SNAP_SEC_SERIAL, 0, 1, "\x01\x02\x03", 3), 0);
	cr_assert_eq(snap_put_section(&w, SNAP_SEC_BLK, 2, 1, "", 0), 0);
	cr_assert_eq(snap_put_section(&w, SNAP_SEC_SKIPPABLE | 77, 5, 3, "xyz", 3), 0);
	cr_assert_eq(snap_writer_finish(&w, &b, len), 0);
	return b;
}

Test(snap_format, crc32_matches_zlib)
{
	cr_assert_eq(snap_crc32(0, "123456789", 9), 0xcbf43926u);
	cr_assert_eq(snap_crc32(snap_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
	cr_assert_eq(snap_crc32(0, "", 0), 0);
}

Test(snap_format, round_trip)
{
	struct snap_reader r;
	struct snap_section s;
	const void *p;
	uint32_t plen;
	size_t len, pos = 0;
	uint8_t *b = small_file(&len);
	uint32_t ids[4] = { SNAP_SEC_CONFIG, SNAP_SEC_SERIAL, SNAP_SEC_BLK, SNAP_SEC_SKIPPABLE | 77 };

	cr_assert_eq(len, 32 + 4 * 16 + 7 + 3 + 0 + 3 + 4);
	cr_assert_eq(snap_reader_open(b, len, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.nsections, 4);
	cr_assert_eq(r.flags, SNAP_F_DIRTY_TRACKING);
	cr_assert_eq(snap_find_section(&r, SNAP_SEC_CONFIG, 0, &p, &plen), 0);
	cr_assert_eq(plen, 7);
	cr_assert_eq(memcmp(p, "{\"a\":1}", 7), 0);
	cr_assert_eq(snap_find_section(&r, SNAP_SEC_BLK, 2, &p, &plen), 0);
	cr_assert_eq(plen, 0);
	cr_assert_eq(snap_find_section(&r, SNAP_SEC_SKIPPABLE | 77, 5, &p, &plen), 0);
	cr_assert_eq(memcmp(p, "xyz", 3), 0);
	cr_assert_eq(snap_find_section(&r, SNAP_SEC_BLK, 1, &p, &plen), -ENOENT);
	cr_assert_eq(snap_require_section(&r, SNAP_SEC_VCPU, 1, &p, &plen, err, sizeof(err)),
		     -ENOENT);
	cr_assert_str_eq(err, "missing section VCPU/1");
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(snap_next_section(&r, &pos, &s), 1);
		cr_assert_eq(s.id, ids[i]);
	}
	cr_assert_eq(s.version, 3);
	cr_assert_eq(snap_next_section(&r, &pos, &s), 0);
	free(b);
}

Test(snap_format, empty_file_is_valid)
{
	struct snap_writer w;
	struct snap_reader r;
	uint8_t *b;
	size_t len;

	cr_assert_eq(snap_writer_begin(&w, 0), 0);
	cr_assert_eq(snap_writer_finish(&w, &b, &len), 0);
	cr_assert_eq(len, SNAP_HEADER_SIZE + SNAP_CRC_SIZE);
	cr_assert_eq(snap_reader_open(b, len, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.nsections, 0);
	free(b);
}

Test(snap_format, every_truncation_rejected)
{
	size_t len;
	uint8_t *b = small_file(&len);

	for (size_t n = 0; n < len; n++) {
		uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan catches overreads */

		memcpy(copy, b, n);
		memset(err, 0, sizeof(err));
		cr_assert_eq(open_raw(copy, n), -EINVAL, "prefix %zu accepted", n);
		cr_assert(err[0], "prefix %zu: no message", n);
		if (n < SNAP_HEADER_SIZE)
			cr_assert(strstr(err, "truncated header"), "%s", err);
		free(copy);
	}
	free(b);
}

/* Truncations re-sealed (length and CRC fixed up) reach the section walk. */
Test(snap_format, resealed_truncation_rejected)
{
	size_t len;
	uint8_t *b = small_file(&len);

	for (size_t n = SNAP_HEADER_SIZE + 4; n < len; n++) {
		uint8_t *copy = malloc(n);

		memcpy(copy, b, n - 4);
		reseal(copy, n);
		memset(err, 0, sizeof(err));
		cr_assert_eq(open_raw(copy, n), -EINVAL, "resealed prefix %zu accepted", n);
		cr_assert(strstr(err, "truncated section") || strstr(err, "past the end"),
			  "prefix %zu: %s", n, err);
		free(copy);
	}
	free(b);
}

Test(snap_format, every_byte_flip_rejected)
{
	size_t len;
	uint8_t *b = small_file(&len);

	for (size_t i = 0; i < len; i++) {
		b[i] ^= 0x40;
		memset(err, 0, sizeof(err));
		cr_assert_eq(open_raw(b, len), -EINVAL, "flip at %zu accepted", i);
		cr_assert(err[0]);
		b[i] ^= 0x40;
	}
	b[40] ^= 1; /* inside the first payload: only the CRC can tell */
	REJECT(b, len, "bad CRC");
	free(b);
}

Test(snap_format, header_fields)
{
	size_t len;
	uint8_t *b = small_file(&len);

	b[0] = 'X';
	REJECT(b, len, "bad magic");
	b[0] = 'F';
	le32(b + 8, 7);
	REJECT(b, len, "unsupported format version 7");
	le32(b + 8, SNAP_FORMAT_VERSION);
	le32(b + 12, 3); /* EM_386 */
	REJECT(b, len, "wrong arch 3");
	le32(b + 12, SNAP_ARCH);
	le32(b + 16, 0x100);
	REJECT(b, len, "unknown flags 0x100");
	le32(b + 16, SNAP_F_DIFF_MEM);
	reseal(b, len);
	cr_assert_eq(open_raw(b, len), 0, "%s", err);
	b[24] ^= 1;
	REJECT(b, len, "length mismatch");
	free(b);
}

Test(snap_format, section_length_past_end)
{
	uint8_t b[256];
	struct raw_sec s[] = { { SNAP_SEC_SERIAL, 0, 1, 9, 8 } };
	size_t len = raw_file(b, 1, s, 1);

	REJECT(b, len, "section 0 (SERIAL/0) length 9 runs past the end");
	s[0].len = 0xffffffffu; /* also far over the cap */
	len = raw_file(b, 1, s, 1);
	REJECT(b, len, "SERIAL/0 length 4294967295 exceeds cap");
}

/* A section whose length swallows the next one's header leaves the count
 * unmet; one that ends short leaves bytes over. */
Test(snap_format, overlapping_sections)
{
	uint8_t b[256];
	struct raw_sec s[] = { { SNAP_SEC_SERIAL, 0, 1, 8 + 16 + 8, 8 },
			       { SNAP_SEC_I8042, 0, 1, 8, 8 } };
	size_t len = raw_file(b, 2, s, 2);

	REJECT(b, len, "truncated section 1 header");
	s[0].len = 4;
	len = raw_file(b, 2, s, 2);
	/* Section 1's header is then read from inside section 0's payload. */
	cr_assert_eq(open_raw(b, len), -EINVAL, "%s", err);
	s[0].len = 8;
	len = raw_file(b, 1, s, 2);
	REJECT(b, len, "24 bytes after the last section");
}

Test(snap_format, duplicate_section)
{
	uint8_t b[256];
	struct raw_sec s[] = { { SNAP_SEC_VCPU, 1, 1, 0, 0 }, { SNAP_SEC_VCPU, 2, 1, 0, 0 },
			       { SNAP_SEC_VCPU, 1, 1, 0, 0 } };
	size_t len = raw_file(b, 3, s, 3);
	struct snap_writer w;

	REJECT(b, len, "duplicate section VCPU/1");
	cr_assert_eq(snap_writer_begin(&w, 0), 0);
	cr_assert_eq(snap_put_section(&w, SNAP_SEC_NET, 1, 1, "a", 1), 0);
	cr_assert_eq(snap_put_section(&w, SNAP_SEC_NET, 1, 1, "b", 1), -EINVAL);
	cr_assert_str_eq(w.err, "duplicate section NET/1");
	snap_writer_abort(&w);
}

Test(snap_format, ids_versions_indexes)
{
	uint8_t b[256];
	struct raw_sec s[] = { { 999, 0, 1, 0, 0 } };
	size_t len = raw_file(b, 1, s, 1);

	REJECT(b, len, "section 0: unknown id 0x3e7");
	s[0] = (struct raw_sec){ SNAP_SEC_SKIPPABLE | 999, 0, 9, 2, 2 };
	len = raw_file(b, 1, s, 1);
	cr_assert_eq(open_raw(b, len), 0, "%s", err);
	s[0] = (struct raw_sec){ SNAP_SEC_PIT, 0, 2, 0, 0 };
	len = raw_file(b, 1, s, 1);
	REJECT(b, len, "section PIT/0 version 2 unsupported");
	s[0].version = 0;
	len = raw_file(b, 1, s, 1);
	REJECT(b, len, "section PIT/0 version 0 unsupported");
	s[0] = (struct raw_sec){ SNAP_SEC_PIT, 1, 1, 0, 0 };
	len = raw_file(b, 1, s, 1);
	REJECT(b, len, "section PIT/1 index exceeds 0");
	s[0] = (struct raw_sec){ SNAP_SEC_VCPU, 255, 1, 0, 0 };
	len = raw_file(b, 1, s, 1);
	REJECT(b, len, "section VCPU/255 index exceeds 254");
	s[0] = (struct raw_sec){ SNAP_SEC_VIRTQUEUE, 18 * 8, 1, 0, 0 };
	len = raw_file(b, 1, s, 1);
	REJECT(b, len, "VIRTQUEUE/144 index exceeds 143");
}

Test(snap_format, section_caps)
{
	uint8_t b[256];
	const struct snap_section_info *vcpu = snap_section_info(SNAP_SEC_VCPU);
	struct raw_sec s[] = { { SNAP_SEC_VCPU, 1, 1, 0, 0 } };
	size_t len;
	char want[80];

	s[0].len = vcpu->cap + 1;
	len = raw_file(b, 1, s, 1);
	snprintf(want, sizeof(want), "section VCPU/1 length %u exceeds cap %u", vcpu->cap + 1,
		 vcpu->cap);
	REJECT(b, len, want);
	s[0] = (struct raw_sec){ SNAP_SEC_SKIPPABLE | 5, 0, 1, SNAP_MAX_OPAQUE + 1, 0 };
	len = raw_file(b, 1, s, 1);
	REJECT(b, len, "exceeds cap 1048576");
	len = raw_file(b, SNAP_MAX_SECTIONS + 1, NULL, 0);
	REJECT(b, len, "section count 4097 exceeds cap 4096");
	len = raw_file(b, 0xffffffffu, NULL, 0);
	REJECT(b, len, "section count 4294967295 exceeds cap");
	len = raw_file(b, 1, NULL, 0);
	REJECT(b, len, "truncated section 0 header");
}

Test(snap_format, file_cap)
{
	size_t big = SNAP_MAX_FILE + 1;
	uint8_t *b = calloc(1, big);
	struct snap_reader r;

	cr_assert_eq(snap_reader_open(b, big, &r, err, sizeof(err)), -E2BIG);
	cr_assert(strstr(err, "exceeds cap 16777216"), "%s", err);
	free(b);
}

Test(snap_format, writer_caps_and_sticky_errors)
{
	struct snap_writer w;
	uint8_t *chunk = calloc(1, SNAP_MAX_OPAQUE + 1), *b;
	size_t len;
	int ret = 0;

	cr_assert_eq(snap_writer_begin(&w, 0x80), -EINVAL);
	snap_writer_abort(&w);
	cr_assert_eq(snap_writer_begin(&w, 0), 0);
	cr_assert_eq(snap_put_section(&w, SNAP_SEC_SERIAL, 0, 1, chunk, 4097), -E2BIG);
	cr_assert_str_eq(w.err, "section SERIAL/0 length 4097 exceeds cap 4096");
	cr_assert_eq(snap_put_section(&w, SNAP_SEC_I8042, 0, 1, "", 0), -E2BIG); /* sticks */
	cr_assert_eq(snap_writer_finish(&w, &b, &len), -E2BIG);
	cr_assert_null(w.buf);

	cr_assert_eq(snap_writer_begin(&w, 0), 0);
	cr_assert_eq(snap_put_section(&w, 12345, 0, 1, "", 0), -EINVAL);
	cr_assert_str_eq(w.err, "unknown section id 0x3039");
	snap_writer_abort(&w);

	/* 16 sections of 1 MiB cannot fit under the 16 MiB file cap. */
	cr_assert_eq(snap_writer_begin(&w, 0), 0);
	for (uint32_t i = 0; i < 16 && !ret; i++)
		ret = snap_put_section(&w, SNAP_SEC_SKIPPABLE | 1, i, 1, chunk, SNAP_MAX_OPAQUE);
	cr_assert_eq(ret, -E2BIG);
	cr_assert(strstr(w.err, "would exceed cap"), "%s", w.err);
	snap_writer_abort(&w);
	free(chunk);
}

Test(snap_format, writer_iov_and_big_file)
{
	struct snap_writer w;
	struct snap_reader r;
	uint8_t *chunk = malloc(SNAP_MAX_OPAQUE), *b;
	const void *p;
	uint32_t plen;
	size_t len;
	struct iovec iov[3] = { { "ab", 2 }, { NULL, 0 }, { "cde", 3 } };

	memset(chunk, 0x5a, SNAP_MAX_OPAQUE);
	cr_assert_eq(snap_writer_begin(&w, 0), 0);
	cr_assert_eq(snap_put_sectionv(&w, SNAP_SEC_NET, 3, 1, iov, 3), 0);
	for (uint32_t i = 0; i < 15; i++) /* 15 MiB: grows the buffer many times */
		cr_assert_eq(snap_put_section(&w, SNAP_SEC_SKIPPABLE | 1, i, 1, chunk,
					      SNAP_MAX_OPAQUE), 0);
	cr_assert_eq(snap_writer_finish(&w, &b, &len), 0);
	cr_assert_eq(snap_reader_open(b, len, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(snap_find_section(&r, SNAP_SEC_NET, 3, &p, &plen), 0);
	cr_assert_eq(plen, 5);
	cr_assert_eq(memcmp(p, "abcde", 5), 0);
	cr_assert_eq(snap_find_section(&r, SNAP_SEC_SKIPPABLE | 1, 14, &p, &plen), 0);
	cr_assert_eq(memcmp(p, chunk, SNAP_MAX_OPAQUE), 0);
	free(b);
	free(chunk);
}

Test(snap_format, files)
{
	char path[] = "/tmp/femtovm-test-snap-XXXXXX";
	int fd = mkstemp(path);
	size_t len, len2;
	uint8_t *b = small_file(&len), *b2;

	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(snap_write_file(path, b, len), 0);
	cr_assert_eq(snap_read_file(path, &b2, &len2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(len2, len);
	cr_assert_eq(memcmp(b, b2, len), 0);
	free(b2);
	cr_assert_eq(truncate(path, SNAP_MAX_FILE + 1ULL), 0);
	cr_assert_eq(snap_read_file(path, &b2, &len2, err, sizeof(err)), -E2BIG);
	cr_assert(strstr(err, "exceeds cap"), "%s", err);
	unlink(path);
	cr_assert_eq(snap_read_file(path, &b2, &len2, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "cannot open"), "%s", err);
	cr_assert_eq(snap_read_file("/tmp", &b2, &len2, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "not a regular file"), "%s", err);
	free(b);
}

Test(snap_format, file_exactly_at_cap)
{
	struct snap_writer w;
	struct snap_reader r;
	uint8_t *chunk = calloc(1, SNAP_MAX_OPAQUE), *b;
	uint32_t last = SNAP_MAX_OPAQUE - (SNAP_HEADER_SIZE + SNAP_CRC_SIZE + 16 * 16);
	size_t len;

	cr_assert_eq(snap_writer_begin(&w, 0), 0);
	for (uint32_t i = 0; i < 15; i++)
		cr_assert_eq(snap_put_section(&w, SNAP_SEC_SKIPPABLE | 1, i, 1, chunk,
					      SNAP_MAX_OPAQUE), 0);
	cr_assert_eq(snap_put_section(&w, SNAP_SEC_SKIPPABLE | 1, 15, 1, chunk, last + 1), -E2BIG);
	w.error = 0; /* a failed put leaves the file as it was */
	cr_assert_eq(snap_put_section(&w, SNAP_SEC_SKIPPABLE | 1, 15, 1, chunk, last), 0);
	cr_assert_eq(snap_writer_finish(&w, &b, &len), 0, "%s", w.err);
	cr_assert_eq(len, SNAP_MAX_FILE);
	cr_assert_eq(snap_reader_open(b, len, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.nsections, 16);
	free(b);
	free(chunk);
}
