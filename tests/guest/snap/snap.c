/* snap: the count guest with all three virtio devices busy, for snapshot
 * tests (README.md). Prints "count: <n>" every period_ms exactly like
 * count.c and after each number writes "snap count <n>\n" to sector 0 of
 * the virtio-blk drive and flushes; answers ARP and ICMP echo for snap.ip
 * on the virtio-net interface; echoes every vsock connection to
 * snap.port; on a vsock TRANSPORT_RESET (femtovm queues one when it
 * restores a snapshot) drops its connections and re-reads its CID.
 * Everything is interrupt-driven, the CPU halts between events, and the
 * per-event ring-0 work is small (every ring-0 instruction is emulated on
 * this workplace's KVM). Devices are found by DeviceID. */
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include <stdarg.h>

#include "io.h"
#include "rt.h"
#include "../inet.h"
#include "../vdrv.h"
#include "../vq.h"
#include "../vsk.h"

const char rt_guest_name[] = "snap";

#define F(x) (1ULL << (x))
#define SECTOR 512u
#define NET_Q 128
#define NET_SLOT 2048u
#define NET_HDR ((uint32_t)sizeof(struct virtio_net_hdr_v1))	/* 12 */
#define VSOCK_CONNS 16
/* Packet buffers outside the image (which must stay below 2 MiB): net at
 * 16 MiB, vsock after it. */
#define NET_BASE 0x1000000UL
#define NET_RX(i) ((uint8_t *)(NET_BASE + (uint64_t)(i) * NET_SLOT))
#define NET_TX(i) ((uint8_t *)(NET_BASE + (uint64_t)(NET_Q + (i)) * NET_SLOT))
#define VSOCK_BASE (NET_BASE + 2UL * NET_Q * NET_SLOT)

static uint8_t sector[SECTOR] __attribute__((aligned(4096), section(".noinit.snap")));
static uint8_t net_qmem[2][VQ_MEM] __attribute__((aligned(4096), section(".noinit.snap")));

static struct vd *blk, *net, *vsock;
static struct vq rxq, txq;
static struct inet_if me;
static struct {
	uint32_t rx, arp, icmp, bad, txfull;
} nst;
static uint32_t blk_errors;

/* ------------------------------------------------------------------------ */
/* virtio-blk: sector 0 carries the last count                              */

static int blk_setup(void)
{
	if (vd_init(blk, F(VIRTIO_F_VERSION_1) | F(VIRTIO_BLK_F_FLUSH), 8, "snap: blk"))
		return -1;
	if (!(blk->acked & F(VIRTIO_BLK_F_FLUSH))) {
		rt_printf("snap: blk FAIL no VIRTIO_BLK_F_FLUSH\n");
		return -1;
	}
	memset(sector, 0, SECTOR);
	return 0;
}

