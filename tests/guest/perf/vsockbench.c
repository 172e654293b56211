/* vsockbench: virtio-vsock throughput and latency with the data path in
 * ring 3. Set-up (VERSION_1 + EVENT_IDX, rx/tx/event queues of 128, rx
 * ring filled with 64 KiB buffers) runs in ring 0 through vdrv.c and the
 * device layer of vsk.c (vsk_dev_setup); the TSC is calibrated against the
 * PIT, then the PIT is stopped and everything else runs in one ring-3
 * polling loop with no interrupts at all (used_event kept far ahead on
 * every queue): it takes packets from the rx used ring, answers REQUESTs
 * on its ports, moves data, and builds tx packets (header + payload in one
 * descriptor), writing QueueNotify (the only exit) only when EVENT_IDX says
 * the device went idle. Rings, headers, credit and receive rings are
 * vq.h's and vsk.h's inline helpers: one flush per queue per pass.
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

#include "../vsk.h"
#include "perf.h"

const char rt_guest_name[] = "vsockbench";

#define QS 128
#define SLOT (64u * 1024)
#define MAXDATA (SLOT - VSK_HDR)
#define NCONN 16
#define RING (256u * 1024)
#define BUF_BASE 0x1000000UL
#define BUF_END (BUF_BASE + VSK_MEM(QS, SLOT, NCONN, RING))
#define USTACK_SIZE 65536

extern uint8_t _end[];
static uint8_t qmem[3 * VQ_MEM] __attribute__((aligned(4096), section(".noinit.vsockbench")));
static uint8_t ustack[USTACK_SIZE] __attribute__((aligned(16), section(".noinit.vsockbench")));

enum { M_ECHO, M_SINK, M_SOURCE, M_ALL };
static const char *const mode_name[] = { "echo", "sink", "source", "all" };

struct conn {
	bool used;
	int mode;
	struct vsk_stream s;	/* ports, credit, receive ring (vsk.h) */
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

/* The device layer of vsk.c (queues, buffers at BUF_BASE, CID), run from
 * ring 3 by the loop below; vsk.c's socket layer is not used. */
static struct vsk_dev vs;
static uint64_t tsc_khz, deadline;
static uint32_t base_port = 5000;
static int mode = M_ALL;
static struct conn conns[NCONN];
static struct done done[NCONN];
static unsigned ndone;
static struct {
	uint64_t rx_pkts, tx_pkts, tx_full, reset_events;
	uint32_t bad;		/* malformed or foreign packets, credit overruns */
} st;

/* ---- packets (ring 3) --------------------------------------------------- */

/* A free tx buffer id, or -1 (the caller retries on a later pass). */
static int tx_slot(void)
{
	int id = vq_get(&vs.tx);

	if (id < 0)
		st.tx_full++;
	return id;
}

static void tx_count(struct conn *c, uint32_t len)
{
	if (c && len) {
		c->tx_bytes += len;
		c->tx_pkts++;
	}
	st.tx_pkts++;
}

/* Queues tx buffer id (payload in place) as op; sent at the loop's flush. */
static void tx(int id, struct conn *c, uint32_t lport, uint32_t pport, uint16_t op,
	       uint32_t flags, uint32_t len)
{
	vsk_tx(&vs, id, c ? &c->s : NULL, lport, pport, op, flags, len);
	tx_count(c, len);
}

/* A control packet (no payload); false when no tx buffer is free. */
static bool ctl(struct conn *c, uint32_t lport, uint32_t pport, uint16_t op, uint32_t flags)
{
	int id = tx_slot();

	if (id < 0)
		return false;
	tx(id, c, lport, pport, op, flags, 0);
	return true;
}

/* ---- connections (ring 3) ----------------------------------------------- */

static struct conn *find(uint32_t lport, uint32_t pport)
{
	for (unsigned i = 0; i < NCONN; i++)
		if (conns[i].used && conns[i].s.lport == lport && conns[i].s.pport == pport)
			return &conns[i];
	return NULL;
}

static void conn_close(struct conn *c, bool rst)
{
	struct done *d = &done[ndone++];

	d->mode = c->mode;
	d->lport = c->s.lport;
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
		c->s.fwd_cnt += len;	/* consumed at once */
		return;
	}
	if (!c->s.len && len <= vsk_credit(&c->s)) {
		/* The usual case: straight into a tx buffer. */
		int id = tx_slot();

		if (id >= 0) {
			c->s.fwd_cnt += len;
			memcpy(vsk_txbuf(&vs, (uint32_t)id) + VSK_HDR, data, len);
			tx(id, c, c->s.lport, c->s.pport, VIRTIO_VSOCK_OP_RW, 0, len);
			return;
		}
	}
	if (!vsk_ring_put(&vs, &c->s, data, len))
		st.bad++;	/* beyond the credit we gave */
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
	struct conn *c = find(h->dst_port, h->src_port);

	st.rx_pkts++;
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
			vsk_stream_init(&c->s, h->dst_port, h->src_port,
					vsk_ring(&vs, (unsigned)(c - conns)));
			vsk_stream_rx(&c->s, h);
			c->t0 = rdtsc();
			if (!ctl(c, c->s.lport, c->s.pport, VIRTIO_VSOCK_OP_RESPONSE, 0))
				c->used = false;
		} else if (h->op != VIRTIO_VSOCK_OP_RST) {
			ctl(NULL, h->dst_port, h->src_port, VIRTIO_VSOCK_OP_RST, 0);
		}
		return;
	}
	vsk_stream_rx(&c->s, h);
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RST:
		conn_close(c, true);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (c->mode == M_SOURCE)
			c->s.peer_done = true;	/* the reader is gone: stop */
		break;
	case VIRTIO_VSOCK_OP_RW:
		on_rw(c, data, h->len);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		ctl(c, c->s.lport, c->s.pport, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
		break;
	default:
		break;
	}
}

