/* Unit tests for guest memory: the region layout around the 32-bit MMIO
 * hole and the checked accessors gm_ptr/gm_read/gm_write at every edge,
 * including overflowing and region-spanning ranges. */
#include <criterion/criterion.h>
#include <errno.h>

#include "vmm/guest_mem.h"
#include "vmm/layout.h"
#include "vmm/util.h"

Test(guest_mem, layout_rejects_zero_and_unaligned)
{
	struct guest_mem gm;

	cr_assert_eq(gm_layout(&gm, 0), -EINVAL);
	cr_assert_eq(gm_layout(&gm, 4095), -EINVAL);
	cr_assert_eq(gm_layout(&gm, MIB(1) + 1), -EINVAL);
	cr_assert_eq(gm_layout(&gm, MIB(1) + 0x800), -EINVAL);
	cr_assert_eq(gm_init(&gm, MIB(1) + 0x800), -EINVAL);
	cr_assert_null(gm.base);
}

Test(guest_mem, layout_1mib)
{
	struct guest_mem gm;

	cr_assert_eq(gm_layout(&gm, MIB(1)), 0);
	cr_assert_eq(gm.nr_regions, 1);
	cr_assert_eq(gm.regions[0].gpa, 0);
	cr_assert_eq(gm.regions[0].size, MIB(1));
	cr_assert_eq(gm.size, MIB(1));
	cr_assert_eq(gm_low_end(&gm), MIB(1));
}

Test(guest_mem, layout_3gib_exactly_has_one_region)
{
	struct guest_mem gm;

	cr_assert_eq(gm_layout(&gm, GIB(3)), 0);
	cr_assert_eq(gm.nr_regions, 1);
	cr_assert_eq(gm.regions[0].size, GIB(3));
	cr_assert_eq(gm_low_end(&gm), LAYOUT_MMIO_HOLE);
}

Test(guest_mem, layout_3gib_plus_4k_splits_at_hole)
{
	struct guest_mem gm;

	cr_assert_eq(gm_layout(&gm, GIB(3) + KIB(4)), 0);
	cr_assert_eq(gm.nr_regions, 2);
	cr_assert_eq(gm.regions[0].gpa, 0);
	cr_assert_eq(gm.regions[0].size, GIB(3));
	cr_assert_eq(gm.regions[1].gpa, GIB(4));
	cr_assert_eq(gm.regions[1].size, KIB(4));
	cr_assert_eq(gm.size, GIB(3) + KIB(4));
	cr_assert_eq(gm_low_end(&gm), GIB(3));
}

Test(guest_mem, layout_16gib)
{
	struct guest_mem gm;

	cr_assert_eq(gm_layout(&gm, GIB(16)), 0);
	cr_assert_eq(gm.nr_regions, 2);
	cr_assert_eq(gm.regions[0].size, GIB(3));
	cr_assert_eq(gm.regions[1].gpa, GIB(4));
	cr_assert_eq(gm.regions[1].size, GIB(13));
	/* no host mapping: gm_ptr refuses even valid ranges */
	cr_assert_null(gm_ptr(&gm, 0x1000, 8));
	cr_assert_null(gm_ptr(&gm, GIB(4), 8));
}

static struct guest_mem small;

static void small_setup(void)
{
	cr_assert_eq(gm_init(&small, MIB(4)), 0);
	cr_assert_not_null(small.base);
}

static void small_teardown(void)
{
	gm_destroy(&small);
	cr_assert_null(small.base);
}

TestSuite(gm_small, .init = small_setup, .fini = small_teardown);

Test(gm_small, ptr_edges)
{
	uint8_t *base = small.base;

	cr_assert_eq(gm_ptr(&small, 0, 1), base);
	cr_assert_eq(gm_ptr(&small, 0, MIB(4)), base);
	cr_assert_null(gm_ptr(&small, 0, MIB(4) + 1));
	cr_assert_eq(gm_ptr(&small, MIB(4) - 1, 1), base + MIB(4) - 1);
	cr_assert_null(gm_ptr(&small, MIB(4) - 1, 2));
	cr_assert_null(gm_ptr(&small, MIB(4), 1));
	cr_assert_null(gm_ptr(&small, MIB(64), 1));
}

Test(gm_small, ptr_len_zero)
{
	uint8_t *base = small.base;

	cr_assert_eq(gm_ptr(&small, 0, 0), base);
	cr_assert_eq(gm_ptr(&small, 0x1234, 0), base + 0x1234);
	cr_assert_eq(gm_ptr(&small, MIB(4), 0), base + MIB(4), "end of region allowed for len 0");
	cr_assert_null(gm_ptr(&small, MIB(4) + 1, 0));
}

