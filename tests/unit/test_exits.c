/* Unit tests for exit_dispatch(): hand-built struct kvm_run buffers of a
 * realistic mapping size, PIO (incl. rep ins/outs) and MMIO dispatch,
 * hostile data_offset/size/count/len values, and the action for every other
 * exit reason, plus the statistics counters. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "unit_util.h"
#include "vmm/exits.h"

#define RUN_SIZE (3 * 4096)
#define PIO_OFF 4096 /* where KVM puts PIO data: KVM_PIO_PAGE_OFFSET pages */

static struct kvm_run *run;
static struct bus pio, mmio;
static struct rec_dev com, dev;
static struct exit_stats st;

static void setup(void)
{
	run = calloc(1, RUN_SIZE);
	cr_assert_not_null(run);
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	memset(&com, 0, sizeof(com));
	memset(&dev, 0, sizeof(dev));
	memset(&st, 0, sizeof(st));
	com.fill = 0x30;
	dev.fill = 0x70;
	cr_assert_eq(bus_register(&pio, 0x3f8, 8, &rec_ops, &com, "com1"), 0);
	cr_assert_eq(bus_register(&mmio, 0xd0000000, 0x1000, &rec_ops, &dev, "virtio0"), 0);
}

static void teardown(void)
{
	free(run);
}

TestSuite(exits, .init = setup, .fini = teardown);

static uint8_t *pio_data(void)
{
	return (uint8_t *)run + PIO_OFF;
}

static void set_pio(uint8_t dir, uint16_t port, uint8_t size, uint32_t count, uint64_t off)
{
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = dir;
	run->io.port = port;
	run->io.size = size;
	run->io.count = count;
	run->io.data_offset = off;
}

static void set_mmio(uint64_t addr, uint32_t len, int is_write)
{
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = addr;
	run->mmio.len = len;
	run->mmio.is_write = (uint8_t)is_write;
}

Test(exits, pio_out_byte)
{
	set_pio(KVM_EXIT_IO_OUT, 0x3f8, 1, 1, PIO_OFF);
	pio_data()[0] = 'A';
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_CONTINUE);
	cr_assert_eq(com.writes, 1);
	cr_assert_eq(com.last_off, 0);
	cr_assert_eq(com.last_len, 1);
	cr_assert_eq(com.last_data[0], 'A');
	cr_assert_eq(st.pio, 1);
	cr_assert_eq(st.unmapped_pio, 0);
	cr_assert_eq(st.mmio + st.other + st.unmapped_mmio, 0);
}

Test(exits, pio_in_word_at_offset)
{
	set_pio(KVM_EXIT_IO_IN, 0x3fd, 2, 1, PIO_OFF);
	memset(pio_data(), 0xcc, 4);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_CONTINUE);
	cr_assert_eq(com.reads, 1);
	cr_assert_eq(com.last_off, 5);
	cr_assert_eq(pio_data()[0], 0x35);
	cr_assert_eq(pio_data()[1], 0x36);
	cr_assert_eq(pio_data()[2], 0xcc);
}

Test(exits, rep_outs_dispatches_each_element)
{
	set_pio(KVM_EXIT_IO_OUT, 0x3f8, 2, 4, PIO_OFF);
	for (int i = 0; i < 8; i++)
		pio_data()[i] = (uint8_t)('a' + i);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_CONTINUE);
	cr_assert_eq(com.writes, 4);
	cr_assert_eq(com.nall, 8);
	cr_assert_arr_eq(com.all_data, "abcdefgh", 8);
	cr_assert_eq(st.pio, 1);
}

Test(exits, rep_ins_fills_each_element)
{
	set_pio(KVM_EXIT_IO_IN, 0x3f9, 1, 3, PIO_OFF);
	memset(pio_data(), 0xcc, 4);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_CONTINUE);
	cr_assert_eq(com.reads, 3);
	cr_assert_eq(pio_data()[0], 0x31);
	cr_assert_eq(pio_data()[1], 0x31);
	cr_assert_eq(pio_data()[2], 0x31);
	cr_assert_eq(pio_data()[3], 0xcc);
}

