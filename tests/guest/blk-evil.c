/* blk-evil: a hostile virtio-blk driver. Each case (evil=<case>, or
 * evil=all for every case in order) breaks one rule of virtio 1.2 through a
 * real queue or the virtio-mmio registers of the first device, then prints
 * what the device shows afterwards:
 *   evil: <case> status=0x<device status> ready=<QueueReady> used=<used idx>
 *         reqstatus=<status byte, 255 = untouched> len=<used len or 0>
 * then resets the device (status 0), checks that it still answers (magic,
 * status 0) and works again (a full initialisation and a one-sector read):
 *   evil: <case> reset ok          (or "reset FAIL <why>")
 * and finally "evil: done" and an i8042 reset. A few cases are valid but
 * unusual layouts the device must accept (split-hdr, indirect-mixed). */
#include "io.h"
#include "rt.h"
#include "vdrv.h"

const char rt_guest_name[] = "evil";

#define Q 16		/* queue size for every case */
#define SECTOR 512u
#define F_NEXT VRING_DESC_F_NEXT
#define F_W VRING_DESC_F_WRITE
#define F_IND VRING_DESC_F_INDIRECT
#define ST_ALL (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
		VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)

static uint8_t buf[32 * 1024] __attribute__((aligned(4096), section(".noinit.evil")));
static struct vring_desc tables[2][32] __attribute__((aligned(16)));

static struct vd *d;
static uint64_t ram_top;
static uint64_t low_top;	/* end of the highest RAM entry below 4 GiB */
static const uint64_t STD = (1ULL << VIRTIO_F_VERSION_1) |
			    (1ULL << VIRTIO_BLK_F_SEG_MAX) |
			    (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
			    (1ULL << VIRTIO_BLK_F_FLUSH) |
			    (1ULL << VIRTIO_BLK_F_RO) |
			    (1ULL << VIRTIO_RING_F_EVENT_IDX) |
			    (1ULL << VIRTIO_RING_F_INDIRECT_DESC);

static uint64_t HDR(void) { return (uint64_t)d->hdr; }
static uint64_t STS(void) { return (uint64_t)d->status; }

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	d->desc[i].addr = addr;
	d->desc[i].len = len;
	d->desc[i].flags = flags;
	d->desc[i].next = next;
}

static void tdesc(struct vring_desc *t, unsigned i, uint64_t addr,
		  uint32_t len, uint16_t flags, uint16_t next)
{
	t[i].addr = addr;
	t[i].len = len;
	t[i].flags = flags;
	t[i].next = next;
}

/* Full initialisation with `want` and queue size Q; false (message
 * printed) if the device refused it. */
static bool up(uint64_t want)
{
	if (vd_negotiate(d, want) || !vd_queue_setup(d, Q)) {
		rt_printf("evil: set-up refused status=0x%x\n", vd_status(d));
		return false;
	}
	vd_driver_ok(d);
	return true;
}

static void hdr(uint32_t type, uint64_t sector)
{
	d->hdr->type = type;
	d->hdr->ioprio = 0;
	d->hdr->sector = sector;
	*d->status = 0xff;
}

/* Publishes head 0 (avail ring entry, idx + 1, kick) and waits for the
 * device's answer: a used entry or DEVICE_NEEDS_RESET. */
static void go(uint16_t head)
{
	uint32_t len;

	vd_publish(d, head);
	vd_wait(d, 100, &len);
}

static void report(const char *name)
{
	vd_wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	uint32_t ready = vd_rd(d, VIRTIO_MMIO_QUEUE_READY);
	uint16_t used = d->used->idx;
	uint32_t len = used ? d->used->ring[(uint16_t)(used - 1) % Q].len : 0;

	rt_printf("evil: %s status=0x%x ready=%u used=%u reqstatus=%u len=%u\n",
		  name, vd_status(d), ready, used, *d->status, len);
}

/* IN request, one 512-byte data buffer: the usual three descriptors. */
static void std_in(void)
{
	hdr(VIRTIO_BLK_T_IN, 0);
	desc(0, HDR(), 16, F_NEXT, 1);
	desc(1, (uint64_t)buf, SECTOR, F_NEXT | F_W, 2);
	desc(2, STS(), 1, F_W, 0);
}

/* Data buffer of a standard IN request at (addr, len). */
static void bad_data(uint64_t addr, uint32_t len)
{
	if (!up(STD))
		return;
	std_in();
	desc(1, addr, len, F_NEXT | F_W, 2);
	go(0);
}

static void c_loop(void)
{
	if (!up(STD))
		return;
	std_in();
	desc(2, STS(), 1, F_W | F_NEXT, 1);	/* back to the data buffer */
	go(0);
}

