/* Unit tests for the PIO/MMIO bus: registration rules (overlap, zero length,
 * wrapping, capacity), lookup at range edges, dispatch with offsets, and the
 * unmapped-access contract (-ENOENT, reads return zeros). */
#include <criterion/criterion.h>
#include <errno.h>

#include "unit_util.h"
#include "vmm/bus.h"

static struct bus b;
static struct rec_dev d1, d2, d3;

static void setup(void)
{
	bus_init(&b, "test");
	memset(&d1, 0, sizeof(d1));
	memset(&d2, 0, sizeof(d2));
	memset(&d3, 0, sizeof(d3));
	d1.fill = 0x10;
	d2.fill = 0x40;
	d3.fill = 0x80;
}

TestSuite(bus, .init = setup);

Test(bus, init_is_empty)
{
	cr_assert_eq(b.nr, 0);
	cr_assert_str_eq(b.name, "test");
	cr_assert_null(bus_find(&b, 0, 1));
}

Test(bus, register_rejects_zero_len_wrap_and_null_ops)
{
	cr_assert_eq(bus_register(&b, 0x100, 0, &rec_ops, &d1, "z"), -EINVAL);
	cr_assert_eq(bus_register(&b, UINT64_MAX, 2, &rec_ops, &d1, "w"), -EINVAL);
	cr_assert_eq(bus_register(&b, UINT64_MAX - 0xf, 0x20, &rec_ops, &d1, "w"), -EINVAL);
	cr_assert_eq(bus_register(&b, 1, UINT64_MAX, &rec_ops, &d1, "w"), -EINVAL);
	cr_assert_eq(bus_register(&b, 0x100, 0x10, NULL, &d1, "n"), -EINVAL);
	cr_assert_eq(b.nr, 0);
}

Test(bus, overlap_every_arrangement)
{
	/* existing [0x100, 0x110) */
	cr_assert_eq(bus_register(&b, 0x100, 0x10, &rec_ops, &d1, "a"), 0);
	/* identical */
	cr_assert_eq(bus_register(&b, 0x100, 0x10, &rec_ops, &d2, "x"), -EEXIST);
	/* inside */
	cr_assert_eq(bus_register(&b, 0x104, 0x4, &rec_ops, &d2, "x"), -EEXIST);
	/* containing */
	cr_assert_eq(bus_register(&b, 0xf0, 0x40, &rec_ops, &d2, "x"), -EEXIST);
	/* overlapping the start */
	cr_assert_eq(bus_register(&b, 0xf8, 0x9, &rec_ops, &d2, "x"), -EEXIST);
	/* overlapping the end */
	cr_assert_eq(bus_register(&b, 0x10f, 0x10, &rec_ops, &d2, "x"), -EEXIST);
	/* same start, longer */
	cr_assert_eq(bus_register(&b, 0x100, 0x1000, &rec_ops, &d2, "x"), -EEXIST);
	/* same end, earlier start */
	cr_assert_eq(bus_register(&b, 0x80, 0x90, &rec_ops, &d2, "x"), -EEXIST);
	/* single byte at the last address */
	cr_assert_eq(bus_register(&b, 0x10f, 1, &rec_ops, &d2, "x"), -EEXIST);
	cr_assert_eq(b.nr, 1);
	/* adjacent on both sides is fine */
	cr_assert_eq(bus_register(&b, 0xf8, 0x8, &rec_ops, &d2, "below"), 0);
	cr_assert_eq(bus_register(&b, 0x110, 0x8, &rec_ops, &d3, "above"), 0);
	cr_assert_eq(b.nr, 3);
	/* spanning a gap across two existing ranges */
	cr_assert_eq(bus_register(&b, 0x200, 0x10, &rec_ops, &d1, "far"), 0);
	cr_assert_eq(bus_register(&b, 0x117, 0xf0, &rec_ops, &d1, "x"), -EEXIST);
	cr_assert_eq(bus_register(&b, 0x118, 0xe8, &rec_ops, &d1, "gap"), 0);
	cr_assert_eq(bus_register(&b, 0x0, 0x1000, &rec_ops, &d1, "x"), -EEXIST);
	cr_assert_eq(b.nr, 5);
}

