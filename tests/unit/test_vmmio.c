/* Unit tests for the virtio-mmio transport (virtio 1.2 §4.2, §3.1, §2.1)
 * driven through its bus ops exactly as a vCPU would, against a fake device
 * that records what the transport hands it: identification registers,
 * feature windows, the status state machine, queue setup and validation,
 * config space bounds, interrupts, kicks and reset. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <string.h>
#include <unistd.h>

#include "vmmio_harness.h"

TestSuite(vmmio, .init = vmmio_test_setup, .fini = vmmio_test_teardown);

Test(vmmio, identification_registers)
{
	cr_assert_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	cr_assert_eq(rd(VIRTIO_MMIO_VERSION), 2);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_ID), 2);
	cr_assert_eq(rd(VIRTIO_MMIO_VENDOR_ID), VMMIO_VENDOR_ID);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	/* §4.2.2: no shared memory regions → length all ones */
	cr_assert_eq(rd(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	cr_assert_eq(rd(VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
	/* unknown or write-only registers read as zero */
	cr_assert_eq(rd(0x0f8), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NOTIFY), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_ACK), 0);
}

Test(vmmio, device_feature_windows)
{
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)OFFERED);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)(OFFERED >> 32));
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0x9); /* VERSION_1 and bit 35 */
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES_SEL), 0, "selector is write-only");
}

Test(vmmio, full_init_sequence_activates_once)
{
	uint64_t feat = F_V1 | F_EVT | F_IND | F_HI;

	wr(VIRTIO_MMIO_STATUS, S_ACK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	ack_features(feat);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK);
	cr_assert_eq(good_queue(0, 8), 1);
	cr_assert_eq(good_queue(1, QMAX), 1);
	cr_assert_eq(f.activates, 0);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(f.activates, 1);
	cr_assert_eq(f.acked, feat);
	cr_assert_eq(f.t, &t.transport);
	cr_assert_eq(f.vqs, t.vqs);
	cr_assert(f.vqs[0].ready);
	cr_assert_eq(f.vqs[0].size, 8);
	cr_assert_eq(f.vqs[0].desc_gpa, 0x10000);
	cr_assert_eq(f.vqs[0].avail_gpa, 0x20000);
	cr_assert_eq(f.vqs[0].used_gpa, 0x30000);
	cr_assert(f.vqs[0].event_idx);
	cr_assert(f.vqs[0].indirect);
	cr_assert_eq(f.vqs[1].size, QMAX);
	cr_assert_eq(f.vqs[1].desc_gpa, 0x11000);
	/* writing the same status again does not re-activate */
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(f.activates, 1);
	cr_assert_eq(f.resets, 0);
}

Test(vmmio, ring_features_not_acked_reach_the_queue)
{
	cr_assert_eq(negotiate(F_V1), S_ACK | S_DRV | S_FOK);
	cr_assert_eq(good_queue(0, 8), 1);
	cr_assert_not(t.vqs[0].event_idx);
	cr_assert_not(t.vqs[0].indirect);
}

Test(vmmio, features_not_offered_refused)
{
	cr_assert_eq(negotiate(F_V1 | (1ULL << 2)), S_ACK | S_DRV);
	cr_assert_eq(negotiate(F_V1 | (1ULL << 63)), S_ACK | S_DRV);
	/* the driver may retry with a subset */
	cr_assert_eq(negotiate(F_V1 | F_DEV), S_ACK | S_DRV | S_FOK);
	cr_assert_eq(good_queue(0, 8), 1);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(f.acked, F_V1 | F_DEV);
}

Test(vmmio, version_1_required)
{
	cr_assert_eq(negotiate(F_DEV | F_EVT), S_ACK | S_DRV);
	cr_assert_eq(negotiate(0), S_ACK | S_DRV);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(f.activates, 0);
}

/* A driver that writes FEATURES_OK and DRIVER_OK at once with bad features
 * must end with neither bit set. */
Test(vmmio, refused_features_ok_also_refuses_driver_ok_in_same_write)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	ack_features(F_DEV); /* no VERSION_1 */
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(f.activates, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV,
		     "status 0x%x shows DRIVER_OK without FEATURES_OK", rd(VIRTIO_MMIO_STATUS));
}

