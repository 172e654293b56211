/* vCPU architectural setup (Intel SDM Vol. 3 §9 processor initialisation,
 * Linux boot.rst for the entry state) and the fault-time register dump. */
#include "vmm/x86_cpu.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/x86_boot.h"

/* MSR numbers (SDM Vol. 4); Linux's msr-index.h is not a uapi header. */
#define MSR_IA32_TSC 0x10
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MISC_ENABLE_FAST_STRING 1ULL
#define MTRR_ENABLE_WB ((1ULL << 11) | 6) /* MTRRs on, default write-back */

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static int cpu_fail(const char *what)
{
	int e = errno;

	log_err("%s: %s", what, strerror(e));
	return -e;
}

static unsigned bits_for(unsigned n)
{
	unsigned b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

void x86_cpuid_normalize(struct kvm_cpuid2 *c, unsigned apic_id, unsigned ncpus, bool smt)
{
	unsigned threads = (smt && ncpus > 1) ? 2 : 1;
	unsigned cores = (ncpus + threads - 1) / threads;

	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			/* EBX[31:24] initial APIC id, [23:16] logical processors */
			e->ebx = (e->ebx & 0xffff) | (apic_id << 24) |
				 ((ncpus > 1 ? ncpus : 1) << 16);
			e->ecx |= 1u << 31;  /* running under a hypervisor */
			e->ecx &= ~(1u << 3); /* no MONITOR/MWAIT to back */
			if (ncpus > 1)
				e->edx |= 1u << 28; /* HTT: multi-processor package */
			break;
		case 4:
			/* EAX[31:26] cores per package - 1, [25:14] sharing - 1 */
			e->eax &= 0x3fff;
			e->eax |= (cores - 1) << 26;
			if (((e->eax >> 5) & 7) == 3) /* L3 shared by the package */
				e->eax |= (ncpus - 1) << 14;
			else
				e->eax |= (threads - 1) << 14;
			break;
		case 6:
			e->ecx &= ~1u; /* no hardware coordination feedback */
			break;
		case 0xa:
			/* No guest PMU: femtovm exposes no performance counters. */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			/* x2APIC topology: level 0 = SMT, level 1 = core. */
			e->edx = apic_id;
			if (e->index == 0) {
				e->eax = bits_for(threads);
				e->ebx = threads;
				e->ecx = (1u << 8) | 0;
			} else if (e->index == 1) {
				e->eax = bits_for(ncpus);
				e->ebx = ncpus;
				e->ecx = (2u << 8) | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		default:
			break;
		}
	}
}

static int set_cpuid(int fd, const struct kvm_cpuid2 *sup, unsigned id, unsigned ncpus, bool smt)
{
	size_t sz = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	int ret = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, sup, sz);
	x86_cpuid_normalize(c, id, ncpus, smt);
	if (ioctl(fd, KVM_SET_CPUID2, c) < 0)
		ret = cpu_fail("KVM_SET_CPUID2");
	free(c);
	return ret;
}

static int set_msrs(int fd)
{
	static const struct kvm_msr_entry vals[] = {
		{ .index = MSR_IA32_SYSENTER_CS }, { .index = MSR_IA32_SYSENTER_ESP },
		{ .index = MSR_IA32_SYSENTER_EIP }, { .index = MSR_STAR },
		{ .index = MSR_CSTAR }, { .index = MSR_KERNEL_GS_BASE },
		{ .index = MSR_SYSCALL_MASK }, { .index = MSR_LSTAR },
		{ .index = MSR_IA32_TSC },
		{ .index = MSR_IA32_MISC_ENABLE, .data = MISC_ENABLE_FAST_STRING },
		{ .index = MSR_MTRR_DEF_TYPE, .data = MTRR_ENABLE_WB },
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[ARRAY_SIZE(vals)];
	} msrs = { .hdr.nmsrs = ARRAY_SIZE(vals) };
	int n;

	memcpy(msrs.e, vals, sizeof(vals));
	n = ioctl(fd, KVM_SET_MSRS, &msrs);
	if (n < 0)
		return cpu_fail("KVM_SET_MSRS");
	if (n != (int)ARRAY_SIZE(vals)) {
		log_err("KVM_SET_MSRS: MSR 0x%x rejected", vals[n].index);
		return -EINVAL;
	}
	return 0;
}

