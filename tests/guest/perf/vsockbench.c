/* vsockbench: virtio-vsock throughput and latency with the data path in
 * ring 3. Set-up (VERSION_1 + EVENT_IDX, rx/tx/event queues of 128, rx
 * ring filled with 64 KiB buffers) runs in ring 0 through vdrv.c; the TSC
 * is calibrated against the PIT, then the PIT is stopped and everything
 * else runs in one ring-3 polling loop with no interrupts at all
 * (used_event kept far ahead on every queue): it takes packets from the
 * rx used ring, answers REQUESTs on its ports, moves data, and builds tx
 * packets (header + payload in one descriptor), writing QueueNotify (the
 * only exit) only when EVENT_IDX says the device went idle.
 *
 * Ports (vsockbench.port=P, default 5000; vsockbench.mode= echo | sink |
 * source | all, default all: echo on P, sink on P+1, source on P+2):
 *   echo    every byte received is sent back on the same connection: copied
 *           straight from the rx buffer into a tx buffer when the host's
 *           credit allows, else through a 256 KiB per-connection ring
 *           (that is the buf_alloc we advertise); when the host shuts down
 *           its sending side and all is echoed, we shut down and forget it.
 *   sink    received bytes are counted and dropped (credit returned with a
 *           CREDIT_UPDATE every 64 KiB); shutdown as echo.
 *   source  sends MAXDATA-byte packets (zeros) as fast as the host's credit
 *           allows until the host shuts down or resets the connection.
 * Up to NCONN connections at once. The ring-3 loop returns to ring 0 only
 * to print a closed connection's line, so nothing is printed while data
 * moves. vsockbench.conns=<n>: end after n connections closed (default 0:
 * never); vsockbench.ms=<ms>: end after this long (default 300000).
 * Lines:
 *   vsockbench: ready cid=<cid> port=<P> mode=<m> features=0x<acked> tsc_khz=<n>
 *   vsockbench: closed port=<p> mode=<m> rx_bytes=<n> tx_bytes=<n> rx_pkts=<n> tx_pkts=<n> us=<t> rst=<0|1>
 *   vsockbench: stats rx_pkts=<n> tx_pkts=<n> kicks=<n> bad=<n> tx_full=<n>
 *   vsockbench: done                     (FAIL before it on errors) then i8042 reset
 * Needs >= 48 MiB of RAM (buffers at 16 MiB). */
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>

#include "../vdrv.h"
#include "perf.h"

const char rt_guest_name[] = "vsockbench";

#define PAGE 4096
#define QS 128
#define SLOT (64u * 1024)
#define HDR 44u
#define MAXDATA (SLOT - HDR)
#define NCONN 16
#define RING (256u * 1024)
#define HOST_CID 2
#define BUF_BASE 0x1000000UL
#define RXBUF(i) ((uint8_t *)(BUF_BASE + (uint64_t)(i) * SLOT))
#define TXBUF(i) ((uint8_t *)(BUF_BASE + (uint64_t)(QS + (i)) * SLOT))
#define EVBUF(i) ((uint8_t *)(BUF_BASE + 2ULL * QS * SLOT + 8 * (i)))
#define RINGS (BUF_BASE + 2ULL * QS * SLOT + PAGE)
#define BUF_END (RINGS + (uint64_t)NCONN * RING)
#define USTACK_SIZE 65536

extern uint8_t _end[];
static uint8_t qmem[3][3 * PAGE] __attribute__((aligned(PAGE), section(".noinit.vsockbench")));
static uint8_t ustack[USTACK_SIZE] __attribute__((aligned(16), section(".noinit.vsockbench")));

enum { M_ECHO, M_SINK, M_SOURCE, M_ALL };
static const char *const mode_name[] = { "echo", "sink", "source", "all" };

struct q {
	unsigned sel;
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	uint16_t avail_idx, published, last_used;
};

struct conn {
	bool used;
	int mode;
	uint32_t lport, pport;
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;	/* the host's credit */
	uint32_t fwd_cnt, fwd_told;			/* our receive side */
	uint8_t *ring;
	uint32_t head, len;
	bool peer_done;
	uint64_t rx_bytes, tx_bytes, t0;
	uint32_t rx_pkts, tx_pkts;
};

struct done {
	int mode;
	uint32_t lport;
	uint64_t rx_bytes, tx_bytes, us;
	uint32_t rx_pkts, tx_pkts;
	bool rst;
};

