/* The virtio-mmio test harness (vmmio_harness.h). */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "vmmio_harness.h"

static uint64_t fake_features(void *d)
{
	(void)d;
	return F_DEV | F_HI | F_EVT | F_IND;
}

static void fake_cfg_read(void *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct fake *f = d;

	cr_assert_leq(off + len, sizeof(f->cfg));
	f->cfg_reads++;
	f->last_off = off;
	f->last_len = len;
	memcpy(data, f->cfg + off, len);
}

static void fake_cfg_write(void *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct fake *f = d;

	cr_assert_leq(off + len, sizeof(f->cfg));
	f->cfg_writes++;
	f->last_off = off;
	f->last_len = len;
	memcpy(f->wdata, data, len);
}

static void fake_quiesce(void *d)
{
	((struct fake *)d)->quiesces++;
}

static int fake_activate(void *d, struct virtio_transport *t, struct virtqueue *vqs,
			 uint64_t acked)
{
	struct fake *f = d;

	f->activates++;
	f->t = t;
	f->vqs = vqs;
	f->acked = acked;
	return f->activate_ret;
}

static void fake_reset(void *d)
{
	((struct fake *)d)->resets++;
}

static void fake_notify(void *d, unsigned q)
{
	struct fake *f = d;

	f->notifies++;
	f->last_q = q;
}

const struct virtio_dev_ops fake_ops = {
	.name = "fake",
	.device_id = 2,
	.num_queues = NQ,
	.queue_max = QMAX,
	.features = fake_features,
	.config_size = 12,
	.config_read = fake_cfg_read,
	.config_write = fake_cfg_write,
	.activate = fake_activate,
	.reset = fake_reset,
	.queue_notify = fake_notify,
	.quiesce = fake_quiesce,
};

struct guest_mem gm;
struct vmmio t;
struct fake f;

void vmmio_test_setup(void)
{
	memset(&f, 0, sizeof(f));
	for (unsigned i = 0; i < sizeof(f.cfg); i++)
		f.cfg[i] = (uint8_t)(0xc0 + i);
	cr_assert_eq(gm_init(&gm, RAM), 0);
	cr_assert_eq(vmmio_init(&t, &fake_ops, &f, &gm, NULL, NULL, LAYOUT_VIRTIO_BASE, 5), 0);
}

void vmmio_test_teardown(void)
{
	vmmio_destroy(&t);
	gm_destroy(&gm);
}

uint32_t rd(uint64_t off)
{
	uint8_t b[4] = { 0xee, 0xee, 0xee, 0xee };
	uint32_t v;

	vmmio_bus_ops.read(&t, off, b, 4);
	memcpy(&v, b, 4);
	return v;
}

void wr(uint64_t off, uint32_t v)
{
	vmmio_bus_ops.write(&t, off, (const uint8_t *)&v, 4);
}

/* Interrupt edges since the last call (the irq eventfd counter). */
uint64_t irqs(void)
{
	uint64_t n = 0;

	if (read(t.irq.efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

uint64_t kicks(unsigned q)
{
	uint64_t n = 0;

	if (read(t.kicks[q].h.fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

void ack_features(uint64_t feat)
{
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> 32));
}

/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns the re-read status. */
uint32_t negotiate(uint64_t feat)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	ack_features(feat);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK);
	return rd(VIRTIO_MMIO_STATUS);
}

void queue_regs(unsigned q, uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	wr(VIRTIO_MMIO_QUEUE_NUM, num);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	wr(VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
}

/* Set up queue @q with good geometry and enable it; returns QueueReady. */
uint32_t good_queue(unsigned q, uint32_t num)
{
	queue_regs(q, num, 0x10000 + 0x1000 * q, 0x20000 + 0x1000 * q, 0x30000 + 0x1000 * q);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	return rd(VIRTIO_MMIO_QUEUE_READY);
}

/* A live device: features negotiated, queue 0 (size 8) ready, DRIVER_OK. */
void go_live(uint64_t feat)
{
	cr_assert_eq(negotiate(feat), S_ACK | S_DRV | S_FOK);
	cr_assert_eq(good_queue(0, 8), 1);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FOK | S_DOK);
	cr_assert_eq(f.activates, 1);
}

