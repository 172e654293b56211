/* virtio-vsock connection muxer: the per-connection state machine (virtio
 * 1.2 §5.10.6.4), credit-based flow control in both directions and the
 * work list of connections with packets for the guest. Runs with the
 * transport lock held. Host socket I/O helpers live here too because they
 * move the credit counters; accepting and connecting are in vsock_host.c.
 *
 * Memory stays bounded whatever the guest does: the guest may hold at most
 * buf_alloc (VSOCK_CONN_BUF) unforwarded bytes per connection (more is a
 * credit violation: RST), and host bytes are read only when the guest has
 * credit and a receive buffer is in hand. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "virtio/vsock_conn.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define HASH_SIZE 2048u

static unsigned hash_of(uint32_t local, uint32_t peer)
{
	return (local * 2654435761u ^ peer * 40503u) & (HASH_SIZE - 1);
}

int vsock_conns_init(struct vsock *vs)
{
	vs->pool = calloc(VSOCK_MAX_CONNS, sizeof(*vs->pool));
	vs->hash = calloc(HASH_SIZE, sizeof(*vs->hash));
	if (!vs->pool || !vs->hash)
		return -ENOMEM;
	for (unsigned i = VSOCK_MAX_CONNS; i-- > 0;) {
		vs->pool[i].h.fd = -1;
		vs->pool[i].hnext = vs->free_list;
		vs->free_list = &vs->pool[i];
	}
	vs->next_host_port = VSOCK_HOST_PORT_BASE;
	return 0;
}

void vsock_conns_free(struct vsock *vs)
{
	if (vs->pool)
		vsock_conns_close_all(vs);
	free(vs->pool);
	free(vs->hash);
	vs->pool = NULL;
	vs->hash = NULL;
}

struct vsock_conn *vsock_conn_lookup(struct vsock *vs, uint32_t local, uint32_t peer)
{
	struct vsock_conn *c = vs->hash[hash_of(local, peer)];

	while (c && (c->local_port != local || c->peer_port != peer))
		c = c->hnext;
	return c;
}

void vsock_conn_hash_add(struct vsock_conn *c)
{
	struct vsock_conn **b = &c->vs->hash[hash_of(c->local_port, c->peer_port)];

	c->hnext = *b;
	*b = c;
}

static void hash_del(struct vsock_conn *c)
{
	struct vsock_conn **p = &c->vs->hash[hash_of(c->local_port, c->peer_port)];

	while (*p && *p != c)
		p = &(*p)->hnext;
	if (*p)
		*p = c->hnext;
	c->hnext = NULL;
}

static bool in_hash(const struct vsock_conn *c)
{
	return c->state == VC_REQ_SENT || c->state == VC_ESTABLISHED || c->state == VC_DEAD;
}

static void work_del(struct vsock_conn *c)
{
	struct vsock *vs = c->vs;

	if (!c->queued)
		return;
	if (c->wprev)
		c->wprev->wnext = c->wnext;
	else
		vs->work_head = c->wnext;
	if (c->wnext)
		c->wnext->wprev = c->wprev;
	else
		vs->work_tail = c->wprev;
	c->wprev = c->wnext = NULL;
	c->queued = false;
}

uint32_t vsock_alloc_host_port(struct vsock *vs, uint32_t peer)
{
	for (unsigned tries = 0; tries <= VSOCK_MAX_CONNS; tries++) {
		uint32_t p = vs->next_host_port;

		vs->next_host_port = p == UINT32_MAX ? VSOCK_HOST_PORT_BASE : p + 1;
		if (!vsock_conn_lookup(vs, p, peer))
			return p;
	}
	return 0; /* cannot happen: at most VSOCK_MAX_CONNS are in use */
}

struct vsock_conn *vsock_conn_alloc(struct vsock *vs, int fd)
{
	struct vsock_conn *c = vs->free_list;

	if (!c)
		return NULL;
	vs->free_list = c->hnext;
	memset(c, 0, sizeof(*c));
	c->vs = vs;
	c->h = (struct el_handler){ fd, vsock_conn_on_host, c };
	c->cr.buf_alloc = VSOCK_CONN_BUF;
	vs->nconns++;
	vs->stats.conns_active = vs->nconns;
	return c;
}

void vsock_conn_close_host(struct vsock_conn *c)
{
	if (c->h.fd < 0)
		return;
	if (c->events && c->vs->el)
		el_del(c->vs->el, &c->h);
	c->events = 0;
	close(c->h.fd);
	c->h.fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->buf_len = c->buf_head = 0;
}