static struct vd *dev;
static struct q rxq, txq, evq;
static uint64_t cid, tsc_khz, deadline;
static uint32_t base_port = 5000;
static int mode = M_ALL;
static uint16_t txfree[QS], ntxfree;
static bool txbusy[QS];
static struct conn conns[NCONN];
static struct done done[NCONN];
static unsigned ndone;
static struct {
	uint64_t rx_pkts, tx_pkts, kicks, bad, tx_full, reset_events;
} st;

/* ---- rings (ring 3) ----------------------------------------------------- */

static void q_add(struct q *q, uint16_t id)
{
	q->avail->ring[q->avail_idx % QS] = id;
	q->avail_idx++;
}

static volatile uint16_t *avail_event(struct q *q)
{
	return (volatile uint16_t *)&q->used->ring[QS];
}

static void q_flush(struct q *q)
{
	uint16_t old = q->published, new = q->avail_idx;

	if (old == new)
		return;
	perf_barrier();
	q->avail->idx = new;
	q->published = new;
	perf_mb();
	if (vring_need_event(*avail_event(q), new, old)) {
		vd_wr(dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->sel);
		st.kicks++;
	}
}

/* No used-buffer interrupts: keep used_event far ahead of last_used. */
static void q_noirq(struct q *q)
{
	q->avail->ring[QS] = (uint16_t)(q->last_used + 0x4000);
}

static void post_rx(struct q *q, uint16_t id, uint8_t *buf, uint32_t len)
{
	q->desc[id].addr = (uint64_t)buf;
	q->desc[id].len = len;
	q->desc[id].flags = VRING_DESC_F_WRITE;
	q->desc[id].next = 0;
	q_add(q, id);
}

static void tx_reclaim(void)
{
	while (txq.used->idx != txq.last_used) {
		perf_barrier();
		uint32_t id = txq.used->ring[txq.last_used % QS].id;

		txq.last_used++;
		if (id < QS && txbusy[id]) {
			txbusy[id] = false;
			txfree[ntxfree++] = (uint16_t)id;
		}
	}
}

/* A free tx buffer id, or -1 (the caller retries on a later pass). */
static int tx_slot(void)
{
	if (!ntxfree)
		tx_reclaim();
	if (!ntxfree) {
		st.tx_full++;
		return -1;
	}
	return txfree[--ntxfree];
}

static void tx_hdr(int id, struct conn *c, uint32_t lport, uint32_t pport, uint16_t op,
		   uint32_t flags, uint32_t len)
{
	struct virtio_vsock_hdr *h = (struct virtio_vsock_hdr *)TXBUF(id);

	h->src_cid = cid;
	h->dst_cid = HOST_CID;
	h->src_port = lport;
	h->dst_port = pport;
	h->len = len;
	h->type = VIRTIO_VSOCK_TYPE_STREAM;
	h->op = op;
	h->flags = flags;
	h->buf_alloc = RING;
	h->fwd_cnt = c ? c->fwd_cnt : 0;
	if (c) {
		c->fwd_told = c->fwd_cnt;
		if (len) {
			c->tx_cnt += len;
			c->tx_bytes += len;
			c->tx_pkts++;
		}
	}
	txq.desc[id].addr = (uint64_t)TXBUF(id);
	txq.desc[id].len = HDR + len;
	txq.desc[id].flags = 0;
	txq.desc[id].next = 0;
	txbusy[id] = true;
	q_add(&txq, (uint16_t)id);
	st.tx_pkts++;
}

/* A control packet (no payload); false when no tx buffer is free. */
static bool ctl(struct conn *c, uint32_t lport, uint32_t pport, uint16_t op, uint32_t flags)
{
	int id = tx_slot();

	if (id < 0)
		return false;
	tx_hdr(id, c, lport, pport, op, flags, 0);
	return true;
}

/* ---- connections (ring 3) ----------------------------------------------- */

static uint32_t credit(const struct conn *c)
{
	uint32_t inflight = c->tx_cnt - c->peer_fwd_cnt;

	return inflight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - inflight;
}

static struct conn *find(uint32_t lport, uint32_t pport)
{
	for (unsigned i = 0; i < NCONN; i++)
		if (conns[i].used && conns[i].lport == lport && conns[i].pport == pport)
			return &conns[i];
	return NULL;
}

