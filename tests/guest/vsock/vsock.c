/* vsock: a virtio-vsock driver (virtio 1.2 §5.10 over §4.2 virtio-mmio,
 * §2.7 split rings) with stream sockets and credit-based flow control, as
 * a test peer for femtovm's hybrid Unix-socket host side.
 *   server: listens on vsock.listen=<port> (default 5000) and echoes every
 *           byte back on the same connection (up to 128 at once); when the
 *           host stops sending (SHUTDOWN) and all is echoed, it shuts down.
 *   client: vsock.connect=<port> connects to CID 2 <port>, sends
 *           vsock.bytes=<n> bytes of a pattern, shuts down its sending
 *           side and checks that the host echoes exactly those bytes;
 *           vsock.refuse=<port> expects the connection to be refused (RST).
 * Queues: rx 0 kept full of 4 KiB device-writable buffers, tx 1 one
 * readable buffer per packet (header + payload), event 2 four 8-byte
 * buffers. Interrupts through the IOAPIC; the CPU sleeps in hlt when idle.
 * Lines (README.md): "vsock: ready cid=<cid> listen=<port>",
 * "vsock: connect <port> ok bytes=<n>", "vsock: connect <port> refused",
 * "vsock: stats ...", "vsock: transport reset", "vsock: FAIL ...". */
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>

#include "io.h"
#include "rt.h"
#include "../vdrv.h"

const char rt_guest_name[] = "vsock";

#define PAGE 4096
#define QSIZE 128
#define SLOT 4096u
#define HDR 44u
#define MAXDATA (SLOT - HDR)
#define NCONN 128
#define HOST_CID 2
#define RING (64u * 1024)		/* receive buffer we advertise per connection */
#define F(x) (1ULL << (x))
/* Buffers live at 16 MiB (outside the image, as the net guest does). */
#define BUF_BASE 0x1000000UL
#define rxbuf ((uint8_t (*)[SLOT])BUF_BASE)
#define txbuf ((uint8_t (*)[SLOT])(BUF_BASE + QSIZE * SLOT))
#define evbuf ((uint8_t (*)[8])(BUF_BASE + 2 * QSIZE * SLOT))
#define RINGS (BUF_BASE + 2 * QSIZE * SLOT + PAGE)
#define MEM_NEEDED (RINGS + (uint64_t)NCONN * RING)

struct q {
	unsigned sel;
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	uint16_t avail_idx, published, last_used;
};

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

static uint8_t qmem[3][3 * PAGE] __attribute__((aligned(PAGE), section(".noinit.vsock")));
static struct vd *dev;
static struct q rxq, txq, evq;
static bool event_idx;
static uint64_t cid;
static uint32_t listen_port;
static uint16_t txfree[QSIZE], ntxfree;
static bool txbusy[QSIZE];
static struct conn conns[NCONN];
static struct {
	uint32_t accepted, refused_in, closed, rx_pkts, tx_pkts, resets, bad;
	uint64_t rx_bytes, tx_bytes;
} st;
static bool fail;

static inline void mb(void)
{
	asm volatile("lock; addl $0, (%%rsp)" ::: "memory", "cc");
}

static inline void barrier(void)
{
	asm volatile("" ::: "memory");
}

/* ------------------------------------------------------------------------ */
/* rings                                                                    */

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

static void q_add(struct q *q, uint16_t id)
{
	q->avail->ring[q->avail_idx % QSIZE] = id;
	q->avail_idx++;
}

static void q_flush(struct q *q)
{
	uint16_t old = q->published, new = q->avail_idx;
	volatile uint16_t *avail_event = (volatile uint16_t *)&q->used->ring[QSIZE];

	if (old == new)
		return;
	barrier();
	q->avail->idx = new;
	q->published = new;
	mb();
	if (event_idx ? vring_need_event(*avail_event, new, old)
		      : !(q->used->flags & VRING_USED_F_NO_NOTIFY))
		vd_wr(dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->sel);
}

static bool q_pending(struct q *q)
{
	return q->used->idx != q->last_used;
}

static void q_want_irq(struct q *q, bool on)
{
	if (event_idx)
		q->avail->ring[QSIZE] = on ? q->last_used : (uint16_t)(q->last_used + 0x8000);
	else
		q->avail->flags = on ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
	mb();
}

