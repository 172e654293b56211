/* libFuzzer harness for snapshot state files: snap_reader_open() on the raw
 * input or on the input with its length and CRC fixed up (so mutations reach
 * the section walk), then every section through its decoder; or one decoder
 * on a raw payload. Invariants: every rejection has a message; an accepted
 * file re-written section by section is byte-identical; a decoded payload
 * re-encodes to the same bytes. The first input byte selects the mode. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/format.h"
#include "snapshot/sections.h"
#include "virtio/virtqueue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct snap_vcpu_state vcpu;
static char err[SNAP_ERR_LEN];

static void check_rejection(int ret)
{
	if (ret != -EINVAL && ret != -E2BIG && ret != -ENOENT)
		__builtin_trap();
	if (!err[0] || !memchr(err, 0, sizeof(err)))
		__builtin_trap(); /* every rejection says why */
}

/* Decode @s; on success re-encode it with the typed encoder into @w. */
static int decode(const struct snap_section *s, struct snap_writer *w)
{
	union {
		struct kvm_irqchip chip;
		struct kvm_pit_state2 pit;
		struct kvm_clock_data clock;
		struct snap_vq_state vq;
		struct snap_vtransport_state tr;
		struct snap_mem_layout ml;
	} u;
	uint32_t slot = s->index / VIRTIO_MAX_QUEUES, q = s->index % VIRTIO_MAX_QUEUES;
	int ret;

	err[0] = 0;
	switch (s->id) {
	case SNAP_SEC_VCPU:
		ret = snap_decode_vcpu(s->payload, s->len, &vcpu, err, sizeof(err));
		return ret ? ret : snap_encode_vcpu(w, s->index, &vcpu);
	case SNAP_SEC_IRQCHIP_PIC_MASTER:
	case SNAP_SEC_IRQCHIP_PIC_SLAVE:
	case SNAP_SEC_IOAPIC:
		ret = snap_decode_irqchip(s->payload, s->len, s->id - SNAP_SEC_IRQCHIP_PIC_MASTER,
					  &u.chip, err, sizeof(err));
		return ret ? ret : snap_encode_irqchip(w, &u.chip);
	case SNAP_SEC_PIT:
		ret = snap_decode_pit(s->payload, s->len, &u.pit, err, sizeof(err));
		return ret ? ret : snap_encode_pit(w, &u.pit);
	case SNAP_SEC_CLOCK:
		ret = snap_decode_clock(s->payload, s->len, &u.clock, err, sizeof(err));
		return ret ? ret : snap_encode_clock(w, &u.clock);
	case SNAP_SEC_VIRTQUEUE:
		ret = snap_decode_vq(s->payload, s->len, VQ_MAX_SIZE, &u.vq, err, sizeof(err));
		return ret ? ret : snap_encode_vq(w, slot, q, &u.vq);
	case SNAP_SEC_VIRTIO_TRANSPORT:
		ret = snap_decode_vtransport(s->payload, s->len, &u.tr, err, sizeof(err));
		return ret ? ret : snap_encode_vtransport(w, s->index, &u.tr);
	case SNAP_SEC_MEMORY_LAYOUT:
		ret = snap_decode_mem_layout(s->payload, s->len, &u.ml, err, sizeof(err));
		return ret ? ret : snap_encode_mem_layout(w, &u.ml);
	}
	return snap_put_section(w, s->id, s->index, s->version, s->payload, s->len);
}

/* Decode, re-encode alone, and compare with the original payload. */
static void decode_one(const struct snap_section *s)
{
	struct snap_writer w;
	struct snap_reader r;
	struct snap_section again;
	uint8_t *buf;
	size_t len, pos = 0;
	int ret;

	if (snap_writer_begin(&w, 0))
		__builtin_trap();
	ret = decode(s, &w);
	if (ret) {
		check_rejection(ret);
		snap_writer_abort(&w);
		return;
	}
	if (snap_writer_finish(&w, &buf, &len) || snap_reader_open(buf, len, &r, NULL, 0) ||
	    snap_next_section(&r, &pos, &again) != 1 || again.len != s->len ||
	    memcmp(again.payload, s->payload, s->len))
		__builtin_trap(); /* not canonical */
	free(buf);
}

static void check_file(const uint8_t *data, size_t size)
{
	struct snap_reader r;
	struct snap_section s;
	struct snap_writer w;
	uint8_t *buf;
	size_t len, pos = 0;
	int ret;

	err[0] = 0;
	ret = snap_reader_open(data, size, &r, err, sizeof(err));
	if (ret) {
		check_rejection(ret);
		return;
	}
	if (snap_writer_begin(&w, r.flags))
		__builtin_trap();
	while (snap_next_section(&r, &pos, &s)) {
		const void *p;
		uint32_t plen;

		if (snap_find_section(&r, s.id, s.index, &p, &plen) || p != s.payload)
			__builtin_trap();
		decode_one(&s);
		if (snap_put_section(&w, s.id, s.index, s.version, s.payload, s.len))
			__builtin_trap(); /* the writer refuses what the reader accepted */
	}
	if (snap_writer_finish(&w, &buf, &len) || len != size || memcmp(buf, data, size))
		__builtin_trap();
	free(buf);
}

static void fix_up(uint8_t *b, size_t size)
{
	uint32_t crc;

	for (int i = 0; i < 8; i++)
		b[24 + i] = (uint8_t)((uint64_t)size >> (8 * i));
	crc = snap_crc32(0, b, size - 4);
	for (int i = 0; i < 4; i++)
		b[size - 4 + i] = (uint8_t)(crc >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_section s;
	uint8_t *copy;

	if (size < 2)
		return 0;
	switch (data[0] % 3) {
	case 0:
		check_file(data + 1, size - 1);
		break;
	case 1: /* exact-size copy so ASan sees any overread */
		copy = malloc(size - 1);
		memcpy(copy, data + 1, size - 1);
		if (size - 1 >= SNAP_HEADER_SIZE + SNAP_CRC_SIZE)
			fix_up(copy, size - 1);
		check_file(copy, size - 1);
		free(copy);
		break;
	default: {
		static const uint32_t ids[] = {
			SNAP_SEC_VCPU, SNAP_SEC_IRQCHIP_PIC_MASTER, SNAP_SEC_IRQCHIP_PIC_SLAVE,
			SNAP_SEC_IOAPIC, SNAP_SEC_PIT, SNAP_SEC_CLOCK, SNAP_SEC_VIRTQUEUE,
			SNAP_SEC_VIRTIO_TRANSPORT, SNAP_SEC_MEMORY_LAYOUT,
		};

		copy = malloc(size - 2 ? size - 2 : 1);
		memcpy(copy, data + 2, size - 2);
		s = (struct snap_section){ ids[data[1] % 9], 0, 1, (uint32_t)(size - 2), copy };
		if (s.len <= snap_section_info(s.id)->cap)
			decode_one(&s);
		free(copy);
	}
	}
	return 0;
}
