/* netbench: virtio-net throughput and latency with the hot loops in ring 3.
 * Set-up (negotiation of VERSION_1, MAC, STATUS, EVENT_IDX; queue 0
 * receive, queue 1 transmit; receive ring filled with 2 KiB buffers) runs
 * in ring 0 through vdrv.c; then three phases, each one rt_user_call. The
 * rings are vq.c's (its inline helpers, run in ring 3; one vq_flush per
 * queue per pass), the frame headers, ARP replies and the address parsing
 * inet.c's:
 *
 *   tx    UDP flood to netbench.peer:netbench.port: every transmit buffer
 *         holds the same prebuilt frame (Ethernet/IPv4/UDP, UDP checksum 0,
 *         netbench.size payload bytes, default 1400), so the loop only
 *         reclaims used entries, puts the ids back in the avail ring and
 *         notifies when EVENT_IDX says the device went idle. For
 *         netbench.ms (default 2000) ms.
 *   rx    counts the UDP datagrams to netbench.port the host floods at us
 *         (from the first one for netbench.ms ms, or until 3 s of silence),
 *         re-posting each buffer at once and notifying only when EVENT_IDX
 *         asks (the device stops reading its tap when the ring is empty).
 *   echo  answers UDP datagrams to netbench.echo (default 7) and ICMP echo
 *         requests by turning the received frame around in place in a
 *         transmit buffer (addresses and ports swapped: the checksums stay
 *         valid; ICMP type 8 -> 0 with an incremental checksum update) and
 *         ARP requests for our address; a "quit" payload or
 *         netbench.echo_ms (default 60000) ends it.
 *
 * No interrupts are used at all (used_event kept far ahead; the CPU polls
 * in ring 3). The host side needs a static neighbour entry for our MAC (we
 * answer ARP only in the echo phase) and we need the peer's MAC:
 * netbench.peer_mac=aa:bb:cc:dd:ee:ff. Options: netbench.ip= (default
 * 172.16.0.2), netbench.peer= (172.16.0.1), netbench.peer_mac=,
 * netbench.port= (9000), netbench.size=, netbench.ms=, netbench.echo=,
 * netbench.echo_ms=, netbench.phases=<tx,rx,echo in any order/subset>.
 * Lines:
 *   netbench: features=0x<acked> qsize=<n> mac=<mac>
 *   netbench: go <phase>
 *   netbench: tx pkts=<n> bytes=<frame bytes> ms=<t> pps=<..> mbps=<..> kicks=<n>
 *   netbench: rx pkts=<n> bytes=<udp payload bytes> ms=<t> pps=<..> mbps=<..> kicks=<n> other=<n>
 *   netbench: echo udp=<n> icmp=<n> arp=<n> other=<n> kicks=<n>
 *   netbench: done                                  then i8042 reset
 * mbps = 10^6 bits/s of UDP payload (tx: of payload too). Needs >= 32 MiB. */
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "../inet.h"
#include "../vq.h"
#include "perf.h"

const char rt_guest_name[] = "netbench";

#define QS 256
#define SLOT 2048
#define HDR 12u
#define BUF_BASE 0x1000000UL
#define RXBUF(i) ((uint8_t *)(BUF_BASE + (uint64_t)(i) * SLOT))
#define TXBUF(i) ((uint8_t *)(BUF_BASE + (uint64_t)(QS + (i)) * SLOT))
#define BUF_END (BUF_BASE + 2ULL * QS * SLOT)
#define USTACK_SIZE 65536

extern uint8_t _end[];
static uint8_t qmem[2][VQ_MEM] __attribute__((aligned(4096), section(".noinit.netbench")));
static uint8_t ustack[USTACK_SIZE] __attribute__((aligned(16), section(".noinit.netbench")));

static struct vd *dev;
static struct vq rxq, txq;	/* vq.c: the loops below run it in ring 3 */
static struct inet_if me;
static uint8_t peer_mac[6], peer_ip[4];
static uint16_t port = 9000, echo_port = 7;
static uint32_t size = 1400, ms = 2000, echo_ms = 60000;

struct res {
	uint64_t pkts, bytes, us;
	uint32_t other, udp, icmp, arp, kicks;
};

/* ---- ring helpers (ring 3) ---------------------------------------------- */

/* No used-buffer interrupts on either queue (used_event kept far ahead). */
static void noirq(void)
{
	vq_want_irq(&rxq, false);
	vq_want_irq(&txq, false);
}

static void rx_post(uint16_t id)
{
	vq_post(&rxq, id, RXBUF(id), SLOT, true);
}

static void swap(uint8_t *a, uint8_t *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t t = a[i];

		a[i] = b[i];
		b[i] = t;
	}
}

/* ---- phases (ring 3) ----------------------------------------------------- */

