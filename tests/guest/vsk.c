/* virtio-vsock guest driver with stream sockets (see vsk.h): the device
 * layer (queues, buffers, events; the inline helpers in vsk.h) shared with
 * perf/vsockbench, then the socket layer: a connection table, the echo
 * server, the pattern client and transport resets, all in ring 0. */
#include <linux/virtio_ids.h>

#include "io.h"
#include "vsk.h"

/* ------------------------------------------------------------------------ */
/* device layer                                                             */

int vsk_dev_setup(struct vsk_dev *d, uint64_t want, void *qmem, const char *prefix)
{
	struct vq *qs[3] = { &d->rx, &d->tx, &d->ev };
	uint8_t *m = qmem;

	if (d->buf_alloc & (d->buf_alloc - 1)) {
		rt_printf("%s buf_alloc %u not a power of two\n", prefix, d->buf_alloc);
		return -1;
	}
	if (vd_probe(d->vd, VIRTIO_ID_VSOCK, prefix))
		return -1;
	if (vd_negotiate(d->vd, want)) {
		rt_printf("%s FEATURES_OK refused (offered 0x%lx)\n", prefix, d->vd->offered);
		return -1;
	}
	d->cid = vd_cfg64(d->vd, 0);
	for (unsigned i = 0; i < 3; i++) {
		vd_wr(d->vd, VIRTIO_MMIO_QUEUE_SEL, i);
		if (vd_rd(d->vd, VIRTIO_MMIO_QUEUE_NUM_MAX) < d->qsize) {
			rt_printf("%s queue %u too small\n", prefix, i);
			return -1;
		}
		if (!vq_setup(qs[i], d->vd, i, d->qsize, m + i * VQ_MEM)) {
			rt_printf("%s queue %u not ready after set-up\n", prefix, i);
			return -1;
		}
	}
	for (uint16_t i = 0; i < d->qsize; i++)
		vsk_rx_done(d, i);
	for (uint16_t i = 0; i < VSK_NEVBUF; i++)
		vq_post(&d->ev, i, vsk_evbuf(d, i), 8, true);
	vq_publish(&d->rx);
	vq_publish(&d->ev);
	vd_driver_ok(d->vd);
	if (vd_status(d->vd) & VIRTIO_CONFIG_S_NEEDS_RESET) {
		rt_printf("%s device needs reset after DRIVER_OK\n", prefix);
		return -1;
	}
	return 0;
}

unsigned vsk_dev_events(struct vsk_dev *d)
{
	unsigned resets = 0;
	uint32_t id, len;

	while (vq_pop(&d->ev, &id, &len)) {
		if (id >= VSK_NEVBUF)
			continue;
		if (*(volatile uint32_t *)vsk_evbuf(d, id) == VIRTIO_VSOCK_EVENT_TRANSPORT_RESET) {
			resets++;
			d->cid = vd_cfg64(d->vd, 0);
		}
		vq_post(&d->ev, (uint16_t)id, vsk_evbuf(d, id), 8, true);
	}
	vq_flush(&d->ev);
	return resets;
}

/* ------------------------------------------------------------------------ */
/* socket layer                                                             */

#define QSIZE 128
#define SLOT 4096u
#define MAXDATA (SLOT - VSK_HDR)
#define RING (64u * 1024)		/* receive buffer we advertise per connection */
#define F(x) (1ULL << (x))

enum { C_FREE, C_CONNECTING, C_OPEN };

struct conn {
	int state;
	bool client;
	struct vsk_stream s;
	uint32_t rx_cnt;		/* bytes received */
	bool shut_sent;
	/* client */
	uint32_t total, sent, bad;
};

struct vsk_stats vsk_st;

static uint8_t qmem[3 * VQ_MEM] __attribute__((aligned(VSK_PAGE), section(".noinit.vsk")));
static struct vsk_dev vs;
static uint32_t listen_port;
static const char *prefix = "vsock:";
static struct conn conns[VSK_MAX_CONNS];
static unsigned nconns = VSK_MAX_CONNS;
static bool fail;

