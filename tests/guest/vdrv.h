/* Guest-side virtio-mmio + split-virtqueue driver shared by the blk and
 * blk-evil guests, written from the virtio 1.2 spec the way Linux's
 * virtio_mmio/virtio_ring/virtio_blk drivers behave: §3.1.1 initialisation,
 * §4.2.2-4.2.3 virtio-mmio registers, §2.7 split virtqueues (EVENT_IDX,
 * indirect descriptors), §5.2.6 block requests. One queue per device, one
 * request in flight at a time, completion by interrupt (IOAPIC pin = the
 * device's GSI, edge, vector VD_VECTOR_BASE + index) while the CPU halts. */
#ifndef VDRV_H
#define VDRV_H

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "rt.h"

#define VD_MAX_DEVS 8
#define VD_QMAX 256		/* ring memory per device fits this size */
#define VD_VECTOR_BASE 0x40
#define VD_MAGIC 0x74726976	/* "virt" */

/* One buffer of a request: guest-physical address, length, device-writable. */
struct vd_seg {
	uint64_t addr;
	uint32_t len;
	bool write;
};

struct vd {
	unsigned idx;
	uint64_t base;
	unsigned gsi;
	uint64_t offered, acked;
	uint16_t qmax, qsize;
	bool event_idx, indirect;	/* negotiated */
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	volatile struct vring_desc *itable;	/* indirect table, VD_QMAX entries */
	volatile struct virtio_blk_outhdr *hdr;	/* request header scratch */
	volatile uint8_t *status;		/* request status scratch */
	volatile uint8_t *scratch;		/* 256 bytes (GET_ID etc.) */
	uint16_t avail_idx;	/* driver's copy of avail->idx */
	uint16_t last_used;	/* used entries consumed */
	uint16_t next_desc;	/* where the next chain starts */
	volatile uint32_t irqs;	/* interrupts taken */
	volatile uint32_t isr;	/* InterruptStatus bits seen (OR) */
	uint32_t kicks;		/* QueueNotify writes */
};

extern struct vd vd_devs[VD_MAX_DEVS];

/* Fills vd_devs from the command line (rt_virtio_mmio_devices), assigns
 * each its ring memory, registers its interrupt handler and routes its
 * IOAPIC pin (edge, active high, to the BSP). Needs the LAPIC enabled
 * (rt_pit_start does it). Returns the number of devices (≤ VD_MAX_DEVS). */
int vd_discover(void);

uint32_t vd_rd(const struct vd *d, unsigned reg);
void vd_wr(const struct vd *d, unsigned reg, uint32_t v);
uint32_t vd_status(const struct vd *d);
void vd_set_status(const struct vd *d, uint32_t v);

/* Device-specific configuration: 32-bit reads (§4.2.2.2), and a 64-bit
 * field as two of them under the ConfigGeneration check (§2.5.1). */
uint32_t vd_cfg32(const struct vd *d, unsigned off);
uint64_t vd_cfg64(const struct vd *d, unsigned off);

/* MagicValue "virt", Version 2, DeviceID; 0, or -1 after printing
 * "<prefix>: bad device magic=... version=... id=...". */
int vd_probe(struct vd *d, uint32_t device_id, const char *prefix);

/* §3.1.1 steps 1-6: reset (and wait for status 0), ACKNOWLEDGE, DRIVER,
 * read DeviceFeatures, write offered & want, FEATURES_OK, re-read it.
 * 0 when FEATURES_OK stuck, -1 when the device refused. */
int vd_negotiate(struct vd *d, uint64_t want);
/* Acks exactly `acked` (even bits never offered). Same result. */
int vd_negotiate_raw(struct vd *d, uint64_t acked);

/* §4.2.3.2 queue 0 set-up with the device's own ring memory (zeroed) or
 * explicit addresses. Returns QueueReady as read back. */
uint32_t vd_queue_setup(struct vd *d, uint16_t qsize);
/* Any queue (QueueSel = sel) at explicit addresses, without touching the
 * driver's queue-0 state in struct vd (devices with several queues keep
 * their own ring state). Returns QueueReady as read back. */
uint32_t vd_queue_setup_sel(const struct vd *d, unsigned sel, uint16_t qsize,
			    uint64_t desc, uint64_t avail, uint64_t used);
uint32_t vd_queue_setup_at(struct vd *d, uint16_t qsize, uint64_t desc,
			   uint64_t avail, uint64_t used);
void vd_driver_ok(struct vd *d);

/* Everything up to DRIVER_OK; 0 or -1 (message printed with prefix). */
int vd_init(struct vd *d, uint64_t want, uint16_t qsize, const char *prefix);

/* Writes the chain for segs into the descriptor table (or into the
 * indirect table plus one INDIRECT descriptor when indirect is set) and
 * returns its head. Does not publish it. */
uint16_t vd_add(struct vd *d, const struct vd_seg *segs, unsigned n,
		bool indirect);
/* Puts head in the avail ring, bumps avail->idx and notifies the device
 * unless it suppressed notifications (used->flags or avail_event). */
void vd_publish(struct vd *d, uint16_t head);
/* Notifies queue 0 unconditionally. */
void vd_kick(struct vd *d);

/* Waits (hlt, PIT-bounded) for the next used entry. 0 with *len = its
 * length; -1 on timeout; -2 when the device set DEVICE_NEEDS_RESET. */
int vd_wait(struct vd *d, uint32_t ticks, uint32_t *len);

/* A complete block request: 16-byte header, data segments, 1-byte status
 * (pre-set to 0xff). Returns the status byte (0-255), -1 on timeout, -2 on
 * NEEDS_RESET. *len gets the used length. */
int vd_blk(struct vd *d, uint32_t type, uint64_t sector,
	   const struct vd_seg *data, unsigned n, uint32_t *len);

#define VD_TIMEOUT_TICKS 200	/* 2 s */

#endif