static void conn_close(struct conn *c, bool rst)
{
	struct done *d = &done[ndone++];

	d->mode = c->mode;
	d->lport = c->lport;
	d->rx_bytes = c->rx_bytes;
	d->tx_bytes = c->tx_bytes;
	d->rx_pkts = c->rx_pkts;
	d->tx_pkts = c->tx_pkts;
	d->us = (rdtsc() - c->t0) * 1000 / tsc_khz;
	d->rst = rst;
	c->used = false;
}

static void on_rw(struct conn *c, const uint8_t *data, uint32_t len)
{
	c->rx_bytes += len;
	c->rx_pkts++;
	if (c->mode != M_ECHO) {
		c->fwd_cnt += len;	/* consumed at once */
		return;
	}
	if (len > RING - c->len) {
		st.bad++;	/* beyond the credit we gave */
		return;
	}
	if (!c->len && len <= credit(c)) {
		/* The usual case: straight into a tx buffer. */
		int id = tx_slot();

		if (id >= 0) {
			c->fwd_cnt += len;
			memcpy(TXBUF(id) + HDR, data, len);
			tx_hdr(id, c, c->lport, c->pport, VIRTIO_VSOCK_OP_RW, 0, len);
			return;
		}
	}
	uint32_t tail = (c->head + c->len) % RING, first = RING - tail;

	if (first > len)
		first = len;
	memcpy(c->ring + tail, data, first);
	memcpy(c->ring, data + first, len - first);
	c->len += len;
}

static int port_mode(uint32_t port)
{
	if (mode != M_ALL)
		return port == base_port ? mode : -1;
	if (port >= base_port && port < base_port + 3)
		return (int)(port - base_port);
	return -1;
}