Test(exits, pio_data_exactly_at_end_of_run_ok)
{
	set_pio(KVM_EXIT_IO_OUT, 0x3f8, 4, 2, RUN_SIZE - 8);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_CONTINUE);
	cr_assert_eq(com.writes, 2);
}

static void expect_pio_fault(uint8_t dir, uint8_t size, uint32_t count, uint64_t off)
{
	set_pio(dir, 0x3f8, size, count, off);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_GUEST_FAULT,
		     "size %u count %u off 0x%llx", size, count, (unsigned long long)off);
	cr_assert_eq(com.reads + com.writes, 0, "no device access on a bad exit");
}

Test(exits, pio_data_offset_beyond_run)
{
	expect_pio_fault(KVM_EXIT_IO_IN, 1, 1, RUN_SIZE);
	expect_pio_fault(KVM_EXIT_IO_IN, 1, 1, RUN_SIZE + 1);
	expect_pio_fault(KVM_EXIT_IO_IN, 4, 1, RUN_SIZE - 3);
	expect_pio_fault(KVM_EXIT_IO_OUT, 2, 1, RUN_SIZE - 1);
	expect_pio_fault(KVM_EXIT_IO_IN, 4, 2, RUN_SIZE - 4);
	expect_pio_fault(KVM_EXIT_IO_IN, 1, 1, UINT64_MAX);
	expect_pio_fault(KVM_EXIT_IO_IN, 4, 1, UINT64_MAX - 3);
	cr_assert_eq(st.pio, 7);
}

Test(exits, pio_size_times_count_overflow)
{
	/* 4 * 0x40000001 wraps to 4 in 32 bits */
	expect_pio_fault(KVM_EXIT_IO_IN, 4, 0x40000001u, PIO_OFF);
	expect_pio_fault(KVM_EXIT_IO_OUT, 2, 0x80000001u, PIO_OFF);
	expect_pio_fault(KVM_EXIT_IO_IN, 1, UINT32_MAX, PIO_OFF);
	expect_pio_fault(KVM_EXIT_IO_IN, 4, RUN_SIZE / 4, PIO_OFF);
}

Test(exits, pio_bad_size_or_count)
{
	expect_pio_fault(KVM_EXIT_IO_OUT, 3, 1, PIO_OFF);
	expect_pio_fault(KVM_EXIT_IO_OUT, 0, 1, PIO_OFF);
	expect_pio_fault(KVM_EXIT_IO_OUT, 8, 1, PIO_OFF);
	expect_pio_fault(KVM_EXIT_IO_IN, 255, 1, PIO_OFF);
	expect_pio_fault(KVM_EXIT_IO_IN, 1, 0, PIO_OFF);
}

Test(exits, pio_unmapped_in_returns_zeros)
{
	set_pio(KVM_EXIT_IO_IN, 0x80, 4, 1, PIO_OFF);
	memset(pio_data(), 0xcc, 8);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_CONTINUE);
	cr_assert_eq(*(uint32_t *)pio_data(), 0);
	cr_assert_eq(pio_data()[4], 0xcc);
	cr_assert_eq(st.unmapped_pio, 1);
	cr_assert_eq(st.pio, 1);
}

Test(exits, pio_straddling_range_end_is_unmapped)
{
	set_pio(KVM_EXIT_IO_IN, 0x3fe, 4, 1, PIO_OFF);
	memset(pio_data(), 0xcc, 4);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_CONTINUE);
	cr_assert_eq(*(uint32_t *)pio_data(), 0);
	cr_assert_eq(com.reads, 0);
	cr_assert_eq(st.unmapped_pio, 1);
}

Test(exits, pio_unmapped_out_continues)
{
	set_pio(KVM_EXIT_IO_OUT, 0x80, 1, 1, PIO_OFF);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, NULL), EXIT_ACT_CONTINUE);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_CONTINUE);
	cr_assert_eq(st.unmapped_pio, 1);
}