static void c_next_range(void)
{
	if (!up(STD))
		return;
	std_in();
	desc(0, HDR(), 16, F_NEXT, Q);		/* next = queue size */
	go(0);
}

static void c_head_range(void)
{
	if (!up(STD))
		return;
	std_in();
	go(Q + 3);				/* avail entry out of range */
}

static void c_avail_jump(void)
{
	if (!up(STD))
		return;
	std_in();
	d->avail->ring[0] = 0;
	d->avail->idx = Q + 1;			/* more than the queue holds */
	vd_kick(d);
	vd_wait(d, 100, NULL);
}

/* Head 0 = one INDIRECT descriptor for table t of n entries. */
static void ind(struct vring_desc *t, unsigned n, uint16_t flags)
{
	desc(0, (uint64_t)t, 16u * n, F_IND | flags, 0);
}

static void ind_std(struct vring_desc *t)
{
	hdr(VIRTIO_BLK_T_IN, 0);
	tdesc(t, 0, HDR(), 16, F_NEXT, 1);
	tdesc(t, 1, (uint64_t)buf, SECTOR, F_NEXT | F_W, 2);
	tdesc(t, 2, STS(), 1, F_W, 0);
}

static void c_indirect_nested(void)
{
	if (!up(STD))
		return;
	ind_std(tables[1]);
	tdesc(tables[0], 0, (uint64_t)tables[1], 48, F_IND, 0);
	ind(tables[0], 1, 0);
	go(0);
}

static void c_indirect_long(void)
{
	/* hdr + 18 data + status = 20 descriptors > queue size 16 */
	if (!up(STD))
		return;
	struct vring_desc *t = tables[0];
	hdr(VIRTIO_BLK_T_IN, 0);
	tdesc(t, 0, HDR(), 16, F_NEXT, 1);
	for (unsigned i = 1; i <= 18; i++)
		tdesc(t, i, (uint64_t)buf + (i - 1) * SECTOR, SECTOR, F_NEXT | F_W,
		      (uint16_t)(i + 1));
	tdesc(t, 19, STS(), 1, F_W, 0);
	ind(t, 20, 0);
	go(0);
}

static void c_indirect_loop(void)
{
	if (!up(STD))
		return;
	ind_std(tables[0]);
	tdesc(tables[0], 2, STS(), 1, F_W | F_NEXT, 0);
	ind(tables[0], 3, 0);
	go(0);
}

static void c_indirect_len(void)
{
	if (!up(STD))
		return;
	ind_std(tables[0]);
	desc(0, (uint64_t)tables[0], 40, F_IND, 0);	/* not a multiple of 16 */
	go(0);
}

static void c_indirect_nofeat(void)
{
	if (!up(STD & ~(1ULL << VIRTIO_RING_F_INDIRECT_DESC)))
		return;
	ind_std(tables[0]);
	ind(tables[0], 3, 0);
	go(0);
}

static void c_indirect_next(void)
{
	if (!up(STD))
		return;
	ind_std(tables[0]);
	ind(tables[0], 3, F_NEXT);		/* INDIRECT | NEXT */
	desc(0, (uint64_t)tables[0], 48, F_IND | F_NEXT, 1);
	desc(1, STS(), 1, F_W, 0);
	go(0);
}

static void c_indirect_oob(void)
{
	if (!up(STD))
		return;
	desc(0, ram_top - 32, 48, F_IND, 0);	/* table across the end of RAM */
	*d->status = 0xff;
	go(0);
}

/* Valid (§2.7.5.3.2: the device MUST handle it): a direct header
 * descriptor chained to one INDIRECT descriptor holding data and status. */
static void c_indirect_mixed(void)
{
	if (!up(STD))
		return;
	hdr(VIRTIO_BLK_T_IN, 0);
	tdesc(tables[0], 0, (uint64_t)buf, SECTOR, F_NEXT | F_W, 1);
	tdesc(tables[0], 1, STS(), 1, F_W, 0);
	desc(0, HDR(), 16, F_NEXT, 1);
	desc(1, (uint64_t)tables[0], 32, F_IND, 0);
	go(0);
}

static void c_oob(void) { bad_data(ram_top, SECTOR); }
static void c_cross(void) { bad_data(ram_top - 256, SECTOR); }
static void c_hole(void) { bad_data(0xD0000000ULL, SECTOR); }
/* From the last bytes of RAM below 4 GiB into what follows (the MMIO hole
 * when RAM reaches 3 GiB). */
static void c_cross_hole(void) { bad_data(low_top - 256, SECTOR); }
static void c_overflow(void) { bad_data(0xFFFFFFFFFFFFFF00ULL, SECTOR); }
static void c_big_len(void) { bad_data(0x200000, 0xFFFFFE00u); }