uint64_t vsk_mem(unsigned nconn)
{
	return VSK_MEM(QSIZE, SLOT, nconn, RING);
}

uint64_t vsk_cid(void)
{
	return vs.cid;
}

/* A transmit slot; waits (the device always drains tx) up to ~2 s. */
static int tx_get(void)
{
	uint32_t t0 = rt_ticks;

	for (;;) {
		int id = vq_get(&vs.tx);

		if (id >= 0)
			return id;
		cpu_cli();
		vq_want_irq(&vs.tx, true);
		if (!vq_pending(&vs.tx))
			rt_idle();
		cpu_sti();
		if ((uint32_t)(rt_ticks - t0) > 200) {
			rt_printf("%s FAIL transmit queue stuck\n", prefix);
			fail = true;
			return -1;
		}
	}
}

/* ------------------------------------------------------------------------ */
/* packets                                                                  */

/* Send op with @len bytes from @data (may be NULL) on (lport → pport), at
 * once (a ring-0 guest has nothing to batch it with). */
static void send_pkt(struct conn *c, uint32_t lport, uint32_t pport, uint16_t op, uint32_t flags,
		     const uint8_t *data, uint32_t len)
{
	int id = tx_get();

	if (id < 0)
		return;
	if (len)
		memcpy(vsk_txbuf(&vs, (uint32_t)id) + VSK_HDR, data, len);
	vsk_tx(&vs, id, c ? &c->s : NULL, lport, pport, op, flags, len);
	vq_flush(&vs.tx);
	vsk_st.tx_pkts++;
}

/* On connection c's own ports. */
static void send_ctl(struct conn *c, uint16_t op, uint32_t flags)
{
	send_pkt(c, c->s.lport, c->s.pport, op, flags, NULL, 0);
}

/* The client's byte stream: pat[i % PERIOD]. PERIOD is odd and shares no
 * factor with the packet sizes, so reordered or dropped data shows. The
 * table holds PERIOD + MAXDATA bytes so any packet is one memcpy: every
 * guest instruction is expensive here, a per-byte loop is not. Filled when
 * the first client starts (so not in .bss, which entry.S clears). */
#define PERIOD 4001u
static uint8_t pat[PERIOD + MAXDATA] __attribute__((section(".noinit.vsk")));
static bool pat_ready;

static void pattern_init(void)
{
	for (uint32_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)((i % PERIOD) * 7u + ((i % PERIOD) >> 9));
	pat_ready = true;
}

/* Number of bytes of @a[0..n) that differ from @b, 8 at a time. */
static uint32_t mismatch(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	uint32_t bad = 0, i = 0;

	for (; i + 8 <= n; i += 8)
		if (*(const uint64_t *)(a + i) != *(const uint64_t *)(b + i))
			bad++;
	for (; i < n; i++)
		if (a[i] != b[i])
			bad++;
	return bad;
}

static struct conn *find(uint32_t lport, uint32_t pport)
{
	for (unsigned i = 0; i < nconns; i++)
		if (conns[i].state != C_FREE && conns[i].s.lport == lport &&
		    conns[i].s.pport == pport)
			return &conns[i];
	return NULL;
}

static struct conn *alloc_conn(uint32_t lport, uint32_t pport)
{
	for (unsigned i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];

		if (c->state == C_FREE) {
			memset(c, 0, sizeof(*c));
			vsk_stream_init(&c->s, lport, pport, vsk_ring(&vs, i));
			return c;
		}
	}
	return NULL;
}

static void conn_close(struct conn *c, bool rst)
{
	if (c->client) {
		if (c->state == C_CONNECTING)
			rt_printf("%s connect %u refused\n", prefix, c->s.pport);
		else if (c->rx_cnt == c->total && !c->bad)
			rt_printf("%s connect %u ok bytes=%u\n", prefix, c->s.pport, c->rx_cnt);
		else
			rt_printf("%s connect %u FAIL rx=%u of %u bad=%u\n", prefix, c->s.pport,
				  c->rx_cnt, c->total, c->bad);
	}
	if (rst)
		vsk_st.resets++;
	vsk_st.closed++;
	c->state = C_FREE;
}