static long tx_run(void *arg)
{
	struct res *r = arg;
	uint32_t flen, ticks = ms / RT_TICK_MS, inflight = 0;
	struct perf_clock clk;
	uint32_t id, len;
	uint8_t *f = TXBUF(0) + HDR;

	/* One frame, copied into every buffer. */
	memset(TXBUF(0), 0, HDR);
	flen = inet_udp_hdr(f, &me, peer_mac, peer_ip, port, port, size, 0);
	for (uint32_t i = 0; i < size; i++)
		f[42 + i] = (uint8_t)i;
	for (uint16_t i = 1; i < QS; i++)
		memcpy(TXBUF(i), TXBUF(0), HDR + flen);
	noirq();
	perf_clock_start(&clk);
	/* Every descriptor once; afterwards only their ids go round. */
	for (uint16_t i = 0; i < QS; i++)
		vq_post(&txq, i, TXBUF(i), HDR + flen, false);
	inflight = QS;
	for (;;) {
		vq_flush(&txq);
		bool stop = perf_clock_poll(&clk) >= ticks;

		while (vq_pop(&txq, &id, &len)) {
			inflight--;
			r->pkts++;
			r->bytes += size;
			if (!stop && id < QS) {
				vq_add(&txq, (uint16_t)id);
				inflight++;
			}
		}
		/* Received frames (ARP, IPv6 noise) are dropped and re-posted. */
		while (vq_pop(&rxq, &id, &len)) {
			r->other++;
			if (id < QS)
				rx_post((uint16_t)id);
		}
		vq_flush(&rxq);
		noirq();
		if (stop && !inflight)
			break;
		if (stop && perf_clock_poll(&clk) > ticks + 200)
			break;	/* the device stopped answering */
		cpu_pause();
	}
	r->us = perf_clock_us(&clk);
	r->kicks = txq.kicks;
	vq_free_all(&txq);	/* ids recycled with vq_add alone, all back */
	return 0;
}

static long rx_run(void *arg)
{
	struct res *r = arg;
	uint32_t ticks = ms / RT_TICK_MS, idle_ticks = 300, last_rx = 0;
	uint64_t last_rx_us = 0;
	struct perf_clock clk;
	bool started = false, timed_out = false;
	uint32_t id, len;

	noirq();
	perf_clock_start(&clk);
	for (;;) {
		uint32_t now = perf_clock_poll(&clk);
		bool got = false;

		while (vq_pop(&rxq, &id, &len)) {
			if (id >= QS)
				continue;
			const uint8_t *f = RXBUF(id) + HDR;
			uint32_t flen = len - HDR;

			if (len >= HDR + 42 && inet_be16(f + 12) == INET_ETH_IPV4 && f[23] == 17 &&
			    inet_be16(f + 36) == port) {
				if (!started) {
					/* The clock starts at the first datagram. */
					started = true;
					perf_clock_start(&clk);
					now = 0;
				}
				r->pkts++;
				r->bytes += flen - 42;
				got = true;
			} else {
				r->other++;
			}
			rx_post((uint16_t)id);
		}
		vq_flush(&rxq);
		vq_want_irq(&rxq, false);
		if (got) {
			last_rx = now;
			last_rx_us = perf_clock_us(&clk);
		}
		if (started && now >= ticks) {
			timed_out = true;
			break;
		}
		if ((started ? now - last_rx : now) >= idle_ticks)
			break;	/* the sender stopped (or never started) */
		cpu_pause();
	}
	r->us = timed_out ? perf_clock_us(&clk) : last_rx_us;
	r->kicks = rxq.kicks;
	return 0;
}

/* A free transmit buffer (vq_get: free ids, reclaimed when none is left):
 * its frame at +HDR, or NULL when every buffer is in flight. */
static uint8_t *tx_buf(uint16_t *id)
{
	int i = vq_get(&txq);

	if (i < 0)
		return NULL;
	*id = (uint16_t)i;
	memset(TXBUF(i), 0, HDR);	/* no offloads, GSO_NONE */
	return TXBUF(i) + HDR;
}

/* Send the frame at f (len bytes) from a free transmit buffer. */
static void tx_frame(const uint8_t *f, uint32_t len)
{
	uint16_t id;
	uint8_t *t = tx_buf(&id);

	if (!t)
		return;
	memcpy(t, f, len);
	vq_put(&txq, id, TXBUF(id), HDR + len);
}

