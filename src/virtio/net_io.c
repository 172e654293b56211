/* virtio-net data paths (virtio 1.2 §5.1.6): frames from the tap into the
 * guest's receive buffers (mergeable or not), frames from the transmit queue
 * to the tap. Both run on the event loop with the transport lock held, in
 * bounded batches, and stop cleanly when buffers or budget run out. */
#include "virtio/net.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "virtio/tap.h"
#include "vmm/log.h"

static void arm(struct el_handler *timer, bool *armed, uint64_t ns)
{
	if (el_timer_set(timer->fd, ns, false) == 0)
		*armed = true;
}

/* Deliver n->rx_frame. 1: delivered or dropped, 0: not enough buffers
 * (nothing consumed), <0: the queue is broken (enum vq_err). */
static int rx_deliver(struct vnet *n)
{
	struct vq_chain *first = &n->chain[0], *c = &n->chain[1];
	uint16_t heads[VQ_MAX_SIZE];
	uint32_t lens[VQ_MAX_SIZE];
	uint64_t done;
	uint16_t k = 0;
	int ret;

	n->rx_seen = 0;
	ret = vq_pop(n->rxq, first);
	if (ret)
		return ret == VQ_EMPTY ? 0 : ret;
	/* §5.1.6.4.2: num_buffers is 1 unless buffers are merged. */
	((struct virtio_net_hdr_v1 *)n->rx_frame)->num_buffers = 1;
	if (!n->mrg_rxbuf && first->write_len < n->rx_len) {
		/* Without mergeable buffers a frame must fit one chain. */
		n->stats.rx_dropped++;
		vq_push(n->rxq, first->head, 0);
		return 1;
	}
	done = vq_chain_write(n->rxq, first, n->rx_frame, n->rx_len);
	heads[k] = first->head;
	lens[k++] = (uint32_t)done;
	while (done < n->rx_len) {
		ret = vq_pop(n->rxq, c);
		if (ret || k == VQ_MAX_SIZE) {
			/* Not enough buffers yet: give them all back, keep the frame,
			 * and wait for buffers beyond these k. */
			vq_unpop(n->rxq, k);
			n->rx_seen = k;
			return ret && ret != VQ_EMPTY ? ret : 0;
		}
		heads[k] = c->head;
		lens[k] = (uint32_t)vq_chain_write(n->rxq, c, n->rx_frame + done,
						       n->rx_len - done);
		done += lens[k++];
	}
	if (n->mrg_rxbuf) {
		/* num_buffers sits in the header, which went into the first chain. */
		struct virtio_net_hdr_v1 *h = (struct virtio_net_hdr_v1 *)n->rx_frame;

		h->num_buffers = k;
		vq_chain_write(n->rxq, first, n->rx_frame, TAP_VNET_HDR_LEN);
	}
	vq_push_many(n->rxq, heads, lens, k);
	n->stats.rx_packets++;
	n->stats.rx_bytes += n->rx_len - TAP_VNET_HDR_LEN;
	return 1;
}

/* Read the next frame from the tap into n->rx_frame. 1: got one, 0: tap
 * drained, <0: error. Runt frames are dropped here. */
static int rx_read(struct vnet *n)
{
	for (;;) {
		ssize_t r = read(n->tap_fd, n->rx_frame, VNET_MAX_FRAME);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (r < TAP_VNET_HDR_LEN) {
			n->stats.rx_dropped++;
			continue;
		}
		n->rx_len = (size_t)r;
		n->rx_charged = false;
		return 1;
	}
}

void vnet_process_rx(struct vnet *n)
{
	unsigned frames;
	bool delivered = false;

	if (!n->rxq || n->rx_timer_armed)
		return;
	for (frames = 0; frames < VNET_BATCH; frames++) {
		int ret;

		if (!n->rx_len && (ret = rx_read(n)) <= 0) {
			if (ret < 0)
				log_ratelimited(LOG_WARN, "virtio-net %s: tap read: %s", n->id,
						strerror(-ret));
			vnet_tap_poll(n, true); /* drained: wait for the next frame */
			break;
		}
		if (!n->rx_charged && rl_enabled(&n->rx_rl)) {
			uint64_t now = rl_now_ns();

			if (!rl_consume(&n->rx_rl, n->rx_len, now)) {
				n->stats.rx_throttled++;
				vnet_tap_poll(n, false);
				arm(&n->rx_timer, &n->rx_timer_armed, rl_wait_ns(&n->rx_rl, n->rx_len, now));
				break;
			}
		}
		n->rx_charged = true;
		ret = rx_deliver(n);
		if (ret < 0) {
			n->t->ops->set_needs_reset(n->t, vq_strerror(ret));
			vnet_tap_poll(n, false);
			break;
		}
		if (ret == 0) {
			/* Out of buffers: stop reading the tap until the guest kicks. */
			vnet_tap_poll(n, false);
			if (vq_enable_notify_at(n->rxq, n->rx_seen))
				continue;
			break;
		}
		n->rx_len = 0;
		delivered = true;
	}
	if (frames == VNET_BATCH)
		n->t->ops->kick(n->t, VNET_RXQ); /* more later; let others run */
	if (delivered)
		n->t->ops->notify_used(n->t, VNET_RXQ);
}

/* Send one popped transmit chain. false if throttled (kept pending). */
static bool tx_one(struct vnet *n, const struct vq_chain *c)
{
	uint64_t len = c->read_len;

	if (c->nread == 0 || c->nbufs != c->nread || len < (uint64_t)TAP_VNET_HDR_LEN ||
	    len > VNET_MAX_FRAME) {
		n->stats.tx_malformed++;
		log_ratelimited(LOG_WARN, "virtio-net %s: malformed transmit chain (%llu bytes, "
				"%u writable buffers): dropped", n->id, (unsigned long long)len,
				c->nbufs - c->nread);
		vq_push(n->txq, c->head, 0);
		return true;
	}
	if (rl_enabled(&n->tx_rl)) {
		uint64_t now = rl_now_ns();

		if (!rl_consume(&n->tx_rl, len, now)) {
			n->stats.tx_throttled++;
			arm(&n->tx_timer, &n->tx_timer_armed, rl_wait_ns(&n->tx_rl, len, now));
			return false;
		}
	}
	vq_chain_read(n->txq, c, 0, n->tx_frame, len);
	if (write(n->tap_fd, n->tx_frame, len) != (ssize_t)len) {
		n->stats.tx_dropped++;
	} else {
		n->stats.tx_packets++;
		n->stats.tx_bytes += len - TAP_VNET_HDR_LEN;
	}
	vq_push(n->txq, c->head, 0);
	return true;
}

void vnet_process_tx(struct vnet *n)
{
	struct vq_chain *c = &n->chain[2];
	unsigned frames;
	bool sent = false;

	if (!n->txq || n->tx_timer_armed)
		return;
	for (frames = 0; frames < VNET_BATCH; frames++) {
		if (!n->tx_pending) {
			int ret = vq_pop(n->txq, c);

			if (ret == VQ_EMPTY) {
				if (vq_enable_notify(n->txq))
					continue;
				break;
			}
			if (ret < 0) {
				n->t->ops->set_needs_reset(n->t, vq_strerror(ret));
				break;
			}
		}
		n->tx_pending = !tx_one(n, c);
		if (n->tx_pending)
			break;
		sent = true;
	}
	if (frames == VNET_BATCH)
		n->t->ops->kick(n->t, VNET_TXQ);
	if (sent)
		n->t->ops->notify_used(n->t, VNET_TXQ);
}
