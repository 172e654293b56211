/* virtio-vsock device (virtio 1.2 §5.10) with Firecracker's hybrid host
 * side (DESIGN.md §5): guest stream sockets are relayed to Unix sockets.
 *   host→guest: a client connects to uds_path and writes "CONNECT <port>\n";
 *               once the guest accepts, femtovm answers "OK <host_port>\n".
 *   guest→host: a REQUEST to CID 2 port P connects to "<uds_path>_P".
 *
 * Files: vsock_proto.c  pure parsers (packet header, CONNECT line, credit);
 *        vsock.c        device ops and the rx/tx/event queue paths;
 *        vsock_conn.c   the connection muxer (state machine, flow control);
 *        vsock_host.c   the host sockets (listener, accept, connect, I/O,
 *                       timeouts) and the event-loop handlers.
 *
 * Locking: every event-loop handler of this device (listener, connection
 * sockets, timer) runs its work through vmmio_locked_call() on the
 * device's transport (vs->tp, set by whoever creates the transport), so
 * queue and connection state is only ever touched under the transport
 * lock, as with queue kicks. Without a transport (vs->tp NULL: parsers'
 * unit tests, fuzzing) the work runs directly. */
#ifndef FEMTOVM_VSOCK_H
#define FEMTOVM_VSOCK_H

#include <linux/virtio_vsock.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/virtio.h"
#include "vmm/event_loop.h"

#define VSOCK_QUEUE_MAX 256
#define VSOCK_RXQ 0
#define VSOCK_TXQ 1
#define VSOCK_EVQ 2
#define VSOCK_HOST_CID 2
#define VSOCK_HDR_LEN 44                   /* sizeof(struct virtio_vsock_hdr) */
#define VSOCK_MAX_PKT (64u * 1024)         /* payload bytes per packet, either way */
#define VSOCK_MAX_CONNS 1023               /* as Firecracker */
#define VSOCK_CONN_BUF (64u * 1024)        /* buf_alloc we advertise per connection */
#define VSOCK_LINE_MAX 32                  /* "CONNECT 4294967295\n" fits */
#define VSOCK_HOST_PORT_BASE (1u << 30)    /* host-side ports of host-initiated conns */
#define VSOCK_BATCH 64                     /* packets per queue pass */
#define VSOCK_RST_RING 64                  /* RSTs for packets without a connection */
#define VSOCK_LINE_TIMEOUT_MS 5000         /* CONNECT line must arrive by then */
#define VSOCK_REQ_TIMEOUT_MS 5000          /* guest must answer a REQUEST by then */
#define VSOCK_TICK_MS 250                  /* timeout scan period while any are due */

/* ------------------------------------------------------------------------ */
/* Pure parsing (vsock_proto.c)                                             */

enum vsock_pkt_err {
	VSOCK_PKT_OK = 0,
	VSOCK_PKT_SHORT = -1,    /* chain shorter than the header, or writable */
	VSOCK_PKT_BADLEN = -2,   /* len beyond the chain or VSOCK_MAX_PKT, or data on a control op */
	VSOCK_PKT_BADSRC = -3,   /* src_cid is not the guest's */
	VSOCK_PKT_BADDST = -4,   /* dst_cid is not the host (2) */
	VSOCK_PKT_BADTYPE = -5,  /* not VIRTIO_VSOCK_TYPE_STREAM */
	VSOCK_PKT_BADOP = -6,    /* unknown op */
};

/* A validated packet header in host byte order. */
struct vsock_pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags;
	uint32_t buf_alloc, fwd_cnt;
};

/* Parse the 44-byte little-endian header @raw of a transmit chain whose
 * readable bytes total @chain_len. @p is filled even on error (the ports
 * are what an RST reply needs). Returns an enum vsock_pkt_err. */
int vsock_pkt_parse(const uint8_t raw[VSOCK_HDR_LEN], uint64_t chain_len, uint64_t guest_cid,
		    struct vsock_pkt *p);
/* What to do with a packet that failed to parse: true → answer RST (the
 * header is attributable to the guest and the host), false → drop. */
bool vsock_pkt_err_wants_rst(int err, const struct vsock_pkt *p);
const char *vsock_pkt_strerror(int err);

/* Encode @p as a 44-byte little-endian header. */
void vsock_pkt_encode(const struct vsock_pkt *p, uint8_t raw[VSOCK_HDR_LEN]);

/* Parse "CONNECT <port>\n" from the first @len bytes of @buf (keyword
 * case-insensitive, one or more spaces, decimal port ≤ UINT32_MAX, an
 * optional '\r' before the '\n'). Returns the line length including the
 * '\n' with *port set; 0 when more bytes are needed (no newline yet and
 * @len < VSOCK_LINE_MAX); -EINVAL for a bad or overlong line. */
int vsock_parse_connect(const char *buf, size_t len, uint32_t *port);

/* Credit accounting for one connection (virtio 1.2 §5.10.6.3). */
struct vsock_credit {
	/* host→guest: the guest's receive buffer as it last told us */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt;             /* payload bytes sent to the guest */
	/* guest→host: our buffer */
	uint32_t buf_alloc;          /* what we advertise */
	uint32_t rx_cnt;             /* payload bytes accepted from the guest */
	uint32_t fwd_cnt;            /* of which forwarded to the host socket */
	uint32_t fwd_cnt_told;       /* fwd_cnt in the last header we sent */
};