static long echo_run(void *arg)
{
	struct res *r = arg;
	uint32_t ticks = echo_ms / RT_TICK_MS;
	struct perf_clock clk;
	bool quit = false;
	uint32_t id, len;
	uint16_t op, tid;

	noirq();
	perf_clock_start(&clk);
	while (!quit && perf_clock_poll(&clk) < ticks) {
		while (vq_pop(&rxq, &id, &len)) {
			if (id >= QS)
				continue;
			uint8_t *f = RXBUF(id) + HDR, *h = f + 14, *t;
			uint32_t flen = len - HDR;
			uint16_t type = flen >= 14 ? inet_be16(f + 12) : 0;

			if (type == INET_ETH_ARP && inet_arp_in(f, flen, &op) == INET_OK &&
			    inet_arp_for_us(f, &me)) {
				/* ARP request for us: the reply. */
				if ((t = tx_buf(&tid)) != NULL)
					vq_put(&txq, tid, TXBUF(tid),
					       HDR + inet_arp(t, &me, 2, h + 8, h + 14, h + 8));
				r->arp++;
			} else if (type == INET_ETH_IPV4 && flen >= 42 && h[0] == 0x45 &&
				   !memcmp(h + 16, me.ip, 4)) {
				/* Turned around in place: no checksum to recompute
				 * (inet_icmp_echo_reply checks and rebuilds both). */
				uint8_t *l4 = h + 20;

				if (h[9] == 17 && inet_be16(l4 + 2) == echo_port) {
					if (inet_be16(l4 + 4) >= 12 && !memcmp(l4 + 8, "quit", 4)) {
						quit = true;
					} else {
						swap(f, f + 6, 6);
						swap(h + 12, h + 16, 4);
						swap(l4, l4 + 2, 2);
						tx_frame(f, flen);
						r->udp++;
					}
				} else if (h[9] == 1 && l4[0] == 8) {
					/* RFC 1624: type 8 -> 0 in the checksum. */
					uint32_t c = (uint16_t)~inet_be16(l4 + 2);

					c += (uint16_t)~0x0800;
					c = (c & 0xffff) + (c >> 16);
					c = (c & 0xffff) + (c >> 16);
					l4[0] = 0;
					inet_put16(l4 + 2, (uint16_t)~c);
					swap(f, f + 6, 6);
					swap(h + 12, h + 16, 4);
					tx_frame(f, flen);
					r->icmp++;
				} else {
					r->other++;
				}
			} else {
				r->other++;
			}
			rx_post((uint16_t)id);
		}
		vq_flush(&txq);
		vq_flush(&rxq);
		noirq();
		cpu_pause();
	}
	r->us = perf_clock_us(&clk);
	r->kicks = txq.kicks + rxq.kicks;
	return 0;
}

/* ---- set-up (ring 0) ----------------------------------------------------- */