static void c_status_ro(void)
{
	if (!up(STD))
		return;
	hdr(VIRTIO_BLK_T_OUT, 2040);
	desc(0, HDR(), 16, F_NEXT, 1);
	desc(1, (uint64_t)buf, SECTOR, F_NEXT, 2);
	desc(2, STS(), 1, 0, 0);		/* status not writable */
	go(0);
}

static void c_order(void)
{
	if (!up(STD))
		return;
	std_in();
	desc(2, STS(), 1, 0, 0);		/* readable after writable */
	go(0);
}

static void c_short_hdr(void)
{
	if (!up(STD))
		return;
	std_in();
	desc(0, HDR(), 8, F_NEXT, 1);		/* 8 of 16 header bytes */
	go(0);
}

/* Valid (§2.6.4: no assumption about framing): header in two buffers. */
static void c_split_hdr(void)
{
	if (!up(STD))
		return;
	hdr(VIRTIO_BLK_T_IN, 0);
	desc(0, HDR(), 8, F_NEXT, 1);
	desc(1, HDR() + 8, 8, F_NEXT, 2);
	desc(2, (uint64_t)buf, SECTOR, F_NEXT | F_W, 3);
	desc(3, STS(), 1, F_W, 0);
	go(0);
}

static void c_sector_overflow(void)
{
	if (!up(STD))
		return;
	std_in();
	d->hdr->sector = ~0ULL;			/* sector + 1 wraps to 0 */
	go(0);
}

static void c_partial(void)
{
	if (!up(STD))
		return;
	std_in();
	desc(1, (uint64_t)buf, 100, F_NEXT | F_W, 2);	/* not whole sectors */
	go(0);
}

/* Queue geometry the device must refuse: QueueReady stays 0. */
static void geometry(uint16_t num, uint64_t dsc, uint64_t avl, uint64_t usd)
{
	if (vd_negotiate(d, STD))
		return;
	vd_queue_setup_at(d, num, dsc, avl, usd);
	vd_driver_ok(d);
}

static uint64_t DA(void) { return (uint64_t)d->desc; }
static uint64_t AA(void) { return (uint64_t)d->avail; }
static uint64_t UA(void) { return (uint64_t)d->used; }

static void c_qsize_pow2(void) { geometry(15, DA(), AA(), UA()); }
static void c_qsize_big(void) { geometry(512, DA(), AA(), UA()); }
static void c_qsize_zero(void) { geometry(0, DA(), AA(), UA()); }
static void c_rings_oob(void) { geometry(Q, ram_top, AA(), UA()); }
static void c_rings_cross(void) { geometry(Q, DA(), AA(), ram_top - 64); }
static void c_rings_hole(void) { geometry(Q, DA(), 0xFEC00000ULL, UA()); }
static void c_rings_high(void) { geometry(Q, DA() | (1ULL << 40), AA(), UA()); }
static void c_ring_align(void) { geometry(Q, DA() + 8, AA(), UA()); }

/* After DRIVER_OK the queue registers are frozen (§4.2.3.2 / §4.2.2.2):
 * the original ring keeps working. */
static void c_late_queue(void)
{
	if (!up(STD))
		return;
	vd_wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	vd_wr(d, VIRTIO_MMIO_QUEUE_NUM, 8);
	vd_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0xD0000000u);
	vd_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0xffffffffu);
	vd_wr(d, VIRTIO_MMIO_QUEUE_USED_LOW, 0x10);
	vd_wr(d, VIRTIO_MMIO_QUEUE_READY, 0);
	std_in();
	go(0);
}

/* FEATURES_OK must not stick when the driver acked an unoffered bit
 * (SIZE_MAX, bit 1, is not offered) or left out VERSION_1 (§3.1.1, §6.1). */
static void c_features_unoffered(void)
{
	vd_negotiate(d, STD);	/* learn d->offered */
	vd_set_status(d, 0);
	vd_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vd_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vd_negotiate_raw(d, (d->offered & STD) | (1ULL << VIRTIO_BLK_F_SIZE_MAX));
}

static void c_features_noversion(void)
{
	vd_negotiate(d, STD & ~(1ULL << VIRTIO_F_VERSION_1));
}

/* DRIVER_OK without FEATURES_OK is not a valid transition. */
static void c_driver_ok_early(void)
{
	vd_set_status(d, 0);
	vd_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vd_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vd_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			 VIRTIO_CONFIG_S_DRIVER_OK);
}

/* Clearing status bits (other than by a reset) is ignored (§2.1.1). */
static void c_status_regress(void)
{
	if (!up(STD))
		return;
	vd_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	std_in();
	go(0);
}

/* Notifications for queues that do not exist are ignored. */
static void c_notify_bad(void)
{
	if (!up(STD))
		return;
	vd_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 7);
	vd_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffffu);
	std_in();
	go(0);
}

