/* A virtio-vsock driver (virtio 1.2 §5.10 over §4.2 virtio-mmio, §2.7
 * split rings) with stream sockets and credit-based flow control, in two
 * layers.
 *
 * The device layer (struct vsk_dev, struct vsk_stream, the inline helpers
 * and vsk_dev_setup / vsk_dev_events) is shared by the vsock and snap
 * guests (through the socket layer below) and by perf/vsockbench, whose
 * ring-3 loop calls it directly: nothing in it but vsk_dev_setup is
 * privileged or prints, per-packet helpers are inline and nothing
 * publishes or notifies behind the caller's back (vq_flush is the
 * caller's, once per batch). It holds the three queues (rx 0, tx 1, event
 * 2), the buffer layout, the guest CID, header building and checking,
 * and per connection the host's credit, our fwd_cnt and the receive ring
 * we advertise as buf_alloc (§5.10.6.3).
 *
 * The socket layer (vsk_setup ... vsk_print_stats; one device per guest,
 * module state) is a test peer for femtovm's hybrid Unix-socket host side:
 *   server: listens on one port and echoes every byte back on the same
 *           connection (buffered up to 64 KiB); when the host stops
 *           sending (SHUTDOWN) and all is echoed, it shuts down too.
 *   client: vsk_connect() connects to CID 2 <port>, sends <bytes> bytes of
 *           a pattern, shuts down its sending side and checks the echo.
 *   events: VIRTIO_VSOCK_EVENT_TRANSPORT_RESET drops every connection and
 *           re-reads the guest CID (§5.10.6.7).
 * Queues of 128: rx kept full of 4 KiB device-writable buffers, tx one
 * readable buffer per packet (header + payload), event four 8-byte
 * buffers. Lines, each starting with the caller's prefix:
 * "<prefix> connect <port> ok bytes=<n>", "... refused", "... FAIL rx=..",
 * "<prefix> transport reset", "<prefix> FAIL ...", "<prefix> stats ...". */
#ifndef VSK_H
#define VSK_H

#include <linux/virtio_vsock.h>

#include "vq.h"

/* ------------------------------------------------------------------------ */
/* device layer                                                             */

#define VSK_HDR 44u		/* sizeof(struct virtio_vsock_hdr) */
#define VSK_HOST_CID 2
#define VSK_NEVBUF 4		/* 8-byte event buffers */
#define VSK_PAGE 4096

/* Buffer memory from base: qsize rx slots, qsize tx slots (slot bytes
 * each: header + payload), the event buffers, then from a page further on
 * one receive ring of buf_alloc bytes per connection. */
#define VSK_MEM(qsize, slot, nconn, buf_alloc) \
	(2ULL * (qsize) * (slot) + VSK_PAGE + (uint64_t)(nconn) * (buf_alloc))

struct vsk_dev {
	/* set by the caller before vsk_dev_setup */
	struct vd *vd;
	uint8_t *base;		/* VSK_MEM(qsize, slot, ...) bytes */
	uint16_t qsize;		/* every queue; a power of two ≤ VQ_MAX */
	uint32_t slot;		/* rx and tx buffer size */
	uint32_t buf_alloc;	/* receive ring per connection; a power of two */
	/* set up by vsk_dev_setup */
	struct vq rx, tx, ev;
	uint64_t cid;		/* ours, re-read on TRANSPORT_RESET */
};

/* One stream connection: the host's credit, our receive side. */
struct vsk_stream {
	uint32_t lport, pport;
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;	/* the host's credit */
	uint32_t fwd_cnt, fwd_told;			/* our receive side */
	uint8_t *ring;					/* buf_alloc bytes */
	uint32_t head, len;				/* bytes held in it */
	bool peer_done;		/* the host will send no more */
};

static inline uint8_t *vsk_rxbuf(const struct vsk_dev *d, uint32_t id)
{
	return d->base + (uint64_t)id * d->slot;
}

static inline uint8_t *vsk_txbuf(const struct vsk_dev *d, uint32_t id)
{
	return d->base + (uint64_t)(d->qsize + id) * d->slot;
}

static inline uint8_t *vsk_evbuf(const struct vsk_dev *d, uint32_t id)
{
	return d->base + 2ULL * d->qsize * d->slot + 8u * id;
}

/* Receive ring of connection i. */
static inline uint8_t *vsk_ring(const struct vsk_dev *d, unsigned i)
{
	return d->base + VSK_MEM(d->qsize, d->slot, i, d->buf_alloc);
}

