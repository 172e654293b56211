/* Typed payloads of the state-file sections whose layout the monitor fixes:
 * vCPU state (KVM structures), irqchip/PIT/kvmclock, virtio transport and
 * queue state, and the guest memory layout. Each has an encoder that writes
 * its section and a decoder that validates hostile input like guest input
 * (DESIGN.md §5, §7) and names what is wrong in @err. */
#ifndef FEMTOVM_SNAPSHOT_SECTIONS_H
#define FEMTOVM_SNAPSHOT_SECTIONS_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot/format.h"
#include "virtio/virtio.h"
#include "vmm/guest_mem.h"

/* --- vCPU (section VCPU, index = vCPU id, version 1) --- */

#define SNAP_MAX_MSRS 256
#define SNAP_MAX_CPUID 256  /* KVM's KVM_MAX_CPUID_ENTRIES */
#define SNAP_MAX_VCPU_INDEX 254

/* Everything KVM_GET_* returns for one vCPU, plus the CPUID it was given
 * (KVM_SET_CPUID2 must precede the rest on restore) and its TSC rate. */
struct snap_vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	__u32 xsave[1024];               /* struct kvm_xsave's region: the 4096-byte
					  * area (no KVM_CAP_XSAVE2 dynamic tail) */
	struct kvm_xcrs xcrs;
	struct kvm_debugregs debugregs;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp_state;
	struct kvm_vcpu_events events;
	uint32_t tsc_khz;                /* KVM_GET_TSC_KHZ; 0 = unknown */
	uint32_t nmsrs;                  /* ≤ SNAP_MAX_MSRS */
	struct kvm_msr_entry msrs[SNAP_MAX_MSRS];
	uint32_t ncpuid;                 /* ≤ SNAP_MAX_CPUID */
	struct kvm_cpuid_entry2 cpuid[SNAP_MAX_CPUID];
};

/* Payload: u32 nmsrs, ncpuid, xsave size, tsc_khz; the KVM structures in the
 * order above; nmsrs kvm_msr_entry; ncpuid kvm_cpuid_entry2. */
#define SNAP_VCPU_FIXED_LEN                                                            \
	(16 + sizeof(struct kvm_regs) + sizeof(struct kvm_sregs) + sizeof(struct kvm_fpu) + \
	 sizeof(struct kvm_xsave) + sizeof(struct kvm_xcrs) +                           \
	 sizeof(struct kvm_debugregs) + sizeof(struct kvm_lapic_state) +                \
	 sizeof(struct kvm_mp_state) + sizeof(struct kvm_vcpu_events))
#define SNAP_VCPU_MAX_LEN                                                    \
	(SNAP_VCPU_FIXED_LEN + SNAP_MAX_MSRS * sizeof(struct kvm_msr_entry) + \
	 SNAP_MAX_CPUID * sizeof(struct kvm_cpuid_entry2))

/* -EINVAL if nmsrs or ncpuid is over its cap; writer errors otherwise. */
int snap_encode_vcpu(struct snap_writer *w, uint32_t index, const struct snap_vcpu_state *s);
/* Counts within caps, exact length ("truncated xsave", "MSR count 300
 * exceeds 256"), xsave size 4096, nr_xcrs ≤ KVM_MAX_XCRS, an x86 mp_state,
 * zero reserved/flag fields KVM requires zero. 0 or -EINVAL. */
int snap_decode_vcpu(const void *payload, uint32_t len, struct snap_vcpu_state *s, char *err,
		     size_t errlen);

/* --- irqchip, PIT, kvmclock (index 0, version 1, the KVM structure) --- */

/* The section follows chip_id (KVM_IRQCHIP_PIC_MASTER/PIC_SLAVE/IOAPIC). */
int snap_encode_irqchip(struct snap_writer *w, const struct kvm_irqchip *chip);
/* Exact size, chip_id equal to @chip_id, pad zero. */
int snap_decode_irqchip(const void *payload, uint32_t len, uint32_t chip_id,
			struct kvm_irqchip *chip, char *err, size_t errlen);
int snap_encode_pit(struct snap_writer *w, const struct kvm_pit_state2 *pit);
/* Exact size, only known flags. */
int snap_decode_pit(const void *payload, uint32_t len, struct kvm_pit_state2 *pit, char *err,
		    size_t errlen);
int snap_encode_clock(struct snap_writer *w, const struct kvm_clock_data *clock);
/* Exact size, only known flags. */
int snap_decode_clock(const void *payload, uint32_t len, struct kvm_clock_data *clock,
		      char *err, size_t errlen);

