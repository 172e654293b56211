/* virtio-net device (virtio 1.2 §5.1) over a TAP interface: receive and
 * transmit queues, MAC and link status in config space, checksum/TSO/UFO
 * offloads negotiated with the guest and mirrored on the tap, mergeable
 * receive buffers, and token-bucket rate limiters for each direction. */
#ifndef FEMTOVM_NET_H
#define FEMTOVM_NET_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtio.h"
#include "vmm/event_loop.h"
#include "vmm/rate_limiter.h"

#define VNET_QUEUE_MAX 256
#define VNET_RXQ 0
#define VNET_TXQ 1
#define VNET_MAX_FRAME (65562) /* 12-byte header + 64 KiB GSO frame + L2 */
#define VNET_BATCH 64          /* frames per queue pass before yielding */

struct vnet_stats {
	uint64_t rx_bytes, rx_packets, rx_dropped, rx_throttled;
	uint64_t tx_bytes, tx_packets, tx_dropped, tx_malformed, tx_throttled;
};

struct vnet {
	char id[65];
	uint8_t mac[6];
	bool has_mac;
	int tap_fd;
	struct event_loop *el;
	struct el_handler tap_h;
	bool tap_polled;             /* tap fd is in the epoll set */
	struct virtio_net_config config;
	struct virtio_transport *t;  /* set at activation */
	struct virtqueue *rxq, *txq;
	uint64_t acked;
	bool mrg_rxbuf;
	/* A frame read from the tap that is still waiting for guest buffers. */
	uint8_t *rx_frame;
	size_t rx_len;
	uint8_t *tx_frame;
	struct vq_chain *chain;      /* [0] first rx chain, [1] rx scratch, [2] tx */
	bool rx_charged;             /* rx_frame already passed the rate limiter */
	uint16_t rx_seen;            /* chains a too-big frame looked at and gave back */
	bool tx_pending;             /* chain popped but throttled */
	struct rate_limiter rx_rl, tx_rl;
	struct el_handler rx_timer, tx_timer;
	bool rx_timer_armed, tx_timer_armed;
	struct vnet_stats stats;
};

extern const struct virtio_dev_ops vnet_ops;

/* Parse "aa:bb:cc:dd:ee:ff" (hex, either case). 0 or -EINVAL. */
int vnet_parse_mac(const char *s, uint8_t mac[6]);

/* Attach to tap @host_dev (must exist). @mac may be NULL (the guest picks
 * one). Limits may be NULL. Timers and the tap go on @el. */
int vnet_init(struct vnet *n, const char *id, const char *host_dev, const uint8_t *mac,
	      const struct token_bucket_cfg *rx_bw, const struct token_bucket_cfg *rx_ops,
	      const struct token_bucket_cfg *tx_bw, const struct token_bucket_cfg *tx_ops,
	      struct event_loop *el);
void vnet_destroy(struct vnet *n);

/* Add or remove the tap from the event loop (transport lock held). */
void vnet_tap_poll(struct vnet *n, bool on);

/* Queue processing (net_io.c), called through the transport with its lock. */
void vnet_process_rx(struct vnet *n);
void vnet_process_tx(struct vnet *n);

struct vnet_update {
	const struct token_bucket_cfg *rx_bw, *rx_ops, *tx_bw, *tx_ops; /* NULL: keep */
};
/* PATCH /network-interfaces: new rate limits (transport lock held). */
int vnet_update(void *dev, void *arg);

#endif
