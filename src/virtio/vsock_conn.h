/* virtio-vsock connection state, private to the vsock_*.c files. One
 * connection pairs a host Unix socket with a guest stream socket, keyed by
 * (local_port = host side, peer_port = guest side). Slots come from a fixed
 * pool of VSOCK_MAX_CONNS: an epoll event already fetched for a slot that
 * was closed meanwhile finds it free (or reused) and is harmless, because
 * handlers act on what read()/write() return, never on the event bits. */
#ifndef FEMTOVM_VSOCK_CONN_H
#define FEMTOVM_VSOCK_CONN_H

#include "virtio/vsock.h"

enum vsock_conn_state {
	VC_FREE,
	VC_LINE,         /* host client accepted, reading "CONNECT <port>\n" */
	VC_REQ_SENT,     /* host-initiated: REQUEST queued or sent, no RESPONSE yet */
	VC_ESTABLISHED,
	VC_DEAD,         /* host socket closed; an RST to the guest is pending */
};

/* Control packets waiting for a receive buffer. */
#define VC_PEND_REQUEST 0x01u
#define VC_PEND_RESPONSE 0x02u
#define VC_PEND_SHUTDOWN 0x04u
#define VC_PEND_CREDIT_UPDATE 0x08u
#define VC_PEND_CREDIT_REQUEST 0x10u
#define VC_PEND_RST 0x20u

struct vsock_conn {
	struct el_handler h;             /* the host socket; fd -1 once closed */
	struct vsock *vs;
	enum vsock_conn_state state;
	bool host_initiated;
	uint32_t local_port, peer_port;
	uint64_t deadline_ns;            /* VC_LINE / VC_REQ_SENT expiry, 0: none */
	uint32_t pend;                   /* VC_PEND_* */
	struct vsock_conn *hnext;        /* hash chain (or free list) */
	struct vsock_conn *wprev, *wnext;
	bool queued;                     /* on the work list */
	uint32_t events;                 /* epoll interest now (0: not in the set) */
	bool host_readable;              /* EPOLLIN seen, not yet read to EAGAIN */
	bool host_eof;                   /* the host side will not send more */
	bool host_shut_wr;               /* shutdown(SHUT_WR) done */
	bool credit_req_sent;
	uint32_t peer_shut;              /* VIRTIO_VSOCK_SHUTDOWN_* from the guest */
	struct vsock_credit cr;
	/* the CONNECT line as read so far */
	char line[VSOCK_LINE_MAX];
	uint8_t line_len;
	/* bytes the client sent after the CONNECT line: the guest's first data */
	uint8_t pre[VSOCK_LINE_MAX];
	uint8_t pre_len, pre_off;
	/* "OK <port>\n" for the client, sent before any guest data */
	char ok[24];
	uint8_t ok_len, ok_off;
	/* guest→host bytes the host socket did not take yet (ring of
	 * VSOCK_CONN_BUF, allocated while non-empty) */
	uint8_t *buf;
	uint32_t buf_head, buf_len;
};

/* vsock_conn.c */
struct vsock_conn *vsock_conn_lookup(struct vsock *vs, uint32_t local, uint32_t peer);
void vsock_conn_hash_add(struct vsock_conn *c);
void vsock_conn_free(struct vsock_conn *c);
void vsock_conn_reset(struct vsock_conn *c, const char *why);
void vsock_conn_sched(struct vsock_conn *c);
void vsock_conn_update_poll(struct vsock_conn *c);
void vsock_conn_flush(struct vsock_conn *c);
void vsock_conn_close_host(struct vsock_conn *c);
uint32_t vsock_alloc_host_port(struct vsock *vs, uint32_t peer);

/* vsock_host.c */
void vsock_conn_read_line(struct vsock_conn *c);
void vsock_conn_on_host(struct el_handler *h, uint32_t events);

#endif
