/* Snapshot state file (DESIGN.md §7): a fixed header (magic, format version,
 * arch, flags, section count, total length), then sections {id, instance
 * index, version, length, payload} back to back, then a CRC32 over all of it.
 * All integers are little-endian; payloads are unaligned byte strings. The
 * reader treats the file as hostile input: every rejection names the fault. */
#ifndef FEMTOVM_SNAPSHOT_FORMAT_H
#define FEMTOVM_SNAPSHOT_FORMAT_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define SNAP_MAGIC "FEMTOSNP"          /* 8 bytes, no NUL in the file */
#define SNAP_FORMAT_VERSION 1
#define SNAP_ARCH EM_X86_64            /* ELF machine number of the guest arch */
#define SNAP_HEADER_SIZE 32            /* magic, version, arch, flags, count, u64 length */
#define SNAP_SECTION_HEADER_SIZE 16    /* id, index, version, length */
#define SNAP_CRC_SIZE 4
#define SNAP_MAX_FILE (16u << 20)      /* hard cap on a state file: -E2BIG above */
#define SNAP_MAX_SECTIONS 4096
#define SNAP_MAX_OPAQUE (1u << 20)     /* cap of an unknown skippable section */
#define SNAP_ERR_LEN 160               /* enough for every reader/decoder message */

/* Header flags. Unknown bits are rejected. */
#define SNAP_F_DIFF_MEM 0x1u           /* the memory file written with it is a diff */
#define SNAP_F_DIRTY_TRACKING 0x2u     /* the VM ran with track_dirty_pages */
#define SNAP_F_ALL (SNAP_F_DIFF_MEM | SNAP_F_DIRTY_TRACKING)

/* A section id with this bit set may be skipped by a reader that does not
 * know it (PNG's ancillary-chunk rule); unknown ids without it are fatal. */
#define SNAP_SEC_SKIPPABLE 0x80000000u

enum snap_section_id {
	SNAP_SEC_CONFIG = 1,            /* the VM configuration (JSON), index 0 */
	SNAP_SEC_MEMORY_LAYOUT,         /* struct snap_mem_layout, index 0 */
	SNAP_SEC_VCPU,                  /* struct snap_vcpu_state, index = vCPU id */
	SNAP_SEC_IRQCHIP_PIC_MASTER,    /* struct kvm_irqchip, index 0 */
	SNAP_SEC_IRQCHIP_PIC_SLAVE,     /* struct kvm_irqchip, index 0 */
	SNAP_SEC_IOAPIC,                /* struct kvm_irqchip, index 0 */
	SNAP_SEC_PIT,                   /* struct kvm_pit_state2, index 0 */
	SNAP_SEC_CLOCK,                 /* struct kvm_clock_data, index 0 */
	SNAP_SEC_SERIAL,                /* device-defined, index 0 (COM1) */
	SNAP_SEC_I8042,                 /* device-defined, index 0 */
	SNAP_SEC_VIRTIO_TRANSPORT,      /* struct snap_vtransport_state, index = slot */
	SNAP_SEC_VIRTQUEUE,             /* struct snap_vq_state, index = SNAP_VQ_INDEX() */
	SNAP_SEC_BLK,                   /* device-defined, index = slot */
	SNAP_SEC_NET,                   /* device-defined, index = slot */
	SNAP_SEC_VSOCK,                 /* device-defined, index = slot */
	SNAP_SEC_COUNT_                 /* one past the last known id */
};

/* Format-level limits of one known section id. */
struct snap_section_info {
	const char *name;       /* "VCPU", for messages */
	uint32_t max_version;   /* versions 1..max_version are understood */
	uint32_t max_index;     /* instance indexes 0..max_index */
	uint32_t cap;           /* payload bytes at most */
};

/* Limits for @id, or NULL when the id is unknown. */
const struct snap_section_info *snap_section_info(uint32_t id);

