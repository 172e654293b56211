/* Unit tests for the MP table writer: checksums, signatures, processor,
 * bus, IOAPIC and interrupt entries for 1..32 CPUs, EBDA fit, and the
 * error returns for bad CPU counts and non-RAM addresses. */
#include <criterion/criterion.h>
#include <errno.h>

#include "vmm/layout.h"
#include "vmm/mptable.h"
#include "vmm/util.h"

static struct guest_mem gm;

static void setup(void)
{
	cr_assert_eq(gm_init(&gm, MIB(4)), 0);
	memset(gm.base + 0x9f000, 0xa5, 0x2000);
}

static void teardown(void)
{
	gm_destroy(&gm);
}

TestSuite(mptable, .init = setup, .fini = teardown);

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }

static void check_table(unsigned n)
{
	const uint8_t *mpf = gm.base + LAYOUT_EBDA;
	const uint8_t *mpc, *p;
	uint16_t len;

	cr_assert_eq(mptable_write(&gm, LAYOUT_EBDA, n), 0, "ncpus %u", n);

	/* floating pointer (MP spec 1.4 §4.1) */
	cr_assert_eq(memcmp(mpf, "_MP_", 4), 0);
	cr_assert_eq(rd32(mpf + 4), LAYOUT_EBDA + 16);
	cr_assert_eq(mpf[8], 1, "length in 16-byte units");
	cr_assert_eq(mpf[9], 4, "spec revision 1.4");
	cr_assert_eq(mptable_checksum(mpf, 16), 0, "ncpus %u: floating pointer checksum", n);
	for (int i = 11; i < 16; i++)
		cr_assert_eq(mpf[i], 0, "feature byte %d (0: config table present)", i - 11);

	/* configuration table header (§4.2) */
	mpc = mpf + 16;
	len = rd16(mpc + 4);
	cr_assert_eq(memcmp(mpc, "PCMP", 4), 0);
	cr_assert_eq(mpc[6], 4);
	cr_assert_eq(len, mptable_size(n) - 16, "ncpus %u: base table length", n);
	cr_assert_eq(mptable_checksum(mpc, len), 0, "ncpus %u: config table checksum", n);
	cr_assert_eq(rd32(mpc + 36), LAYOUT_LAPIC);
	cr_assert_eq(rd16(mpc + 40), 0, "no extended table");

	p = mpc + 44;
	for (unsigned i = 0; i < n; i++, p += 20) {
		cr_assert_eq(p[0], 0, "processor entry type");
		cr_assert_eq(p[1], i, "APIC id");
		cr_assert_eq(p[3] & 1, 1, "cpu %u enabled", i);
		cr_assert_eq(!!(p[3] & 2), i == 0, "BSP flag only on cpu 0 (cpu %u)", i);
	}
	cr_assert_eq(p[0], 1, "bus entry");
	cr_assert_eq(memcmp(p + 2, "ISA   ", 6), 0);
	p += 8;
	cr_assert_eq(p[0], 2, "IOAPIC entry");
	cr_assert_eq(p[1], n, "IOAPIC id follows the CPUs");
	cr_assert_eq(p[3] & 1, 1, "IOAPIC enabled");
	cr_assert_eq(rd32(p + 4), LAYOUT_IOAPIC);
	p += 8;
	for (unsigned pin = 0; pin < LAYOUT_IOAPIC_PINS; pin++, p += 8) {
		cr_assert_eq(p[0], 3, "I/O interrupt entry");
		cr_assert_eq(p[1], 0, "INT");
		cr_assert_eq(p[5], pin, "source bus irq");
		cr_assert_eq(p[6], n, "destination IOAPIC");
		cr_assert_eq(p[7], pin, "destination pin");
	}
	cr_assert_eq(p[0], 4);
	cr_assert_eq(p[1], 3, "LINT0 ExtINT");
	cr_assert_eq(p[6], 0xff);
	cr_assert_eq(p[7], 0);
	cr_assert_eq(p[8], 4);
	cr_assert_eq(p[9], 1, "LINT1 NMI");
	cr_assert_eq(p[15], 1);
	p += 16;
	cr_assert_eq(p, mpf + mptable_size(n));
	cr_assert_eq(*p, 0xa5, "ncpus %u: nothing written past the tables", n);
	cr_assert_eq(gm.base[LAYOUT_EBDA - 1], 0xa5);
}