/* Payload bytes one packet carries. */
static inline uint32_t vsk_maxdata(const struct vsk_dev *d)
{
	return d->slot - VSK_HDR;
}

/* Probes and negotiates d->vd (want: VERSION_1, EVENT_IDX as the caller
 * chooses), reads the CID, sets up the three queues (ring memory qmem,
 * 3 * VQ_MEM bytes), fills rx and event queues and sets DRIVER_OK. Ring 0.
 * 0, or -1 after printing why ("<prefix> ..."). */
int vsk_dev_setup(struct vsk_dev *d, uint64_t want, void *qmem, const char *prefix);

/* Takes the event queue's used entries, re-posts the buffers and flushes;
 * a TRANSPORT_RESET re-reads d->cid. Returns how many resets were seen:
 * the caller drops every connection (§5.10.6.7). */
unsigned vsk_dev_events(struct vsk_dev *d);

static inline void vsk_rx_done(struct vsk_dev *d, uint32_t id)
{
	vq_post(&d->rx, (uint16_t)id, vsk_rxbuf(d, id), d->slot, true);
}

/* A stream packet from the host to our CID. */
static inline bool vsk_hdr_ok(const struct vsk_dev *d, const struct virtio_vsock_hdr *h)
{
	return h->src_cid == VSK_HOST_CID && h->dst_cid == d->cid &&
	       h->type == VIRTIO_VSOCK_TYPE_STREAM;
}

/* The next packet for us (vsk_hdr_ok, its payload of h->len bytes after
 * the header within the buffer), or NULL when the used ring is empty.
 * Anything else is counted in *bad and re-posted here; give a returned
 * packet back with vsk_rx_done(d, *id) once its payload is used. */
static inline const struct virtio_vsock_hdr *vsk_rx_next(struct vsk_dev *d, uint32_t *id,
							 uint32_t *bad)
{
	uint32_t len;

	while (vq_pop(&d->rx, id, &len)) {
		if (*id >= d->qsize) {
			(*bad)++;
			continue;
		}
		const struct virtio_vsock_hdr *h = (const struct virtio_vsock_hdr *)vsk_rxbuf(d, *id);

		if (len >= VSK_HDR && len <= d->slot && h->len <= len - VSK_HDR && vsk_hdr_ok(d, h))
			return h;
		(*bad)++;
		vsk_rx_done(d, *id);
	}
	return NULL;
}

/* Queues tx buffer id (from vq_get(&d->tx); the payload already at
 * vsk_txbuf + VSK_HDR) as packet op from lport to the host's pport, with
 * our buf_alloc and, for stream s (NULL: a reply to no connection), its
 * fwd_cnt (then told); payload bytes count against the host's credit.
 * Sent at the caller's next vq_flush(&d->tx). */
static inline void vsk_tx(struct vsk_dev *d, int id, struct vsk_stream *s, uint32_t lport,
			  uint32_t pport, uint16_t op, uint32_t flags, uint32_t len)
{
	struct virtio_vsock_hdr *h = (struct virtio_vsock_hdr *)vsk_txbuf(d, (uint32_t)id);

	h->src_cid = d->cid;
	h->dst_cid = VSK_HOST_CID;
	h->src_port = lport;
	h->dst_port = pport;
	h->len = len;
	h->type = VIRTIO_VSOCK_TYPE_STREAM;
	h->op = op;
	h->flags = flags;
	h->buf_alloc = d->buf_alloc;
	h->fwd_cnt = s ? s->fwd_cnt : 0;
	if (s) {
		s->fwd_told = s->fwd_cnt;
		s->tx_cnt += len;
	}
	vq_put(&d->tx, (uint16_t)id, h, VSK_HDR + len);
}

/* A new stream (lport ← host's pport) receiving into ring. */
static inline void vsk_stream_init(struct vsk_stream *s, uint32_t lport, uint32_t pport,
				   uint8_t *ring)
{
	memset(s, 0, sizeof(*s));
	s->lport = lport;
	s->pport = pport;
	s->ring = ring;
}

/* Every packet the host sends on the stream: its buffer space
 * (§5.10.6.3), and a SHUTDOWN of its sending side (§5.10.6.5). */
static inline void vsk_stream_rx(struct vsk_stream *s, const struct virtio_vsock_hdr *h)
{
	s->peer_buf_alloc = h->buf_alloc;
	s->peer_fwd_cnt = h->fwd_cnt;
	if (h->op == VIRTIO_VSOCK_OP_SHUTDOWN && (h->flags & VIRTIO_VSOCK_SHUTDOWN_SEND))
		s->peer_done = true;
}

