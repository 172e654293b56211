/* net: a virtio-net driver (virtio 1.2 §5.1 over §4.2 virtio-mmio, §2.7
 * split rings) with just enough of Ethernet/ARP/IPv4/ICMP/UDP to be pinged,
 * arped and UDP-echoed by the host through a tap, and to send datagrams of
 * its own. Receive queue 0 is kept full of device-writable buffers, transmit
 * queue 1 gets one readable descriptor per frame (12-byte virtio_net_hdr_v1
 * then the frame). Interrupts through the IOAPIC (the device's GSI, edge);
 * the CPU sleeps in hlt whenever there is nothing to do. Checksums are
 * always complete in both directions: VIRTIO_NET_F_CSUM/GUEST_CSUM are
 * never acked, so the device must not hand us partial checksums.
 * Options (README.md): net.ip=, net.peer=, net.echo=, net.send=<port>:<n>,
 * net.run_ms=, net.stats_ms=, net.qsize=, net.rxbuf=, net.mrg, net.noevent. */
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "io.h"
#include "rt.h"
#include "inet.h"
#include "vdrv.h"
#include "vq.h"

const char rt_guest_name[] = "net";

#define PAGE 4096
#define QMAX 256
#define SLOT 2048			/* bytes per buffer slot */
#define HDR ((uint32_t)sizeof(struct virtio_net_hdr_v1))	/* 12 */
#define FRAME_MAX 16384			/* largest merged frame we accept */
#define F(x) (1ULL << (x))

static uint8_t qmem[2][VQ_MEM] __attribute__((aligned(PAGE), section(".noinit.net")));
/* Packet buffers (1 MiB+) live outside the image at 16 MiB: the 32-bit
 * entry paths only map 0-2 MiB until the runtime's page tables are up, and
 * the image (with its .bss) must stay below 2 MiB. Needs 32 MiB of RAM. */
#define BUF_BASE 0x1000000UL
#define rxbuf ((uint8_t (*)[SLOT])BUF_BASE)
#define txbuf ((uint8_t (*)[SLOT])(BUF_BASE + QMAX * SLOT))
#define mbuf ((uint8_t *)(BUF_BASE + 2 * QMAX * SLOT))

static struct vd *dev;
static struct vq rxq, txq;
static bool mrg;
static uint32_t rxlen;			/* bytes offered per receive buffer */

static struct inet_if me;
static uint8_t peer_mac[6], peer_ip[4];
static bool have_peer, peer_known;
static uint16_t echo_port = 7, send_port;
static uint32_t send_count, sent;
static bool quit;

static struct {
	uint32_t rx, tx, arp, icmp, udp;
	uint32_t badlen, badsum, badnbuf, partial, ignored, txfull, merged;
} st;

/* ------------------------------------------------------------------------ */
/* small helpers                                                            */

/* Sum of the UDP pseudo header (src, dst, 0, 17, length). */
static uint64_t pseudo(const uint8_t *src, const uint8_t *dst, uint16_t ulen)
{
	uint8_t ph[12];

	memcpy(ph, src, 4);
	memcpy(ph + 4, dst, 4);
	ph[8] = 0;
	ph[9] = 17;
	inet_put16(ph + 10, ulen);
	return inet_sum(ph, 12, 0);
}

static uint32_t num(const char **s)
{
	uint32_t v = 0;

	while (**s >= '0' && **s <= '9')
		v = v * 10 + (uint32_t)(*(*s)++ - '0');
	return v;
}

/* ------------------------------------------------------------------------ */
/* rings (vq.c)                                                             */

static void rx_post(uint16_t id)
{
	vq_post(&rxq, id, rxbuf[id], rxlen, true);
}

/* A transmit buffer (frame at +HDR), or NULL when the ring is full. */
static uint8_t *tx_get(uint16_t *id)
{
	int i = vq_get(&txq);

	if (i < 0)
		return NULL;
	*id = (uint16_t)i;
	memset(txbuf[*id], 0, HDR);	/* no offloads, GSO_NONE */
	return txbuf[*id] + HDR;
}

static void tx_send(uint16_t id, uint32_t len)
{
	if (len < 60) {			/* Ethernet minimum, padded with zeros */
		memset(txbuf[id] + HDR + len, 0, 60 - len);
		len = 60;
	}
	vq_send(&txq, id, txbuf[id], HDR + len);
	st.tx++;
}

/* ------------------------------------------------------------------------ */
/* protocols                                                                */