static bool parse_mac(const char *s, uint8_t out[6])
{
	for (int i = 0; i < 6; i++) {
		unsigned v = 0;

		for (int k = 0; k < 2; k++, s++) {
			unsigned c = (unsigned)*s | 0x20;

			if (*s >= '0' && *s <= '9')
				v = v * 16 + (unsigned)(*s - '0');
			else if (c >= 'a' && c <= 'f')
				v = v * 16 + c - 'a' + 10;
			else
				return false;
		}
		if (i < 5 && *s++ != ':')
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

static int setup(void)
{
	uint64_t want = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MAC) |
			(1ULL << VIRTIO_NET_F_STATUS) | (1ULL << VIRTIO_RING_F_EVENT_IDX);
	uint32_t w0, w1;

	if (vd_negotiate(dev, want)) {
		rt_printf("netbench: FEATURES_OK refused\n");
		return -1;
	}
	if (!dev->event_idx)
		rt_printf("netbench: no EVENT_IDX: every batch notifies\n");
	for (unsigned q = 0; q < 2; q++) {
		vd_wr(dev, VIRTIO_MMIO_QUEUE_SEL, q);
		if (vd_rd(dev, VIRTIO_MMIO_QUEUE_NUM_MAX) < QS) {
			rt_printf("netbench: queue %u max %u < %u\n", q,
				  vd_rd(dev, VIRTIO_MMIO_QUEUE_NUM_MAX), QS);
			return -1;
		}
	}
	for (unsigned q = 0; q < 2; q++)
		if (!vq_setup(q ? &txq : &rxq, dev, q, QS, qmem[q]))
			return -1;
	for (uint16_t i = 0; i < QS; i++)
		rx_post(i);
	vq_publish(&rxq);
	noirq();
	vd_driver_ok(dev);
	if (vd_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET)
		return -1;
	w0 = vd_cfg32(dev, 0);
	w1 = vd_cfg32(dev, 4);
	for (int i = 0; i < 4; i++)
		me.mac[i] = (uint8_t)(w0 >> (8 * i));
	me.mac[4] = (uint8_t)w1;
	me.mac[5] = (uint8_t)(w1 >> 8);
	rt_printf("netbench: features=0x%lx qsize=%u mac=%02x:%02x:%02x:%02x:%02x:%02x\n",
		  dev->acked, QS, me.mac[0], me.mac[1], me.mac[2], me.mac[3], me.mac[4], me.mac[5]);
	return 0;
}

static void rate(char *pps, char *mbps, const struct res *r)
{
	uint64_t us = r->us ? r->us : 1;

	perf_fix1(pps, r->pkts * 1000000ULL, us);
	pps[strlen(pps) - 2] = 0;
	perf_fix1(mbps, r->bytes * 8, us);
}

void guest_main(const struct boot_info *bi)
{
	char buf[64], phases[64], pps[24], mbps[24];
	bool failed = false;

	if (bi->ram_top < BUF_END) {
		rt_printf("netbench: FAIL needs 32 MiB of RAM\n");
		guest_reset();
	}
	rt_pit_start();
	int ndev = vd_discover();
	for (int i = 0; i < ndev && !dev; i++)
		if (vd_rd(&vd_devs[i], VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_NET)
			dev = &vd_devs[i];
	if (!dev) {
		rt_printf("netbench: FAIL no virtio-net device among %d\n", ndev);
		guest_reset();
	}
	if (rt_cmdline_get("netbench.ip", buf, sizeof(buf)) || !inet_parse_ip(buf, me.ip))
		inet_parse_ip("172.16.0.2", me.ip);
	if (rt_cmdline_get("netbench.peer", buf, sizeof(buf)) || !inet_parse_ip(buf, peer_ip))
		inet_parse_ip("172.16.0.1", peer_ip);
	if (rt_cmdline_get("netbench.peer_mac", buf, sizeof(buf)) || !parse_mac(buf, peer_mac))
		memset(peer_mac, 0xff, 6);
	port = (uint16_t)rt_cmdline_u64("netbench.port", 9000);
	echo_port = (uint16_t)rt_cmdline_u64("netbench.echo", 7);
	size = (uint32_t)rt_cmdline_u64("netbench.size", 1400);
	if (size < 4 || size > 1472)
		size = 1400;
	ms = (uint32_t)rt_cmdline_u64("netbench.ms", 2000);
	echo_ms = (uint32_t)rt_cmdline_u64("netbench.echo_ms", 60000);
	if (rt_cmdline_get("netbench.phases", phases, sizeof(phases))) {
		static const char dflt[] = "tx,rx,echo";

		memcpy(phases, dflt, sizeof(dflt));
	}
	if (setup()) {
		rt_printf("netbench: FAIL set-up\n");
		vd_set_status(dev, 0);
		guest_reset();
	}
	rt_user_init();
	rt_user_map(0, (uint64_t)_end);
	rt_user_map(BUF_BASE, BUF_END - BUF_BASE);
	rt_user_map(dev->base, 4096);
	for (const char *s = phases; *s;) {
		struct res r;
		unsigned n = 0;

		while (s[n] && s[n] != ',')
			n++;
		memset(&r, 0, sizeof(r));
		txq.kicks = rxq.kicks = 0;
		if (n == 2 && (!strncmp(s, "tx", 2) || !strncmp(s, "rx", 2))) {
			bool tx = s[0] == 't';

			if (tx)
				rt_printf("netbench: go tx size=%u\n", size);
			else
				rt_printf("netbench: go rx port=%u\n", port);
			rt_user_call(tx ? tx_run : rx_run, &r, ustack + sizeof(ustack));
			rate(pps, mbps, &r);
			rt_printf("netbench: %s pkts=%lu bytes=%lu ms=%lu pps=%s mbps=%s kicks=%u "
				  "other=%u\n", tx ? "tx" : "rx", r.pkts, r.bytes, r.us / 1000, pps,
				  mbps, r.kicks, r.other);
		} else if (n == 4 && !strncmp(s, "echo", 4)) {
			rt_printf("netbench: go echo port=%u\n", echo_port);
			rt_user_call(echo_run, &r, ustack + sizeof(ustack));
			rt_printf("netbench: echo udp=%u icmp=%u arp=%u other=%u kicks=%u ms=%lu\n",
				  r.udp, r.icmp, r.arp, r.other, r.kicks, r.us / 1000);
		} else {
			rt_printf("netbench: bad phase list\n");
			failed = true;
			break;
		}
		if (vd_status(dev) & VIRTIO_CONFIG_S_NEEDS_RESET) {
			rt_printf("netbench: device needs reset\n");
			failed = true;
			break;
		}
		s += n;
		if (*s == ',')
			s++;
	}
	if (failed)
		rt_printf("netbench: FAIL\n");
	vd_set_status(dev, 0);
	rt_pit_stop();
	rt_printf("netbench: done\n");
	guest_reset();
}