Test(vmmio, driver_features_write_rules)
{
	/* before DRIVER: ignored */
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	ack_features(F_V1);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	/* selector beyond the two windows: ignored */
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1); /* would be VERSION_1 if taken as window 1 */
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	/* after FEATURES_OK: frozen */
	ack_features(F_V1 | F_DEV);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK);
	ack_features(F_DEV | (1ULL << 7));
	cr_assert_eq(good_queue(0, 8), 1);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(f.acked, F_V1 | F_DEV);
}

Test(vmmio, driver_ok_without_features_ok_ignored)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	ack_features(F_V1);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_DOK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	cr_assert_eq(f.activates, 0);
	/* FEATURES_OK without DRIVER is out of order too */
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_FOK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK);
}

Test(vmmio, status_regressions_ignored)
{
	go_live(F_V1);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_DOK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	wr(VIRTIO_MMIO_STATUS, S_FAIL);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	wr(VIRTIO_MMIO_STATUS, 0x1ff);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(f.resets, 0);
	cr_assert_eq(f.activates, 1);
	/* FAILED may be added */
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK | S_FAIL);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK | S_FAIL);
}

Test(vmmio, status_zero_resets)
{
	go_live(F_V1 | F_EVT);
	cr_assert_eq(good_queue(1, 4), 0, "queue setup after DRIVER_OK is ignored");
	f.t->ops->notify_config(f.t);
	cr_assert_neq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(f.resets, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)OFFERED, "selector reset to 0");
	for (unsigned q = 0; q < NQ; q++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, q);
		cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
		cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX);
		cr_assert_not(t.vqs[q].ready);
		cr_assert_eq(t.vqs[q].size, QMAX);
		cr_assert_eq(t.vqs[q].desc_gpa, 0);
		cr_assert_eq(t.vqs[q].avail_gpa, 0);
		cr_assert_eq(t.vqs[q].used_gpa, 0);
		cr_assert_not(t.vqs[q].event_idx);
	}
	cr_assert_eq(t.acked, 0);
	cr_assert_not(t.active);
	/* kicks no longer reach the device */
	vmmio_kick(&t, 0);
	cr_assert_eq(f.notifies, 0);
	/* a second reset does not reset the (inactive) device again */
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(f.resets, 1);
	/* and the device can be brought up again */
	f.activates = 0;
	go_live(F_V1);
	cr_assert_eq(f.acked, F_V1);
}

Test(vmmio, queue_sel_out_of_range)
{
	cr_assert_eq(negotiate(F_V1), S_ACK | S_DRV | S_FOK);
	for (uint32_t sel = NQ; sel != 0; sel = sel == NQ ? 7 : sel == 7 ? 0xffffffff : 0) {
		wr(VIRTIO_MMIO_QUEUE_SEL, sel);
		cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "sel %u", sel);
		cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
		queue_regs(sel, 8, 0x10000, 0x20000, 0x30000);
		wr(VIRTIO_MMIO_QUEUE_READY, 1);
		cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	}
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		cr_assert_not(t.vqs[q].ready);
		cr_assert_eq(t.vqs[q].size, QMAX);
		cr_assert_eq(t.vqs[q].desc_gpa, 0);
		cr_assert_eq(t.vqs[q].avail_gpa, 0);
		cr_assert_eq(t.vqs[q].used_gpa, 0);
	}
	cr_assert_eq(good_queue(1, 8), 1);
}

Test(vmmio, queue_regs_frozen_while_ready)
{
	cr_assert_eq(negotiate(F_V1), S_ACK | S_DRV | S_FOK);
	cr_assert_eq(good_queue(0, 8), 1);
	queue_regs(0, 4, 0x40000, 0x50000, 0x60000);
	cr_assert_eq(t.vqs[0].size, 8);
	cr_assert_eq(t.vqs[0].desc_gpa, 0x10000);
	cr_assert_eq(t.vqs[0].avail_gpa, 0x20000);
	cr_assert_eq(t.vqs[0].used_gpa, 0x30000);
	/* disabling before DRIVER_OK makes them writable again */
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	queue_regs(0, 4, 0x40000, 0x50000, 0x60000);
	cr_assert_eq(t.vqs[0].size, 4);
	cr_assert_eq(t.vqs[0].desc_gpa, 0x40000);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
}

