/* Test harness for the virtio-mmio transport: a fake device that records
 * what the transport hands it, one transport over 1 MiB of guest RAM, and
 * register helpers that drive it through its bus ops as a vCPU would.
 * Shared by test_vmmio.c and test_vmmio_snapshot.c. */
#ifndef FEMTOVM_TEST_VMMIO_HARNESS_H
#define FEMTOVM_TEST_VMMIO_HARNESS_H

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdint.h>

#include "virtio/mmio.h"
#include "vmm/guest_mem.h"
#include "vmm/layout.h"

#define RAM MIB(1)
#define NQ 2
#define QMAX 16
#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV VIRTIO_CONFIG_S_DRIVER
#define S_FOK VIRTIO_CONFIG_S_FEATURES_OK
#define S_DOK VIRTIO_CONFIG_S_DRIVER_OK
#define S_NR VIRTIO_CONFIG_S_NEEDS_RESET
#define S_FAIL VIRTIO_CONFIG_S_FAILED
#define F_DEV (1ULL << 1)
#define F_HI (1ULL << 35)
#define F_V1 (1ULL << VIRTIO_F_VERSION_1)
#define F_EVT (1ULL << VIRTIO_RING_F_EVENT_IDX)
#define F_IND (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define OFFERED (F_DEV | F_HI | F_EVT | F_IND | F_V1)

struct fake {
	unsigned activates, resets, notifies, cfg_reads, cfg_writes, quiesces;
	unsigned last_q;
	uint64_t acked;
	struct virtio_transport *t;
	struct virtqueue *vqs;
	int activate_ret;
	uint8_t cfg[12];
	uint32_t last_off, last_len;
	uint8_t wdata[16];
};

extern const struct virtio_dev_ops fake_ops;
extern struct guest_mem gm;
extern struct vmmio t;
extern struct fake f;

/* Criterion suite init/fini: fresh fake, RAM and transport (base
 * LAYOUT_VIRTIO_BASE, GSI 5, no KVM, no event loop). */
void vmmio_test_setup(void);
void vmmio_test_teardown(void);

uint32_t rd(uint64_t off);
void wr(uint64_t off, uint32_t v);
/* Interrupt edges / kicks of queue @q since the last call. */
uint64_t irqs(void);
uint64_t kicks(unsigned q);
void ack_features(uint64_t feat);
/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns the re-read status. */
uint32_t negotiate(uint64_t feat);
void queue_regs(unsigned q, uint32_t num, uint64_t desc, uint64_t avail, uint64_t used);
/* Set up queue @q with good geometry and enable it; returns QueueReady. */
uint32_t good_queue(unsigned q, uint32_t num);
/* A live device: features negotiated, queue 0 (size 8) ready, DRIVER_OK. */
void go_live(uint64_t feat);

#endif