/* Payload bytes the host can take now. */
static inline uint32_t vsk_credit(const struct vsk_stream *s)
{
	uint32_t inflight = s->tx_cnt - s->peer_fwd_cnt;

	return inflight >= s->peer_buf_alloc ? 0 : s->peer_buf_alloc - inflight;
}

/* Consumed bytes the host has not been told of reach a quarter of our
 * buffer: time for a CREDIT_UPDATE. */
static inline bool vsk_credit_due(const struct vsk_dev *d, const struct vsk_stream *s)
{
	return s->fwd_cnt - s->fwd_told >= d->buf_alloc / 4;
}

/* Appends n received bytes to the stream's ring; false (nothing stored)
 * when they do not fit: the host sent beyond the credit we gave. */
static inline bool vsk_ring_put(const struct vsk_dev *d, struct vsk_stream *s,
				const uint8_t *data, uint32_t n)
{
	uint32_t tail, first;

	if (n > d->buf_alloc - s->len)
		return false;
	tail = (s->head + s->len) & (d->buf_alloc - 1);
	first = d->buf_alloc - tail;
	if (first > n)
		first = n;
	memcpy(s->ring + tail, data, first);
	memcpy(s->ring, data + first, n - first);
	s->len += n;
	return true;
}

/* Echo: the next run of the ring that one packet can carry and the host's
 * credit allows (0: none); vsk_ring_send sends it. */
static inline uint32_t vsk_ring_chunk(const struct vsk_dev *d, const struct vsk_stream *s)
{
	uint32_t n = s->len, first = d->buf_alloc - s->head, c = vsk_credit(s);

	if (n > first)
		n = first;
	if (n > vsk_maxdata(d))
		n = vsk_maxdata(d);
	return n < c ? n : c;
}

/* Queues n = vsk_ring_chunk bytes from the ring as RW in tx buffer id and
 * frees them in the ring (fwd_cnt: our buffer has room again). */
static inline void vsk_ring_send(struct vsk_dev *d, int id, struct vsk_stream *s, uint32_t n)
{
	memcpy(vsk_txbuf(d, (uint32_t)id) + VSK_HDR, s->ring + s->head, n);
	s->head = (s->head + n) & (d->buf_alloc - 1);
	s->len -= n;
	s->fwd_cnt += n;
	vsk_tx(d, id, s, s->lport, s->pport, VIRTIO_VSOCK_OP_RW, 0, n);
}

/* ------------------------------------------------------------------------ */
/* socket layer (ring 0, one device per guest)                              */

#define VSK_MAX_CONNS 128

struct vsk_stats {
	uint32_t accepted, refused_in, closed, rx_pkts, tx_pkts, resets, bad;
	uint64_t rx_bytes, tx_bytes;
	uint32_t transport_resets;	/* TRANSPORT_RESET events handled */
	uint32_t dropped;		/* connections they dropped, in all */
};

extern struct vsk_stats vsk_st;

/* Bytes of buffer memory vsk_setup needs at buf_base for nconn
 * connections (packet buffers and one 64 KiB receive ring each). */
uint64_t vsk_mem(unsigned nconn);

/* Probes and negotiates dev (VERSION_1, EVENT_IDX unless the flag
 * vsock.noevent), sets up the three queues with buffers at buf_base and
 * sets DRIVER_OK. Up to nconn (≤ VSK_MAX_CONNS) connections; the server
 * accepts on listen_port (0: none). 0, or -1 after printing why. */
int vsk_setup(struct vd *dev, uint64_t buf_base, unsigned nconn, uint32_t listen_port,
	      const char *prefix);
uint64_t vsk_cid(void);

/* Starts a client connection from local port lport to host port port. */
void vsk_connect(uint32_t port, uint32_t bytes, uint32_t lport);
bool vsk_clients_busy(void);
/* Connections not closed. */
unsigned vsk_open_conns(void);

/* Received packets, events, then data out on every connection. True when
 * anything happened (call again before sleeping). */
bool vsk_poll(void);
/* A protocol error, or the device asked for a reset. */
bool vsk_failed(void);
/* With interrupts off: asks for interrupts on rx and event queues; true
 * when nothing is pending, so the caller may hlt. */
bool vsk_idle_ok(void);

void vsk_print_stats(void);

#endif