Test(gm_small, ptr_overflow)
{
	cr_assert_null(gm_ptr(&small, 1, UINT64_MAX));
	cr_assert_null(gm_ptr(&small, UINT64_MAX, 1));
	cr_assert_null(gm_ptr(&small, UINT64_MAX, 0));
	cr_assert_null(gm_ptr(&small, 0x1000, UINT64_MAX - 0xfff));
	cr_assert_null(gm_ptr(&small, 0x1000, UINT64_MAX - 0x800));
	cr_assert_null(gm_ptr(&small, UINT64_MAX - 0xf, 0x20));
	cr_assert_null(gm_ptr(&small, 0, UINT64_MAX));
}

Test(gm_small, read_write_roundtrip_and_efault)
{
	uint8_t in[16], out[16];

	for (int i = 0; i < 16; i++)
		in[i] = (uint8_t)(0xa0 + i);
	cr_assert_eq(gm_write(&small, MIB(4) - 16, in, 16), 0);
	cr_assert_eq(gm_read(&small, out, MIB(4) - 16, 16), 0);
	cr_assert_arr_eq(in, out, 16);
	cr_assert_eq(small.base[MIB(4) - 16], 0xa0);

	memset(out, 0x5a, sizeof(out));
	cr_assert_eq(gm_read(&small, out, MIB(4) - 15, 16), -EFAULT);
	cr_assert_eq(out[0], 0x5a, "failed read must not copy");
	cr_assert_eq(gm_write(&small, MIB(4) - 15, in, 16), -EFAULT);
	cr_assert_eq(small.base[MIB(4) - 1], 0xaf, "failed write must not copy");
	cr_assert_eq(gm_write(&small, UINT64_MAX - 7, in, 16), -EFAULT);
	cr_assert_eq(gm_read(&small, out, 8, UINT64_MAX), -EFAULT);
	cr_assert_eq(gm_read(&small, out, 0, 0), 0);
	cr_assert_eq(gm_write(&small, MIB(4), in, 0), 0);
}

Test(guest_mem, two_regions_real_mapping)
{
	/* 3 GiB + 8 KiB: a real (lazily populated, NORESERVE) mapping; only a
	 * few pages are touched. */
	struct guest_mem gm;
	uint8_t buf[8];
	uint8_t *hi;

	cr_assert_eq(gm_init(&gm, GIB(3) + KIB(8)), 0);
	cr_assert_eq(gm.nr_regions, 2);
	hi = gm.base + GIB(3);
	cr_assert_eq(gm.regions[1].hva, hi);
	cr_assert_eq(gm_ptr(&gm, GIB(4), 8), hi);
	cr_assert_eq(gm_ptr(&gm, GIB(4) + KIB(8) - 8, 8), hi + KIB(8) - 8);
	cr_assert_eq(gm_ptr(&gm, GIB(4) + KIB(8), 0), hi + KIB(8));
	cr_assert_null(gm_ptr(&gm, GIB(4) + KIB(8) - 7, 8));
	cr_assert_null(gm_ptr(&gm, GIB(4) + KIB(8), 1));
	cr_assert_null(gm_ptr(&gm, GIB(4) - 1, 2), "range starting in the hole");
	cr_assert_null(gm_ptr(&gm, GIB(3), 1), "hole start");
	cr_assert_null(gm_ptr(&gm, GIB(3) + 0x1000, 1), "inside the hole");
	cr_assert_null(gm_ptr(&gm, GIB(4) - 1, 1), "hole end");
	cr_assert_null(gm_ptr(&gm, GIB(3) - 4, 8), "spanning the hole start");
	cr_assert_null(gm_ptr(&gm, GIB(3) - 4, GIB(1) + 8), "spanning both regions");
	cr_assert_null(gm_ptr(&gm, 0, GIB(3) + KIB(8)), "whole RAM is two regions");
	cr_assert_eq(gm_ptr(&gm, GIB(3) - 8, 8), gm.base + GIB(3) - 8);
	cr_assert_eq(gm_read(&gm, buf, GIB(3) - 4, 8), -EFAULT);
	cr_assert_eq(gm_write(&gm, GIB(4) - 4, buf, 8), -EFAULT);
	cr_assert_eq(gm_write(&gm, GIB(4), "abcdefgh", 8), 0);
	cr_assert_eq(memcmp(hi, "abcdefgh", 8), 0);
	cr_assert_eq(gm_write(&gm, GIB(3) - 8, "ABCDEFGH", 8), 0);
	cr_assert_eq(gm_read(&gm, buf, GIB(3) - 8, 8), 0);
	cr_assert_eq(memcmp(buf, "ABCDEFGH", 8), 0);
	gm_destroy(&gm);
}