void vsock_conn_free(struct vsock_conn *c)
{
	struct vsock *vs = c->vs;

	if (c->state == VC_FREE)
		return;
	vsock_conn_close_host(c);
	work_del(c);
	if (in_hash(c))
		hash_del(c);
	c->state = VC_FREE;
	c->hnext = vs->free_list;
	vs->free_list = c;
	vs->nconns--;
	vs->stats.conns_active = vs->nconns;
}

void vsock_conns_close_all(struct vsock *vs)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		vsock_conn_free(&vs->pool[i]);
	vs->rst_len = vs->rst_head = 0;
}

/* The guest may be sent host data: established, wants it, has credit. */
static bool data_wanted(const struct vsock_conn *c)
{
	return c->state == VC_ESTABLISHED && !(c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_RCV) &&
	       !(c->pend & VC_PEND_RESPONSE) &&
	       (c->pre_off < c->pre_len || (c->host_readable && !c->host_eof));
}

static bool has_work(const struct vsock_conn *c)
{
	return c->pend || (data_wanted(c) && vsock_credit_peer(&c->cr));
}

void vsock_conn_sched(struct vsock_conn *c)
{
	struct vsock *vs = c->vs;

	/* Data but no credit: ask once; the guest's next header updates it. */
	if (data_wanted(c) && !vsock_credit_peer(&c->cr) && !c->credit_req_sent)
		c->pend |= VC_PEND_CREDIT_REQUEST;
	if (c->queued || !has_work(c))
		return;
	c->wprev = vs->work_tail;
	c->wnext = NULL;
	if (vs->work_tail)
		vs->work_tail->wnext = c;
	else
		vs->work_head = c;
	vs->work_tail = c;
	c->queued = true;
}

void vsock_conn_update_poll(struct vsock_conn *c)
{
	uint32_t ev = 0;

	if (c->h.fd < 0 || !c->vs->el)
		return;
	if (c->state == VC_LINE)
		ev |= EPOLLIN;
	if (c->state == VC_ESTABLISHED && !c->host_readable && !c->host_eof &&
	    !(c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_RCV) && vsock_credit_peer(&c->cr))
		ev |= EPOLLIN;
	if (c->ok_off < c->ok_len || c->buf_len)
		ev |= EPOLLOUT;
	if (ev == c->events)
		return;
	/* Not watched at all when idle, so a level-triggered hang-up cannot
	 * spin the loop while we wait for the guest. */
	if (!ev)
		el_del(c->vs->el, &c->h);
	else if (!c->events)
		el_add(c->vs->el, &c->h, ev);
	else
		el_mod(c->vs->el, &c->h, ev);
	c->events = ev;
}

void vsock_conn_reset(struct vsock_conn *c, const char *why)
{
	struct vsock *vs = c->vs;

	log_debug("vsock: connection %u<->%u reset: %s", c->local_port, c->peer_port, why);
	if (c->state == VC_LINE || !vs->active) {
		vsock_conn_free(c);
		return;
	}
	vsock_conn_close_host(c);
	c->state = VC_DEAD;
	c->pend = VC_PEND_RST;
	c->deadline_ns = 0;
	vsock_conn_sched(c);
}

/* Both directions are finished: tell the guest with an RST and let go. */
static void check_finished(struct vsock_conn *c)
{
	if (c->state != VC_ESTABLISHED || !(c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) ||
	    c->buf_len || c->ok_off < c->ok_len)
		return;
	if (c->host_eof || (c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_RCV))
		vsock_conn_reset(c, "closed");
}

static void credit_maybe_tell(struct vsock_conn *c)
{
	if (vsock_credit_update_due(&c->cr))
		c->pend |= VC_PEND_CREDIT_UPDATE;
}