static void format(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void format(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rt_vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* "snap count <n>\n" then zeros (numbers only grow, so the text never
 * gets shorter), written and flushed; one request in flight at a time. */
static void blk_write(uint64_t n)
{
	struct vd_seg seg = { (uint64_t)sector, SECTOR, false };
	uint32_t len;
	int st;

	format((char *)sector, SECTOR, "snap count %lu\n", n);
	st = vd_blk(blk, VIRTIO_BLK_T_OUT, 0, &seg, 1, &len);
	if (!st)
		st = vd_blk(blk, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, &len);
	if (st) {
		blk_errors++;
		rt_printf("snap: blk write of count %lu failed (%d)\n", n, st);
	}
}

/* ------------------------------------------------------------------------ */
/* virtio-net: ARP and ICMP echo                                            */

static int net_setup(void)
{
	char buf[32];
	uint64_t cfg;

	if (vd_probe(net, VIRTIO_ID_NET, "snap: net"))
		return -1;
	if (vd_negotiate(net, F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) |
			      F(VIRTIO_RING_F_EVENT_IDX)) ||
	    !(net->acked & F(VIRTIO_NET_F_MAC))) {
		rt_printf("snap: net FAIL features offered 0x%lx\n", net->offered);
		return -1;
	}
	for (unsigned q = 0; q < 2; q++) {
		vd_wr(net, VIRTIO_MMIO_QUEUE_SEL, q);
		if (vd_rd(net, VIRTIO_MMIO_QUEUE_NUM_MAX) < NET_Q ||
		    !vq_setup(q ? &txq : &rxq, net, q, NET_Q, net_qmem[q])) {
			rt_printf("snap: net FAIL queue %u\n", q);
			return -1;
		}
	}
	/* §5.1.5: receive buffers before DRIVER_OK; no transmit interrupts
	 * (used transmit entries are reclaimed when a slot is needed). */
	for (uint16_t i = 0; i < NET_Q; i++)
		vq_post(&rxq, i, NET_RX(i), NET_SLOT, true);
	vq_publish(&rxq);
	vq_want_irq(&txq, false);
	vd_driver_ok(net);
	if (vd_status(net) & VIRTIO_CONFIG_S_NEEDS_RESET) {
		rt_printf("snap: net FAIL needs reset after DRIVER_OK\n");
		return -1;
	}
	cfg = vd_cfg64(net, 0);		/* mac[6], status */
	memcpy(me.mac, &cfg, 6);
	if (rt_cmdline_get("snap.ip", buf, sizeof(buf)) || !inet_parse_ip(buf, me.ip)) {
		static const uint8_t dflt[4] = { 172, 16, 0, 2 };
		memcpy(me.ip, dflt, 4);
	}
	inet_print_mac("snap: net", "mac", me.mac);
	rt_printf("snap: net ip=%u.%u.%u.%u\n", me.ip[0], me.ip[1], me.ip[2], me.ip[3]);
	return 0;
}

/* Transmit slot id holds a frame of len bytes after the header. */
static void net_send(int id, uint32_t len)
{
	uint8_t *b = NET_TX(id);

	memset(b, 0, NET_HDR);		/* no offloads, GSO_NONE */
	if (len < 60) {			/* Ethernet minimum, zero padding */
		memset(b + NET_HDR + len, 0, 60 - len);
		len = 60;
	}
	vq_send(&txq, (uint16_t)id, b, NET_HDR + len);
}

static void net_frame(const uint8_t *f, uint32_t len)
{
	uint32_t tot, ihl;
	uint16_t op;
	int id;

	nst.rx++;
	if (!inet_for_us(f, len, &me))
		return;
	if (inet_be16(f + 12) == INET_ETH_ARP) {
		if (inet_arp_in(f, len, &op) != INET_OK || op != 1 || !inet_arp_for_us(f, &me))
			return;
		if ((id = vq_get(&txq)) < 0) {
			nst.txfull++;
			return;
		}
		/* To the sender: its hardware (+8) and protocol (+14) address. */
		net_send(id, inet_arp(NET_TX(id) + NET_HDR, &me, 2, f + 22, f + 28, f + 22));
		nst.arp++;
	} else if (inet_be16(f + 12) == INET_ETH_IPV4) {
		int r = inet_ipv4_in(f, len, &me, &tot, &ihl);

		if (r == INET_OK && f[14 + 9] == 1)
			r = inet_icmp_echo_in(f, tot, ihl);
		else if (r == INET_OK)
			r = INET_IGNORED;
		nst.bad += r == INET_BADLEN || r == INET_BADSUM;
		if (r != INET_OK)
			return;
		if ((id = vq_get(&txq)) < 0) {
			nst.txfull++;
			return;
		}
		net_send(id, inet_icmp_echo_reply(NET_TX(id) + NET_HDR, f, tot, ihl, &me));
		nst.icmp++;
	}
}

static bool net_poll(void)
{
	uint32_t id, len;
	unsigned n = 0;

	while (n < 32 && vq_pop(&rxq, &id, &len)) {
		n++;
		if (id >= NET_Q) {
			nst.bad++;
			continue;
		}
		if (len >= NET_HDR && len <= NET_SLOT)
			net_frame(NET_RX(id) + NET_HDR, len - NET_HDR);
		else
			nst.bad++;
		vq_post(&rxq, (uint16_t)id, NET_RX(id), NET_SLOT, true);
	}
	if (n)
		vq_flush(&rxq);
	return n != 0;
}

/* ------------------------------------------------------------------------ */

static void find_devices(void)
{
	int ndev = vd_discover();

	for (int i = 0; i < ndev; i++) {
		struct vd *d = &vd_devs[i];

		switch (vd_rd(d, VIRTIO_MMIO_DEVICE_ID)) {
		case VIRTIO_ID_BLOCK: blk = blk ? blk : d; break;
		case VIRTIO_ID_NET: net = net ? net : d; break;
		case VIRTIO_ID_VSOCK: vsock = vsock ? vsock : d; break;
		}
	}
	if (!blk || !net || !vsock) {
		rt_printf("snap: FAIL needs virtio-blk, -net and -vsock (%d devices)\n", ndev);
		guest_reset();
	}
	rt_printf("snap: devices blk=%u net=%u vsock=%u\n", blk->idx, net->idx, vsock->idx);
}

static void print_stats(void)
{
	static uint32_t net_rx, vsock_rx;

	if (nst.rx != net_rx) {
		net_rx = nst.rx;
		rt_printf("snap: net rx=%u arp=%u icmp=%u bad=%u txfull=%u\n", nst.rx, nst.arp,
			  nst.icmp, nst.bad, nst.txfull);
	}
	if (vsk_st.rx_pkts != vsock_rx) {
		vsock_rx = vsk_st.rx_pkts;
		vsk_print_stats();
	}
}

void guest_main(const struct boot_info *bi)
{
	uint64_t period = rt_cmdline_u64("period_ms", 50);
	uint32_t port = (uint32_t)rt_cmdline_u64("snap.port", 5000);
	uint32_t ticks = (uint32_t)((period + RT_TICK_MS - 1) / RT_TICK_MS);
	uint32_t resets = 0;
	bool vsock_ok = true;

	if (ticks == 0)
		ticks = 1;
	if (bi->ram_top < VSOCK_BASE + vsk_mem(VSOCK_CONNS)) {
		rt_printf("snap: FAIL needs %lu MiB of RAM\n",
			  ((VSOCK_BASE + vsk_mem(VSOCK_CONNS)) >> 20) + 1);
		guest_reset();
	}
	rt_pit_start();
	find_devices();
	if (blk_setup() || net_setup() ||
	    vsk_setup(vsock, VSOCK_BASE, VSOCK_CONNS, port, "snap: vsock")) {
		rt_printf("snap: FAIL device set-up\n");
		guest_reset();
	}
	rt_printf("snap: vsock cid=%lu listen=%u\n", vsk_cid(), port);
	rt_printf("snap: ready\n");
	rt_printf("snap: period_ms=%u\n", ticks * RT_TICK_MS);

	/* count.c's clock: deadlines advance by the period; after a pause (or
	 * a snapshot restore) the next number comes at once, then on period. */
	uint32_t next = rt_ticks + ticks, next_stats = rt_ticks + 100;
	for (uint64_t n = 1;;) {
		bool busy = net_poll();

		if (vsock_ok) {
			busy |= vsk_poll();
			if (vsk_failed()) {
				rt_printf("snap: vsock FAIL device needs reset or protocol error\n");
				vsock_ok = false;
			}
		}
		if (vsk_st.transport_resets != resets) {
			resets = vsk_st.transport_resets;
			rt_printf("snap: vsock dropped %u connections, cid=%lu\n", vsk_st.dropped,
				  vsk_cid());
		}
		if ((int32_t)(rt_ticks - next) >= 0) {
			if ((int32_t)(rt_ticks - next) >= (int32_t)ticks)
				next = rt_ticks;	/* resumed after a pause: no burst */
			next += ticks;
			rt_printf("count: %lu\n", n);
			blk_write(n);
			n++;
			continue;
		}
		if ((int32_t)(rt_ticks - next_stats) >= 0) {
			next_stats = rt_ticks + 100;
			print_stats();
		}
		if (busy)
			continue;
		/* Idle: ask for interrupts, re-check, then sleep (sti;hlt). */
		cpu_cli();
		vq_want_irq(&rxq, true);
		bool idle = !vq_pending(&rxq) && (int32_t)(rt_ticks - next) < 0;
		if (vsock_ok && !vsk_idle_ok())
			idle = false;
		if (idle)
			rt_idle();
		cpu_sti();
	}
}
