/* blkbench: virtio-blk throughput/IOPS with the hot loop in ring 3.
 * Set-up (negotiation, queue, DRIVER_OK) is the shared vdrv.c driver in
 * ring 0; each run then drops to ring 3 (rt/user.c), where it keeps Q
 * requests in flight: header/data/status descriptors are built once per
 * slot, a completion is taken from the used ring by polling, its slot gets
 * the next sector and goes straight back into the avail ring, and the
 * QueueNotify write (an MMIO exit, the only exit in the loop) is issued
 * only when EVENT_IDX says the device has gone idle (§2.7.10). Used-buffer
 * interrupts are suppressed (used_event kept far ahead) unless blkbench.irq
 * is given: then the loop asks for an interrupt and sleeps in ring 0
 * (int 0x80 -> sti;hlt) when nothing is complete.
 *
 * Options: blkbench.runs=<mode>:<qd>[:<bs KiB>][,...] with mode randread |
 * randwrite | read | write (default "randread:1,randread:32,read:16,write:16";
 * random modes default to 4 KiB, sequential to 64 KiB), blkbench.ms=<ms per
 * run> (default 2000, PIT-timed), blkbench.ops=<n> (stop after n ops
 * instead), blkbench.irq. Lines:
 *   blkbench: capacity=<sectors> qsize=<n> features=0x<acked>
 *   blkbench: go <mode> qd=<q> bs=<bytes>            (ring 3 starts now)
 *   blkbench: <mode> qd=<q> bs=<b> ops=<n> bytes=<b> ms=<t> iops=<..> mbps=<..>
 *             kicks=<n> irqs=<n> errors=<n>
 *   blkbench: done                                   then i8042 reset
 * mbps = 10^6 bytes/s. Needs >= 32 MiB of guest RAM (buffers at 16 MiB). */
#include "../vdrv.h"
#include "perf.h"

const char rt_guest_name[] = "blkbench";

#define SECTOR 512u
#define MAXQD 80			/* 3 descriptors per request, qsize 256 */
#define MAXBS (128u * 1024u)
#define BUF_BASE 0x1000000UL		/* 16 MiB */
#define HDR_BASE (BUF_BASE + MAXQD * MAXBS)	/* headers + status bytes */
#define BUF_END (HDR_BASE + 4096 * 2)
#define USTACK_SIZE 65536

extern uint8_t _end[];
static uint8_t ustack[USTACK_SIZE] __attribute__((aligned(16), section(".noinit.blkbench")));

struct job {
	/* in */
	struct vd *d;
	bool write, random, irq;
	uint32_t qd, bs, ticks;
	uint64_t max_ops, nblocks;	/* blocks of bs in the drive */
	/* out */
	uint64_t ops, bytes, us;
	uint32_t kicks, errors, waits;
};

static volatile struct virtio_blk_outhdr *hdr(uint32_t k)
{
	return (volatile struct virtio_blk_outhdr *)(HDR_BASE + 32 * k);
}

static volatile uint8_t *status(uint32_t k)
{
	return (volatile uint8_t *)(HDR_BASE + 32 * k + 16);
}

/* Ring 0 (int 0x80): sleep until a used entry is there or a tick passes. */
static long wait_used(long arg)
{
	struct vd *d = (struct vd *)arg;

	if (d->used->idx == d->last_used)
		asm volatile("sti; hlt; cli" ::: "memory");
	return 0;
}

/* Ring 3 from here to run(). */
static uint64_t next_sector(struct job *j, uint64_t *seq, uint64_t *rnd)
{
	uint64_t blk;

	if (j->random) {
		blk = perf_xorshift(rnd) % j->nblocks;
	} else {
		blk = *seq;
		if (++*seq >= j->nblocks)
			*seq = 0;
	}
	return blk * (j->bs / SECTOR);
}