Test(vmmio, queue_regs_frozen_after_driver_ok)
{
	go_live(F_V1);
	/* queue 1 was never enabled; DRIVER_OK freezes it anyway */
	queue_regs(1, 8, 0x40000, 0x50000, 0x60000);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert_eq(t.vqs[1].size, QMAX);
	cr_assert_eq(t.vqs[1].desc_gpa, 0);
	/* and queue 0 cannot be disabled under the device */
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	cr_assert(t.vqs[0].ready);
}

Test(vmmio, queue_ready_before_features_ok_ignored)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	cr_assert_eq(good_queue(0, 8), 0);
}

Test(vmmio, queue_ready_with_bad_geometry_stays_0)
{
	static const struct {
		uint32_t num;
		uint64_t desc, avail, used;
	} bad[] = {
		{ 0, 0x10000, 0x20000, 0x30000 },
		{ 6, 0x10000, 0x20000, 0x30000 },
		{ QMAX * 2, 0x10000, 0x20000, 0x30000 },
		{ 0x10008, 0x10000, 0x20000, 0x30000 }, /* not truncated to 8 */
		{ 8, 0x10008, 0x20000, 0x30000 },
		{ 8, 0x10000, 0x20001, 0x30000 },
		{ 8, 0x10000, 0x20000, 0x30002 },
		{ 8, RAM - 0x40, 0x20000, 0x30000 },
		{ 8, 0x10000, RAM - 8, 0x30000 },
		{ 8, 0x10000, 0x20000, RAM - 0x40 },
		{ 8, 0x100010000ULL, 0x20000, 0x30000 },
		{ 8, 0x10000, LAYOUT_VIRTIO_BASE, 0x30000 },
		{ 8, 0x10000, 0x20000, 0xfffffffffffff000ULL },
	};

	cr_assert_eq(negotiate(F_V1), S_ACK | S_DRV | S_FOK);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		queue_regs(0, bad[i].num, bad[i].desc, bad[i].avail, bad[i].used);
		wr(VIRTIO_MMIO_QUEUE_READY, 1);
		cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0, "case %u", i);
		cr_assert_not(t.vqs[0].ready);
	}
	/* QueueReady values other than 0/1 are ignored */
	queue_regs(0, 8, 0x10000, 0x20000, 0x30000);
	wr(VIRTIO_MMIO_QUEUE_READY, 2);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	/* a device refusing a queue-less DRIVER_OK → NEEDS_RESET */
}

Test(vmmio, activation_failure_sets_needs_reset)
{
	f.activate_ret = -EINVAL;
	cr_assert_eq(negotiate(F_V1), S_ACK | S_DRV | S_FOK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(f.activates, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS) & S_NR, S_NR);
	cr_assert_not(t.active);
	vmmio_kick(&t, 0);
	cr_assert_eq(f.notifies, 0);
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(f.resets, 0, "an inactive device is not reset");
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
}

Test(vmmio, non_32bit_register_accesses_ignored)
{
	uint8_t b[8];
	uint32_t one = S_ACK;
	uint64_t q = 0x10000;

	memset(b, 0xee, sizeof(b));
	vmmio_bus_ops.read(&t, VIRTIO_MMIO_MAGIC_VALUE, b, 2);
	cr_assert_eq(b[0], 0);
	cr_assert_eq(b[1], 0);
	cr_assert_eq(b[2], 0xee, "nothing past len written");
	memset(b, 0xee, sizeof(b));
	vmmio_bus_ops.read(&t, VIRTIO_MMIO_MAGIC_VALUE, b, 1);
	cr_assert_eq(b[0], 0);
	memset(b, 0xee, sizeof(b));
	vmmio_bus_ops.read(&t, VIRTIO_MMIO_MAGIC_VALUE, b, 8);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(b[i], 0);
	memset(b, 0xee, sizeof(b));
	vmmio_bus_ops.read(&t, VIRTIO_MMIO_MAGIC_VALUE + 1, b, 4);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(b[i], 0);
	memset(b, 0xee, sizeof(b));
	vmmio_bus_ops.read(&t, VIRTIO_MMIO_VERSION + 2, b, 2);
	cr_assert_eq(b[0] | b[1], 0);

	vmmio_bus_ops.write(&t, VIRTIO_MMIO_STATUS, (const uint8_t *)&one, 1);
	vmmio_bus_ops.write(&t, VIRTIO_MMIO_STATUS, (const uint8_t *)&one, 2);
	vmmio_bus_ops.write(&t, VIRTIO_MMIO_STATUS + 1, (const uint8_t *)&one, 4);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);

	cr_assert_eq(negotiate(F_V1), S_ACK | S_DRV | S_FOK);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	vmmio_bus_ops.write(&t, VIRTIO_MMIO_QUEUE_DESC_LOW, (const uint8_t *)&q, 8);
	vmmio_bus_ops.write(&t, VIRTIO_MMIO_QUEUE_SEL, (const uint8_t *)&(uint32_t){ 1 }, 2);
	cr_assert_eq(t.vqs[0].desc_gpa, 0);
	cr_assert_eq(t.queue_sel, 0);
}