static void arp_send(uint16_t op, const uint8_t *tha, const uint8_t *tpa, const uint8_t *dst)
{
	uint16_t id;
	uint8_t *f = tx_get(&id);

	if (!f) {
		st.txfull++;
		return;
	}
	tx_send(id, inet_arp(f, &me, op, tha, tpa, dst));
}

static void handle_arp(const uint8_t *f, uint32_t len)
{
	const uint8_t *a = f + 14;
	uint16_t op;

	if (inet_arp_in(f, len, &op) != INET_OK) {
		st.ignored++;
		return;
	}
	if (have_peer && !peer_known && !memcmp(a + 14, peer_ip, 4)) {
		memcpy(peer_mac, a + 8, 6);
		peer_known = true;
		inet_print_mac("net:", "peer mac", peer_mac);
	}
	if (inet_arp_for_us(f, &me)) {
		arp_send(2, a + 8, a + 14, a + 8);
		st.arp++;
	} else if (op != 2) {
		st.ignored++;
	}
}

static void handle_icmp(const uint8_t *f, uint32_t tot, uint32_t ihl)
{
	uint16_t id;
	uint8_t *r;

	switch (inet_icmp_echo_in(f, tot, ihl)) {
	case INET_BADLEN: st.badlen++; return;
	case INET_BADSUM: st.badsum++; return;
	case INET_IGNORED: st.ignored++; return;
	}
	if (!(r = tx_get(&id))) {
		st.txfull++;
		return;
	}
	tx_send(id, inet_icmp_echo_reply(r, f, tot, ihl, &me));
	st.icmp++;
}

/* IPv4 + UDP frame to @dmac/@dip from our @sport to @dport. */
static void udp_send(const uint8_t *dmac, const uint8_t *dip, uint16_t sport, uint16_t dport,
		     const uint8_t *payload, uint32_t plen)
{
	static uint16_t ip_id;
	uint16_t id;
	uint8_t *f = tx_get(&id);

	if (!f) {
		st.txfull++;
		return;
	}
	uint32_t ulen = 8 + plen, tot = 20 + ulen;
	inet_eth_hdr(f, &me, dmac, INET_ETH_IPV4);
	uint8_t *h = f + 14, *u = h + 20;
	h[0] = 0x45;
	h[1] = 0;
	inet_put16(h + 2, (uint16_t)tot);
	inet_put16(h + 4, ++ip_id);
	inet_put16(h + 6, 0x4000);	/* DF */
	h[8] = 64;
	h[9] = 17;
	h[10] = h[11] = 0;
	memcpy(h + 12, me.ip, 4);
	memcpy(h + 16, dip, 4);
	uint16_t c = inet_fold(inet_sum(h, 20, 0));
	memcpy(h + 10, &c, 2);
	inet_put16(u, sport);
	inet_put16(u + 2, dport);
	inet_put16(u + 4, (uint16_t)ulen);
	u[6] = u[7] = 0;
	memcpy(u + 8, payload, plen);
	c = inet_fold(inet_sum(u, ulen, pseudo(me.ip, dip, (uint16_t)ulen)));
	if (!c)
		c = 0xffff;
	memcpy(u + 6, &c, 2);
	tx_send(id, 14 + tot);
}

static void handle_udp(const uint8_t *f, uint32_t tot, uint32_t ihl)
{
	const uint8_t *h = f + 14, *u = h + ihl;
	uint32_t ulen;

	if (tot - ihl < 8 || (ulen = inet_be16(u + 4)) < 8 || ulen > tot - ihl) {
		st.badlen++;
		return;
	}
	if ((u[6] || u[7]) && inet_fold(inet_sum(u, ulen, pseudo(h + 12, h + 16, (uint16_t)ulen)))) {
		st.badsum++;
		return;
	}
	if (inet_be16(u + 2) != echo_port) {
		st.ignored++;
		return;
	}
	const uint8_t *p = u + 8;
	uint32_t plen = ulen - 8;
	if (plen >= 4 && !memcmp(p, "quit", 4) && (plen == 4 || p[4] == '\n')) {
		quit = true;
		return;
	}
	udp_send(f + 6, h + 12, echo_port, inet_be16(u), p, plen);
	st.udp++;
}