static long run(void *arg)
{
	struct job *j = arg;
	struct vd *d = j->d;
	uint16_t qs = d->qsize, avail = d->avail_idx, published = avail, last = d->last_used;
	volatile uint16_t *used_event = &d->avail->ring[qs];
	volatile uint16_t *avail_event = (volatile uint16_t *)&d->used->ring[qs];
	uint64_t seq = 0, rnd = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)j->qd << 32 | j->bs);
	uint32_t inflight = 0;
	struct perf_clock clk;
	bool stop = false;

	/* Descriptors of slot k: 3k header (readable), 3k+1 data, 3k+2 status. */
	for (uint32_t k = 0; k < j->qd; k++) {
		uint16_t h = (uint16_t)(3 * k);

		d->desc[h].addr = (uint64_t)hdr(k);
		d->desc[h].len = sizeof(struct virtio_blk_outhdr);
		d->desc[h].flags = VRING_DESC_F_NEXT;
		d->desc[h].next = (uint16_t)(h + 1);
		d->desc[h + 1].addr = BUF_BASE + (uint64_t)k * MAXBS;
		d->desc[h + 1].len = j->bs;
		d->desc[h + 1].flags = (uint16_t)(VRING_DESC_F_NEXT |
						   (j->write ? 0 : VRING_DESC_F_WRITE));
		d->desc[h + 1].next = (uint16_t)(h + 2);
		d->desc[h + 2].addr = (uint64_t)status(k);
		d->desc[h + 2].len = 1;
		d->desc[h + 2].flags = VRING_DESC_F_WRITE;
		d->desc[h + 2].next = 0;
		hdr(k)->type = j->write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
		hdr(k)->ioprio = 0;
	}
	*used_event = j->irq ? last : (uint16_t)(last + 0x4000);
	perf_clock_start(&clk);
	for (uint32_t k = 0; k < j->qd; k++) {
		hdr(k)->sector = next_sector(j, &seq, &rnd);
		*status(k) = 0xff;
		d->avail->ring[avail % qs] = (uint16_t)(3 * k);
		avail++;
		inflight++;
	}
	for (;;) {
		/* Publish what is queued; notify only if the device asked. */
		if (avail != published) {
			perf_barrier();
			d->avail->idx = avail;
			perf_mb();
			if (vring_need_event(*avail_event, avail, published)) {
				vd_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
				j->kicks++;
			}
			published = avail;
		}
		if (!inflight)
			break;
		/* Wait for completions. */
		while (d->used->idx == last) {
			if (perf_clock_poll(&clk) >= j->ticks && j->ticks)
				stop = true;
			if (j->irq) {
				*used_event = last;
				perf_mb();
				if (d->used->idx != last)
					break;
				j->waits++;
				d->last_used = last;
				rt_user_ring0(wait_used, (long)d);
			} else {
				cpu_pause();
			}
		}
		perf_barrier();
		uint16_t end = d->used->idx;
		while (last != end) {
			volatile struct vring_used_elem *e = &d->used->ring[last % qs];
			uint32_t id = e->id, k = id / 3;

			last++;
			inflight--;
			if (id % 3 || k >= j->qd || *status(k) != 0 ||
			    e->len != (j->write ? 1 : j->bs + 1)) {
				j->errors++;
			} else {
				j->ops++;
				j->bytes += j->bs;
			}
			if (j->max_ops && j->ops + inflight >= j->max_ops)
				stop = true;
			if (stop)
				continue;
			hdr(k)->sector = next_sector(j, &seq, &rnd);
			*status(k) = 0xff;
			d->avail->ring[avail % qs] = (uint16_t)id;
			avail++;
			inflight++;
		}
		if (!j->irq)
			*used_event = (uint16_t)(last + 0x4000);
		if (!stop && j->ticks && perf_clock_poll(&clk) >= j->ticks)
			stop = true;
	}
	j->us = perf_clock_us(&clk);
	d->avail_idx = avail;
	d->last_used = last;
	return 0;
}

/* Ring 0 again. */
static const char *parse_run(const char *s, struct job *j)
{
	static const char *const names[] = { "randread", "randwrite", "read", "write" };
	int m = -1;

	for (int i = 0; i < 4; i++) {
		size_t n = strlen(names[i]);

		if (!strncmp(s, names[i], n) && s[n] == ':') {
			m = i;
			s += n + 1;
			break;
		}
	}
	if (m < 0)
		return NULL;
	j->random = m < 2;
	j->write = m == 1 || m == 3;
	j->qd = 0;
	while (*s >= '0' && *s <= '9')
		j->qd = j->qd * 10 + (uint32_t)(*s++ - '0');
	j->bs = j->random ? 4096 : 65536;
	if (*s == ':') {
		uint32_t kib = 0;

		s++;
		while (*s >= '0' && *s <= '9')
			kib = kib * 10 + (uint32_t)(*s++ - '0');
		j->bs = kib * 1024;
	}
	if (j->qd < 1)
		j->qd = 1;
	if (j->qd > MAXQD)
		j->qd = MAXQD;
	if (j->bs < SECTOR || j->bs > MAXBS || j->bs % SECTOR)
		j->bs = 4096;
	return *s == ',' ? s + 1 : s;
}