static ssize_t host_send(struct vsock_conn *c, const void *p, size_t n)
{
	ssize_t w = send(c->h.fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (w < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return w < 0 ? -errno : w;
}

/* Write the OK line and buffered guest bytes to the host socket. */
void vsock_conn_flush(struct vsock_conn *c)
{
	ssize_t w;

	if (c->h.fd < 0)
		return;
	while (c->ok_off < c->ok_len) {
		w = host_send(c, c->ok + c->ok_off, c->ok_len - c->ok_off);
		if (w <= 0)
			goto out;
		c->ok_off = (uint8_t)(c->ok_off + w);
	}
	while (c->buf_len) {
		uint32_t seg = MIN(c->buf_len, VSOCK_CONN_BUF - c->buf_head);

		w = host_send(c, c->buf + c->buf_head, seg);
		if (w <= 0)
			goto out;
		c->buf_head = (uint32_t)((c->buf_head + (uint32_t)w) % VSOCK_CONN_BUF);
		c->buf_len -= (uint32_t)w;
		c->cr.fwd_cnt += (uint32_t)w;
	}
	free(c->buf); /* keep idle connections small */
	c->buf = NULL;
	c->buf_head = 0;
	if ((c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) && !c->host_shut_wr) {
		shutdown(c->h.fd, SHUT_WR);
		c->host_shut_wr = true;
	}
	w = 0;
out:
	if (w < 0) {
		c->vs->stats.host_errors++;
		vsock_conn_reset(c, strerror((int)-w));
		return;
	}
	credit_maybe_tell(c);
	vsock_conn_update_poll(c);
	vsock_conn_sched(c);
	check_finished(c);
}

/* Guest payload for the host: straight to the socket when nothing is
 * queued, the rest into the ring (credit guarantees it fits). */
static void push_host(struct vsock_conn *c, const uint8_t *data, uint32_t len)
{
	uint32_t done = 0;

	c->cr.rx_cnt += len;
	if (!c->buf_len && c->ok_off == c->ok_len && len) {
		ssize_t w = host_send(c, data, len);

		if (w < 0) {
			c->vs->stats.host_errors++;
			vsock_conn_reset(c, strerror((int)-w));
			return;
		}
		done = (uint32_t)w;
		c->cr.fwd_cnt += done;
	}
	if (done < len) {
		if (!c->buf && !(c->buf = malloc(VSOCK_CONN_BUF))) {
			vsock_conn_reset(c, "out of memory");
			return;
		}
		while (done < len) {
			uint32_t tail = (c->buf_head + c->buf_len) % VSOCK_CONN_BUF;
			uint32_t seg = MIN(len - done, VSOCK_CONN_BUF - tail);

			memcpy(c->buf + tail, data + done, seg);
			c->buf_len += seg;
			done += seg;
		}
	}
	credit_maybe_tell(c);
	vsock_conn_update_poll(c);
	vsock_conn_sched(c);
}

void vsock_queue_rst(struct vsock *vs, const struct vsock_pkt *p)
{
	if (vs->rst_len == VSOCK_RST_RING) {
		vs->stats.rx_dropped++; /* a guest flooding bogus packets loses RSTs */
		return;
	}
	vs->rst_ring[(vs->rst_head + vs->rst_len) % VSOCK_RST_RING].host_port = p->dst_port;
	vs->rst_ring[(vs->rst_head + vs->rst_len) % VSOCK_RST_RING].guest_port = p->src_port;
	vs->rst_len++;
}

/* Guest REQUEST to host port p->dst_port: connect to <uds_path>_<port>. */
static void guest_connect(struct vsock *vs, const struct vsock_pkt *p)
{
	struct vsock_conn *c;
	int fd;

	if (vs->nconns >= VSOCK_MAX_CONNS) {
		vs->stats.conns_refused++;
		log_ratelimited(LOG_WARN, "vsock: guest connection to port %u refused: %u "
				"connections open", p->dst_port, VSOCK_MAX_CONNS);
		vsock_queue_rst(vs, p);
		return;
	}
	fd = vsock_connect_host(vs, p->dst_port);
	if (fd < 0) {
		vs->stats.conns_refused++;
		log_debug("vsock: guest connection to %s_%u: %s", vs->uds_path, p->dst_port,
			  strerror(-fd));
		vsock_queue_rst(vs, p);
		return;
	}
	c = vsock_conn_alloc(vs, fd);
	c->local_port = p->dst_port;
	c->peer_port = p->src_port;
	c->state = VC_ESTABLISHED;
	c->cr.peer_buf_alloc = p->buf_alloc;
	c->cr.peer_fwd_cnt = p->fwd_cnt;
	c->pend = VC_PEND_RESPONSE;
	vsock_conn_hash_add(c);
	vs->stats.conns_guest++;
	vsock_conn_update_poll(c);
	vsock_conn_sched(c);
}

static void on_response(struct vsock_conn *c)
{
	if (c->state != VC_REQ_SENT) {
		vsock_conn_reset(c, "unexpected RESPONSE");
		return;
	}
	c->state = VC_ESTABLISHED;
	c->deadline_ns = 0;
	c->ok_len = (uint8_t)snprintf(c->ok, sizeof(c->ok), "OK %u\n", c->local_port);
	c->ok_off = 0;
	c->vs->stats.conns_host++;
	vsock_conn_flush(c);
}

void vsock_conn_from_guest(struct vsock *vs, const struct vsock_pkt *p, const uint8_t *data)
{
	struct vsock_conn *c = vsock_conn_lookup(vs, p->dst_port, p->src_port);

	vs->stats.tx_packets++;
	if (p->op == VIRTIO_VSOCK_OP_RST)
		vs->stats.rst_received++;
	if (!c) {
		if (p->op == VIRTIO_VSOCK_OP_REQUEST)
			guest_connect(vs, p);
		else if (p->op != VIRTIO_VSOCK_OP_RST)
			vsock_queue_rst(vs, p);
		return;
	}
	if (c->state == VC_DEAD) {
		/* Our RST is on its way; the guest's RST settles it at once. */
		if (p->op == VIRTIO_VSOCK_OP_RST)
			vsock_conn_free(c);
		return;
	}
	/* Every header carries the guest's receive-buffer state. */
	c->cr.peer_buf_alloc = p->buf_alloc;
	c->cr.peer_fwd_cnt = p->fwd_cnt;
	if (vsock_credit_peer(&c->cr)) {
		c->credit_req_sent = false;
		c->pend &= ~VC_PEND_CREDIT_REQUEST;
	}
	switch (p->op) {
	case VIRTIO_VSOCK_OP_REQUEST:
		vsock_conn_reset(c, "REQUEST on an open connection");
		return;
	case VIRTIO_VSOCK_OP_RESPONSE:
		on_response(c);
		return;
	case VIRTIO_VSOCK_OP_RST:
		vsock_conn_free(c); /* the client sees EOF (or no OK line) */
		return;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (c->state != VC_ESTABLISHED) {
			vsock_conn_reset(c, "SHUTDOWN before RESPONSE");
			return;
		}
		c->peer_shut |= p->flags & (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
		vsock_conn_flush(c); /* shuts the host's write side once drained */
		return;
	case VIRTIO_VSOCK_OP_RW:
		if (c->state != VC_ESTABLISHED || (c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND)) {
			vsock_conn_reset(c, "data on a connection not open for it");
			return;
		}
		if (!vsock_credit_accepts(&c->cr, p->len)) {
			vs->stats.credit_violations++;
			log_ratelimited(LOG_WARN, "vsock: guest port %u sent %u bytes beyond its "
					"credit: connection reset", c->peer_port, p->len);
			vsock_conn_reset(c, "credit exceeded");
			return;
		}
		vs->stats.tx_bytes += p->len;
		push_host(c, data, p->len);
		return;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->pend |= VC_PEND_CREDIT_UPDATE;
		break;
	default: /* CREDIT_UPDATE: the counters above are all it carries */
		break;
	}
	vsock_conn_update_poll(c);
	vsock_conn_sched(c);
}

bool vsock_rx_pending(const struct vsock *vs)
{
	return vs->rst_len || vs->work_head;
}

static void base_hdr(const struct vsock *vs, struct vsock_pkt *h, uint32_t local, uint32_t peer)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = vs->guest_cid;
	h->src_port = local;
	h->dst_port = peer;
	h->type = VIRTIO_VSOCK_TYPE_STREAM;
	h->buf_alloc = VSOCK_CONN_BUF;
}

/* Host bytes for the guest: the CONNECT line's leftovers, then the socket.
 * >0 bytes in @data, 0 none now, <0 the socket failed. */
static int read_host(struct vsock_conn *c, uint8_t *data, uint32_t max)
{
	ssize_t r;

	if (c->pre_off < c->pre_len) {
		uint32_t n = MIN(max, (uint32_t)(c->pre_len - c->pre_off));

		memcpy(data, c->pre + c->pre_off, n);
		c->pre_off = (uint8_t)(c->pre_off + n);
		return (int)n;
	}
	if (!c->host_readable || c->host_eof)
		return 0;
	r = recv(c->h.fd, data, max, MSG_DONTWAIT);
	if (r > 0)
		return (int)r;
	if (r == 0) {
		c->host_eof = true;
		c->pend |= VC_PEND_SHUTDOWN;
	} else if (errno != EAGAIN && errno != EINTR) {
		return -errno;
	}
	c->host_readable = false;
	vsock_conn_update_poll(c);
	return 0;
}

/* One packet from connection @c, or -1 when it has nothing after all. */
static int conn_pkt(struct vsock_conn *c, struct vsock_pkt *h, uint8_t *data, uint32_t max)
{
	struct vsock *vs = c->vs;
	uint32_t credit = vsock_credit_peer(&c->cr);
	int n;

	base_hdr(vs, h, c->local_port, c->peer_port);
	if (c->pend & VC_PEND_RST) {
		h->op = VIRTIO_VSOCK_OP_RST;
		vs->stats.rst_sent++;
		vsock_conn_free(c);
		return 0;
	}
	h->fwd_cnt = c->cr.fwd_cnt;
	c->cr.fwd_cnt_told = c->cr.fwd_cnt;
	if (c->pend & (VC_PEND_REQUEST | VC_PEND_RESPONSE)) {
		h->op = (c->pend & VC_PEND_REQUEST) ? VIRTIO_VSOCK_OP_REQUEST
						    : VIRTIO_VSOCK_OP_RESPONSE;
		c->pend &= ~(VC_PEND_REQUEST | VC_PEND_RESPONSE);
		vsock_conn_update_poll(c);
		return 0;
	}
	if (data_wanted(c) && credit) {
		n = read_host(c, data, MIN(max, credit));
		if (n < 0) {
			vs->stats.host_errors++;
			vsock_conn_reset(c, strerror(-n));
			return conn_pkt(c, h, data, max); /* the RST */
		}
		if (n > 0) {
			h->op = VIRTIO_VSOCK_OP_RW;
			h->len = (uint32_t)n;
			c->cr.tx_cnt += (uint32_t)n;
			c->pend &= ~VC_PEND_CREDIT_UPDATE; /* this header carries it */
			vs->stats.rx_bytes += (uint32_t)n;
			return n;
		}
	}
	if (c->pend & VC_PEND_SHUTDOWN) {
		c->pend &= ~VC_PEND_SHUTDOWN;
		h->op = VIRTIO_VSOCK_OP_SHUTDOWN;
		h->flags = VIRTIO_VSOCK_SHUTDOWN_SEND; /* the host will not send more */
		check_finished(c);
		return 0;
	}
	if (c->pend & VC_PEND_CREDIT_UPDATE) {
		c->pend &= ~VC_PEND_CREDIT_UPDATE;
		h->op = VIRTIO_VSOCK_OP_CREDIT_UPDATE;
		return 0;
	}
	if (c->pend & VC_PEND_CREDIT_REQUEST) {
		c->pend &= ~VC_PEND_CREDIT_REQUEST;
		c->credit_req_sent = true;
		h->op = VIRTIO_VSOCK_OP_CREDIT_REQUEST;
		return 0;
	}
	return -1;
}

int vsock_next_pkt(struct vsock *vs, struct vsock_pkt *h, uint8_t *data, uint32_t max)
{
	if (vs->rst_len) {
		base_hdr(vs, h, vs->rst_ring[vs->rst_head].host_port,
			 vs->rst_ring[vs->rst_head].guest_port);
		h->op = VIRTIO_VSOCK_OP_RST;
		vs->rst_head = (vs->rst_head + 1) % VSOCK_RST_RING;
		vs->rst_len--;
		vs->stats.rst_sent++;
		return 0;
	}
	while (vs->work_head) {
		struct vsock_conn *c = vs->work_head;
		int n;

		work_del(c);
		n = conn_pkt(c, h, data, max);
		if (c->state != VC_FREE)
			vsock_conn_sched(c);
		if (n >= 0)
			return n;
	}
	return -1;
}

bool vsock_conns_expire(struct vsock *vs, uint64_t now_ns)
{
	bool any = false;

	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &vs->pool[i];

		if ((c->state != VC_LINE && c->state != VC_REQ_SENT) || !c->deadline_ns)
			continue;
		if (now_ns < c->deadline_ns) {
			any = true;
			continue;
		}
		vs->stats.timeouts++;
		log_ratelimited(LOG_WARN, "vsock: %s timed out", c->state == VC_LINE ?
				"host connection without a CONNECT line" :
				"REQUEST to the guest without a RESPONSE");
		vsock_conn_reset(c, "timeout");
	}
	return any;
}
