/* virtio-vsock device (virtio 1.2 §5.10): features, configuration space
 * (guest_cid), activation and reset, and the three queues: transmit
 * packets are parsed (vsock_pkt_parse) and handed to the muxer; the
 * muxer's packets fill receive buffers; the event queue carries
 * TRANSPORT_RESET. All of it runs with the transport lock held. */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "virtio/vsock_conn.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define F(x) (1ULL << (x))

static uint64_t vsock_features(void *dev)
{
	(void)dev;
	return F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_RING_F_INDIRECT_DESC);
}

static void vsock_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct vsock *vs = dev;
	uint8_t cfg[8];

	for (unsigned i = 0; i < 8; i++)
		cfg[i] = (uint8_t)(vs->guest_cid >> (8 * i));
	memcpy(data, cfg + off, len); /* off + len ≤ 8: checked by the transport */
}

static void broken(struct vsock *vs, const char *why)
{
	vs->t->ops->set_needs_reset(vs->t, why);
	vs->active = false;
}

static int vsock_activate(void *dev, struct virtio_transport *t, struct virtqueue *vqs,
			  uint64_t acked)
{
	struct vsock *vs = dev;

	(void)acked;
	if (!vqs[VSOCK_RXQ].ready || !vqs[VSOCK_TXQ].ready || !vqs[VSOCK_EVQ].ready)
		return -EINVAL;
	vs->t = t;
	vs->rxq = &vqs[VSOCK_RXQ];
	vs->txq = &vqs[VSOCK_TXQ];
	vs->evq = &vqs[VSOCK_EVQ];
	vs->active = true;
	/* Host clients that connected before the driver came up. */
	vsock_process_rx(vs);
	return 0;
}

static void vsock_reset(void *dev)
{
	struct vsock *vs = dev;

	vs->active = false;
	vsock_conns_close_all(vs);
	vs->event_pending = false;
	vs->t = NULL;
	vs->rxq = vs->txq = vs->evq = NULL;
}

void vsock_process_rx(struct vsock *vs)
{
	struct vq_chain *c = &vs->chain[0];
	bool pushed = false;
	unsigned n = 0;

	if (!vs->active)
		return;
	while (vsock_rx_pending(vs)) {
		struct vsock_pkt h;
		uint32_t max;
		int ret, len;

		if (n++ == VSOCK_BATCH) {
			vs->t->ops->kick(vs->t, VSOCK_RXQ); /* more later; let others run */
			break;
		}
		ret = vq_pop(vs->rxq, c);
		if (ret == VQ_EMPTY) {
			if (vq_enable_notify(vs->rxq))
				continue;
			break; /* the guest kicks when it adds buffers */
		}
		if (ret < 0) {
			broken(vs, vq_strerror(ret));
			return;
		}
		if (c->nread || c->write_len < VSOCK_HDR_LEN) {
			vs->stats.rx_dropped++;
			log_ratelimited(LOG_WARN, "virtio-vsock: receive buffer of %llu bytes with "
					"%u readable descriptors: returned unused",
					(unsigned long long)c->write_len, c->nread);
			vq_push(vs->rxq, c->head, 0);
			pushed = true;
			continue;
		}
		max = (uint32_t)MIN(c->write_len - VSOCK_HDR_LEN, (uint64_t)VSOCK_MAX_PKT);
		/* scratch: header, then the payload right behind it */
		len = vsock_next_pkt(vs, &h, vs->scratch + VSOCK_HDR_LEN, max);
		if (len < 0) {
			vq_unpop(vs->rxq, 1);
			break;
		}
		vsock_pkt_encode(&h, vs->scratch);
		vq_chain_write(vs->rxq, c, vs->scratch, VSOCK_HDR_LEN + (uint64_t)len);
		vq_push(vs->rxq, c->head, VSOCK_HDR_LEN + (uint32_t)len);
		vs->stats.rx_packets++;
		pushed = true;
	}
	if (pushed)
		vs->t->ops->notify_used(vs->t, VSOCK_RXQ);
}

/* One transmit chain: parse, then hand to the muxer. */
static void tx_one(struct vsock *vs, const struct vq_chain *c)
{
	uint8_t raw[VSOCK_HDR_LEN] = { 0 };
	uint8_t *data = vs->scratch + VSOCK_HDR_LEN + VSOCK_MAX_PKT;
	struct vsock_pkt p;
	int err;

	vq_chain_read(vs->txq, c, 0, raw, VSOCK_HDR_LEN);
	err = vsock_pkt_parse(raw, c->nbufs == c->nread ? c->read_len : 0, vs->guest_cid, &p);
	if (err) {
		struct vsock_conn *conn;

		vs->stats.tx_malformed++;
		log_ratelimited(LOG_WARN, "virtio-vsock: bad packet (op %u, %u bytes, cid "
				"%llu->%llu): %s", p.op, p.len, (unsigned long long)p.src_cid,
				(unsigned long long)p.dst_cid, vsock_pkt_strerror(err));
		if (!vsock_pkt_err_wants_rst(err, &p))
			return;
		conn = vsock_conn_lookup(vs, p.dst_port, p.src_port);
		if (conn && conn->state != VC_DEAD)
			vsock_conn_reset(conn, vsock_pkt_strerror(err));
		else if (!conn)
			vsock_queue_rst(vs, &p);
		return;
	}
	if (p.len)
		vq_chain_read(vs->txq, c, VSOCK_HDR_LEN, data, p.len);
	vsock_conn_from_guest(vs, &p, data);
}