Test(vmmio, config_space_bounds)
{
	uint8_t b[8];
	uint8_t w[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	memset(b, 0xee, sizeof(b));
	vmmio_bus_ops.read(&t, VIRTIO_MMIO_CONFIG + 8, b, 4);
	cr_assert_eq(f.cfg_reads, 1);
	cr_assert_eq(f.last_off, 8);
	cr_assert_eq(f.last_len, 4);
	cr_assert_arr_eq(b, f.cfg + 8, 4);
	vmmio_bus_ops.read(&t, VIRTIO_MMIO_CONFIG + 3, b, 1);
	cr_assert_eq(b[0], 0xc3, "config space allows byte access");
	vmmio_bus_ops.read(&t, VIRTIO_MMIO_CONFIG, b, 8);
	cr_assert_arr_eq(b, f.cfg, 8);
	cr_assert_eq(f.cfg_reads, 3);

	/* crossing or beyond the end: zeros, device not asked */
	static const struct {
		uint64_t off;
		uint32_t len;
	} out[] = { { 9, 4 }, { 11, 2 }, { 12, 1 }, { 8, 8 }, { 0xeff, 1 }, { 0xefc, 4 },
		    { UINT64_MAX - 0x100, 4 } };
	for (unsigned i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		memset(b, 0xee, sizeof(b));
		vmmio_bus_ops.read(&t, VIRTIO_MMIO_CONFIG + out[i].off, b, out[i].len);
		for (uint32_t j = 0; j < out[i].len; j++)
			cr_assert_eq(b[j], 0, "case %u byte %u", i, j);
		vmmio_bus_ops.write(&t, VIRTIO_MMIO_CONFIG + out[i].off, w, out[i].len);
	}
	cr_assert_eq(f.cfg_reads, 3);
	cr_assert_eq(f.cfg_writes, 0);

	vmmio_bus_ops.write(&t, VIRTIO_MMIO_CONFIG + 10, w, 2);
	cr_assert_eq(f.cfg_writes, 1);
	cr_assert_eq(f.last_off, 10);
	cr_assert_eq(f.last_len, 2);
	cr_assert_arr_eq(f.wdata, w, 2);
}

Test(vmmio, config_space_without_device_handlers)
{
	struct virtio_dev_ops bare = fake_ops;
	struct vmmio t2;
	uint8_t b[4] = { 0xee, 0xee, 0xee, 0xee };

	bare.name = "bare";
	bare.device_id = 5;
	bare.num_queues = 1;
	bare.queue_max = 8;
	bare.config_size = 8;
	bare.config_read = NULL;
	bare.config_write = NULL;
	cr_assert_eq(vmmio_init(&t2, &bare, &f, &gm, NULL, NULL, 0, 6), 0);
	vmmio_bus_ops.read(&t2, VIRTIO_MMIO_CONFIG, b, 4);
	cr_assert_eq(b[0] | b[1] | b[2] | b[3], 0);
	vmmio_bus_ops.write(&t2, VIRTIO_MMIO_CONFIG, b, 4);
	vmmio_destroy(&t2);
}

Test(vmmio, init_rejects_oversized_device)
{
	struct virtio_dev_ops big = fake_ops;
	struct vmmio t2;

	big.num_queues = VIRTIO_MAX_QUEUES + 1;
	cr_assert_eq(vmmio_init(&t2, &big, &f, &gm, NULL, NULL, 0, 6), -EINVAL);
	big = fake_ops;
	big.queue_max = VQ_MAX_SIZE * 2;
	cr_assert_eq(vmmio_init(&t2, &big, &f, &gm, NULL, NULL, 0, 6), -EINVAL);
}

Test(vmmio, used_interrupt_and_ack)
{
	uint16_t flags = VRING_AVAIL_F_NO_INTERRUPT;

	go_live(F_V1);
	cr_assert_eq(irqs(), 0);
	f.t->ops->notify_used(f.t, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	cr_assert_eq(irqs(), 1);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG); /* other bit: no effect */
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* the driver suppressed interrupts on the avail ring */
	gm_write(&gm, 0x20000, &flags, 2);
	f.t->ops->notify_used(f.t, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	cr_assert_eq(irqs(), 0);
	/* out-of-range queue */
	f.t->ops->notify_used(f.t, NQ);
	f.t->ops->notify_used(f.t, 1000);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	cr_assert_eq(irqs(), 0);
	/* InterruptStatus is read-only */
	wr(VIRTIO_MMIO_INTERRUPT_STATUS, 3);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

Test(vmmio, config_generation_and_interrupt)
{
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
	f.t = &t.transport;
	t.transport.ops->notify_config(&t.transport);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 1);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0, "no driver yet");
	cr_assert_eq(irqs(), 0);
	go_live(F_V1);
	t.transport.ops->notify_config(&t.transport);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 2);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(irqs(), 1);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* generation is not writable */
	wr(VIRTIO_MMIO_CONFIG_GENERATION, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 2);
}