static int set_lapic(int fd)
{
	struct kvm_lapic_state l;
	uint32_t *lvt0 = (uint32_t *)&l.regs[APIC_LVT0];
	uint32_t *lvt1 = (uint32_t *)&l.regs[APIC_LVT1];

	if (ioctl(fd, KVM_GET_LAPIC, &l) < 0)
		return cpu_fail("KVM_GET_LAPIC");
	/* LINT0 = ExtINT (legacy PIC), LINT1 = NMI, as on a PC (Linux expects it). */
	*lvt0 = (*lvt0 & ~0x700u) | (APIC_MODE_EXTINT << 8);
	*lvt1 = (*lvt1 & ~0x700u) | (APIC_MODE_NMI << 8);
	if (ioctl(fd, KVM_SET_LAPIC, &l) < 0)
		return cpu_fail("KVM_SET_LAPIC");
	return 0;
}

int x86_cpu_init(int fd, const struct kvm_cpuid2 *sup, unsigned id, unsigned ncpus, bool smt)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	int ret = set_cpuid(fd, sup, id, ncpus, smt);

	if (!ret)
		ret = set_msrs(fd);
	if (!ret)
		ret = set_lapic(fd);
	if (!ret && ioctl(fd, KVM_SET_FPU, &fpu) < 0)
		ret = cpu_fail("KVM_SET_FPU");
	return ret;
}

int x86_cpu_set_boot_regs(int fd, enum boot_kind kind, uint64_t entry)
{
	struct kvm_regs regs = { .rflags = 0x2, .rip = entry, .rsp = LAYOUT_BOOT_STACK,
				 .rbp = LAYOUT_BOOT_STACK };
	struct kvm_sregs s;
	uint16_t cs_sel = kind == BOOT_PVH ? LAYOUT_SEL_CODE32 : LAYOUT_SEL_CODE64;
	struct kvm_segment data;

	if (ioctl(fd, KVM_GET_SREGS, &s) < 0)
		return cpu_fail("KVM_GET_SREGS");
	s.gdt.base = LAYOUT_GDT_ADDR;
	s.gdt.limit = LAYOUT_GDT_ENTRIES * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cs = x86_segment_from_gdt(x86_gdt_entry(cs_sel / 8), cs_sel);
	data = x86_segment_from_gdt(x86_gdt_entry(LAYOUT_SEL_DATA / 8), LAYOUT_SEL_DATA);
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.tr = x86_segment_from_gdt(x86_gdt_entry(LAYOUT_SEL_TSS / 8), LAYOUT_SEL_TSS);
	if (kind == BOOT_PVH) {
		/* PVH ABI: 32-bit protected mode, paging off, ebx = start info. */
		s.cr0 = CR0_PE | CR0_ET;
		s.cr4 = 0;
		s.efer = 0;
		regs.rbx = LAYOUT_ZERO_PAGE;
	} else {
		/* 64-bit boot protocol: long mode on the identity map, rsi = zero page. */
		s.cr0 = CR0_PE | CR0_ET | CR0_PG;
		s.cr3 = LAYOUT_PML4;
		s.cr4 = CR4_PAE;
		s.efer = EFER_LME | EFER_LMA;
		regs.rsi = LAYOUT_ZERO_PAGE;
	}
	if (ioctl(fd, KVM_SET_SREGS, &s) < 0)
		return cpu_fail("KVM_SET_SREGS");
	if (ioctl(fd, KVM_SET_REGS, &regs) < 0)
		return cpu_fail("KVM_SET_REGS");
	return 0;
}

void x86_cpu_dump(int fd, unsigned id)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(fd, KVM_GET_REGS, &r) < 0 || ioctl(fd, KVM_GET_SREGS, &s) < 0) {
		log_err("vcpu%u: cannot read registers: %s", id, strerror(errno));
		return;
	}
	log_err("vcpu%u: rip=%016llx rsp=%016llx rflags=%016llx", id, r.rip, r.rsp, r.rflags);
	log_err("vcpu%u: rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx", id,
		r.rax, r.rbx, r.rcx, r.rdx);
	log_err("vcpu%u: rsi=%016llx rdi=%016llx rbp=%016llx r8=%016llx", id,
		r.rsi, r.rdi, r.rbp, r.r8);
	log_err("vcpu%u: cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%016llx", id,
		s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	log_err("vcpu%u: cs=%04x ss=%04x gdt=%016llx/%04x idt=%016llx/%04x", id,
		s.cs.selector, s.ss.selector, s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
}
