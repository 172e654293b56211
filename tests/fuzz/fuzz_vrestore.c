/* libFuzzer harness for restoring a virtio-mmio transport from snapshot
 * sections (mmio_snapshot.c): a VIRTIO_TRANSPORT payload, then one
 * VIRTQUEUE payload per queue it declares, then bytes for guest RAM. What
 * the decoders accept goes through vmmio_restore() into a transport over
 * 1 MiB of RAM with a fake device shaped like the saved one, and then every
 * queue is kicked so the device pops (and completes) whatever the restored
 * positions and the RAM bytes make available. Invariants: a refusal says
 * why and leaves a reset transport; nothing reads outside RAM (ASan). */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <string.h>

#include "snapshot/sections.h"
#include "virtio/mmio.h"
#include "vmm/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM MIB(1)

static struct guest_mem gm;
static struct vmmio t;
static struct virtio_dev_ops ops;
static uint64_t dev_features;
static struct vq_chain chain;

static uint64_t fake_features(void *d)
{
	(void)d;
	return dev_features;
}

static int fake_activate(void *d, struct virtio_transport *tp, struct virtqueue *vqs,
			 uint64_t acked)
{
	(void)d, (void)tp, (void)vqs, (void)acked;
	return 0;
}

/* Serve everything available: pop, complete with nothing written. */
static void fake_notify(void *d, unsigned q)
{
	(void)d;
	for (unsigned n = 0; n < 2 * VQ_MAX_SIZE && vq_pop(&t.vqs[q], &chain) == VQ_OK; n++)
		vq_push(&t.vqs[q], chain.head, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_vtransport_state ts;
	struct snap_vq_state vqs[VIRTIO_MAX_QUEUES];
	char err[SNAP_ERR_LEN] = "";
	size_t off = SNAP_VTRANSPORT_LEN;
	uint32_t v;
	int ret;

	if (!gm.base && gm_init(&gm, RAM))
		__builtin_trap();
	if (size < SNAP_VTRANSPORT_LEN ||
	    snap_decode_vtransport(data, SNAP_VTRANSPORT_LEN, &ts, err, sizeof(err)))
		return 0;
	for (unsigned q = 0; q < ts.num_queues; q++, off += SNAP_VQ_LEN) {
		if (size < off + SNAP_VQ_LEN ||
		    snap_decode_vq(data + off, SNAP_VQ_LEN, VQ_MAX_SIZE, &vqs[q], err, sizeof(err)) ||
		    snap_check_vq(&ts, q, &vqs[q], err, sizeof(err)))
			return 0;
	}
	memset(gm.base, 0, RAM);
	memcpy(gm.base, data + off, size - off < RAM ? size - off : RAM);

	/* A device like the saved one, offering what the input says it did. */
	ops = (struct virtio_dev_ops){
		.name = "fuzz", .device_id = ts.device_id, .num_queues = ts.num_queues,
		.queue_max = VQ_MAX_SIZE, .features = fake_features, .activate = fake_activate,
		.queue_notify = fake_notify,
	};
	dev_features = ts.offered & ~(1ULL << VIRTIO_F_VERSION_1);
	if (data[0] & 1) /* sometimes the device no longer offers everything */
		dev_features &= ~(ts.acked & -ts.acked);
	if (vmmio_init(&t, &ops, NULL, &gm, NULL, NULL, LAYOUT_VIRTIO_BASE, 5))
		__builtin_trap();
	err[0] = 0;
	ret = vmmio_restore(&t, &ts, vqs, err, sizeof(err));
	if (ret) {
		if (!err[0])
			__builtin_trap(); /* every refusal says why */
		vmmio_bus_ops.read(&t, VIRTIO_MMIO_STATUS, (uint8_t *)&v, 4);
		if (v != 0)
			__builtin_trap(); /* a refused restore leaves a reset transport */
	} else {
		for (unsigned q = 0; q < ts.num_queues; q++)
			vmmio_kick(&t, q);
	}
	vmmio_destroy(&t);
	return 0;
}