Test(bus, overlap_with_later_ranges_when_inserting_first)
{
	cr_assert_eq(bus_register(&b, 0x300, 0x10, &rec_ops, &d1, "c"), 0);
	cr_assert_eq(bus_register(&b, 0x200, 0x10, &rec_ops, &d1, "b"), 0);
	/* starts before everything, overlaps the second-sorted range only */
	cr_assert_eq(bus_register(&b, 0x0, 0x301, &rec_ops, &d1, "x"), -EEXIST);
	cr_assert_eq(bus_register(&b, 0x0, 0x200, &rec_ops, &d1, "a"), 0);
}

Test(bus, top_of_address_space)
{
	/* [UINT64_MAX - 0x10, UINT64_MAX) ends at the top without wrapping */
	cr_assert_eq(bus_register(&b, UINT64_MAX - 0x10, 0x10, &rec_ops, &d1, "top"), 0);
	cr_assert_eq(bus_find(&b, UINT64_MAX - 0x10, 8)->opaque, &d1);
	cr_assert_eq(bus_find(&b, UINT64_MAX - 1, 1)->opaque, &d1);
	cr_assert_null(bus_find(&b, UINT64_MAX - 1, 2));
	cr_assert_null(bus_find(&b, UINT64_MAX, 1));
}

Test(bus, full_bus_enospc)
{
	for (unsigned i = 0; i < BUS_MAX_RANGES; i++)
		cr_assert_eq(bus_register(&b, 0x1000 + 0x10 * (uint64_t)i, 0x10, &rec_ops, &d1, "r"), 0);
	cr_assert_eq(b.nr, BUS_MAX_RANGES);
	cr_assert_eq(bus_register(&b, 0x100000, 0x10, &rec_ops, &d1, "r"), -ENOSPC);
	cr_assert_eq(b.nr, BUS_MAX_RANGES);
	/* every one of them is still found */
	for (unsigned i = 0; i < BUS_MAX_RANGES; i++) {
		const struct bus_range *r = bus_find(&b, 0x1000 + 0x10 * (uint64_t)i + 0xf, 1);

		cr_assert_not_null(r);
		cr_assert_eq(r->base, 0x1000 + 0x10 * (uint64_t)i);
	}
}

Test(bus, sorted_after_random_order)
{
	static const uint64_t bases[] = { 0x500, 0x100, 0x900, 0x300, 0x0, 0x700 };

	for (unsigned i = 0; i < 6; i++)
		cr_assert_eq(bus_register(&b, bases[i], 0x80, &rec_ops, &d1, "r"), 0);
	cr_assert_eq(b.nr, 6);
	for (unsigned i = 1; i < b.nr; i++)
		cr_assert_lt(b.ranges[i - 1].base, b.ranges[i].base);
	for (unsigned i = 0; i < 6; i++) {
		cr_assert_eq(bus_find(&b, bases[i], 1)->base, bases[i]);
		cr_assert_eq(bus_find(&b, bases[i] + 0x7f, 1)->base, bases[i]);
		cr_assert_null(bus_find(&b, bases[i] + 0x80, 1));
	}
}

Test(bus, find_edges_and_straddle)
{
	cr_assert_eq(bus_register(&b, 0x3f8, 8, &rec_ops, &d1, "com1"), 0);
	cr_assert_null(bus_find(&b, 0x3f7, 1));
	cr_assert_not_null(bus_find(&b, 0x3f8, 1));
	cr_assert_not_null(bus_find(&b, 0x3f8, 8));
	cr_assert_null(bus_find(&b, 0x3f8, 9));
	cr_assert_not_null(bus_find(&b, 0x3ff, 1));
	cr_assert_null(bus_find(&b, 0x3ff, 2));
	cr_assert_null(bus_find(&b, 0x3fc, 8));
	cr_assert_not_null(bus_find(&b, 0x3fc, 4));
	cr_assert_null(bus_find(&b, 0x400, 1));
	/* access starting below the range but ending inside it */
	cr_assert_null(bus_find(&b, 0x3f6, 4));
	cr_assert_null(bus_find(&b, 0x3ff, UINT32_MAX));
}

