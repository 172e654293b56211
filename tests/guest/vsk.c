/* virtio-vsock guest driver with stream sockets (see vsk.h): packets on
 * split rings (vq.c), a connection table, credit-based flow control
 * (§5.10.6.3), the echo server, the pattern client and transport resets. */
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>

#include "io.h"
#include "vq.h"
#include "vsk.h"

#define PAGE 4096
#define QSIZE 128
#define SLOT 4096u
#define HDR 44u
#define MAXDATA (SLOT - HDR)
#define NEVBUF 4
#define HOST_CID 2
#define RING (64u * 1024)		/* receive buffer we advertise per connection */
#define F(x) (1ULL << (x))
/* Buffer memory from buf_base: rx and tx slots, event buffers, rings. */
#define RXBUF(i) ((uint8_t *)(buf_base + (uint64_t)(i) * SLOT))
#define TXBUF(i) ((uint8_t *)(buf_base + (uint64_t)(QSIZE + (i)) * SLOT))
#define EVBUF(i) ((uint8_t *)(buf_base + 2ULL * QSIZE * SLOT + 8u * (i)))
#define RINGS_OFF (2ULL * QSIZE * SLOT + PAGE)

enum { C_FREE, C_CONNECTING, C_OPEN };

struct conn {
	int state;
	bool client;
	uint32_t lport, pport;
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;	/* host's credit */
	uint32_t rx_cnt, fwd_cnt, fwd_told;		/* our receive side */
	uint8_t *ring;
	uint32_t head, len;
	bool peer_done, shut_sent;
	/* client */
	uint32_t total, sent, bad;
};

struct vsk_stats vsk_st;

static uint8_t qmem[3][VQ_MEM] __attribute__((aligned(PAGE), section(".noinit.vsk")));
static struct vd *dev;
static struct vq rxq, txq, evq;
static uint64_t buf_base, cid;
static uint32_t listen_port;
static const char *prefix = "vsock:";
static struct conn conns[VSK_MAX_CONNS];
static unsigned nconns = VSK_MAX_CONNS;
static bool fail;

uint64_t vsk_mem(unsigned nconn)
{
	return RINGS_OFF + (uint64_t)nconn * RING;
}

uint64_t vsk_cid(void)
{
	return cid;
}

/* A transmit slot; waits (the device always drains tx) up to ~2 s. */
static int tx_get(void)
{
	uint32_t t0 = rt_ticks;

	for (;;) {
		int id = vq_get(&txq);

		if (id >= 0)
			return id;
		cpu_cli();
		vq_want_irq(&txq, true);
		if (!vq_pending(&txq))
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

static uint32_t credit(const struct conn *c)
{
	uint32_t inflight = c->tx_cnt - c->peer_fwd_cnt;

	return inflight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - inflight;
}

/* Send op with @len bytes from @data (may be NULL) on (lport → pport). */
static void send_pkt(struct conn *c, uint32_t lport, uint32_t pport, uint16_t op, uint32_t flags,
		     const uint8_t *data, uint32_t len)
{
	int id = tx_get();
	struct virtio_vsock_hdr *h;

	if (id < 0)
		return;
	h = (struct virtio_vsock_hdr *)TXBUF(id);
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
	if (c)
		c->fwd_told = c->fwd_cnt;
	if (len)
		memcpy(TXBUF(id) + HDR, data, len);
	vq_send(&txq, (uint16_t)id, TXBUF(id), HDR + len);
	vsk_st.tx_pkts++;
}

/* The client's byte stream: pat[i % PERIOD]. PERIOD is odd and shares no
 * factor with the packet sizes, so reordered or dropped data shows. The
 * table holds PERIOD + MAXDATA bytes so any packet is one memcpy: every
 * guest instruction is expensive here, a per-byte loop is not. Filled when
 * the first client starts. */
#define PERIOD 4001u
static uint8_t pat[PERIOD + MAXDATA];
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
		if (conns[i].state != C_FREE && conns[i].lport == lport && conns[i].pport == pport)
			return &conns[i];
	return NULL;
}

static struct conn *alloc_conn(uint32_t lport, uint32_t pport)
{
	for (unsigned i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];

		if (c->state == C_FREE) {
			memset(c, 0, sizeof(*c));
			c->lport = lport;
			c->pport = pport;
			c->ring = (uint8_t *)(buf_base + RINGS_OFF + (uint64_t)i * RING);
			return c;
		}
	}
	return NULL;
}