Test(mptable, all_cpu_counts)
{
	for (unsigned n = 1; n <= MPTABLE_MAX_CPUS; n++) {
		memset(gm.base + LAYOUT_EBDA, 0xa5, 0x400);
		check_table(n);
	}
}

Test(mptable, entry_count)
{
	/* MP spec 1.4 Table 4-2: ENTRY COUNT at offset 34 is the number of
	 * entries in the base table (Linux ignores it, other parsers do not). */
	for (unsigned n = 1; n <= MPTABLE_MAX_CPUS; n += 31) {
		const uint8_t *mpc = gm.base + LAYOUT_EBDA + 16;

		cr_assert_eq(mptable_write(&gm, LAYOUT_EBDA, n), 0);
		cr_assert_eq(rd16(mpc + 34), n + 1 + 1 + LAYOUT_IOAPIC_PINS + 2,
			     "ncpus %u: entry count %u", n, rd16(mpc + 34));
	}
}

Test(mptable, fits_in_ebda_for_max_cpus)
{
	cr_assert_leq(LAYOUT_EBDA + mptable_size(MPTABLE_MAX_CPUS), LAYOUT_EBDA_END);
	cr_assert_eq(mptable_size(2) - mptable_size(1), 20);
}

Test(mptable, checksum_helper)
{
	const uint8_t b[] = { 0x10, 0xf0, 0x01 };

	cr_assert_eq(mptable_checksum(b, 0), 0);
	cr_assert_eq(mptable_checksum(b, 2), 0);
	cr_assert_eq(mptable_checksum(b, 3), 1);
}

Test(mptable, bad_cpu_counts)
{
	cr_assert_eq(mptable_write(&gm, LAYOUT_EBDA, 0), -EINVAL);
	cr_assert_eq(mptable_write(&gm, LAYOUT_EBDA, MPTABLE_MAX_CPUS + 1), -EINVAL);
	cr_assert_eq(mptable_write(&gm, LAYOUT_EBDA, UINT32_MAX), -EINVAL);
	cr_assert_eq(gm.base[LAYOUT_EBDA], 0xa5, "nothing written");
}

Test(mptable, does_not_fit_at_ebda_end)
{
	cr_assert_eq(mptable_write(&gm, LAYOUT_EBDA_END - 0x100, MPTABLE_MAX_CPUS), -ENOSPC);
	cr_assert_eq(mptable_write(&gm, LAYOUT_EBDA_END - mptable_size(1) + 1, 1), -ENOSPC);
	cr_assert_eq(gm.base[LAYOUT_EBDA_END - 0x100], 0xa5);
}

Test(mptable, gpa_not_ram_efault)
{
	struct guest_mem tiny;

	/* 64 KiB of RAM: the EBDA address is not RAM */
	cr_assert_eq(gm_init(&tiny, KIB(64)), 0);
	cr_assert_eq(mptable_write(&tiny, LAYOUT_EBDA, 1), -EFAULT);
	cr_assert_eq(mptable_write(&tiny, KIB(64) - 16, 1), -EFAULT);
	gm_destroy(&tiny);
}

Test(mptable, gpa_beyond_ram_efault)
{
	/* header contract: -EFAULT if @gpa is not RAM */
	cr_assert_eq(mptable_write(&gm, MIB(64), 1), -EFAULT);
	cr_assert_eq(mptable_write(&gm, UINT64_MAX - 8, 1), -EFAULT);
}
