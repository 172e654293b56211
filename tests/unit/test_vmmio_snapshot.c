/* Snapshot save and restore of the virtio-mmio transport (mmio_snapshot.c):
 * the state goes through the real state-file sections (encode, reader,
 * decode, check) into a fresh transport, which must then behave as the
 * saved one: same registers, same queue positions, the device activated
 * again, pending requests kicked and a pending interrupt raised. Restores
 * that the saved state or this device cannot support are refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/sections.h"
#include "vmmio_harness.h"

TestSuite(vmmio_snapshot, .init = vmmio_test_setup, .fini = vmmio_test_teardown);

#define FEAT (F_V1 | F_EVT | F_DEV)

static struct snap_vtransport_state ts;
static struct snap_vq_state vqs[VIRTIO_MAX_QUEUES];
static char err[SNAP_ERR_LEN];

/* Save the transport, write it to a state file, read it back and decode
 * it as restore does. */
static void save_through_file(void)
{
	struct snap_vtransport_state saved;
	struct snap_vq_state saved_vqs[VIRTIO_MAX_QUEUES];
	struct snap_writer w;
	struct snap_reader r;
	const void *p;
	uint32_t n;
	uint8_t *buf;
	size_t len;

	vmmio_save(&t, &saved, saved_vqs);
	cr_assert_eq(snap_writer_begin(&w, 0), 0);
	snap_encode_vtransport(&w, 3, &saved);
	for (unsigned q = 0; q < saved.num_queues; q++)
		snap_encode_vq(&w, 3, q, &saved_vqs[q]);
	cr_assert_eq(snap_writer_finish(&w, &buf, &len), 0, "%s", w.err);
	cr_assert_eq(snap_reader_open(buf, len, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(snap_find_section(&r, SNAP_SEC_VIRTIO_TRANSPORT, 3, &p, &n), 0);
	cr_assert_eq(snap_decode_vtransport(p, n, &ts, err, sizeof(err)), 0, "%s", err);
	for (unsigned q = 0; q < ts.num_queues; q++) {
		cr_assert_eq(snap_find_section(&r, SNAP_SEC_VIRTQUEUE, SNAP_VQ_INDEX(3, q), &p, &n),
			     0);
		cr_assert_eq(snap_decode_vq(p, n, QMAX, &vqs[q], err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(snap_check_vq(&ts, q, &vqs[q], err, sizeof(err)), 0, "%s", err);
	}
	free(buf);
}

/* A fresh transport and fake device in place of the saved ones. */
static void fresh_transport(void)
{
	vmmio_destroy(&t);
	memset(&f, 0, sizeof(f));
	cr_assert_eq(vmmio_init(&t, &fake_ops, &f, &gm, NULL, NULL, LAYOUT_VIRTIO_BASE, 5), 0);
}

Test(vmmio_snapshot, live_device_round_trip)
{
	cr_assert_eq(negotiate(FEAT), S_ACK | S_DRV | S_FOK);
	cr_assert_eq(good_queue(0, 8), 1);
	queue_regs(1, 4, 0x50000, 0x51000, 0x52000); /* set up, never enabled */
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(f.activates, 1);
	/* The device has consumed 5 requests and completed 3. */
	t.vqs[0].last_avail = 5;
	t.vqs[0].used_idx = 3;
	t.vqs[0].signalled_used = 2;
	t.vqs[0].signalled_valid = true;
	t.interrupt_status = VIRTIO_MMIO_INT_VRING;
	t.config_generation = 7;
	save_through_file();
	cr_assert_eq(f.quiesces, 1, "the device gives back unserved chains first");

	fresh_transport();
	cr_assert_eq(vmmio_restore(&t, &ts, vqs, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 7);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	cr_assert_eq(f.activates, 1);
	cr_assert_eq(f.acked, FEAT);
	cr_assert_eq(f.vqs, t.vqs);
	cr_assert(t.vqs[0].ready);
	cr_assert(t.vqs[0].event_idx);
	cr_assert(!t.vqs[0].indirect);
	cr_assert_eq(t.vqs[0].size, 8);
	cr_assert_eq(t.vqs[0].last_avail, 5);
	cr_assert_eq(t.vqs[0].used_idx, 3);
	cr_assert_eq(t.vqs[0].signalled_used, 2);
	cr_assert(t.vqs[0].signalled_valid);
	cr_assert_not_null(t.vqs[0].used, "rings mapped again");
	cr_assert(!t.vqs[1].ready);
	cr_assert_eq(t.vqs[1].size, 4);
	cr_assert_eq(t.vqs[1].desc_gpa, 0x50000);
	cr_assert_eq(t.vqs[1].used_gpa, 0x52000);
	cr_assert_eq(kicks(0), 1, "queued requests are looked at again");
	cr_assert_eq(kicks(1), 0);
	cr_assert_eq(irqs(), 1, "the unacknowledged interrupt is raised again");
	/* It goes on as a live transport: the driver acks, a reset resets. */
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(f.resets, 1);
}

Test(vmmio_snapshot, negotiating_device_round_trip)
{
	cr_assert_eq(negotiate(FEAT), S_ACK | S_DRV | S_FOK);
	cr_assert_eq(good_queue(0, 8), 1);
	save_through_file();
	cr_assert_eq(f.quiesces, 0, "nothing to give back before DRIVER_OK");
	fresh_transport();
	cr_assert_eq(vmmio_restore(&t, &ts, vqs, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(f.activates, 0);
	cr_assert_eq(kicks(0), 0);
	cr_assert_eq(irqs(), 0);
	/* The driver finishes its setup on the restored transport. */
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(f.activates, 1);
	cr_assert_eq(f.acked, FEAT);
}

Test(vmmio_snapshot, wrong_device_refused)
{
	go_live(FEAT);
	save_through_file();
	fresh_transport();
	ts.device_id = 1;
	cr_assert_eq(vmmio_restore(&t, &ts, vqs, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "this slot holds fake"), "%s", err);
	cr_assert_eq(f.activates, 0);
}

Test(vmmio_snapshot, queue_count_mismatch_refused)
{
	go_live(FEAT);
	save_through_file();
	fresh_transport();
	ts.num_queues = NQ + 1;
	vqs[NQ] = vqs[1];
	cr_assert_eq(vmmio_restore(&t, &ts, vqs, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "queues"), "%s", err);
}

Test(vmmio_snapshot, features_no_longer_offered_refused)
{
	go_live(FEAT);
	save_through_file();
	fresh_transport();
	ts.acked |= 1ULL << 20;
	ts.driver_features = ts.acked;
	cr_assert_eq(vmmio_restore(&t, &ts, vqs, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "not all offered"), "%s", err);
	cr_assert_eq(f.activates, 0);
}

Test(vmmio_snapshot, rings_outside_ram_refused_and_reset)
{
	go_live(FEAT);
	save_through_file();
	fresh_transport();
	vqs[0].used_gpa = RAM; /* aligned, inside guest-physical space, past RAM */
	cr_assert_eq(vmmio_restore(&t, &ts, vqs, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "not inside guest RAM"), "%s", err);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0, "a refused restore leaves a reset transport");
	cr_assert(!t.vqs[0].ready);
	cr_assert_eq(f.activates, 0);
	cr_assert_eq(kicks(0), 0);
}

Test(vmmio_snapshot, activation_failure_reported)
{
	go_live(FEAT);
	save_through_file();
	fresh_transport();
	f.activate_ret = -EIO;
	cr_assert_eq(vmmio_restore(&t, &ts, vqs, err, sizeof(err)), -EIO);
	cr_assert_not_null(strstr(err, "cannot activate"), "%s", err);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
}