Test(exits, mmio_write_dispatch)
{
	set_mmio(0xd0000070, 4, 1);
	memcpy(run->mmio.data, "\x01\x02\x03\x04", 4);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_CONTINUE);
	cr_assert_eq(dev.writes, 1);
	cr_assert_eq(dev.last_off, 0x70);
	cr_assert_eq(dev.last_len, 4);
	cr_assert_arr_eq(dev.last_data, "\x01\x02\x03\x04", 4);
	cr_assert_eq(st.mmio, 1);
	cr_assert_eq(st.pio + st.unmapped_mmio + st.other, 0);
}

Test(exits, mmio_read_dispatch_8_bytes)
{
	set_mmio(0xd0000ff8, 8, 0);
	memset(run->mmio.data, 0xcc, 8);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_CONTINUE);
	cr_assert_eq(dev.reads, 1);
	cr_assert_eq(dev.last_off, 0xff8);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(run->mmio.data[i], (uint8_t)(0x70 + 0xff8 + i));
}

Test(exits, mmio_unmapped_read_returns_zeros)
{
	set_mmio(0xfed00000, 4, 0);
	memset(run->mmio.data, 0xcc, 8);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_CONTINUE);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(run->mmio.data[i], 0);
	cr_assert_eq(st.unmapped_mmio, 1);
	cr_assert_eq(st.mmio, 1);
}

Test(exits, mmio_straddling_end_is_unmapped)
{
	set_mmio(0xd0000ffc, 8, 0);
	memset(run->mmio.data, 0xcc, 8);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_CONTINUE);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(run->mmio.data[i], 0);
	cr_assert_eq(dev.reads, 0);
	set_mmio(0xd0000ffc, 8, 1);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_CONTINUE);
	cr_assert_eq(dev.writes, 0);
	cr_assert_eq(st.unmapped_mmio, 2);
}

Test(exits, mmio_bad_len_faults)
{
	static const uint32_t lens[] = { 0, 9, 16, UINT32_MAX };

	for (unsigned i = 0; i < 4; i++) {
		set_mmio(0xd0000000, lens[i], 0);
		cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_GUEST_FAULT,
			     "len %u", lens[i]);
		set_mmio(0xd0000000, lens[i], 1);
		cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_GUEST_FAULT,
			     "len %u", lens[i]);
	}
	cr_assert_eq(dev.reads + dev.writes, 0);
}

Test(exits, faults_for_other_reasons)
{
	static const uint32_t reasons[] = { KVM_EXIT_SHUTDOWN, KVM_EXIT_FAIL_ENTRY,
					    KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_UNKNOWN,
					    KVM_EXIT_EXCEPTION, 0xdeadbeef };

	for (unsigned i = 0; i < 6; i++) {
		run->exit_reason = reasons[i];
		cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_GUEST_FAULT,
			     "reason %u", reasons[i]);
	}
	cr_assert_eq(st.other, 6);
	cr_assert_eq(st.pio + st.mmio, 0);
}

Test(exits, system_events)
{
	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_STOP);
	run->system_event.type = KVM_SYSTEM_EVENT_RESET;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_STOP);
	run->system_event.type = KVM_SYSTEM_EVENT_CRASH;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_GUEST_FAULT);
}

Test(exits, intr_continues_hlt_stops)
{
	run->exit_reason = KVM_EXIT_INTR;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, &st), EXIT_ACT_CONTINUE);
	run->exit_reason = KVM_EXIT_HLT;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio, NULL), EXIT_ACT_STOP);
	cr_assert_eq(st.pio + st.mmio + st.other, 0);
}

Test(exits, reason_names)
{
	cr_assert_str_eq(exit_reason_name(KVM_EXIT_IO), "io");
	cr_assert_str_eq(exit_reason_name(KVM_EXIT_MMIO), "mmio");
	cr_assert_str_eq(exit_reason_name(KVM_EXIT_SHUTDOWN), "shutdown (triple fault)");
	cr_assert_str_eq(exit_reason_name(KVM_EXIT_INTERNAL_ERROR), "internal_error");
	cr_assert_str_eq(exit_reason_name(0xffffffffu), "other");
}