static void handle_ipv4(const uint8_t *f, uint32_t len)
{
	uint32_t ihl, tot;

	switch (inet_ipv4_in(f, len, &me, &tot, &ihl)) {
	case INET_BADLEN: st.badlen++; return;
	case INET_BADSUM: st.badsum++; return;
	case INET_IGNORED: st.ignored++; return;	/* not ours, or a fragment */
	}
	if (f[14 + 9] == 1)
		handle_icmp(f, tot, ihl);
	else if (f[14 + 9] == 17)
		handle_udp(f, tot, ihl);
	else
		st.ignored++;
}

static void handle_frame(const uint8_t *f, uint32_t len)
{
	st.rx++;
	if (len < 14) {
		st.badlen++;
		return;
	}
	if (!inet_for_us(f, len, &me)) {
		st.ignored++;
		return;
	}
	switch (inet_be16(f + 12)) {
	case INET_ETH_ARP: handle_arp(f, len); break;
	case INET_ETH_IPV4: handle_ipv4(f, len); break;
	default: st.ignored++;
	}
}

/* ------------------------------------------------------------------------ */
/* receive path                                                             */

/* Handle up to @budget received frames; returns how many. */
static unsigned rx_poll(unsigned budget)
{
	unsigned n = 0;

	while (n < budget) {
		uint16_t ids[QMAX];
		uint32_t id, len, nb = 1, got = 1, flen;
		const uint8_t *frame;

		if (!vq_pop(&rxq, &id, &len))
			break;
		n++;
		if (id >= rxq.size || len < HDR || len > rxlen) {
			st.badlen++;
			if (id < rxq.size)
				rx_post((uint16_t)id);
			continue;
		}
		const struct virtio_net_hdr_v1 *h = (const void *)rxbuf[id];
		ids[0] = (uint16_t)id;
		/* §5.1.6.4: num_buffers is 1 without VIRTIO_NET_F_MRG_RXBUF. */
		if (!mrg && h->num_buffers != 1)
			st.badnbuf++;
		if (mrg)
			nb = h->num_buffers;
		if (nb < 1 || nb > rxq.size) {
			st.badnbuf++;
			rx_post((uint16_t)id);
			continue;
		}
		frame = rxbuf[id] + HDR;
		flen = len - HDR;
		if (nb > 1) {
			/* The device publishes all num_buffers entries at once;
			 * count it if they trickle in, then wait for them. */
			if ((uint16_t)(rxq.used->idx - rxq.last_used) < nb - 1) {
				st.partial++;
				for (int spin = 0; spin < 100000 &&
				     (uint16_t)(rxq.used->idx - rxq.last_used) < nb - 1; spin++)
					cpu_pause();
			}
			memcpy(mbuf, frame, flen);
			for (; got < nb; got++) {
				uint32_t id2, len2;

				if (!vq_pop(&rxq, &id2, &len2) || id2 >= rxq.size)
					break;
				ids[got] = (uint16_t)id2;
				if (len2 > rxlen || flen + len2 > FRAME_MAX) {
					flen = FRAME_MAX + 1;
					continue;
				}
				memcpy(mbuf + flen, rxbuf[id2], len2);
				flen += len2;
			}
			frame = mbuf;
			st.merged++;
			if (got < nb || flen > FRAME_MAX) {
				st.badlen++;
				frame = NULL;
			}
		}
		if (frame)
			handle_frame(frame, flen);
		for (uint32_t i = 0; i < got; i++)
			rx_post(ids[i]);
	}
	if (n)
		vq_flush(&rxq);
	return n;
}

/* ------------------------------------------------------------------------ */

static void print_stats(void)
{
	rt_printf("net: rx=%u tx=%u arp=%u icmp=%u udp=%u\n", st.rx, st.tx, st.arp, st.icmp,
		  st.udp);
}

static void print_errors(void)
{
	rt_printf("net: errors badlen=%u badsum=%u badnbuf=%u partial=%u txfull=%u ignored=%u "
		  "merged=%u\n", st.badlen, st.badsum, st.badnbuf, st.partial, st.txfull,
		  st.ignored, st.merged);
}