static int bump(void *dev, void *arg)
{
	cr_assert_eq(dev, &f);
	return *(int *)arg;
}

Test(vmmio, locked_call_config_change)
{
	int r;

	r = 0;
	cr_assert_eq(vmmio_locked_call(&t, bump, &r), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
	r = -EIO;
	cr_assert_eq(vmmio_locked_call(&t, bump, &r), -EIO);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
	r = 1;
	cr_assert_eq(vmmio_locked_call(&t, bump, &r), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 1);
}

Test(vmmio, needs_reset)
{
	t.transport.ops->set_needs_reset(&t.transport, "before the driver");
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_NR);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	cr_assert_eq(irqs(), 0);
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);

	go_live(F_V1);
	t.transport.ops->set_needs_reset(&t.transport, "test");
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK | S_NR);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(irqs(), 1);
	t.transport.ops->set_needs_reset(&t.transport, "again");
	cr_assert_eq(irqs(), 0, "only the first error interrupts");
	vmmio_kick(&t, 0);
	cr_assert_eq(f.notifies, 0, "a device needing reset gets no kicks");
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(f.resets, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
}

Test(vmmio, kick_reaches_device_only_when_live_and_ready)
{
	vmmio_kick(&t, 0);
	cr_assert_eq(f.notifies, 0);
	cr_assert_eq(negotiate(F_V1), S_ACK | S_DRV | S_FOK);
	cr_assert_eq(good_queue(0, 8), 1);
	vmmio_kick(&t, 0);
	cr_assert_eq(f.notifies, 0, "not before DRIVER_OK");
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	vmmio_kick(&t, 0);
	cr_assert_eq(f.notifies, 1);
	cr_assert_eq(f.last_q, 0);
	vmmio_kick(&t, 1); /* never enabled */
	vmmio_kick(&t, NQ);
	vmmio_kick(&t, 0xffffffff);
	cr_assert_eq(f.notifies, 1);
}

Test(vmmio, queue_notify_posts_to_kick_eventfd)
{
	cr_assert_eq(kicks(0), 0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(kicks(1), 2);
	cr_assert_eq(kicks(0), 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, NQ);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	cr_assert_eq(kicks(0), 0);
	cr_assert_eq(kicks(1), 0);
	/* the device's kick op goes the same way */
	t.transport.ops->kick(&t.transport, 1);
	t.transport.ops->kick(&t.transport, 99);
	cr_assert_eq(kicks(1), 1);
	cr_assert_eq(f.notifies, 0, "a posted kick is delivered by the event loop");
}