/* --- virtio (index = device slot, queues SNAP_VQ_INDEX(slot, q)) --- */

#define SNAP_VQ_INDEX(slot, q) ((uint32_t)(slot) * VIRTIO_MAX_QUEUES + (uint32_t)(q))

struct snap_vq_state {
	uint16_t size;
	bool ready;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail, used_idx, signalled_used;
	bool signalled_valid, event_idx, indirect, broken;
};
#define SNAP_VQ_LEN 36

int snap_encode_vq(struct snap_writer *w, uint32_t slot, uint32_t q,
		   const struct snap_vq_state *s);
/* A ready queue has the geometry vq_activate() accepts: size a power of two
 * ≤ @max_size, rings aligned (virtio 1.2 §2.7) and not wrapping. A queue not
 * yet ready may hold whatever the driver wrote, as the transport allows. */
int snap_decode_vq(const void *payload, uint32_t len, uint16_t max_size,
		   struct snap_vq_state *s, char *err, size_t errlen);

struct snap_vtransport_state {
	uint32_t device_id;          /* VIRTIO_ID_*, checked against the slot on restore */
	uint32_t num_queues;         /* 1..VIRTIO_MAX_QUEUES */
	uint32_t status;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint32_t interrupt_status;   /* VIRTIO_MMIO_INT_* bits */
	uint32_t config_generation;
	uint64_t offered;            /* device + transport features at save time */
	uint64_t driver_features;    /* what the driver wrote (acked_raw) */
	uint64_t acked;              /* accepted at FEATURES_OK */
	bool active;                 /* DRIVER_OK accepted, device activated */
};
#define SNAP_VTRANSPORT_LEN 60

int snap_encode_vtransport(struct snap_writer *w, uint32_t slot,
			   const struct snap_vtransport_state *s);
/* The invariants the mmio transport keeps (virtio 1.2 §2.1, §3.1.1): status
 * ≤ 0xff, FEATURES_OK ⇒ DRIVER, DRIVER_OK ⇒ FEATURES_OK, active ⇒ DRIVER_OK,
 * acked ⊆ offered, acked ≠ 0 only with FEATURES_OK and then equal to the
 * driver's features and including VERSION_1, only known interrupt bits. */
int snap_decode_vtransport(const void *payload, uint32_t len,
			   struct snap_vtransport_state *s, char *err, size_t errlen);
/* Queue @q of transport @t: q < num_queues; a ready queue needs
 * FEATURES_OK and event_idx/indirect equal to the acked ring features. */
int snap_check_vq(const struct snap_vtransport_state *t, uint32_t q,
		  const struct snap_vq_state *vq, char *err, size_t errlen);

/* --- guest memory layout (section MEMORY_LAYOUT, index 0, version 1) --- */

#define SNAP_MEM_MAX_REGIONS 8
#define SNAP_MEM_MAX_SIZE (1ULL << 40)  /* CONFIG_MAX_MEM_MIB */
#define SNAP_MEM_MAX_GPA (1ULL << 46)   /* well inside any host's MAXPHYADDR */

struct snap_mem_region {
	uint64_t gpa, size;
	uint64_t file_offset;   /* where the region's bytes start in the memory file */
};

struct snap_mem_layout {
	uint64_t mem_size;      /* total guest RAM = memory file size */
	uint32_t nregions;
	struct snap_mem_region regions[SNAP_MEM_MAX_REGIONS];
};
#define SNAP_MEM_LAYOUT_LEN(n) (16 + 24 * (size_t)(n))

/* The layout of @gm, regions stored back to back in the memory file. */
void snap_mem_layout_from_gm(const struct guest_mem *gm, struct snap_mem_layout *l);
/* 1..SNAP_MEM_MAX_REGIONS regions, page-aligned, non-empty, ascending and
 * disjoint, below SNAP_MEM_MAX_GPA, clear of the 32-bit MMIO hole, file
 * offsets back to back from 0, sizes adding up to mem_size ≤ 1 TiB. */
int snap_check_mem_layout(const struct snap_mem_layout *l, char *err, size_t errlen);
int snap_encode_mem_layout(struct snap_writer *w, const struct snap_mem_layout *l);
/* Exact length for the region count, then snap_check_mem_layout(). */
int snap_decode_mem_layout(const void *payload, uint32_t len, struct snap_mem_layout *l,
			   char *err, size_t errlen);

#endif