void vsock_process_tx(struct vsock *vs)
{
	struct vq_chain *c = &vs->chain[1];
	bool used = false;
	unsigned n;

	if (!vs->active)
		return;
	for (n = 0; n < VSOCK_BATCH; n++) {
		int ret = vq_pop(vs->txq, c);

		if (ret == VQ_EMPTY) {
			if (vq_enable_notify(vs->txq))
				continue;
			break;
		}
		if (ret < 0) {
			broken(vs, vq_strerror(ret));
			return;
		}
		tx_one(vs, c);
		vq_push(vs->txq, c->head, 0);
		used = true;
		if (!vs->active)
			return;
	}
	if (n == VSOCK_BATCH)
		vs->t->ops->kick(vs->t, VSOCK_TXQ);
	if (used)
		vs->t->ops->notify_used(vs->t, VSOCK_TXQ);
	vsock_process_rx(vs); /* replies: RESPONSE, RST, credit updates */
}

void vsock_process_evq(struct vsock *vs)
{
	struct vq_chain *c = &vs->chain[2];
	uint8_t ev[4] = { VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, 0, 0, 0 };
	int ret;

	if (!vs->active || !vs->event_pending)
		return;
	for (;;) {
		ret = vq_pop(vs->evq, c);
		if (ret == VQ_EMPTY) {
			if (vq_enable_notify(vs->evq))
				continue;
			return; /* delivered when the guest adds a buffer */
		}
		break;
	}
	if (ret < 0) {
		broken(vs, vq_strerror(ret));
		return;
	}
	if (c->nread || c->write_len < sizeof(struct virtio_vsock_event)) {
		vs->stats.rx_dropped++;
		vq_push(vs->evq, c->head, 0);
	} else {
		vq_chain_write(vs->evq, c, ev, sizeof(ev));
		vq_push(vs->evq, c->head, sizeof(struct virtio_vsock_event));
		vs->event_pending = false;
	}
	vs->t->ops->notify_used(vs->t, VSOCK_EVQ);
}

int vsock_transport_reset(void *dev, void *arg)
{
	struct vsock *vs = dev;

	(void)arg;
	vsock_conns_close_all(vs);
	vs->event_pending = true;
	vsock_process_evq(vs);
	return 0;
}

static void vsock_notify(void *dev, unsigned q)
{
	struct vsock *vs = dev;

	if (q == VSOCK_RXQ)
		vsock_process_rx(vs);
	else if (q == VSOCK_TXQ)
		vsock_process_tx(vs);
	else
		vsock_process_evq(vs);
}

const struct virtio_dev_ops vsock_ops = {
	.name = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.num_queues = 3,
	.queue_max = VSOCK_QUEUE_MAX,
	.features = vsock_features,
	.config_size = sizeof(struct virtio_vsock_config),
	.config_read = vsock_config_read,
	.activate = vsock_activate,
	.reset = vsock_reset,
	.queue_notify = vsock_notify,
};

int vsock_init(struct vsock *vs, uint64_t guest_cid, const char *uds_path,
	       struct event_loop *el)
{
	memset(vs, 0, sizeof(*vs));
	vs->listen_h.fd = vs->timer_h.fd = -1;
	vs->guest_cid = guest_cid;
	vs->el = el;
	vs->line_timeout_ms = VSOCK_LINE_TIMEOUT_MS;
	vs->req_timeout_ms = VSOCK_REQ_TIMEOUT_MS;
	vs->uds_path = strdup(uds_path);
	vs->scratch = malloc(VSOCK_HDR_LEN + 2 * VSOCK_MAX_PKT);
	vs->chain = malloc(3 * sizeof(*vs->chain));
	if (!vs->uds_path || !vs->scratch || !vs->chain || vsock_conns_init(vs))
		return -ENOMEM;
	return vsock_listen(vs, uds_path);
}

void vsock_destroy(struct vsock *vs)
{
	vsock_conns_free(vs);
	if (vs->listen_h.fd >= 0) {
		if (vs->el)
			el_del(vs->el, &vs->listen_h);
		close(vs->listen_h.fd);
		if (vs->uds_path)
			unlink(vs->uds_path);
	}
	if (vs->timer_h.fd >= 0) {
		if (vs->el)
			el_del(vs->el, &vs->timer_h);
		close(vs->timer_h.fd);
	}
	free(vs->uds_path);
	free(vs->scratch);
	free(vs->chain);
	vs->listen_h.fd = vs->timer_h.fd = -1;
	vs->uds_path = NULL;
	vs->scratch = NULL;
	vs->chain = NULL;
}