static void on_rw(struct conn *c, const uint8_t *data, uint32_t len)
{
	if (c->client) {
		c->bad += mismatch(data, pat + c->rx_cnt % PERIOD, len);
		c->rx_cnt += len;
		c->s.fwd_cnt += len; /* consumed at once */
		return;
	}
	if (!vsk_ring_put(&vs, &c->s, data, len)) {
		/* The host sent beyond the credit we gave: protocol violation. */
		rt_printf("%s FAIL host exceeded credit on port %u\n", prefix, c->s.lport);
		fail = true;
		send_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
		conn_close(c, true);
		return;
	}
	c->rx_cnt += len;
}

static void handle(const struct virtio_vsock_hdr *h, const uint8_t *data)
{
	struct conn *c = find(h->dst_port, h->src_port);

	vsk_st.rx_pkts++;
	if (!c) {
		if (h->op == VIRTIO_VSOCK_OP_REQUEST && listen_port && h->dst_port == listen_port &&
		    (c = alloc_conn(h->dst_port, h->src_port))) {
			c->state = C_OPEN;
			vsk_stream_rx(&c->s, h);
			vsk_st.accepted++;
			send_ctl(c, VIRTIO_VSOCK_OP_RESPONSE, 0);
		} else if (h->op != VIRTIO_VSOCK_OP_RST) {
			if (h->op == VIRTIO_VSOCK_OP_REQUEST)
				vsk_st.refused_in++;
			send_pkt(NULL, h->dst_port, h->src_port, VIRTIO_VSOCK_OP_RST, 0, NULL, 0);
		}
		return;
	}
	vsk_stream_rx(&c->s, h);
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state == C_CONNECTING)
			c->state = C_OPEN;
		break;
	case VIRTIO_VSOCK_OP_RST:
		conn_close(c, true);
		break;
	case VIRTIO_VSOCK_OP_RW:
		vsk_st.rx_bytes += h->len;
		on_rw(c, data, h->len);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		send_ctl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
		break;
	default:
		break;
	}
}