/* Bytes we may send to the guest now (0 if it claims more than it got). */
uint32_t vsock_credit_peer(const struct vsock_credit *c);
/* Whether the guest may send @len more bytes (it stays within buf_alloc). */
bool vsock_credit_accepts(const struct vsock_credit *c, uint32_t len);
/* Whether enough was forwarded since we last told the guest to send an
 * unsolicited CREDIT_UPDATE (a quarter of the buffer). */
bool vsock_credit_update_due(const struct vsock_credit *c);

/* ------------------------------------------------------------------------ */
/* Device                                                                   */

struct vsock_stats {
	uint64_t conns_host;         /* host-initiated connections established */
	uint64_t conns_guest;        /* guest-initiated connections established */
	uint64_t conns_refused;      /* REQUEST without a host listener, or cap reached */
	uint64_t conns_active;       /* slots in use now */
	uint64_t rx_bytes, rx_packets;   /* to the guest */
	uint64_t tx_bytes, tx_packets;   /* from the guest */
	uint64_t tx_malformed;       /* transmit chains rejected by the parser */
	uint64_t rx_dropped;         /* receive buffers too small, RSTs lost */
	uint64_t rst_sent, rst_received;
	uint64_t credit_violations;  /* guest sent beyond our buf_alloc */
	uint64_t timeouts;           /* half-open connections expired */
	uint64_t bad_connect_lines;
	uint64_t host_errors;        /* host socket errors (reset connections) */
};

struct vsock_conn;
struct vmmio;

struct vsock {
	uint64_t guest_cid;
	char *uds_path;
	struct event_loop *el;
	struct vmmio *tp;               /* lock owner for event-loop work (may be NULL) */
	struct el_handler listen_h, timer_h;
	bool timer_armed;
	/* set at activation */
	struct virtio_transport *t;
	struct virtqueue *rxq, *txq, *evq;
	bool active;
	bool event_pending;             /* TRANSPORT_RESET not yet delivered */
	/* connections: a fixed pool (stale epoll events never see freed memory) */
	struct vsock_conn *pool;
	struct vsock_conn *free_list;
	struct vsock_conn *work_head, *work_tail;   /* may have packets for the guest */
	struct vsock_conn **hash;
	unsigned nconns;
	uint32_t next_host_port;
	/* RSTs for packets that have no connection: (src_port, dst_port) of the packet */
	struct { uint32_t host_port, guest_port; } rst_ring[VSOCK_RST_RING];
	unsigned rst_head, rst_len;
	/* timeouts (ms), tests may shorten them */
	unsigned line_timeout_ms, req_timeout_ms;
	uint8_t *scratch;               /* rx header + payload, then tx payload */
	struct vq_chain *chain;         /* [0] rx, [1] tx, [2] event */
	struct vsock_stats stats;
};

extern const struct virtio_dev_ops vsock_ops;

/* Create the device and listen on @uds_path (a stale socket file is
 * removed; a live listener or a non-socket file is an error). Event
 * sources go on @el (may be NULL in tests). 0 or -errno (logged). */
int vsock_init(struct vsock *vs, uint64_t guest_cid, const char *uds_path,
	       struct event_loop *el);
/* Close every connection and the listener; unlinks uds_path. */
void vsock_destroy(struct vsock *vs);

/* Drop every connection and queue a VIRTIO_VSOCK_EVENT_TRANSPORT_RESET
 * on the event queue (snapshot restore). vmmio_locked_call() shape. */
int vsock_transport_reset(void *dev, void *arg);

/* ------------------------------------------------------------------------ */
/* Internals shared by the vsock files                                       */

/* Run @fn(vs, arg) under the transport lock (see the top comment). */
void vsock_locked(struct vsock *vs, int (*fn)(void *dev, void *arg), void *arg);

/* vsock.c: queue paths (transport lock held). */
void vsock_process_rx(struct vsock *vs);
void vsock_process_tx(struct vsock *vs);
void vsock_process_evq(struct vsock *vs);

/* vsock_conn.c: the muxer (transport lock held). */
int vsock_conns_init(struct vsock *vs);
void vsock_conns_free(struct vsock *vs);
void vsock_conns_close_all(struct vsock *vs);
/* A validated packet from the guest; @data is its payload (p->len bytes). */
void vsock_conn_from_guest(struct vsock *vs, const struct vsock_pkt *p, const uint8_t *data);
/* Queue an RST for a packet (p->src_port → p->dst_port) with no connection. */
void vsock_queue_rst(struct vsock *vs, const struct vsock_pkt *p);
/* Whether anything waits for a receive buffer. */
bool vsock_rx_pending(const struct vsock *vs);
/* Build the next packet for the guest into @hdr (+ payload into @data, at
 * most @max bytes). Returns payload length ≥ 0, or -1 when nothing is
 * ready after all (the buffer is not used). */
int vsock_next_pkt(struct vsock *vs, struct vsock_pkt *hdr, uint8_t *data, uint32_t max);
/* Expire half-open connections whose deadline passed; true if any remain. */
bool vsock_conns_expire(struct vsock *vs, uint64_t now_ns);

/* vsock_conn.c: host-side entry points used by vsock_host.c. */
struct vsock_conn *vsock_conn_alloc(struct vsock *vs, int fd);
void vsock_conn_host_event(struct vsock_conn *c, uint32_t events);

/* vsock_host.c */
int vsock_listen(struct vsock *vs, const char *path);
int vsock_connect_host(const struct vsock *vs, uint32_t port);  /* fd or -errno */
void vsock_arm_timer(struct vsock *vs);
uint64_t vsock_now_ns(void);

#endif