static void post(struct q *q, uint16_t id, void *buf, uint32_t len)
{
	q->desc[id].addr = (uint64_t)buf;
	q->desc[id].len = len;
	q->desc[id].flags = VRING_DESC_F_WRITE;
	q->desc[id].next = 0;
	q_add(q, id);
}

static void tx_reclaim(void)
{
	while (q_pending(&txq)) {
		barrier();
		uint32_t id = txq.used->ring[txq.last_used % QSIZE].id;

		txq.last_used++;
		if (id < QSIZE && txbusy[id]) {
			txbusy[id] = false;
			txfree[ntxfree++] = (uint16_t)id;
		}
	}
}

/* A transmit slot; waits (the device always drains tx) up to ~2 s. */
static int tx_get(void)
{
	uint32_t t0 = rt_ticks;

	for (;;) {
		tx_reclaim();
		if (ntxfree)
			return txfree[--ntxfree];
		cpu_cli();
		q_want_irq(&txq, true);
		if (!q_pending(&txq))
			rt_idle();
		cpu_sti();
		if ((uint32_t)(rt_ticks - t0) > 200) {
			rt_printf("vsock: FAIL transmit queue stuck\n");
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
	h = (struct virtio_vsock_hdr *)txbuf[id];
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
		memcpy(txbuf[id] + HDR, data, len);
	txq.desc[id].addr = (uint64_t)txbuf[id];
	txq.desc[id].len = HDR + len;
	txq.desc[id].flags = 0;
	txq.desc[id].next = 0;
	txbusy[id] = true;
	q_add(&txq, (uint16_t)id);
	q_flush(&txq);
	st.tx_pkts++;
}

/* The client's byte stream: pat[i % PERIOD]. PERIOD is odd and shares no
 * factor with the packet sizes, so reordered or dropped data shows. The
 * table holds PERIOD + MAXDATA bytes so any packet is one memcpy: every
 * guest instruction is expensive here, a per-byte loop is not. */
#define PERIOD 4001u
static uint8_t pat[PERIOD + MAXDATA];

static void pattern_init(void)
{
	for (uint32_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)((i % PERIOD) * 7u + ((i % PERIOD) >> 9));
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
	for (unsigned i = 0; i < NCONN; i++)
		if (conns[i].state != C_FREE && conns[i].lport == lport && conns[i].pport == pport)
			return &conns[i];
	return NULL;
}

static struct conn *alloc_conn(uint32_t lport, uint32_t pport)
{
	for (unsigned i = 0; i < NCONN; i++) {
		struct conn *c = &conns[i];

		if (c->state == C_FREE) {
			memset(c, 0, sizeof(*c));
			c->lport = lport;
			c->pport = pport;
			c->ring = (uint8_t *)(RINGS + (uint64_t)i * RING);
			return c;
		}
	}
	return NULL;
}

static void conn_close(struct conn *c, bool rst)
{
	if (c->client) {
		if (c->state == C_CONNECTING)
			rt_printf("vsock: connect %u refused\n", c->pport);
		else if (c->rx_cnt == c->total && !c->bad)
			rt_printf("vsock: connect %u ok bytes=%u\n", c->pport, c->rx_cnt);
		else
			rt_printf("vsock: connect %u FAIL rx=%u of %u bad=%u\n", c->pport, c->rx_cnt,
				  c->total, c->bad);
	}
	if (rst)
		st.resets++;
	st.closed++;
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
		rt_printf("vsock: FAIL host exceeded credit on port %u\n", c->lport);
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

	st.rx_pkts++;
	if (h->src_cid != HOST_CID || h->dst_cid != cid ||
	    h->type != VIRTIO_VSOCK_TYPE_STREAM || h->len > MAXDATA) {
		st.bad++;
		return;
	}
	c = find(h->dst_port, h->src_port);
	if (!c) {
		if (h->op == VIRTIO_VSOCK_OP_REQUEST && h->dst_port == listen_port &&
		    (c = alloc_conn(h->dst_port, h->src_port))) {
			c->state = C_OPEN;
			c->peer_buf_alloc = h->buf_alloc;
			c->peer_fwd_cnt = h->fwd_cnt;
			st.accepted++;
			send_pkt(c, c->lport, c->pport, VIRTIO_VSOCK_OP_RESPONSE, 0, NULL, 0);
		} else if (h->op != VIRTIO_VSOCK_OP_RST) {
			if (h->op == VIRTIO_VSOCK_OP_REQUEST)
				st.refused_in++;
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
		st.rx_bytes += h->len;
		on_rw(c, data, h->len);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		send_pkt(c, c->lport, c->pport, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
		break;
	default:
		break;
	}
}

/* Data out and shutdowns; true if anything was sent. */
static bool pump(struct conn *c)
{
	bool did = false;

	if (c->state != C_OPEN)
		return false;
	if (!c->client) {
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
			st.tx_bytes += n;
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
	} else {
		while (c->sent < c->total && credit(c)) {
			uint32_t n = c->total - c->sent;

			if (n > MAXDATA)
				n = MAXDATA;
			if (n > credit(c))
				n = credit(c);
			c->tx_cnt += n;
			send_pkt(c, c->lport, c->pport, VIRTIO_VSOCK_OP_RW, 0,
				 pat + c->sent % PERIOD, n);
			st.tx_bytes += n;
			c->sent += n;
			did = true;
		}
		if (c->sent == c->total && !c->shut_sent) {
			send_pkt(c, c->lport, c->pport, VIRTIO_VSOCK_OP_SHUTDOWN,
				 VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0);
			c->shut_sent = true;
			did = true;
		}
	}
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

	while (n < budget && q_pending(&rxq)) {
		barrier();
		volatile struct vring_used_elem *e = &rxq.used->ring[rxq.last_used % QSIZE];
		uint32_t id = e->id, len = e->len;

		rxq.last_used++;
		n++;
		if (id >= QSIZE) {
			st.bad++;
			continue;
		}
		if (len >= HDR) {
			const struct virtio_vsock_hdr *h = (const struct virtio_vsock_hdr *)rxbuf[id];

			if (h->len <= len - HDR)
				handle(h, rxbuf[id] + HDR);
			else
				st.bad++;
		} else {
			st.bad++;
		}
		post(&rxq, (uint16_t)id, rxbuf[id], SLOT);
	}
	q_flush(&rxq);
	return n;
}

static void ev_poll(void)
{
	while (q_pending(&evq)) {
		barrier();
		uint32_t id = evq.used->ring[evq.last_used % QSIZE].id;

		evq.last_used++;
		if (id < 4 && *(volatile uint32_t *)evbuf[id] == VIRTIO_VSOCK_EVENT_TRANSPORT_RESET) {
			rt_printf("vsock: transport reset\n");
			for (unsigned i = 0; i < NCONN; i++)
				conns[i].state = C_FREE;
			cid = vd_cfg64(dev, 0);
		}
		if (id < 4)
			post(&evq, (uint16_t)id, evbuf[id], 8);
	}
	q_flush(&evq);
}

/* ------------------------------------------------------------------------ */
/* set-up                                                                   */

static int setup(void)
{
	uint64_t want = F(VIRTIO_F_VERSION_1);
	struct q *qs[3] = { &rxq, &txq, &evq };

	if (!rt_cmdline_has("vsock.noevent"))
		want |= F(VIRTIO_RING_F_EVENT_IDX);
	if (vd_probe(dev, VIRTIO_ID_VSOCK, "vsock"))
		return -1;
	if (vd_negotiate(dev, want)) {
		rt_printf("vsock: FEATURES_OK refused (offered 0x%lx)\n", dev->offered);
		return -1;
	}
	event_idx = dev->event_idx;
	cid = vd_cfg64(dev, 0);
	for (unsigned i = 0; i < 3; i++) {
		vd_wr(dev, VIRTIO_MMIO_QUEUE_SEL, i);
		if (vd_rd(dev, VIRTIO_MMIO_QUEUE_NUM_MAX) < QSIZE) {
			rt_printf("vsock: queue %u too small\n", i);
			return -1;
		}
		q_init(qs[i], i);
		if (!vd_queue_setup_sel(dev, i, QSIZE, (uint64_t)qs[i]->desc,
					(uint64_t)qs[i]->avail, (uint64_t)qs[i]->used)) {
			rt_printf("vsock: queue %u not ready after set-up\n", i);
			return -1;
		}
	}
	for (uint16_t i = 0; i < QSIZE; i++)
		post(&rxq, i, rxbuf[i], SLOT);
	for (uint16_t i = 0; i < 4; i++)
		post(&evq, i, evbuf[i], 8);
	for (struct q **q = qs; q < qs + 3; q++) {
		barrier();
		(*q)->avail->idx = (*q)->avail_idx;
		(*q)->published = (*q)->avail_idx;
	}
	ntxfree = 0;
	for (uint16_t i = QSIZE; i > 0; i--)
		txfree[ntxfree++] = (uint16_t)(i - 1);
	vd_driver_ok(dev);
	if (vd_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET) {
		rt_printf("vsock: device needs reset after DRIVER_OK\n");
		return -1;
	}
	return 0;
}

static void start_client(uint32_t port, uint32_t bytes, uint32_t lport)
{
	struct conn *c = alloc_conn(lport, port);

	if (!c)
		return;
	c->state = C_CONNECTING;
	c->client = true;
	c->total = bytes;
	send_pkt(c, lport, port, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0);
}

static bool clients_busy(void)
{
	for (unsigned i = 0; i < NCONN; i++)
		if (conns[i].state != C_FREE && conns[i].client)
			return true;
	return false;
}

static void print_stats(void)
{
	rt_printf("vsock: stats accepted=%u refused=%u closed=%u resets=%u rx_pkts=%u "
		  "tx_pkts=%u rx_bytes=%lu tx_bytes=%lu bad=%u\n", st.accepted, st.refused_in,
		  st.closed, st.resets, st.rx_pkts, st.tx_pkts, st.rx_bytes, st.tx_bytes, st.bad);
}

void guest_main(const struct boot_info *bi)
{
	uint32_t run_ticks = (uint32_t)(rt_cmdline_u64("vsock.run_ms", 0) / RT_TICK_MS);
	uint32_t stats_ticks = (uint32_t)(rt_cmdline_u64("vsock.stats_ms", 1000) / RT_TICK_MS);
	uint32_t cport = (uint32_t)rt_cmdline_u64("vsock.connect", 0);
	uint32_t rport = (uint32_t)rt_cmdline_u64("vsock.refuse", 0);
	bool quit_after = rt_cmdline_has("vsock.quit");

	rt_printf("vsock: cmdline=%s\n", bi->cmdline);
	if (bi->ram_top < MEM_NEEDED) {
		rt_printf("vsock: FAIL needs %lu MiB of RAM\n", (MEM_NEEDED >> 20) + 1);
		guest_reset();
	}
	listen_port = (uint32_t)rt_cmdline_u64("vsock.listen", 5000);
	rt_pit_start();
	int ndev = vd_discover();
	for (int i = 0; i < ndev && !dev; i++)
		if (vd_rd(&vd_devs[i], VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_VSOCK)
			dev = &vd_devs[i];
	if (!dev) {
		rt_printf("vsock: FAIL no virtio-vsock device among %d\n", ndev);
		guest_reset();
	}
	if (setup()) {
		rt_printf("vsock: FAIL\n");
		vd_set_status(dev, 0);
		guest_reset();
	}
	rt_printf("vsock: ready cid=%lu listen=%u\n", cid, listen_port);
	pattern_init();
	if (rport)
		start_client(rport, 0, 40000);
	if (cport)
		start_client(cport, (uint32_t)rt_cmdline_u64("vsock.bytes", 4096), 40001);

	uint32_t t0 = rt_ticks, next_stats = t0 + stats_ticks, printed = 0;
	for (;;) {
		bool busy = rx_poll(64) != 0;
		uint32_t now = rt_ticks;

		ev_poll();
		for (unsigned i = 0; i < NCONN; i++)
			if (conns[i].state != C_FREE && pump(&conns[i]))
				busy = true;
		if (fail || (dev->isr & VIRTIO_MMIO_INT_CONFIG &&
			     (vd_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET))) {
			rt_printf("vsock: FAIL device needs reset or protocol error\n");
			fail = true;
			break;
		}
		if (run_ticks && (uint32_t)(now - t0) >= run_ticks)
			break;
		if (quit_after && (rport || cport) && !clients_busy())
			break;
		if (stats_ticks && (int32_t)(now - next_stats) >= 0) {
			next_stats = now + stats_ticks;
			if (st.rx_pkts != printed) {
				printed = st.rx_pkts;
				print_stats();
			}
		}
		if (busy)
			continue;
		cpu_cli();
		q_want_irq(&rxq, true);
		q_want_irq(&evq, true);
		if (!q_pending(&rxq) && !q_pending(&evq) && !(dev->isr & VIRTIO_MMIO_INT_CONFIG))
			rt_idle();
		cpu_sti();
	}
	cpu_cli();
	print_stats();
	rt_printf("vsock: irqs=%u\n", dev->irqs);
	vd_set_status(dev, 0);
	rt_pit_stop();
	rt_printf("vsock: done\n");
	guest_reset();
}
