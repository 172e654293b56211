/* virtio-mmio / split-virtqueue / virtio-blk guest driver (see vdrv.h).
 * Ring memory lives in .noinit (not cleared at boot): the driver zeroes
 * what it hands to the device at queue set-up, as Linux does. */
#include "vdrv.h"

#include "io.h"

#define PAGE 4096
#define MEM_DESC 0
#define MEM_AVAIL (1 * PAGE)
#define MEM_USED (2 * PAGE)
#define MEM_ITABLE (3 * PAGE)
#define MEM_HDR (4 * PAGE)
#define MEM_STATUS (MEM_HDR + 64)
#define MEM_SCRATCH (MEM_HDR + 256)
#define MEM_PER_DEV (5 * PAGE)

struct vd vd_devs[VD_MAX_DEVS];
static uint8_t ring_mem[VD_MAX_DEVS][MEM_PER_DEV]
	__attribute__((aligned(PAGE), section(".noinit.vdrv")));

/* Store→load ordering for the notification checks (Linux's virtio_mb on
 * x86: a locked add to the stack). */
static inline void mb(void)
{
	asm volatile("lock; addl $0, (%%rsp)" ::: "memory", "cc");
}

static inline void barrier(void)
{
	asm volatile("" ::: "memory");
}

uint32_t vd_rd(const struct vd *d, unsigned reg)
{
	return mmio_read32(d->base + reg);
}

void vd_wr(const struct vd *d, unsigned reg, uint32_t v)
{
	mmio_write32(d->base + reg, v);
}

uint32_t vd_status(const struct vd *d)
{
	return vd_rd(d, VIRTIO_MMIO_STATUS);
}

void vd_set_status(const struct vd *d, uint32_t v)
{
	vd_wr(d, VIRTIO_MMIO_STATUS, v);
}

uint32_t vd_cfg32(const struct vd *d, unsigned off)
{
	return vd_rd(d, VIRTIO_MMIO_CONFIG + off);
}

uint64_t vd_cfg64(const struct vd *d, unsigned off)
{
	uint32_t gen, lo, hi;

	do {
		gen = vd_rd(d, VIRTIO_MMIO_CONFIG_GENERATION);
		lo = vd_cfg32(d, off);
		hi = vd_cfg32(d, off + 4);
	} while (gen != vd_rd(d, VIRTIO_MMIO_CONFIG_GENERATION));
	return ((uint64_t)hi << 32) | lo;
}

/* §4.2.2: read InterruptStatus, acknowledge exactly those bits. */
static void vd_irq(struct rt_frame *f)
{
	struct vd *d = &vd_devs[(f->vector - VD_VECTOR_BASE) % VD_MAX_DEVS];
	uint32_t isr = vd_rd(d, VIRTIO_MMIO_INTERRUPT_STATUS);

	if (isr)
		vd_wr(d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	d->isr |= isr;
	d->irqs++;
	rt_lapic_eoi();
}

int vd_discover(void)
{
	struct rt_vmmio m[VD_MAX_DEVS];
	int n = rt_virtio_mmio_devices(m, VD_MAX_DEVS);
	unsigned bsp = rt_lapic_id();

	if (n > VD_MAX_DEVS)
		n = VD_MAX_DEVS;
	for (int i = 0; i < n; i++) {
		struct vd *d = &vd_devs[i];
		uint8_t *mem = ring_mem[i];

		memset(d, 0, sizeof(*d));
		d->idx = (unsigned)i;
		d->base = m[i].base;
		d->gsi = m[i].gsi;
		d->desc = (volatile struct vring_desc *)(mem + MEM_DESC);
		d->avail = (volatile struct vring_avail *)(mem + MEM_AVAIL);
		d->used = (volatile struct vring_used *)(mem + MEM_USED);
		d->itable = (volatile struct vring_desc *)(mem + MEM_ITABLE);
		d->hdr = (volatile struct virtio_blk_outhdr *)(mem + MEM_HDR);
		d->status = mem + MEM_STATUS;
		d->scratch = mem + MEM_SCRATCH;
		rt_irq_register(VD_VECTOR_BASE + (unsigned)i, vd_irq);
		rt_ioapic_route(d->gsi, VD_VECTOR_BASE + (unsigned)i, bsp, 0);
	}
	return n;
}

int vd_probe(struct vd *d, uint32_t device_id, const char *prefix)
{
	uint32_t magic = vd_rd(d, VIRTIO_MMIO_MAGIC_VALUE);
	uint32_t version = vd_rd(d, VIRTIO_MMIO_VERSION);
	uint32_t id = vd_rd(d, VIRTIO_MMIO_DEVICE_ID);

	if (magic == VD_MAGIC && version == 2 && id == device_id)
		return 0;
	rt_printf("%s: bad device magic=0x%x version=%u id=%u\n", prefix,
		  magic, version, id);
	return -1;
}

static void reset_and_start(struct vd *d)
{
	/* §4.2.3.1: write 0 and wait until the reset has completed. */
	vd_set_status(d, 0);
	for (int i = 0; i < 100 && vd_status(d); i++)
		cpu_pause();
	d->acked = 0;
	d->isr = 0;
	vd_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vd_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vd_wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	d->offered = vd_rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
	vd_wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	d->offered |= (uint64_t)vd_rd(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

int vd_negotiate_raw(struct vd *d, uint64_t acked)
{
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		     VIRTIO_CONFIG_S_FEATURES_OK;

	vd_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vd_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)acked);
	vd_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(acked >> 32));
	vd_set_status(d, s);
	/* §3.1.1 step 6: the device may refuse the subset. */
	if (!(vd_status(d) & VIRTIO_CONFIG_S_FEATURES_OK))
		return -1;
	d->acked = acked;
	d->event_idx = acked & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	d->indirect = acked & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	return 0;
}