/* Data out, credit updates and the final shutdown of one connection. */
static void pump(struct conn *c)
{
	uint32_t n;
	int id;

	if (c->mode == M_ECHO) {
		while ((n = vsk_ring_chunk(&vs, &c->s)) != 0) {
			if ((id = tx_slot()) < 0)
				return;
			vsk_ring_send(&vs, id, &c->s, n);
			tx_count(c, n);
		}
	} else if (c->mode == M_SOURCE && !c->s.peer_done) {
		/* Payload: whatever the tx buffer holds (zeros); no copy. */
		while ((n = vsk_credit(&c->s)) != 0) {
			if (n > MAXDATA)
				n = MAXDATA;
			if ((id = tx_slot()) < 0)
				return;
			tx(id, c, c->s.lport, c->s.pport, VIRTIO_VSOCK_OP_RW, 0, n);
		}
	}
	if (c->s.peer_done && !c->s.len) {
		if (ctl(c, c->s.lport, c->s.pport, VIRTIO_VSOCK_OP_SHUTDOWN,
			VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND))
			conn_close(c, false);
		return;
	}
	/* Sink: nothing else carries fwd_cnt to the host. */
	if (vsk_credit_due(&vs, &c->s))
		ctl(c, c->s.lport, c->s.pport, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
}

static void rx_poll(void)
{
	const struct virtio_vsock_hdr *h;
	unsigned n = 0;
	uint32_t id;

	while (n < 64 && (h = vsk_rx_next(&vs, &id, &st.bad)) != NULL) {
		n++;
		handle(h, (const uint8_t *)h + VSK_HDR);
		vsk_rx_done(&vs, id);
	}
}

/* TRANSPORT_RESET (vsk_dev_events re-reads the CID): every connection is
 * gone. */
static void ev_poll(void)
{
	unsigned n = vsk_dev_events(&vs);

	if (n) {
		st.reset_events += n;
		for (unsigned i = 0; i < NCONN; i++)
			if (conns[i].used)
				conn_close(&conns[i], true);
	}
	vq_want_irq(&vs.ev, false);
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
		vq_flush(&vs.tx);
		vq_flush(&vs.rx);
		vq_want_irq(&vs.rx, false);
		vq_want_irq(&vs.tx, false);
		if (vq_pending(&vs.ev))
			ev_poll();
		if (ndone)
			return 1;
		if (rdtsc() >= deadline)
			return 0;
		cpu_pause();
	}
}

/* ---- set-up (ring 0) ---------------------------------------------------- */

static int setup(void)
{
	uint64_t want = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX);

	vs.base = (uint8_t *)BUF_BASE;
	vs.qsize = QS;
	vs.slot = SLOT;
	vs.buf_alloc = RING;
	if (vsk_dev_setup(&vs, want, qmem, "vsockbench:"))
		return -1;
	if (!vs.vd->event_idx)
		rt_printf("vsockbench: no EVENT_IDX: every batch notifies\n");
	vq_want_irq(&vs.rx, false);
	vq_want_irq(&vs.tx, false);
	vq_want_irq(&vs.ev, false);
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
	for (int i = 0; i < ndev && !vs.vd; i++)
		if (vd_rd(&vd_devs[i], VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_VSOCK)
			vs.vd = &vd_devs[i];
	if (!vs.vd) {
		rt_printf("vsockbench: FAIL no virtio-vsock device among %d\n", ndev);
		guest_reset();
	}
	if (setup()) {
		rt_printf("vsockbench: FAIL set-up\n");
		vd_set_status(vs.vd, 0);
		guest_reset();
	}
	tsc_khz = calibrate();
	rt_pit_stop();
	deadline = rdtsc() + rt_cmdline_u64("vsockbench.ms", 300000) * tsc_khz;
	rt_user_init();
	rt_user_map(0, (uint64_t)_end);
	rt_user_map(BUF_BASE, BUF_END - BUF_BASE);
	rt_user_map(vs.vd->base, 4096);
	rt_printf("vsockbench: ready cid=%lu port=%u mode=%s features=0x%lx tsc_khz=%lu\n", vs.cid,
		  base_port, mode_name[mode], vs.vd->acked, tsc_khz);
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
		if (vd_status(vs.vd) & VIRTIO_CONFIG_S_NEEDS_RESET) {
			rt_printf("vsockbench: device needs reset\n");
			failed = true;
			break;
		}
		if (want_conns && closed >= want_conns)
			break;
	}
	rt_printf("vsockbench: stats rx_pkts=%lu tx_pkts=%lu kicks=%lu bad=%u tx_full=%lu "
		  "reset_events=%lu\n", st.rx_pkts, st.tx_pkts,
		  (uint64_t)vs.rx.kicks + vs.tx.kicks + vs.ev.kicks, st.bad, st.tx_full,
		  st.reset_events);
	if (failed || st.bad)
		rt_printf("vsockbench: FAIL\n");
	vd_set_status(vs.vd, 0);
	rt_printf("vsockbench: done\n");
	guest_reset();
}