Test(bus, straddle_between_adjacent_ranges_is_unmapped)
{
	uint8_t data[4] = { 0xaa, 0xaa, 0xaa, 0xaa };
	const uint8_t w[4] = { 1, 2, 3, 4 };

	cr_assert_eq(bus_register(&b, 0x10, 0x10, &rec_ops, &d1, "a"), 0);
	cr_assert_eq(bus_register(&b, 0x20, 0x10, &rec_ops, &d2, "b"), 0);
	cr_assert_eq(bus_read(&b, 0x1e, data, 4), -ENOENT);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(data[i], 0);
	cr_assert_eq(bus_write(&b, 0x1e, w, 4), -ENOENT);
	cr_assert_eq(d1.reads + d1.writes + d2.reads + d2.writes, 0);
}

Test(bus, dispatch_passes_offset_len_and_data)
{
	uint8_t data[8];
	const uint8_t w[4] = { 0xde, 0xad, 0xbe, 0xef };

	cr_assert_eq(bus_register(&b, 0x1000, 0x100, &rec_ops, &d1, "a"), 0);
	cr_assert_eq(bus_register(&b, 0x2000, 0x100, &rec_ops, &d2, "b"), 0);

	memset(data, 0xcc, sizeof(data));
	cr_assert_eq(bus_read(&b, 0x2010, data, 4), 0);
	cr_assert_eq(d2.reads, 1);
	cr_assert_eq(d1.reads, 0);
	cr_assert_eq(d2.last_off, 0x10);
	cr_assert_eq(d2.last_len, 4);
	cr_assert_eq(data[0], 0x50);
	cr_assert_eq(data[3], 0x53);
	cr_assert_eq(data[4], 0xcc, "bytes beyond len must not be touched");

	cr_assert_eq(bus_write(&b, 0x10fc, w, 4), 0);
	cr_assert_eq(d1.writes, 1);
	cr_assert_eq(d1.last_off, 0xfc);
	cr_assert_eq(d1.last_len, 4);
	cr_assert_arr_eq(d1.last_data, w, 4);
}

Test(bus, unmapped_read_zeroes_and_enoent)
{
	uint8_t data[8];

	memset(data, 0xcc, sizeof(data));
	cr_assert_eq(bus_read(&b, 0x1234, data, 8), -ENOENT);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(data[i], 0);
	cr_assert_eq(bus_write(&b, 0x1234, data, 1), -ENOENT);
}

static void only_write(void *o, uint64_t off, const uint8_t *data, uint32_t len)
{
	rec_write(o, off, data, len);
}

static const struct bus_ops write_only_ops = { .write = only_write };
static const struct bus_ops read_only_ops = { .read = rec_read };

Test(bus, missing_callbacks_behave_as_unmapped)
{
	uint8_t data[2] = { 0xcc, 0xcc };

	cr_assert_eq(bus_register(&b, 0x10, 4, &write_only_ops, &d1, "wo"), 0);
	cr_assert_eq(bus_register(&b, 0x20, 4, &read_only_ops, &d2, "ro"), 0);
	cr_assert_eq(bus_read(&b, 0x10, data, 2), -ENOENT);
	cr_assert_eq(data[0], 0);
	cr_assert_eq(data[1], 0);
	cr_assert_eq(bus_write(&b, 0x20, data, 2), -ENOENT);
	cr_assert_eq(bus_write(&b, 0x10, data, 2), 0);
	cr_assert_eq(d1.writes, 1);
	cr_assert_eq(bus_read(&b, 0x21, data, 1), 0);
	cr_assert_eq(data[0], 0x41);
}