int vd_negotiate(struct vd *d, uint64_t want)
{
	reset_and_start(d);
	return vd_negotiate_raw(d, d->offered & want);
}

uint32_t vd_queue_setup_sel(const struct vd *d, unsigned sel, uint16_t qsize,
			    uint64_t desc, uint64_t avail, uint64_t used)
{
	vd_wr(d, VIRTIO_MMIO_QUEUE_SEL, sel);
	vd_wr(d, VIRTIO_MMIO_QUEUE_NUM, qsize);
	vd_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	vd_wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	vd_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	vd_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	vd_wr(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	vd_wr(d, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
	vd_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	return vd_rd(d, VIRTIO_MMIO_QUEUE_READY);
}

uint32_t vd_queue_setup_at(struct vd *d, uint16_t qsize, uint64_t desc,
			   uint64_t avail, uint64_t used)
{
	vd_wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	d->qmax = (uint16_t)vd_rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	d->qsize = qsize;
	d->avail_idx = d->last_used = d->next_desc = 0;
	return vd_queue_setup_sel(d, 0, qsize, desc, avail, used);
}

uint32_t vd_queue_setup(struct vd *d, uint16_t qsize)
{
	/* Zero the driver area and device area headers and rings (the
	 * device reads avail->flags/idx and used_event; used_event and
	 * avail_event start at 0). */
	memset((void *)d->avail, 0, 6 + 2u * VD_QMAX);
	memset((void *)d->used, 0, 6 + 8u * VD_QMAX);
	vd_wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	if (vd_rd(d, VIRTIO_MMIO_QUEUE_READY))
		return 0;	/* §4.2.3.2: must not be in use */
	return vd_queue_setup_at(d, qsize, (uint64_t)d->desc,
				 (uint64_t)d->avail, (uint64_t)d->used);
}

void vd_driver_ok(struct vd *d)
{
	vd_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			 VIRTIO_CONFIG_S_FEATURES_OK |
			 VIRTIO_CONFIG_S_DRIVER_OK);
}

int vd_init(struct vd *d, uint64_t want, uint16_t qsize, const char *prefix)
{
	if (vd_probe(d, VIRTIO_ID_BLOCK, prefix))
		return -1;
	if (vd_negotiate(d, want)) {
		rt_printf("%s: FEATURES_OK refused (offered 0x%lx)\n", prefix,
			  d->offered);
		vd_set_status(d, VIRTIO_CONFIG_S_FAILED);
		return -1;
	}
	vd_wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	uint32_t max = vd_rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (max == 0) {
		rt_printf("%s: no queue 0\n", prefix);
		return -1;
	}
	if (qsize > max)
		qsize = (uint16_t)max;
	if (qsize > VD_QMAX)
		qsize = VD_QMAX;
	if (!vd_queue_setup(d, qsize)) {
		rt_printf("%s: queue 0 not ready after set-up\n", prefix);
		return -1;
	}
	vd_driver_ok(d);
	if (vd_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET) {
		rt_printf("%s: device needs reset after DRIVER_OK\n", prefix);
		return -1;
	}
	return 0;
}

uint16_t vd_add(struct vd *d, const struct vd_seg *segs, unsigned n,
		bool indirect)
{
	uint16_t head = d->next_desc;

	if (indirect) {
		for (unsigned i = 0; i < n; i++) {
			d->itable[i].addr = segs[i].addr;
			d->itable[i].len = segs[i].len;
			d->itable[i].flags =
				(uint16_t)((segs[i].write ? VRING_DESC_F_WRITE : 0) |
					   (i + 1 < n ? VRING_DESC_F_NEXT : 0));
			d->itable[i].next = (uint16_t)(i + 1 < n ? i + 1 : 0);
		}
		d->desc[head].addr = (uint64_t)d->itable;
		d->desc[head].len = 16u * n;
		d->desc[head].flags = VRING_DESC_F_INDIRECT;
		d->desc[head].next = 0;
		d->next_desc = (uint16_t)((head + 1) % d->qsize);
		return head;
	}
	uint16_t i = head;
	for (unsigned k = 0; k < n; k++) {
		uint16_t nx = (uint16_t)((i + 1) % d->qsize);

		d->desc[i].addr = segs[k].addr;
		d->desc[i].len = segs[k].len;
		d->desc[i].flags =
			(uint16_t)((segs[k].write ? VRING_DESC_F_WRITE : 0) |
				   (k + 1 < n ? VRING_DESC_F_NEXT : 0));
		d->desc[i].next = k + 1 < n ? nx : 0;
		i = nx;
	}
	d->next_desc = i;
	return head;
}

void vd_kick(struct vd *d)
{
	d->kicks++;
	vd_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

void vd_publish(struct vd *d, uint16_t head)
{
	uint16_t old = d->avail_idx, new = (uint16_t)(old + 1);
	volatile uint16_t *used_event = &d->avail->ring[d->qsize];
	volatile uint16_t *avail_event =
		(volatile uint16_t *)&d->used->ring[d->qsize];

	/* Interrupt wanted for the next used entry (§2.7.10). */
	if (d->event_idx)
		*used_event = d->last_used;
	else
		d->avail->flags = 0;
	d->avail->ring[old % d->qsize] = head;
	barrier();	/* ring entry before the index (x86: stores in order) */
	d->avail->idx = new;
	d->avail_idx = new;
	mb();		/* index store before reading the suppression fields */
	if (d->event_idx ? vring_need_event(*avail_event, new, old)
			 : !(d->used->flags & VRING_USED_F_NO_NOTIFY))
		vd_kick(d);
}

int vd_wait(struct vd *d, uint32_t ticks, uint32_t *len)
{
	uint32_t t0 = rt_ticks;
	int ret;

	for (;;) {
		cpu_cli();
		if (d->used->idx != d->last_used) {
			barrier();	/* entry after index */
			volatile struct vring_used_elem *e =
				&d->used->ring[d->last_used % d->qsize];
			if (len)
				*len = e->len;
			d->last_used++;
			ret = 0;
			break;
		}
		/* The device signals DEVICE_NEEDS_RESET with a configuration
		 * interrupt (§2.1.2). */
		if ((d->isr & VIRTIO_MMIO_INT_CONFIG) &&
		    (vd_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET)) {
			ret = -2;
			break;
		}
		if ((uint32_t)(rt_ticks - t0) >= ticks) {
			ret = -1;
			break;
		}
		rt_idle();
	}
	cpu_sti();
	return ret;
}

int vd_blk(struct vd *d, uint32_t type, uint64_t sector,
	   const struct vd_seg *data, unsigned n, uint32_t *len)
{
	struct vd_seg segs[VD_QMAX];
	int ret;

	if (n + 2 > VD_QMAX)
		return -1;
	d->hdr->type = type;
	d->hdr->ioprio = 0;
	d->hdr->sector = sector;
	*d->status = 0xff;
	segs[0] = (struct vd_seg){ (uint64_t)d->hdr, sizeof(struct virtio_blk_outhdr), false };
	for (unsigned i = 0; i < n; i++)
		segs[1 + i] = data[i];
	segs[n + 1] = (struct vd_seg){ (uint64_t)d->status, 1, true };
	/* Linux uses an indirect table for any multi-buffer request once
	 * VIRTIO_RING_F_INDIRECT_DESC is negotiated. */
	vd_publish(d, vd_add(d, segs, n + 2, d->indirect));
	ret = vd_wait(d, VD_TIMEOUT_TICKS, len);
	return ret ? ret : *d->status;
}