struct evil_case {
	const char *name;
	void (*fn)(void);
};

static const struct evil_case cases[] = {
	{ "loop", c_loop },
	{ "next-range", c_next_range },
	{ "head-range", c_head_range },
	{ "avail-jump", c_avail_jump },
	{ "indirect-nested", c_indirect_nested },
	{ "indirect-long", c_indirect_long },
	{ "indirect-loop", c_indirect_loop },
	{ "indirect-len", c_indirect_len },
	{ "indirect-nofeat", c_indirect_nofeat },
	{ "indirect-next", c_indirect_next },
	{ "indirect-oob", c_indirect_oob },
	{ "indirect-mixed", c_indirect_mixed },
	{ "oob", c_oob },
	{ "cross", c_cross },
	{ "hole", c_hole },
	{ "cross-hole", c_cross_hole },
	{ "overflow", c_overflow },
	{ "big-len", c_big_len },
	{ "status-ro", c_status_ro },
	{ "order", c_order },
	{ "short-hdr", c_short_hdr },
	{ "split-hdr", c_split_hdr },
	{ "sector-overflow", c_sector_overflow },
	{ "partial", c_partial },
	{ "qsize-pow2", c_qsize_pow2 },
	{ "qsize-big", c_qsize_big },
	{ "qsize-zero", c_qsize_zero },
	{ "rings-oob", c_rings_oob },
	{ "rings-cross", c_rings_cross },
	{ "rings-hole", c_rings_hole },
	{ "rings-high", c_rings_high },
	{ "ring-align", c_ring_align },
	{ "late-queue", c_late_queue },
	{ "features-unoffered", c_features_unoffered },
	{ "features-noversion", c_features_noversion },
	{ "driver-ok-early", c_driver_ok_early },
	{ "status-regress", c_status_regress },
	{ "notify-bad", c_notify_bad },
};

/* Reset, then prove the device is usable again. */
static void recover(const char *name)
{
	vd_set_status(d, 0);
	uint32_t st = vd_status(d), magic = vd_rd(d, VIRTIO_MMIO_MAGIC_VALUE);
	if (st != 0 || magic != VD_MAGIC) {
		rt_printf("evil: %s reset FAIL status=0x%x magic=0x%x\n", name,
			  st, magic);
		return;
	}
	if (!up(STD)) {
		rt_printf("evil: %s reset FAIL set-up\n", name);
		return;
	}
	struct vd_seg s = { (uint64_t)buf, SECTOR, true };
	uint32_t len = 0;
	int r = vd_blk(d, VIRTIO_BLK_T_IN, 0, &s, 1, &len);
	if (r != 0 || len != SECTOR + 1)
		rt_printf("evil: %s reset FAIL read=%d len=%u status=0x%x\n",
			  name, r, len, vd_status(d));
	else
		rt_printf("evil: %s reset ok\n", name);
	vd_set_status(d, 0);
}

static void run(const struct evil_case *c)
{
	memset((void *)d->avail, 0, 6 + 2u * VD_QMAX);
	memset((void *)d->used, 0, 6 + 8u * VD_QMAX);
	*d->status = 0xff;
	d->isr = 0;
	c->fn();
	report(c->name);
	recover(c->name);
}

void guest_main(const struct boot_info *bi)
{
	char which[32];
	unsigned n = sizeof(cases) / sizeof(cases[0]), done = 0;

	ram_top = bi->ram_top;
	for (unsigned i = 0; i < bi->nr_mem; i++) {
		uint64_t end = bi->mem[i].start + bi->mem[i].size;
		if (bi->mem[i].type == 1 && end <= (1ULL << 32) && end > low_top)
			low_top = end;
	}
	rt_pit_start();
	if (vd_discover() < 1) {
		rt_printf("evil: FAIL no virtio-mmio device\n");
		guest_reset();
	}
	d = &vd_devs[0];
	cpu_sti();
	if (vd_probe(d, VIRTIO_ID_BLOCK, "evil"))
		guest_reset();
	if (rt_cmdline_get("evil", which, sizeof(which)))
		memcpy(which, "all", 4);
	for (unsigned i = 0; i < n; i++) {
		if (strlen(which) == 3 && !memcmp(which, "all", 3)) {
			run(&cases[i]);
			done++;
		} else if (strlen(which) == strlen(cases[i].name) &&
			   !memcmp(which, cases[i].name, strlen(which))) {
			run(&cases[i]);
			done++;
		}
	}
	if (!done)
		rt_printf("evil: unknown case %s\n", which);
	cpu_cli();
	rt_pit_stop();
	rt_printf("evil: done\n");
	guest_reset();
}