static const char *mode_name(const struct job *j)
{
	return j->random ? (j->write ? "randwrite" : "randread") : (j->write ? "write" : "read");
}

void guest_main(const struct boot_info *bi)
{
	char runs[256], iops[24], mbps[24];
	uint64_t want = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
			(1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH) |
			(1ULL << VIRTIO_RING_F_EVENT_IDX);
	uint32_t ms = (uint32_t)rt_cmdline_u64("blkbench.ms", 2000);
	uint64_t max_ops = rt_cmdline_u64("blkbench.ops", 0);
	bool irq = rt_cmdline_has("blkbench.irq");
	struct vd *d;
	uint64_t cap;
	const char *s;
	bool failed = false;

	if (bi->ram_top < BUF_END) {
		rt_printf("blkbench: FAIL needs 32 MiB of RAM\n");
		guest_reset();
	}
	rt_pit_start();
	if (vd_discover() < 1) {
		rt_printf("blkbench: FAIL no virtio-mmio device\n");
		guest_reset();
	}
	d = &vd_devs[0];
	if (vd_init(d, want, VD_QMAX, "blkbench")) {
		rt_printf("blkbench: FAIL\n");
		guest_reset();
	}
	cap = vd_cfg64(d, 0);
	rt_printf("blkbench: capacity=%lu qsize=%u features=0x%lx event_idx=%u\n", cap, d->qsize,
		  d->acked, d->event_idx);
	if (!d->event_idx)
		rt_printf("blkbench: no EVENT_IDX: every batch notifies\n");
	/* Ring 3 touches the image (code, rings, stack), the buffers and the
	 * device's register page. */
	rt_user_init();
	rt_user_map(0, (uint64_t)_end);
	rt_user_map(BUF_BASE, BUF_END - BUF_BASE);
	rt_user_map(d->base, 4096);
	if (rt_cmdline_get("blkbench.runs", runs, sizeof(runs))) {
		static const char dflt[] = "randread:1,randread:32,read:16,write:16";

		memcpy(runs, dflt, sizeof(dflt));
	}
	for (s = runs; s && *s;) {
		struct job j;

		memset(&j, 0, sizeof(j));
		s = parse_run(s, &j);
		if (!s) {
			rt_printf("blkbench: bad blkbench.runs\n");
			failed = true;
			break;
		}
		if (3 * j.qd > d->qsize)
			j.qd = d->qsize / 3;
		j.d = d;
		j.irq = irq;
		j.ticks = max_ops ? 0 : (ms + RT_TICK_MS - 1) / RT_TICK_MS;
		j.max_ops = max_ops;
		j.nblocks = cap / (j.bs / SECTOR);
		if (!j.nblocks) {
			rt_printf("blkbench: drive smaller than %u bytes\n", j.bs);
			failed = true;
			break;
		}
		uint32_t irqs0 = d->irqs;

		rt_printf("blkbench: go %s qd=%u bs=%u\n", mode_name(&j), j.qd, j.bs);
		rt_user_call(run, &j, ustack + sizeof(ustack));
		perf_fix1(iops, j.ops * 1000000ULL, j.us ? j.us : 1);
		perf_fix1(mbps, j.bytes, j.us ? j.us : 1);
		iops[strlen(iops) - 2] = 0;	/* integer IOPS */
		rt_printf("blkbench: %s qd=%u bs=%u ops=%lu bytes=%lu ms=%lu iops=%s mbps=%s "
			  "kicks=%u irqs=%u waits=%u errors=%u\n",
			  mode_name(&j), j.qd, j.bs, j.ops, j.bytes, j.us / 1000, iops, mbps,
			  j.kicks, d->irqs - irqs0, j.waits, j.errors);
		if (j.errors)
			failed = true;
	}
	if (failed)
		rt_printf("blkbench: FAIL\n");
	vd_set_status(d, 0);
	rt_pit_stop();
	rt_printf("blkbench: done\n");
	guest_reset();
}