static void handle(const struct virtio_vsock_hdr *h, const uint8_t *data)
{
	struct conn *c;

	st.rx_pkts++;
	if (h->src_cid != HOST_CID || h->dst_cid != cid || h->type != VIRTIO_VSOCK_TYPE_STREAM) {
		st.bad++;
		return;
	}
	c = find(h->dst_port, h->src_port);
	if (!c) {
		int m = port_mode(h->dst_port);

		if (h->op == VIRTIO_VSOCK_OP_REQUEST && m >= 0) {
			for (unsigned i = 0; i < NCONN && !c; i++)
				if (!conns[i].used)
					c = &conns[i];
		}
		if (c) {
			memset(c, 0, sizeof(*c));
			c->used = true;
			c->mode = m;
			c->lport = h->dst_port;
			c->pport = h->src_port;
			c->ring = (uint8_t *)(RINGS + (uint64_t)(c - conns) * RING);
			c->peer_buf_alloc = h->buf_alloc;
			c->peer_fwd_cnt = h->fwd_cnt;
			c->t0 = rdtsc();
			if (!ctl(c, c->lport, c->pport, VIRTIO_VSOCK_OP_RESPONSE, 0))
				c->used = false;
		} else if (h->op != VIRTIO_VSOCK_OP_RST) {
			ctl(NULL, h->dst_port, h->src_port, VIRTIO_VSOCK_OP_RST, 0);
		}
		return;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RST:
		conn_close(c, true);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (h->flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
			c->peer_done = true;
		if (c->mode == M_SOURCE)
			c->peer_done = true;	/* the reader is gone: stop */
		break;
	case VIRTIO_VSOCK_OP_RW:
		on_rw(c, data, h->len);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		ctl(c, c->lport, c->pport, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
		break;
	default:
		break;
	}
}

/* Data out, credit updates and the final shutdown of one connection. */
static void pump(struct conn *c)
{
	int id;

	if (c->mode == M_ECHO) {
		while (c->len && credit(c)) {
			uint32_t n = c->len, first = RING - c->head;

			if (n > first)
				n = first;
			if (n > MAXDATA)
				n = MAXDATA;
			if (n > credit(c))
				n = credit(c);
			if ((id = tx_slot()) < 0)
				return;
			c->fwd_cnt += n;	/* echoed: room again */
			memcpy(TXBUF(id) + HDR, c->ring + c->head, n);
			tx_hdr(id, c, c->lport, c->pport, VIRTIO_VSOCK_OP_RW, 0, n);
			c->head = (c->head + n) % RING;
			c->len -= n;
		}
	} else if (c->mode == M_SOURCE && !c->peer_done) {
		uint32_t n;

		/* Payload: whatever the tx buffer holds (zeros); no copy. */
		while ((n = credit(c)) != 0) {
			if (n > MAXDATA)
				n = MAXDATA;
			if ((id = tx_slot()) < 0)
				return;
			tx_hdr(id, c, c->lport, c->pport, VIRTIO_VSOCK_OP_RW, 0, n);
		}
	}
	if (c->peer_done && !c->len) {
		if (ctl(c, c->lport, c->pport, VIRTIO_VSOCK_OP_SHUTDOWN,
			VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND))
			conn_close(c, false);
		return;
	}
	/* Sink: nothing else carries fwd_cnt to the host. */
	if (c->fwd_cnt - c->fwd_told >= RING / 4)
		ctl(c, c->lport, c->pport, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
}

static void rx_poll(void)
{
	unsigned n = 0;

	while (n < 64 && rxq.used->idx != rxq.last_used) {
		perf_barrier();
		volatile struct vring_used_elem *e = &rxq.used->ring[rxq.last_used % QS];
		uint32_t id = e->id, len = e->len;

		rxq.last_used++;
		n++;
		if (id >= QS) {
			st.bad++;
			continue;
		}
		const struct virtio_vsock_hdr *h = (const struct virtio_vsock_hdr *)RXBUF(id);

		if (len >= HDR && h->len <= len - HDR && h->len <= MAXDATA)
			handle(h, RXBUF(id) + HDR);
		else
			st.bad++;
		post_rx(&rxq, (uint16_t)id, RXBUF(id), SLOT);
	}
}

static void ev_poll(void)
{
	while (evq.used->idx != evq.last_used) {
		perf_barrier();
		uint32_t id = evq.used->ring[evq.last_used % QS].id;

		evq.last_used++;
		if (id < 4) {
			if (*(volatile uint32_t *)EVBUF(id) == VIRTIO_VSOCK_EVENT_TRANSPORT_RESET) {
				st.reset_events++;
				for (unsigned i = 0; i < NCONN; i++)
					if (conns[i].used)
						conn_close(&conns[i], true);
			}
			post_rx(&evq, (uint16_t)id, EVBUF(id), 8);
		}
	}
	q_flush(&evq);
	q_noirq(&evq);
}

/* The ring-3 loop: returns 1 when connections closed (ring 0 prints them),
 * 0 at the deadline. */
static long loop(void *arg)
{
	(void)arg;
	for (;;) {
		rx_poll();
		for (unsigned i = 0; i < NCONN; i++)
			if (conns[i].used)
				pump(&conns[i]);
		q_flush(&txq);
		q_flush(&rxq);
		q_noirq(&rxq);
		q_noirq(&txq);
		if (evq.used->idx != evq.last_used)
			ev_poll();
		if (ndone)
			return 1;
		if (rdtsc() >= deadline)
			return 0;
		cpu_pause();
	}
}

/* ---- set-up (ring 0) ---------------------------------------------------- */

static void q_init(struct q *q, unsigned sel)
{
	uint8_t *m = qmem[sel];

	memset(m, 0, sizeof(qmem[sel]));
	q->sel = sel;
	q->desc = (volatile struct vring_desc *)m;
	q->avail = (volatile struct vring_avail *)(m + PAGE);
	q->used = (volatile struct vring_used *)(m + 2 * PAGE);
	q->avail_idx = q->published = q->last_used = 0;
}

static int setup(void)
{
	uint64_t want = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX);
	struct q *qs[3] = { &rxq, &txq, &evq };

	if (vd_probe(dev, VIRTIO_ID_VSOCK, "vsockbench"))
		return -1;
	if (vd_negotiate(dev, want)) {
		rt_printf("vsockbench: FEATURES_OK refused (offered 0x%lx)\n", dev->offered);
		return -1;
	}
	if (!dev->event_idx)
		rt_printf("vsockbench: no EVENT_IDX: every batch notifies\n");
	cid = vd_cfg64(dev, 0);
	for (unsigned i = 0; i < 3; i++) {
		vd_wr(dev, VIRTIO_MMIO_QUEUE_SEL, i);
		if (vd_rd(dev, VIRTIO_MMIO_QUEUE_NUM_MAX) < QS) {
			rt_printf("vsockbench: queue %u too small\n", i);
			return -1;
		}
		q_init(qs[i], i);
		if (!vd_queue_setup_sel(dev, i, QS, (uint64_t)qs[i]->desc,
					(uint64_t)qs[i]->avail, (uint64_t)qs[i]->used))
			return -1;
	}
	for (uint16_t i = 0; i < QS; i++)
		post_rx(&rxq, i, RXBUF(i), SLOT);
	for (uint16_t i = 0; i < 4; i++)
		post_rx(&evq, i, EVBUF(i), 8);
	for (unsigned i = 0; i < 3; i++) {
		qs[i]->avail->idx = qs[i]->avail_idx;
		qs[i]->published = qs[i]->avail_idx;
		q_noirq(qs[i]);
	}
	ntxfree = 0;
	for (uint16_t i = QS; i > 0; i--)
		txfree[ntxfree++] = (uint16_t)(i - 1);
	vd_driver_ok(dev);
	if (vd_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET)
		return -1;
	return 0;
}

/* TSC kHz over 10 PIT ticks (100 ms). */
static uint64_t calibrate(void)
{
	uint32_t t;
	uint64_t a, r;

	cpu_sti();	/* the tick needs interrupts; guest_main runs with IF = 0 */
	t = rt_ticks;
	while (rt_ticks == t)
		cpu_pause();
	t = rt_ticks;
	a = rdtsc();
	while (rt_ticks - t < 10)
		cpu_pause();
	r = (rdtsc() - a) / (10 * RT_TICK_MS);
	cpu_cli();
	return r;
}

void guest_main(const struct boot_info *bi)
{
	char buf[16];
	uint32_t want_conns, closed = 0;
	bool failed = false;

	if (bi->ram_top < BUF_END) {
		rt_printf("vsockbench: FAIL needs %lu MiB of RAM\n", (unsigned long)(BUF_END >> 20) + 1);
		guest_reset();
	}
	base_port = (uint32_t)rt_cmdline_u64("vsockbench.port", 5000);
	want_conns = (uint32_t)rt_cmdline_u64("vsockbench.conns", 0);
	if (!rt_cmdline_get("vsockbench.mode", buf, sizeof(buf)))
		for (int m = 0; m <= M_ALL; m++)
			if (!strncmp(buf, mode_name[m], sizeof(buf)))
				mode = m;
	rt_pit_start();
	int ndev = vd_discover();
	for (int i = 0; i < ndev && !dev; i++)
		if (vd_rd(&vd_devs[i], VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_VSOCK)
			dev = &vd_devs[i];
	if (!dev) {
		rt_printf("vsockbench: FAIL no virtio-vsock device among %d\n", ndev);
		guest_reset();
	}
	if (setup()) {
		rt_printf("vsockbench: FAIL set-up\n");
		vd_set_status(dev, 0);
		guest_reset();
	}
	tsc_khz = calibrate();
	rt_pit_stop();
	deadline = rdtsc() + rt_cmdline_u64("vsockbench.ms", 300000) * tsc_khz;
	rt_user_init();
	rt_user_map(0, (uint64_t)_end);
	rt_user_map(BUF_BASE, BUF_END - BUF_BASE);
	rt_user_map(dev->base, 4096);
	rt_printf("vsockbench: ready cid=%lu port=%u mode=%s features=0x%lx tsc_khz=%lu\n", cid,
		  base_port, mode_name[mode], dev->acked, tsc_khz);
	while (rt_user_call(loop, NULL, ustack + sizeof(ustack))) {
		for (unsigned i = 0; i < ndone; i++) {
			struct done *d = &done[i];

			rt_printf("vsockbench: closed port=%u mode=%s rx_bytes=%lu tx_bytes=%lu "
				  "rx_pkts=%u tx_pkts=%u us=%lu rst=%u\n", d->lport,
				  mode_name[d->mode], d->rx_bytes, d->tx_bytes, d->rx_pkts,
				  d->tx_pkts, d->us, d->rst);
		}
		closed += ndone;
		ndone = 0;
		if (vd_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET) {
			rt_printf("vsockbench: device needs reset\n");
			failed = true;
			break;
		}
		if (want_conns && closed >= want_conns)
			break;
	}
	rt_printf("vsockbench: stats rx_pkts=%lu tx_pkts=%lu kicks=%lu bad=%lu tx_full=%lu "
		  "reset_events=%lu\n", st.rx_pkts, st.tx_pkts, st.kicks, st.bad, st.tx_full,
		  st.reset_events);
	if (failed || st.bad)
		rt_printf("vsockbench: FAIL\n");
	vd_set_status(dev, 0);
	rt_printf("vsockbench: done\n");
	guest_reset();
}