/* §2.1.2: DEVICE_NEEDS_RESET comes with a configuration interrupt. */
static bool needs_reset(void)
{
	if (!(dev->isr & VIRTIO_MMIO_INT_CONFIG))
		return false;
	cpu_cli();
	dev->isr &= ~(uint32_t)VIRTIO_MMIO_INT_CONFIG;
	cpu_sti();
	return vd_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

static int setup(void)
{
	char buf[64];
	uint64_t want = F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS);
	uint16_t qsize = (uint16_t)rt_cmdline_u64("net.qsize", 128);
	uint32_t gen, w0, w1;

	if (!rt_cmdline_has("net.noevent"))
		want |= F(VIRTIO_RING_F_EVENT_IDX);
	if (rt_cmdline_has("net.mrg"))
		want |= F(VIRTIO_NET_F_MRG_RXBUF);
	if (vd_probe(dev, VIRTIO_ID_NET, "net"))
		return -1;
	if (vd_negotiate(dev, want)) {
		rt_printf("net: FEATURES_OK refused (offered 0x%lx)\n", dev->offered);
		return -1;
	}
	mrg = dev->acked & F(VIRTIO_NET_F_MRG_RXBUF);
	for (unsigned q = 0; q < 2; q++) {
		vd_wr(dev, VIRTIO_MMIO_QUEUE_SEL, q);
		uint32_t max = vd_rd(dev, VIRTIO_MMIO_QUEUE_NUM_MAX);
		if (max < 2) {
			rt_printf("net: queue %u max %u\n", q, max);
			return -1;
		}
		if (qsize > max)
			qsize = (uint16_t)max;
	}
	if (qsize > QMAX)
		qsize = QMAX;
	rxlen = (uint32_t)rt_cmdline_u64("net.rxbuf", SLOT);
	if (rxlen > SLOT)
		rxlen = SLOT;
	/* Without mergeable buffers every buffer must take a whole frame. */
	if (!mrg && rxlen < HDR + 1514)
		rxlen = HDR + 1514;
	if (rxlen < HDR)
		rxlen = HDR;
	for (unsigned q = 0; q < 2; q++) {
		if (!vq_setup(q ? &txq : &rxq, dev, q, qsize, qmem[q])) {
			rt_printf("net: queue %u not ready after set-up\n", q);
			return -1;
		}
	}
	/* §5.1.5 step 3: fill the receive queue before DRIVER_OK. */
	for (uint16_t i = 0; i < qsize; i++)
		rx_post(i);
	vq_publish(&rxq);
	vq_want_irq(&rxq, true);
	vq_want_irq(&txq, false);
	vd_driver_ok(dev);
	if (vd_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET) {
		rt_printf("net: device needs reset after DRIVER_OK\n");
		return -1;
	}
	rt_printf("net: features=0x%lx qsize=%u rxbuf=%u mrg=%u event_idx=%u\n", dev->acked,
		  qsize, rxlen, mrg, dev->event_idx);
	do {
		gen = vd_rd(dev, VIRTIO_MMIO_CONFIG_GENERATION);
		w0 = vd_cfg32(dev, 0);
		w1 = vd_cfg32(dev, 4);
	} while (gen != vd_rd(dev, VIRTIO_MMIO_CONFIG_GENERATION));
	if (dev->acked & F(VIRTIO_NET_F_MAC)) {
		for (int i = 0; i < 4; i++)
			me.mac[i] = (uint8_t)(w0 >> (8 * i));
		me.mac[4] = (uint8_t)w1;
		me.mac[5] = (uint8_t)(w1 >> 8);
	} else {
		static const uint8_t dflt[6] = { 0x06, 0x00, 0x00, 0x00, 0x00, 0x99 };
		memcpy(me.mac, dflt, 6);	/* §5.1.5: the driver picks one */
		rt_printf("net: no mac offered\n");
	}
	inet_print_mac("net:", "mac", me.mac);
	if (dev->acked & F(VIRTIO_NET_F_STATUS))
		rt_printf("net: link %s\n", (w1 >> 16) & VIRTIO_NET_S_LINK_UP ? "up" : "down");
	if (rt_cmdline_get("net.ip", buf, sizeof(buf)) || !inet_parse_ip(buf, me.ip)) {
		static const uint8_t dip[4] = { 172, 16, 0, 2 };
		memcpy(me.ip, dip, 4);
	}
	have_peer = !rt_cmdline_get("net.peer", buf, sizeof(buf)) && inet_parse_ip(buf, peer_ip);
	echo_port = (uint16_t)rt_cmdline_u64("net.echo", 7);
	if (!rt_cmdline_get("net.send", buf, sizeof(buf))) {
		const char *s = buf;
		send_port = (uint16_t)num(&s);
		if (*s == ':') {
			s++;
			send_count = num(&s);
		}
	}
	rt_printf("net: ip=%u.%u.%u.%u peer=%u.%u.%u.%u echo=%u\n", me.ip[0], me.ip[1], me.ip[2],
		  me.ip[3], peer_ip[0], peer_ip[1], peer_ip[2], peer_ip[3], echo_port);
	return 0;
}