/* Server: echo what the ring holds, then SHUTDOWN once the host is done. */
static bool pump_server(struct conn *c)
{
	bool did = false;
	uint32_t n;
	int id;

	while ((n = vsk_ring_chunk(&vs, &c->s)) != 0 && (id = tx_get()) >= 0) {
		vsk_ring_send(&vs, id, &c->s, n);
		vq_flush(&vs.tx);
		vsk_st.tx_pkts++;
		vsk_st.tx_bytes += n;
		did = true;
	}
	if (c->s.peer_done && !c->s.len && !c->shut_sent) {
		send_ctl(c, VIRTIO_VSOCK_OP_SHUTDOWN,
			 VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
		c->shut_sent = true;
		did = true;
	}
	return did;
}

/* Client: the pattern, then SHUTDOWN of our sending side. */
static bool pump_client(struct conn *c)
{
	bool did = false;

	while (c->sent < c->total && vsk_credit(&c->s)) {
		uint32_t n = c->total - c->sent;

		if (n > MAXDATA)
			n = MAXDATA;
		if (n > vsk_credit(&c->s))
			n = vsk_credit(&c->s);
		send_pkt(c, c->s.lport, c->s.pport, VIRTIO_VSOCK_OP_RW, 0, pat + c->sent % PERIOD, n);
		vsk_st.tx_bytes += n;
		c->sent += n;
		did = true;
	}
	if (c->sent == c->total && !c->shut_sent) {
		send_ctl(c, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_SEND);
		c->shut_sent = true;
		did = true;
	}
	return did;
}

/* Data out and shutdowns; true if anything was sent. */
static bool pump(struct conn *c)
{
	bool did;

	if (c->state != C_OPEN)
		return false;
	did = c->client ? pump_client(c) : pump_server(c);
	/* Tell the host about consumed bytes before it runs out of credit. */
	if (c->state == C_OPEN && vsk_credit_due(&vs, &c->s)) {
		send_ctl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
		did = true;
	}
	return did;
}

static unsigned rx_poll(unsigned budget)
{
	const struct virtio_vsock_hdr *h;
	unsigned n = 0;
	uint32_t id;

	while (n < budget && (h = vsk_rx_next(&vs, &id, &vsk_st.bad)) != NULL) {
		n++;
		handle(h, (const uint8_t *)h + VSK_HDR);
		vsk_rx_done(&vs, id);
	}
	vq_flush(&vs.rx);
	return n;
}

/* §5.10.6.7: after TRANSPORT_RESET every connection is gone and the guest
 * CID may have changed (vsk_dev_events re-reads it). */
static void ev_poll(void)
{
	for (unsigned n = vsk_dev_events(&vs); n; n--) {
		rt_printf("%s transport reset\n", prefix);
		vsk_st.transport_resets++;
		vsk_st.dropped += vsk_open_conns();
		for (unsigned i = 0; i < nconns; i++)
			conns[i].state = C_FREE;
	}
}

bool vsk_poll(void)
{
	bool busy = rx_poll(64) != 0;

	ev_poll();
	for (unsigned i = 0; i < nconns; i++)
		if (conns[i].state != C_FREE && pump(&conns[i]))
			busy = true;
	return busy;
}

bool vsk_failed(void)
{
	return fail || ((vs.vd->isr & VIRTIO_MMIO_INT_CONFIG) &&
			(vd_status(vs.vd) & VIRTIO_CONFIG_S_NEEDS_RESET));
}

bool vsk_idle_ok(void)
{
	vq_want_irq(&vs.rx, true);
	vq_want_irq(&vs.ev, true);
	return !vq_pending(&vs.rx) && !vq_pending(&vs.ev) &&
	       !(vs.vd->isr & VIRTIO_MMIO_INT_CONFIG);
}

/* ------------------------------------------------------------------------ */
/* set-up                                                                   */

int vsk_setup(struct vd *d, uint64_t base, unsigned nconn, uint32_t port, const char *pfx)
{
	uint64_t want = F(VIRTIO_F_VERSION_1);

	vs.vd = d;
	vs.base = (uint8_t *)base;
	vs.qsize = QSIZE;
	vs.slot = SLOT;
	vs.buf_alloc = RING;
	nconns = nconn < VSK_MAX_CONNS ? nconn : VSK_MAX_CONNS;
	listen_port = port;
	prefix = pfx;
	if (!rt_cmdline_has("vsock.noevent"))
		want |= F(VIRTIO_RING_F_EVENT_IDX);
	return vsk_dev_setup(&vs, want, qmem, prefix);
}

void vsk_connect(uint32_t port, uint32_t bytes, uint32_t lport)
{
	struct conn *c = alloc_conn(lport, port);

	if (!c)
		return;
	if (!pat_ready)
		pattern_init();
	c->state = C_CONNECTING;
	c->client = true;
	c->total = bytes;
	send_ctl(c, VIRTIO_VSOCK_OP_REQUEST, 0);
}

bool vsk_clients_busy(void)
{
	for (unsigned i = 0; i < nconns; i++)
		if (conns[i].state != C_FREE && conns[i].client)
			return true;
	return false;
}

unsigned vsk_open_conns(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < nconns; i++)
		n += conns[i].state != C_FREE;
	return n;
}

void vsk_print_stats(void)
{
	rt_printf("%s stats accepted=%u refused=%u closed=%u resets=%u rx_pkts=%u tx_pkts=%u "
		  "rx_bytes=%lu tx_bytes=%lu bad=%u\n", prefix, vsk_st.accepted, vsk_st.refused_in,
		  vsk_st.closed, vsk_st.resets, vsk_st.rx_pkts, vsk_st.tx_pkts, vsk_st.rx_bytes,
		  vsk_st.tx_bytes, vsk_st.bad);
}