static void conn_close(struct conn *c, bool rst)
{
	if (c->client) {
		if (c->state == C_CONNECTING)
			rt_printf("%s connect %u refused\n", prefix, c->pport);
		else if (c->rx_cnt == c->total && !c->bad)
			rt_printf("%s connect %u ok bytes=%u\n", prefix, c->pport, c->rx_cnt);
		else
			rt_printf("%s connect %u FAIL rx=%u of %u bad=%u\n", prefix, c->pport,
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
		c->fwd_cnt += len; /* consumed at once */
		return;
	}
	if (len > RING - c->len) {
		/* The host sent beyond the credit we gave: protocol violation. */
		rt_printf("%s FAIL host exceeded credit on port %u\n", prefix, c->lport);
		fail = true;
		send_pkt(c, c->lport, c->pport, VIRTIO_VSOCK_OP_RST, 0, NULL, 0);
		conn_close(c, true);
		return;
	}
	uint32_t tail = (c->head + c->len) % RING, first = RING - tail;

	if (first > len)
		first = len;
	memcpy(c->ring + tail, data, first);
	memcpy(c->ring, data + first, len - first);
	c->len += len;
	c->rx_cnt += len;
}

static void handle(const struct virtio_vsock_hdr *h, const uint8_t *data)
{
	struct conn *c;

	vsk_st.rx_pkts++;
	if (h->src_cid != HOST_CID || h->dst_cid != cid ||
	    h->type != VIRTIO_VSOCK_TYPE_STREAM || h->len > MAXDATA) {
		vsk_st.bad++;
		return;
	}
	c = find(h->dst_port, h->src_port);
	if (!c) {
		if (h->op == VIRTIO_VSOCK_OP_REQUEST && listen_port && h->dst_port == listen_port &&
		    (c = alloc_conn(h->dst_port, h->src_port))) {
			c->state = C_OPEN;
			c->peer_buf_alloc = h->buf_alloc;
			c->peer_fwd_cnt = h->fwd_cnt;
			vsk_st.accepted++;
			send_pkt(c, c->lport, c->pport, VIRTIO_VSOCK_OP_RESPONSE, 0, NULL, 0);
		} else if (h->op != VIRTIO_VSOCK_OP_RST) {
			if (h->op == VIRTIO_VSOCK_OP_REQUEST)
				vsk_st.refused_in++;
			send_pkt(NULL, h->dst_port, h->src_port, VIRTIO_VSOCK_OP_RST, 0, NULL, 0);
		}
		return;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state == C_CONNECTING)
			c->state = C_OPEN;
		break;
	case VIRTIO_VSOCK_OP_RST:
		conn_close(c, true);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (h->flags & VIRTIO_VSOCK_SHUTDOWN_SEND)
			c->peer_done = true;
		break;
	case VIRTIO_VSOCK_OP_RW:
		vsk_st.rx_bytes += h->len;
		on_rw(c, data, h->len);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		send_pkt(c, c->lport, c->pport, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
		break;
	default:
		break;
	}
}

/* Server: echo what the ring holds, then SHUTDOWN once the host is done. */
static bool pump_server(struct conn *c)
{
	bool did = false;

	while (c->len && credit(c)) {
		uint32_t n = c->len, first = RING - c->head;

		if (n > first)
			n = first;
		if (n > MAXDATA)
			n = MAXDATA;
		if (n > credit(c))
			n = credit(c);
		c->tx_cnt += n;
		c->fwd_cnt += n; /* echoed: our buffer has room again */
		send_pkt(c, c->lport, c->pport, VIRTIO_VSOCK_OP_RW, 0, c->ring + c->head, n);
		vsk_st.tx_bytes += n;
		c->head = (c->head + n) % RING;
		c->len -= n;
		did = true;
	}
	if (c->peer_done && !c->len && !c->shut_sent) {
		send_pkt(c, c->lport, c->pport, VIRTIO_VSOCK_OP_SHUTDOWN,
			 VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0);
		c->shut_sent = true;
		did = true;
	}
	return did;
}

/* Client: the pattern, then SHUTDOWN of our sending side. */
static bool pump_client(struct conn *c)
{
	bool did = false;

	while (c->sent < c->total && credit(c)) {
		uint32_t n = c->total - c->sent;

		if (n > MAXDATA)
			n = MAXDATA;
		if (n > credit(c))
			n = credit(c);
		c->tx_cnt += n;
		send_pkt(c, c->lport, c->pport, VIRTIO_VSOCK_OP_RW, 0, pat + c->sent % PERIOD, n);
		vsk_st.tx_bytes += n;
		c->sent += n;
		did = true;
	}
	if (c->sent == c->total && !c->shut_sent) {
		send_pkt(c, c->lport, c->pport, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_SEND,
			 NULL, 0);
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
	if (c->state == C_OPEN && c->fwd_cnt - c->fwd_told >= RING / 4) {
		send_pkt(c, c->lport, c->pport, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
		did = true;
	}
	return did;
}

static unsigned rx_poll(unsigned budget)
{
	unsigned n = 0;
	uint32_t id, len;

	while (n < budget && vq_pop(&rxq, &id, &len)) {
		n++;
		if (id >= QSIZE) {
			vsk_st.bad++;
			continue;
		}
		const struct virtio_vsock_hdr *h = (const struct virtio_vsock_hdr *)RXBUF(id);

		if (len >= HDR && h->len <= len - HDR)
			handle(h, RXBUF(id) + HDR);
		else
			vsk_st.bad++;
		vq_post(&rxq, (uint16_t)id, RXBUF(id), SLOT, true);
	}
	vq_flush(&rxq);
	return n;
}

/* §5.10.6.7: after TRANSPORT_RESET every connection is gone and the guest
 * CID may have changed. */
static void ev_poll(void)
{
	uint32_t id, len;

	while (vq_pop(&evq, &id, &len)) {
		if (id >= NEVBUF)
			continue;
		if (*(volatile uint32_t *)EVBUF(id) == VIRTIO_VSOCK_EVENT_TRANSPORT_RESET) {
			rt_printf("%s transport reset\n", prefix);
			vsk_st.transport_resets++;
			vsk_st.dropped += vsk_open_conns();
			for (unsigned i = 0; i < nconns; i++)
				conns[i].state = C_FREE;
			cid = vd_cfg64(dev, 0);
		}
		vq_post(&evq, (uint16_t)id, EVBUF(id), 8, true);
	}
	vq_flush(&evq);
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
	return fail || ((dev->isr & VIRTIO_MMIO_INT_CONFIG) &&
			(vd_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET));
}

bool vsk_idle_ok(void)
{
	vq_want_irq(&rxq, true);
	vq_want_irq(&evq, true);
	return !vq_pending(&rxq) && !vq_pending(&evq) && !(dev->isr & VIRTIO_MMIO_INT_CONFIG);
}

/* ------------------------------------------------------------------------ */
/* set-up                                                                   */

int vsk_setup(struct vd *d, uint64_t base, unsigned nconn, uint32_t port, const char *pfx)
{
	uint64_t want = F(VIRTIO_F_VERSION_1);
	struct vq *qs[3] = { &rxq, &txq, &evq };

	dev = d;
	buf_base = base;
	nconns = nconn < VSK_MAX_CONNS ? nconn : VSK_MAX_CONNS;
	listen_port = port;
	prefix = pfx;
	if (!rt_cmdline_has("vsock.noevent"))
		want |= F(VIRTIO_RING_F_EVENT_IDX);
	if (vd_probe(dev, VIRTIO_ID_VSOCK, prefix))
		return -1;
	if (vd_negotiate(dev, want)) {
		rt_printf("%s FEATURES_OK refused (offered 0x%lx)\n", prefix, dev->offered);
		return -1;
	}
	cid = vd_cfg64(dev, 0);
	for (unsigned i = 0; i < 3; i++) {
		vd_wr(dev, VIRTIO_MMIO_QUEUE_SEL, i);
		if (vd_rd(dev, VIRTIO_MMIO_QUEUE_NUM_MAX) < QSIZE) {
			rt_printf("%s queue %u too small\n", prefix, i);
			return -1;
		}
		if (!vq_setup(qs[i], dev, i, QSIZE, qmem[i])) {
			rt_printf("%s queue %u not ready after set-up\n", prefix, i);
			return -1;
		}
	}
	for (uint16_t i = 0; i < QSIZE; i++)
		vq_post(&rxq, i, RXBUF(i), SLOT, true);
	for (uint16_t i = 0; i < NEVBUF; i++)
		vq_post(&evq, i, EVBUF(i), 8, true);
	vq_publish(&rxq);
	vq_publish(&evq);
	vd_driver_ok(dev);
	if (vd_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET) {
		rt_printf("%s device needs reset after DRIVER_OK\n", prefix);
		return -1;
	}
	return 0;
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
	send_pkt(c, lport, port, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0);
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
