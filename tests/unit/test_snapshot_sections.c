/* Unit tests for the typed state-file sections (src/snapshot/sections.h):
 * a whole-VM file with every section type written and read back, and each
 * decoder against hostile payloads — truncation at every length, counts over
 * their caps, acked ⊄ offered, bad queue geometry, status bits out of order,
 * impossible memory layouts — rejected with -EINVAL and a message. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/sections.h"
#include "vmm/layout.h"

static char err[SNAP_ERR_LEN];

#define EXPECT(call, what)                                                              \
	do {                                                                            \
		int ret_;                                                               \
		memset(err, 0, sizeof(err));                                            \
		ret_ = (call);                                                          \
		cr_assert_eq(ret_, -EINVAL, "ret %d (%s)", ret_, err);                  \
		cr_assert(strstr(err, what), "message \"%s\" lacks \"%s\"", err, what); \
	} while (0)

static void fill(void *p, size_t n, unsigned seed)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

static struct snap_vcpu_state *make_vcpu(unsigned seed, uint32_t nmsrs, uint32_t ncpuid)
{
	struct snap_vcpu_state *s = calloc(1, sizeof(*s));

	fill(&s->regs, sizeof(s->regs), seed);
	fill(&s->sregs, sizeof(s->sregs), seed + 1);
	fill(&s->fpu, sizeof(s->fpu), seed + 2);
	fill(&s->xsave, sizeof(s->xsave), seed + 3);
	s->xcrs.nr_xcrs = 1;
	s->xcrs.xcrs[0].value = 7;
	fill(s->debugregs.db, sizeof(s->debugregs.db), seed + 4);
	fill(&s->lapic, sizeof(s->lapic), seed + 5);
	s->mp_state.mp_state = KVM_MP_STATE_HALTED;
	fill(&s->events, sizeof(s->events), seed + 6);
	s->tsc_khz = 2000000 + seed;
	s->nmsrs = nmsrs;
	for (uint32_t i = 0; i < nmsrs; i++)
		s->msrs[i] = (struct kvm_msr_entry){ .index = 0x10 + i, .data = i * 3ULL + seed };
	s->ncpuid = ncpuid;
	fill(s->cpuid, ncpuid * sizeof(s->cpuid[0]), seed + 7);
	return s;
}

static void vcpu_equal(const struct snap_vcpu_state *a, const struct snap_vcpu_state *b)
{
	/* Compare up to the arrays, then the used parts of the arrays. */
	cr_assert_eq(memcmp(a, b, offsetof(struct snap_vcpu_state, msrs)), 0);
	cr_assert_eq(a->ncpuid, b->ncpuid);
	cr_assert_eq(memcmp(a->msrs, b->msrs, a->nmsrs * sizeof(a->msrs[0])), 0);
	cr_assert_eq(memcmp(a->cpuid, b->cpuid, a->ncpuid * sizeof(a->cpuid[0])), 0);
}

static const struct snap_vtransport_state live_tr = {
	.device_id = VIRTIO_ID_BLOCK, .num_queues = 1,
	.status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		  VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK,
	.dev_features_sel = 1, .queue_sel = 0, .interrupt_status = 1, .config_generation = 3,
	.offered = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) | 0x41,
	.driver_features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX),
	.acked = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX),
	.active = true,
};

static const struct snap_vq_state live_vq = {
	.size = 256, .ready = true, .desc_gpa = 0x10000, .avail_gpa = 0x11000,
	.used_gpa = 0x12000, .last_avail = 65535, .used_idx = 12, .signalled_used = 11,
	.signalled_valid = true, .event_idx = true,
};

static void first_section(const struct snap_reader *r, struct snap_section *s)
{
	size_t pos = 0;

	cr_assert_eq(snap_next_section(r, &pos, s), 1);
}

