/* Unit tests for x86_cpuid_normalize() on a fake KVM_GET_SUPPORTED_CPUID
 * table: APIC ids, hypervisor and feature bits, cache/x2APIC topology for
 * 1, 2, 4 (SMT) and 32 vCPUs, and the zeroed PMU leaf. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "vmm/x86_cpu.h"

enum { E_1, E_4_L1, E_4_L3, E_6, E_A, E_B0, E_B1, E_B2, E_1F0, E_1F1, E_OTHER, NENT };

static struct kvm_cpuid2 *c;

static struct kvm_cpuid_entry2 *ent(unsigned i)
{
	return &c->entries[i];
}

static void make(void)
{
	free(c);
	c = calloc(1, sizeof(*c) + NENT * sizeof(c->entries[0]));
	cr_assert_not_null(c);
	c->nent = NENT;
	/* host-like values, with garbage in the fields that must be rewritten */
	*ent(E_1) = (struct kvm_cpuid_entry2){ .function = 1, .eax = 0x000806f8,
		.ebx = 0x07ff0800, .ecx = 0x7ffafbff, .edx = 0xbfebfbff };
	*ent(E_4_L1) = (struct kvm_cpuid_entry2){ .function = 4, .index = 0,
		.eax = 0xfc00c121 /* L1 data, level 1, garbage in 31:14 */, .ebx = 0x01c0003f };
	*ent(E_4_L3) = (struct kvm_cpuid_entry2){ .function = 4, .index = 3,
		.eax = 0xfc0fc163 /* unified, level 3 */, .ebx = 0x03c0003f };
	*ent(E_6) = (struct kvm_cpuid_entry2){ .function = 6, .eax = 0x4, .ecx = 0x9 };
	*ent(E_A) = (struct kvm_cpuid_entry2){ .function = 0xa, .eax = 0x07300805,
		.ebx = 0x7f, .ecx = 0x1, .edx = 0x8603 };
	*ent(E_B0) = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 0,
		.eax = 9, .ebx = 9, .ecx = 9, .edx = 99 };
	*ent(E_B1) = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1,
		.eax = 9, .ebx = 9, .ecx = 9, .edx = 99 };
	*ent(E_B2) = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 2,
		.eax = 9, .ebx = 9, .ecx = 9, .edx = 99 };
	*ent(E_1F0) = (struct kvm_cpuid_entry2){ .function = 0x1f, .index = 0, .edx = 99 };
	*ent(E_1F1) = (struct kvm_cpuid_entry2){ .function = 0x1f, .index = 1, .edx = 99 };
	*ent(E_OTHER) = (struct kvm_cpuid_entry2){ .function = 7, .ebx = 0x12345678,
		.ecx = 0x9abcdef0 };
}

static void fini(void)
{
	free(c);
	c = NULL;
}

TestSuite(cpuid, .fini = fini);

static void check_common(unsigned apic)
{
	cr_assert_eq(ent(E_1)->ebx >> 24, apic, "leaf 1 initial APIC id");
	cr_assert_eq(ent(E_1)->ebx & 0xffff, 0x0800, "brand/clflush bits kept");
	cr_assert_eq(ent(E_1)->ecx & (1u << 31), 1u << 31, "hypervisor bit");
	cr_assert_eq(ent(E_1)->ecx & (1u << 3), 0, "no MONITOR/MWAIT");
	cr_assert_eq(ent(E_1)->eax, 0x000806f8, "signature untouched");
	cr_assert_eq(ent(E_A)->eax, 0);
	cr_assert_eq(ent(E_A)->ebx, 0);
	cr_assert_eq(ent(E_A)->ecx, 0);
	cr_assert_eq(ent(E_A)->edx, 0, "PMU leaf zeroed");
	cr_assert_eq(ent(E_6)->ecx & 1, 0);
	cr_assert_eq(ent(E_6)->eax, 0x4);
	cr_assert_eq(ent(E_4_L1)->eax & 0x3fff, 0x0121, "cache type/level bits kept");
	cr_assert_eq(ent(E_4_L3)->eax & 0x3fff, 0x0163);
	cr_assert_eq(ent(E_4_L1)->ebx, 0x01c0003f);
	for (unsigned i = E_B0; i <= E_1F1; i++)
		cr_assert_eq(ent(i)->edx, apic, "x2APIC id in leaf 0x%x.%u", ent(i)->function,
			     ent(i)->index);
	cr_assert_eq(ent(E_B0)->ecx, 0x100 | 0, "level 0 is SMT");
	cr_assert_eq(ent(E_B1)->ecx, 0x200 | 1, "level 1 is core");
	cr_assert_eq(ent(E_B2)->ecx & 0xff00, 0, "level 2 invalid");
	cr_assert_eq(ent(E_B2)->ecx & 0xff, 2);
	cr_assert_eq(ent(E_B2)->eax, 0);
	cr_assert_eq(ent(E_B2)->ebx, 0);
	cr_assert_eq(ent(E_OTHER)->ebx, 0x12345678, "unrelated leaves untouched");
	cr_assert_eq(ent(E_OTHER)->ecx, 0x9abcdef0);
}

