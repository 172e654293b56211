/* Per-vCPU x86 state at boot: normalised CPUID, the MSRs Linux expects,
 * LAPIC LINT0/LINT1 wiring, FPU defaults and the entry registers for the
 * 64-bit boot protocol and PVH. Also the register dump on guest faults. */
#ifndef FEMTOVM_X86_CPU_H
#define FEMTOVM_X86_CPU_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "vmm/loader.h"

/* Rewrite @c (a copy of KVM_GET_SUPPORTED_CPUID) for vCPU @apic_id of
 * @ncpus: APIC ids, topology (leaves 1, 4, 0xb, 0x1f), hypervisor bit, and
 * features femtovm cannot back (PMU, MONITOR/MWAIT, x2APIC-less leaves)
 * masked. Pure; unit-tested. */
void x86_cpuid_normalize(struct kvm_cpuid2 *c, unsigned apic_id, unsigned ncpus, bool smt);

/* CPUID, MSRs, LAPIC and FPU for one vCPU. 0 or -errno (logged). */
int x86_cpu_init(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned id,
		 unsigned ncpus, bool smt);

/* Entry registers of the boot vCPU for @kind at @entry. */
int x86_cpu_set_boot_regs(int vcpu_fd, enum boot_kind kind, uint64_t entry);

/* Log general-purpose and control registers of a vCPU (guest fault). */
void x86_cpu_dump(int vcpu_fd, unsigned id);

#endif