Test(snap_sections, whole_vm_round_trip)
{
	struct snap_vcpu_state *v0 = make_vcpu(1, 40, 30), *v1 = make_vcpu(2, 0, 0), *d;
	struct kvm_irqchip chips[3], chip;
	struct kvm_pit_state2 pit, pit2;
	struct kvm_clock_data clk = { .clock = 123456789, .flags = KVM_CLOCK_TSC_STABLE }, clk2;
	struct snap_mem_layout ml, ml2;
	struct snap_vtransport_state tr;
	struct snap_vq_state vq, vq2 = { .size = 3 }; /* not ready: any size */
	struct guest_mem gm;
	struct snap_writer w;
	struct snap_reader r;
	const void *p;
	uint32_t len;
	uint8_t *b;
	size_t blen;

	d = calloc(1, sizeof(*d));
	for (uint32_t i = 0; i < 3; i++) {
		fill(&chips[i], sizeof(chips[i]), 10 + i);
		chips[i].chip_id = i;
		chips[i].pad = 0;
	}
	fill(&pit, sizeof(pit), 20);
	pit.flags = KVM_PIT_FLAGS_HPET_LEGACY;
	cr_assert_eq(gm_layout(&gm, 5ULL << 30), 0);
	snap_mem_layout_from_gm(&gm, &ml);
	cr_assert_eq(ml.nregions, 2);

	cr_assert_eq(snap_writer_begin(&w, 0), 0);
	cr_assert_eq(snap_put_section(&w, SNAP_SEC_CONFIG, 0, 1, "{}", 2), 0);
	cr_assert_eq(snap_encode_mem_layout(&w, &ml), 0);
	cr_assert_eq(snap_encode_vcpu(&w, 0, v0), 0);
	cr_assert_eq(snap_encode_vcpu(&w, 1, v1), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(snap_encode_irqchip(&w, &chips[i]), 0);
	cr_assert_eq(snap_encode_pit(&w, &pit), 0);
	cr_assert_eq(snap_encode_clock(&w, &clk), 0);
	cr_assert_eq(snap_put_section(&w, SNAP_SEC_SERIAL, 0, 1, "ser", 3), 0);
	cr_assert_eq(snap_put_section(&w, SNAP_SEC_I8042, 0, 1, "kbd", 3), 0);
	cr_assert_eq(snap_encode_vtransport(&w, 2, &live_tr), 0);
	cr_assert_eq(snap_encode_vq(&w, 2, 0, &live_vq), 0);
	cr_assert_eq(snap_encode_vq(&w, 2, 1, &vq2), 0);
	cr_assert_eq(snap_put_section(&w, SNAP_SEC_BLK, 2, 1, "blk", 3), 0);
	cr_assert_eq(snap_put_section(&w, SNAP_SEC_NET, 3, 1, "net", 3), 0);
	cr_assert_eq(snap_put_section(&w, SNAP_SEC_VSOCK, 4, 1, "vsock", 5), 0);
	cr_assert_eq(snap_writer_finish(&w, &b, &blen), 0, "%s", w.err);
	cr_assert_eq(snap_reader_open(b, blen, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.nsections, 17);

	cr_assert_eq(snap_find_section(&r, SNAP_SEC_MEMORY_LAYOUT, 0, &p, &len), 0);
	cr_assert_eq(snap_decode_mem_layout(p, len, &ml2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(&ml, &ml2, sizeof(ml)), 0);
	cr_assert_eq(snap_find_section(&r, SNAP_SEC_VCPU, 0, &p, &len), 0);
	cr_assert_eq(snap_decode_vcpu(p, len, d, err, sizeof(err)), 0, "%s", err);
	vcpu_equal(v0, d);
	cr_assert_eq(snap_find_section(&r, SNAP_SEC_VCPU, 1, &p, &len), 0);
	cr_assert_eq(snap_decode_vcpu(p, len, d, err, sizeof(err)), 0, "%s", err);
	vcpu_equal(v1, d);
	for (uint32_t i = 0; i < 3; i++) {
		cr_assert_eq(snap_find_section(&r, SNAP_SEC_IRQCHIP_PIC_MASTER + i, 0, &p, &len), 0);
		cr_assert_eq(snap_decode_irqchip(p, len, i, &chip, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(memcmp(&chip, &chips[i], sizeof(chip)), 0);
	}
	cr_assert_eq(snap_find_section(&r, SNAP_SEC_PIT, 0, &p, &len), 0);
	cr_assert_eq(snap_decode_pit(p, len, &pit2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(&pit, &pit2, sizeof(pit)), 0);
	cr_assert_eq(snap_find_section(&r, SNAP_SEC_CLOCK, 0, &p, &len), 0);
	cr_assert_eq(snap_decode_clock(p, len, &clk2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(&clk, &clk2, sizeof(clk)), 0);
	cr_assert_eq(snap_find_section(&r, SNAP_SEC_VIRTIO_TRANSPORT, 2, &p, &len), 0);
	cr_assert_eq(snap_decode_vtransport(p, len, &tr, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(&tr, &live_tr, sizeof(tr)), 0);
	cr_assert_eq(snap_find_section(&r, SNAP_SEC_VIRTQUEUE, SNAP_VQ_INDEX(2, 0), &p, &len), 0);
	cr_assert_eq(snap_decode_vq(p, len, 256, &vq, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(&vq, &live_vq, sizeof(vq)), 0);
	cr_assert_eq(snap_check_vq(&tr, 0, &vq, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(snap_find_section(&r, SNAP_SEC_VIRTQUEUE, SNAP_VQ_INDEX(2, 1), &p, &len), 0);
	cr_assert_eq(snap_decode_vq(p, len, 256, &vq, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(memcmp(&vq, &vq2, sizeof(vq)), 0);
	cr_assert_eq(snap_find_section(&r, SNAP_SEC_VSOCK, 4, &p, &len), 0);
	cr_assert_eq(memcmp(p, "vsock", 5), 0);
	free(b);
	free(v0);
	free(v1);
	free(d);
}

/* Encode @s as VCPU/0 and return a malloc'd copy of just its payload. */
static uint8_t *vcpu_payload(const struct snap_vcpu_state *s, uint32_t *len)
{
	struct snap_writer w;
	struct snap_reader r;
	struct snap_section sec;
	uint8_t *b, *out;
	size_t blen;

	cr_assert_eq(snap_writer_begin(&w, 0), 0);
	cr_assert_eq(snap_encode_vcpu(&w, 0, s), 0);
	cr_assert_eq(snap_writer_finish(&w, &b, &blen), 0);
	cr_assert_eq(snap_reader_open(b, blen, &r, err, sizeof(err)), 0);
	first_section(&r, &sec);
	out = malloc(sec.len);
	memcpy(out, sec.payload, sec.len);
	*len = sec.len;
	free(b);
	return out;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4); /* x86_64: little-endian */
}

Test(snap_sections, vcpu_every_truncation)
{
	struct snap_vcpu_state *s = make_vcpu(3, 5, 2), *d = calloc(1, sizeof(*d));
	uint32_t len;
	uint8_t *p = vcpu_payload(s, &len);

	cr_assert_eq(len, SNAP_VCPU_FIXED_LEN + 5 * 16 + 2 * sizeof(struct kvm_cpuid_entry2));
	for (uint32_t n = 0; n < len; n++) {
		uint8_t *copy = malloc(n ? n : 1);

		memcpy(copy, p, n);
		EXPECT(snap_decode_vcpu(copy, n, d, err, sizeof(err)), "truncated");
		free(copy);
	}
	EXPECT(snap_decode_vcpu(p, 100, d, err, sizeof(err)), "truncated regs");
	EXPECT(snap_decode_vcpu(p, 16 + sizeof(s->regs) + sizeof(s->sregs) + sizeof(s->fpu) + 10,
				d, err, sizeof(err)), "truncated xsave");
	EXPECT(snap_decode_vcpu(p, len - 1, d, err, sizeof(err)), "truncated CPUID list");
	free(p);
	free(s);
	free(d);
}

Test(snap_sections, vcpu_hostile_values)
{
	struct snap_vcpu_state *s = make_vcpu(4, 3, 1), *d = calloc(1, sizeof(*d));
	struct snap_writer w;
	uint32_t len;
	uint8_t *p = vcpu_payload(s, &len), *big = calloc(1, len + 8);
	size_t xcrs_off = 16 + sizeof(s->regs) + sizeof(s->sregs) + sizeof(s->fpu) +
			  sizeof(s->xsave);

	memcpy(big, p, len);
	EXPECT(snap_decode_vcpu(big, len + 8, d, err, sizeof(err)), "8 trailing bytes");
	put32(p, 300);
	EXPECT(snap_decode_vcpu(p, len, d, err, sizeof(err)), "MSR count 300 exceeds 256");
	put32(p, 0xffffffffu);
	EXPECT(snap_decode_vcpu(p, len, d, err, sizeof(err)), "MSR count 4294967295 exceeds");
	put32(p, 3);
	put32(p + 4, 257);
	EXPECT(snap_decode_vcpu(p, len, d, err, sizeof(err)), "CPUID count 257 exceeds 256");
	put32(p + 4, 1);
	put32(p + 8, 8192);
	EXPECT(snap_decode_vcpu(p, len, d, err, sizeof(err)), "xsave size 8192 unsupported");
	put32(p + 8, 4096);
	put32(p + xcrs_off, KVM_MAX_XCRS + 1);
	EXPECT(snap_decode_vcpu(p, len, d, err, sizeof(err)), "XCR count 17 exceeds 16");
	put32(p + xcrs_off, 1);
	cr_assert_eq(snap_decode_vcpu(p, len, d, err, sizeof(err)), 0, "%s", err);

	s->mp_state.mp_state = KVM_MP_STATE_STOPPED; /* s390 only */
	free(p);
	p = vcpu_payload(s, &len);
	EXPECT(snap_decode_vcpu(p, len, d, err, sizeof(err)), "mp_state 5 not an x86 state");
	s->mp_state.mp_state = KVM_MP_STATE_RUNNABLE;
	s->debugregs.flags = 1;
	free(p);
	p = vcpu_payload(s, &len);
	EXPECT(snap_decode_vcpu(p, len, d, err, sizeof(err)), "debugregs flags");
	s->debugregs.flags = 0;
	s->msrs[2].reserved = 9;
	free(p);
	p = vcpu_payload(s, &len);
	EXPECT(snap_decode_vcpu(p, len, d, err, sizeof(err)), "MSR entry 2 (0x12) reserved");

	s->nmsrs = SNAP_MAX_MSRS + 1;
	cr_assert_eq(snap_writer_begin(&w, 0), 0);
	cr_assert_eq(snap_encode_vcpu(&w, 0, s), -EINVAL);
	cr_assert(strstr(w.err, "MSR count 257"), "%s", w.err);
	snap_writer_abort(&w);
	free(big);
	free(p);
	free(s);
	free(d);
}

Test(snap_sections, kvm_structs_hostile)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_PIC_SLAVE }, c;
	struct kvm_pit_state2 pit = { .flags = 4 }, pt;
	struct kvm_clock_data clk = { .flags = 1 }, ck;
	struct snap_writer w;
	uint8_t big[1024] = { 0 };

	EXPECT(snap_decode_irqchip(&chip, sizeof(chip), 0, &c, err, sizeof(err)),
	       "PIC master section holds irqchip id 1");
	EXPECT(snap_decode_irqchip(&chip, sizeof(chip) - 1, 1, &c, err, sizeof(err)),
	       "truncated PIC slave (519 of 520 bytes)");
	EXPECT(snap_decode_irqchip(big, sizeof(chip), 3, &c, err, sizeof(err)),
	       "unknown irqchip id 3");
	chip.pad = 1;
	EXPECT(snap_decode_irqchip(&chip, sizeof(chip), 1, &c, err, sizeof(err)),
	       "PIC slave pad not zero");
	EXPECT(snap_decode_pit(&pit, sizeof(pit), &pt, err, sizeof(err)), "PIT flags 0x4");
	EXPECT(snap_decode_pit(big, sizeof(pit) + 1, &pt, err, sizeof(err)), "1 trailing bytes");
	EXPECT(snap_decode_clock(&clk, sizeof(clk), &ck, err, sizeof(err)),
	       "kvmclock flags 0x1 unknown");
	EXPECT(snap_decode_clock(big, 0, &ck, err, sizeof(err)), "truncated kvmclock");
	chip.chip_id = 7;
	cr_assert_eq(snap_writer_begin(&w, 0), 0);
	cr_assert_eq(snap_encode_irqchip(&w, &chip), -EINVAL);
	cr_assert_str_eq(w.err, "unknown irqchip id 7");
	snap_writer_abort(&w);
}

/* Encode a queue or transport through the writer's own helpers and decode
 * the raw payload bytes. */
static uint32_t vq_bytes(const struct snap_vq_state *s, uint8_t *out)
{
	struct snap_writer w;
	struct snap_reader r;
	struct snap_section sec;
	uint8_t *b;
	size_t len;

	cr_assert_eq(snap_writer_begin(&w, 0), 0);
	cr_assert_eq(snap_encode_vq(&w, 0, 0, s), 0);
	cr_assert_eq(snap_writer_finish(&w, &b, &len), 0);
	cr_assert_eq(snap_reader_open(b, len, &r, err, sizeof(err)), 0);
	first_section(&r, &sec);
	memcpy(out, sec.payload, sec.len);
	free(b);
	return sec.len;
}

static int vq_decode(const struct snap_vq_state *s, uint16_t max)
{
	uint8_t p[64];
	uint32_t len = vq_bytes(s, p);
	struct snap_vq_state d;

	memset(err, 0, sizeof(err));
	return snap_decode_vq(p, len, max, &d, err, sizeof(err));
}

Test(snap_sections, vq_geometry)
{
	struct snap_vq_state s = live_vq, d;
	uint8_t p[64];
	uint32_t len = vq_bytes(&s, p);

	cr_assert_eq(len, SNAP_VQ_LEN);
	for (uint32_t n = 0; n < len; n++)
		EXPECT(snap_decode_vq(p, n, 256, &d, err, sizeof(err)), "truncated virtqueue");
	p[len - 1] = 0x80;
	EXPECT(snap_decode_vq(p, len, 256, &d, err, sizeof(err)), "virtqueue flags 0x80000000");
	EXPECT(vq_decode(&s, 128), "queue size 256 not a power of two in 1..128");
	s.size = 96;
	EXPECT(vq_decode(&s, 256), "queue size 96");
	s.size = 0;
	EXPECT(vq_decode(&s, 256), "queue size 0");
	s.size = 64;
	cr_assert_eq(vq_decode(&s, 256), 0, "%s", err);
	s.desc_gpa = 0x10008;
	EXPECT(vq_decode(&s, 256), "misaligned");
	s.desc_gpa = 0x10000;
	s.avail_gpa = 0x11001;
	EXPECT(vq_decode(&s, 256), "misaligned");
	s.avail_gpa = 0x11000;
	s.used_gpa = 0x12002;
	EXPECT(vq_decode(&s, 256), "misaligned");
	s.used_gpa = 0xfffffffffffff000ULL;
	EXPECT(vq_decode(&s, 256), "beyond guest-physical space");
	s.used_gpa = SNAP_MEM_MAX_GPA - 4;
	EXPECT(vq_decode(&s, 256), "beyond guest-physical space");
	/* Not ready: whatever the driver wrote so far is kept. */
	s.ready = false;
	s.size = 3;
	cr_assert_eq(vq_decode(&s, 256), 0, "%s", err);
}

static uint32_t tr_bytes(const struct snap_vtransport_state *s, uint8_t *out)
{
	struct snap_writer w;
	struct snap_reader r;
	struct snap_section sec;
	uint8_t *b;
	size_t len;

	cr_assert_eq(snap_writer_begin(&w, 0), 0);
	cr_assert_eq(snap_encode_vtransport(&w, 0, s), 0);
	cr_assert_eq(snap_writer_finish(&w, &b, &len), 0);
	cr_assert_eq(snap_reader_open(b, len, &r, err, sizeof(err)), 0);
	first_section(&r, &sec);
	memcpy(out, sec.payload, sec.len);
	free(b);
	return sec.len;
}

static int tr_decode(const struct snap_vtransport_state *s)
{
	uint8_t p[128];
	uint32_t len = tr_bytes(s, p);
	struct snap_vtransport_state d;

	memset(err, 0, sizeof(err));
	return snap_decode_vtransport(p, len, &d, err, sizeof(err));
}

Test(snap_sections, transport_rules)
{
	struct snap_vtransport_state s = live_tr, d;
	uint8_t p[128];
	uint32_t len = tr_bytes(&s, p);

	cr_assert_eq(len, SNAP_VTRANSPORT_LEN);
	for (uint32_t n = 0; n < len; n++)
		EXPECT(snap_decode_vtransport(p, n, &d, err, sizeof(err)), "truncated virtio");
	s.acked |= 1ULL << 40;
	s.driver_features = s.acked;
	EXPECT(tr_decode(&s), "acked features 0x10120000000 not a subset of offered");
	s = live_tr;
	s.status &= ~(uint32_t)VIRTIO_CONFIG_S_FEATURES_OK;
	EXPECT(tr_decode(&s), "DRIVER_OK without FEATURES_OK");
	s.status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_FEATURES_OK;
	s.active = false;
	EXPECT(tr_decode(&s), "FEATURES_OK without DRIVER");
	s = live_tr;
	s.status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		   VIRTIO_CONFIG_S_FEATURES_OK;
	EXPECT(tr_decode(&s), "active without DRIVER_OK");
	s.active = false;
	cr_assert_eq(tr_decode(&s), 0, "%s", err);
	s.status = VIRTIO_CONFIG_S_DRIVER; /* features written, not yet accepted */
	EXPECT(tr_decode(&s), "features acked without FEATURES_OK");
	s.acked = 0;
	cr_assert_eq(tr_decode(&s), 0, "%s", err);
	s = live_tr;
	s.driver_features |= 1;
	EXPECT(tr_decode(&s), "FEATURES_OK with acked");
	s.acked = s.driver_features = 1ULL << VIRTIO_RING_F_EVENT_IDX;
	EXPECT(tr_decode(&s), "VERSION_1 required");
	s = live_tr;
	s.status = 0x100 | live_tr.status;
	EXPECT(tr_decode(&s), "device status 0x1");
	s = live_tr;
	s.num_queues = VIRTIO_MAX_QUEUES + 1;
	EXPECT(tr_decode(&s), "queue count 9 not in 1..8");
	s.num_queues = 0;
	EXPECT(tr_decode(&s), "queue count 0");
	s = live_tr;
	s.interrupt_status = 4;
	EXPECT(tr_decode(&s), "interrupt status 0x4 unknown");
	s = live_tr;
	s.device_id = 0;
	EXPECT(tr_decode(&s), "virtio device id 0");
	len = tr_bytes(&live_tr, p);
	p[len - 1] = 1;
	EXPECT(snap_decode_vtransport(p, len, &d, err, sizeof(err)), "transport flags");
}

Test(snap_sections, queue_against_transport)
{
	struct snap_vtransport_state t = live_tr;
	struct snap_vq_state q = live_vq;

	cr_assert_eq(snap_check_vq(&t, 0, &q, err, sizeof(err)), 0, "%s", err);
	EXPECT(snap_check_vq(&t, 1, &q, err, sizeof(err)), "queue 1 beyond the device's 1");
	q.indirect = true;
	EXPECT(snap_check_vq(&t, 0, &q, err, sizeof(err)), "ring features differ");
	q = live_vq;
	t.status = VIRTIO_CONFIG_S_DRIVER;
	t.acked = 0;
	t.active = false;
	EXPECT(snap_check_vq(&t, 0, &q, err, sizeof(err)), "ready without FEATURES_OK");
	q.ready = false;
	cr_assert_eq(snap_check_vq(&t, 0, &q, err, sizeof(err)), 0, "%s", err);
}

static int ml_decode(const struct snap_mem_layout *l)
{
	uint8_t p[SNAP_MEM_LAYOUT_LEN(SNAP_MEM_MAX_REGIONS + 1)];
	struct snap_mem_layout d;

	/* Hand-encode so invalid layouts reach the decoder. */
	memset(p, 0, sizeof(p));
	memcpy(p, &l->mem_size, 8);
	memcpy(p + 8, &l->nregions, 4);
	for (uint32_t i = 0; i < l->nregions && i < SNAP_MEM_MAX_REGIONS; i++)
		memcpy(p + 16 + 24 * i, &l->regions[i], 24);
	memset(err, 0, sizeof(err));
	return snap_decode_mem_layout(p, SNAP_MEM_LAYOUT_LEN(l->nregions), &d, err, sizeof(err));
}

Test(snap_sections, memory_layout)
{
	struct guest_mem gm;
	struct snap_mem_layout l, base;
	struct snap_writer w;
	uint8_t p[64] = { 0 };
	uint32_t one = 1;

	cr_assert_eq(gm_layout(&gm, 128ULL << 20), 0);
	snap_mem_layout_from_gm(&gm, &l);
	cr_assert_eq(l.nregions, 1);
	cr_assert_eq(ml_decode(&l), 0, "%s", err);
	cr_assert_eq(gm_layout(&gm, 6ULL << 30), 0);
	snap_mem_layout_from_gm(&gm, &base);
	cr_assert_eq(base.regions[1].gpa, LAYOUT_MMIO_HOLE_END);
	cr_assert_eq(base.regions[1].file_offset, LAYOUT_MMIO_HOLE);
	cr_assert_eq(ml_decode(&base), 0, "%s", err);

	EXPECT(snap_decode_mem_layout(p, 15, &l, err, sizeof(err)), "truncated memory layout");
	EXPECT(snap_decode_mem_layout(p, 16, &l, err, sizeof(err)), "region count 0 not in 1..8");
	l = base;
	l.nregions = 9;
	EXPECT(ml_decode(&l), "region count 9");
	l = base;
	l.regions[1].size += 0x800;
	l.mem_size += 0x800;
	EXPECT(ml_decode(&l), "not page-aligned");
	l = base;
	l.regions[0].size += 0x1000; /* runs into the hole */
	l.regions[1].file_offset += 0x1000;
	l.mem_size += 0x1000;
	EXPECT(ml_decode(&l), "region 0 overlaps the MMIO hole");
	l = base;
	l.regions[1].gpa = 0x1000; /* overlaps region 0 */
	EXPECT(ml_decode(&l), "region 1 overlaps or precedes region 0");
	l = base;
	l.regions[1].file_offset = 0;
	EXPECT(ml_decode(&l), "region 1 file offset 0x0, expected 0xc0000000");
	l = base;
	l.mem_size -= 0x1000;
	EXPECT(ml_decode(&l), "add up to");
	l = base;
	l.regions[1].size = 0;
	EXPECT(ml_decode(&l), "region 1 (0x100000000 + 0x0) empty");
	l = base;
	l.regions[1].gpa = 0xfffffffffffff000ULL;
	EXPECT(ml_decode(&l), "region 1 beyond");
	l = base;
	l.mem_size = l.regions[1].size = 2ULL << 40;
	EXPECT(ml_decode(&l), "above 1 TiB");
	EXPECT(snap_decode_mem_layout(p, SNAP_MEM_LAYOUT_LEN(1) + 1, &l, err, sizeof(err)),
	       "region count 0");
	memcpy(p + 8, &one, 4);
	memcpy(p + 12, &one, 4);
	EXPECT(snap_decode_mem_layout(p, SNAP_MEM_LAYOUT_LEN(1), &l, err, sizeof(err)),
	       "reserved field not zero");
	l = base;
	l.regions[0].size = 0x1000;
	cr_assert_eq(snap_writer_begin(&w, 0), 0);
	cr_assert_eq(snap_encode_mem_layout(&w, &l), -EINVAL);
	cr_assert(strstr(w.err, "file offset"), "%s", w.err);
	snap_writer_abort(&w);
}