Test(cpuid, one_cpu)
{
	make();
	x86_cpuid_normalize(c, 0, 1, false);
	check_common(0);
	cr_assert_eq((ent(E_1)->ebx >> 16) & 0xff, 1);
	cr_assert_eq(ent(E_4_L1)->eax >> 26, 0, "1 core");
	cr_assert_eq((ent(E_4_L1)->eax >> 14) & 0xfff, 0);
	cr_assert_eq((ent(E_4_L3)->eax >> 14) & 0xfff, 0);
	cr_assert_eq(ent(E_B0)->eax, 0);
	cr_assert_eq(ent(E_B0)->ebx, 1);
	cr_assert_eq(ent(E_B1)->eax, 0);
	cr_assert_eq(ent(E_B1)->ebx, 1);
}

Test(cpuid, one_cpu_smt_is_one_thread)
{
	make();
	x86_cpuid_normalize(c, 0, 1, true);
	check_common(0);
	cr_assert_eq(ent(E_B0)->ebx, 1);
	cr_assert_eq(ent(E_B0)->eax, 0);
}

Test(cpuid, two_cpus)
{
	make();
	x86_cpuid_normalize(c, 1, 2, false);
	check_common(1);
	cr_assert_eq((ent(E_1)->ebx >> 16) & 0xff, 2);
	cr_assert_eq(ent(E_1)->edx & (1u << 28), 1u << 28, "HTT");
	cr_assert_eq(ent(E_4_L1)->eax >> 26, 1, "2 cores - 1");
	cr_assert_eq((ent(E_4_L1)->eax >> 14) & 0xfff, 0, "L1 per core");
	cr_assert_eq((ent(E_4_L3)->eax >> 14) & 0xfff, 1, "L3 shared by both");
	cr_assert_eq(ent(E_B0)->eax, 0);
	cr_assert_eq(ent(E_B0)->ebx, 1);
	cr_assert_eq(ent(E_B1)->eax, 1);
	cr_assert_eq(ent(E_B1)->ebx, 2);
}

Test(cpuid, four_cpus_smt)
{
	make();
	x86_cpuid_normalize(c, 3, 4, true);
	check_common(3);
	cr_assert_eq((ent(E_1)->ebx >> 16) & 0xff, 4);
	cr_assert_eq(ent(E_4_L1)->eax >> 26, 1, "2 cores - 1");
	cr_assert_eq((ent(E_4_L1)->eax >> 14) & 0xfff, 1, "L1 shared by 2 threads");
	cr_assert_eq((ent(E_4_L3)->eax >> 14) & 0xfff, 3);
	cr_assert_eq(ent(E_B0)->eax, 1, "1 bit of thread id");
	cr_assert_eq(ent(E_B0)->ebx, 2);
	cr_assert_eq(ent(E_B1)->eax, 2);
	cr_assert_eq(ent(E_B1)->ebx, 4);
}

Test(cpuid, thirty_two_cpus)
{
	for (unsigned apic = 0; apic < 32; apic += 31) {
		make();
		x86_cpuid_normalize(c, apic, 32, false);
		check_common(apic);
		cr_assert_eq((ent(E_1)->ebx >> 16) & 0xff, 32);
		cr_assert_eq(ent(E_4_L1)->eax >> 26, 31);
		cr_assert_eq((ent(E_4_L3)->eax >> 14) & 0xfff, 31);
		cr_assert_eq(ent(E_B1)->eax, 5, "32 = 2^5 logical processors");
		cr_assert_eq(ent(E_B1)->ebx, 32);
		cr_assert_eq(ent(E_1F1)->eax, 5);
	}
	make();
	x86_cpuid_normalize(c, 31, 32, true);
	cr_assert_eq(ent(E_4_L1)->eax >> 26, 15, "16 cores - 1");
	cr_assert_eq(ent(E_B0)->ebx, 2);
	cr_assert_eq(ent(E_B1)->ebx, 32);
}

Test(cpuid, three_cpus_rounds_bits_up)
{
	make();
	x86_cpuid_normalize(c, 2, 3, false);
	cr_assert_eq(ent(E_B1)->eax, 2, "3 CPUs need 2 id bits");
	cr_assert_eq(ent(E_B1)->ebx, 3);
}

Test(cpuid, empty_table)
{
	struct kvm_cpuid2 empty = { .nent = 0 };

	x86_cpuid_normalize(&empty, 0, 1, false);
	cr_assert_eq(empty.nent, 0);
}
