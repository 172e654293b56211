/* virtio-net device setup: features, configuration space, activation
 * (offloads onto the tap, start polling it), reset. The data paths are in
 * net_io.c. */
#include "virtio/net.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "virtio/tap.h"
#include "vmm/log.h"

#define F(x) (1ULL << (x))

static uint64_t vnet_features(void *dev)
{
	struct vnet *n = dev;
	uint64_t f = F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
		     F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |
		     F(VIRTIO_NET_F_GUEST_UFO) | F(VIRTIO_NET_F_HOST_TSO4) |
		     F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_HOST_UFO) |
		     F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_STATUS) |
		     F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_RING_F_INDIRECT_DESC);

	if (n->has_mac)
		f |= F(VIRTIO_NET_F_MAC);
	return f;
}

static void vnet_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct vnet *n = dev;

	memcpy(data, (uint8_t *)&n->config + off, len);
}

void vnet_tap_poll(struct vnet *n, bool on)
{
	if (on == n->tap_polled || !n->el)
		return;
	if (on)
		n->tap_polled = el_add(n->el, &n->tap_h, EPOLLIN) == 0;
	else if (el_del(n->el, &n->tap_h) == 0)
		n->tap_polled = false;
}

static int vnet_activate(void *dev, struct virtio_transport *t, struct virtqueue *vqs,
			 uint64_t acked)
{
	struct vnet *n = dev;
	int ret;

	if (!vqs[VNET_RXQ].ready || !vqs[VNET_TXQ].ready)
		return -EINVAL;
	ret = tap_set_offload(n->tap_fd, acked);
	if (ret)
		return ret;
	n->t = t;
	n->rxq = &vqs[VNET_RXQ];
	n->txq = &vqs[VNET_TXQ];
	n->acked = acked;
	n->mrg_rxbuf = acked & F(VIRTIO_NET_F_MRG_RXBUF);
	n->rx_len = 0;
	n->rx_charged = false;
	n->tx_pending = false;
	vnet_tap_poll(n, true);
	return 0;
}

static void disarm(struct el_handler *timer, bool *armed)
{
	el_timer_set(timer->fd, 0, true);
	*armed = false;
}

static void vnet_reset(void *dev)
{
	struct vnet *n = dev;

	vnet_tap_poll(n, false);
	disarm(&n->rx_timer, &n->rx_timer_armed);
	disarm(&n->tx_timer, &n->tx_timer_armed);
	n->t = NULL;
	n->rxq = n->txq = NULL;
	n->rx_len = 0;
	n->tx_pending = false;
}

static void vnet_quiesce(void *dev)
{
	struct vnet *n = dev;

	/* A throttled frame was popped and not yet sent to the tap. A frame
	 * read from the tap but not yet given to the guest stays host-side
	 * (a restored clone simply never sees it, as a lost packet). */
	if (n->tx_pending) {
		vq_unpop(n->txq, 1);
		n->tx_pending = false;
	}
}

static void vnet_notify(void *dev, unsigned q)
{
	struct vnet *n = dev;

	if (q == VNET_RXQ) {
		/* The guest added receive buffers (or the tap has data). */
		vnet_process_rx(n);
	} else {
		vnet_process_tx(n);
	}
}

const struct virtio_dev_ops vnet_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.queue_max = VNET_QUEUE_MAX,
	.features = vnet_features,
	.config_size = sizeof(struct virtio_net_config),
	.config_read = vnet_config_read,
	.activate = vnet_activate,
	.reset = vnet_reset,
	.queue_notify = vnet_notify,
	.quiesce = vnet_quiesce,
};

/* Tap readable: run the receive path through the transport (its lock). */
static void on_tap(struct el_handler *h, uint32_t events)
{
	struct vnet *n = h->opaque;

	(void)events;
	/* The receive path stops polling the tap itself when the guest has no
	 * buffers, so a level-triggered tap cannot make the loop spin. */
	if (n->t)
		n->t->ops->kick(n->t, VNET_RXQ);
}

static void on_timer(struct el_handler *h, uint32_t events)
{
	struct vnet *n = h->opaque;
	uint64_t v;

	(void)events;
	if (read(h->fd, &v, sizeof(v)) < 0) {
	}
	if (h == &n->rx_timer)
		n->rx_timer_armed = false;
	else
		n->tx_timer_armed = false;
	if (n->t)
		n->t->ops->kick(n->t, h == &n->rx_timer ? VNET_RXQ : VNET_TXQ);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int vnet_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[i * 3]), lo = hex_digit(s[i * 3 + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, m, 6);
	return 0;
}

static int make_timer(struct vnet *n, struct el_handler *h)
{
	*h = (struct el_handler){ timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK),
				  on_timer, n };
	if (h->fd < 0)
		return -errno;
	return n->el ? el_add(n->el, h, EPOLLIN) : 0;
}

int vnet_init(struct vnet *n, const char *id, const char *host_dev, const uint8_t *mac,
	      const struct token_bucket_cfg *rx_bw, const struct token_bucket_cfg *rx_ops,
	      const struct token_bucket_cfg *tx_bw, const struct token_bucket_cfg *tx_ops,
	      struct event_loop *el)
{
	uint64_t now = rl_now_ns();
	int ret;

	memset(n, 0, sizeof(*n));
	n->tap_fd = n->rx_timer.fd = n->tx_timer.fd = -1;
	snprintf(n->id, sizeof(n->id), "%s", id);
	n->el = el;
	n->rx_frame = malloc(VNET_MAX_FRAME);
	n->tx_frame = malloc(VNET_MAX_FRAME);
	n->chain = malloc(sizeof(*n->chain) * 3);
	if (!n->rx_frame || !n->tx_frame || !n->chain)
		return -ENOMEM;
	if (mac) {
		memcpy(n->mac, mac, 6);
		memcpy(n->config.mac, mac, 6);
		n->has_mac = true;
	}
	n->config.status = VIRTIO_NET_S_LINK_UP;
	rl_init(&n->rx_rl, rx_bw, rx_ops, now);
	rl_init(&n->tx_rl, tx_bw, tx_ops, now);
	n->tap_fd = tap_open(host_dev);
	if (n->tap_fd < 0)
		return n->tap_fd;
	n->tap_h = (struct el_handler){ n->tap_fd, on_tap, n };
	ret = make_timer(n, &n->rx_timer);
	if (!ret)
		ret = make_timer(n, &n->tx_timer);
	return ret;
}

void vnet_destroy(struct vnet *n)
{
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	if (n->rx_timer.fd >= 0)
		close(n->rx_timer.fd);
	if (n->tx_timer.fd >= 0)
		close(n->tx_timer.fd);
	free(n->rx_frame);
	free(n->tx_frame);
	free(n->chain);
	n->tap_fd = n->rx_timer.fd = n->tx_timer.fd = -1;
	n->rx_frame = n->tx_frame = NULL;
	n->chain = NULL;
}

int vnet_update(void *dev, void *arg)
{
	struct vnet *n = dev;
	struct vnet_update *u = arg;
	uint64_t now = rl_now_ns();

	if (u->rx_bw || u->rx_ops)
		rl_init(&n->rx_rl, u->rx_bw, u->rx_ops, now);
	if (u->tx_bw || u->tx_ops)
		rl_init(&n->tx_rl, u->tx_bw, u->tx_ops, now);
	return 0;
}