/* The next of net.send's datagrams ("femtovm <i>\n"); false when the
 * transmit ring is full (retried after the device has drained it). */
static bool send_one(void)
{
	char msg[24], d[12];
	int l = 8, k = 0;
	uint32_t v = sent, before = st.tx;

	memcpy(msg, "femtovm ", 8);
	do {
		d[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k)
		msg[l++] = d[--k];
	msg[l++] = '\n';
	udp_send(peer_mac, peer_ip, echo_port, send_port, (const uint8_t *)msg, (uint32_t)l);
	if (st.tx == before) {
		st.txfull--;	/* not a loss: retried */
		return false;
	}
	if (++sent == send_count)
		rt_printf("net: sent %u datagrams to %u.%u.%u.%u:%u\n", sent, peer_ip[0],
			  peer_ip[1], peer_ip[2], peer_ip[3], send_port);
	return true;
}

void guest_main(const struct boot_info *bi)
{
	uint32_t run_ticks = (uint32_t)(rt_cmdline_u64("net.run_ms", 10000) / RT_TICK_MS);
	uint32_t stats_ticks = (uint32_t)(rt_cmdline_u64("net.stats_ms", 1000) / RT_TICK_MS);
	bool failed = false;

	rt_printf("net: cmdline=%s\n", bi->cmdline);
	if (bi->ram_top < BUF_BASE + 2 * QMAX * SLOT + FRAME_MAX) {
		rt_printf("net: FAIL needs 32 MiB of RAM\n");
		guest_reset();
	}
	rt_pit_start();
	int ndev = vd_discover();
	for (int i = 0; i < ndev && !dev; i++) {
		vd_set_status(&vd_devs[i], 0);
		if (vd_rd(&vd_devs[i], VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_NET)
			dev = &vd_devs[i];
	}
	if (!dev) {
		rt_printf("net: no virtio-net device among %d\n", ndev);
		rt_printf("net: FAIL\n");
		guest_reset();
	}
	if (setup()) {
		rt_printf("net: FAIL\n");
		vd_set_status(dev, 0);
		guest_reset();
	}
	rt_printf("net: ready\n");

	uint32_t t0 = rt_ticks, next_arp = t0, next_stats = t0 + stats_ticks, arp_tries = 0;
	uint32_t printed_rx = 0, printed_tx = 0;
	for (;;) {
		bool busy = rx_poll(32) != 0;
		uint32_t now = rt_ticks;

		if (needs_reset()) {
			rt_printf("net: device needs reset\n");
			failed = true;
			break;
		}
		if (quit) {
			rt_printf("net: quit\n");
			break;
		}
		if (run_ticks && (uint32_t)(now - t0) >= run_ticks)
			break;
		if (have_peer && !peer_known && arp_tries < 10 && (int32_t)(now - next_arp) >= 0) {
			static const uint8_t zero[6];
			static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

			arp_send(1, zero, peer_ip, bcast);
			arp_tries++;
			next_arp = now + 100;
		}
		if (peer_known && sent < send_count && send_one())
			busy = true;
		if (stats_ticks && (int32_t)(now - next_stats) >= 0) {
			next_stats = now + stats_ticks;
			if (st.rx != printed_rx || st.tx != printed_tx) {
				printed_rx = st.rx;
				printed_tx = st.tx;
				print_stats();
			}
		}
		if (busy)
			continue;
		/* Idle: ask for interrupts, re-check, then sleep (sti;hlt). */
		cpu_cli();
		bool sending = peer_known && sent < send_count;
		vq_want_irq(&rxq, true);
		vq_want_irq(&txq, sending);
		vq_reclaim(&txq);
		if (!vq_pending(&rxq) && !(sending && txq.nfree) &&
		    !(dev->isr & VIRTIO_MMIO_INT_CONFIG))
			rt_idle();
		cpu_sti();
	}
	cpu_cli();
	print_stats();
	print_errors();
	rt_printf("net: irqs=%u\n", dev->irqs);
	if (failed)
		rt_printf("net: FAIL\n");
	vd_set_status(dev, 0);
	rt_pit_stop();
	rt_printf("net: done\n");
	guest_reset();
}