/* "VCPU/1" (or "0x80000042/0" for unknown ids) into @buf. */
void snap_section_label(uint32_t id, uint32_t index, char *buf, size_t n);

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32()): start with crc 0. */
uint32_t snap_crc32(uint32_t crc, const void *buf, size_t len);

/* --- Writer: builds a state file in memory. --- */

struct snap_writer {
	uint8_t *buf;
	size_t len, cap;
	uint32_t nsections;
	uint32_t flags;
	int error;              /* first failure; later calls return it */
	char err[SNAP_ERR_LEN]; /* and why */
};

/* Start a file with header @flags (SNAP_F_*). 0, -EINVAL or -ENOMEM. */
int snap_writer_begin(struct snap_writer *w, uint32_t flags);

/* Append one section. The id must be known or SNAP_SEC_SKIPPABLE, the
 * version and index within its limits and (id, index) not yet written:
 * -EINVAL; payload over the section cap or file over SNAP_MAX_FILE:
 * -E2BIG; -ENOMEM. A failure sticks: finish() returns it. */
int snap_put_section(struct snap_writer *w, uint32_t id, uint32_t index, uint32_t version,
		     const void *payload, uint32_t len);
/* The same with the payload gathered from @iov[0..n). */
int snap_put_sectionv(struct snap_writer *w, uint32_t id, uint32_t index, uint32_t version,
		      const struct iovec *iov, unsigned n);

/* Seal the file (count, length, CRC) and hand its buffer to the caller,
 * who frees it with free(). On any earlier failure the buffer is freed and
 * that error returned (w->err says why). The writer is empty afterwards. */
int snap_writer_finish(struct snap_writer *w, uint8_t **buf, size_t *len);
/* Drop an unfinished file. */
void snap_writer_abort(struct snap_writer *w);

/* --- Reader: validates a whole file once, then serves lookups. --- */

struct snap_reader {
	const uint8_t *buf;     /* not owned */
	size_t len;
	uint32_t version, flags, nsections;
};

struct snap_section {
	uint32_t id, index, version, len;
	const uint8_t *payload; /* inside the reader's buffer, unaligned */
};

/* Validate @buf[0..len): header (magic, supported version, arch x86_64,
 * flags, length equal to @len), CRC, then every section (header and payload
 * inside the file, known id or skippable, version, index and length within
 * limits, no duplicate (id, index), nothing after the last one). 0, -E2BIG
 * when @len > SNAP_MAX_FILE, else -EINVAL; @err (may be NULL) says why, e.g.
 * "truncated section 3 header", "bad CRC", "unsupported format version 7",
 * "wrong arch 3", "section VCPU/1 length 99 exceeds cap 98",
 * "duplicate section VCPU/1". @buf must outlive @r. */
int snap_reader_open(const void *buf, size_t len, struct snap_reader *r, char *err,
		     size_t errlen);

/* Payload of section (@id, @index): 0, or -ENOENT when absent. */
int snap_find_section(const struct snap_reader *r, uint32_t id, uint32_t index,
		      const void **payload, uint32_t *len);
/* snap_find_section() that writes "missing section VCPU/1" to @err. */
int snap_require_section(const struct snap_reader *r, uint32_t id, uint32_t index,
			 const void **payload, uint32_t *len, char *err, size_t errlen);

/* Iterate in file order: set *@pos = 0, then each call fills @s and returns
 * 1, or returns 0 after the last section. */
int snap_next_section(const struct snap_reader *r, size_t *pos, struct snap_section *s);

/* --- Files. --- */

/* Write @path (mode 0600) atomically: all of @buf into "<path>.<pid>.tmp",
 * fsync, then rename() it over @path (the temporary file is removed on
 * failure). */
int snap_write_file(const char *path, const void *buf, size_t len);
/* Read a whole regular file of at most SNAP_MAX_FILE bytes into a malloc'd
 * buffer (caller frees). -E2BIG above the cap, -EINVAL if not a regular
 * file, -errno from open/read; @err says which. */
int snap_read_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen);

#endif
