/* Unit tests for virtio-net (virtio 1.2 §5.1): vnet_parse_mac,
 * vq_chain_write, features and configuration space through a
 * virtio-mmio transport, and the receive/transmit paths of net_io.c.
 *
 * No tap here (that needs root and a network namespace: the integration
 * test test_guest_net*.sh does it). vnet_init() would open /dev/net/tun, so
 * the struct vnet is built by hand (net_up() below, mirroring vnet_init +
 * vnet_activate) with tap_fd = one end of a socketpair(AF_UNIX,
 * SOCK_SEQPACKET), which keeps message boundaries like a tap: the test
 * writes "12-byte virtio_net_hdr_v1 + frame" messages into the other end
 * and reads transmitted ones back. The queues are real split rings in a
 * gm_init() guest memory, owned by a real transport from vmmio_init(kvm =
 * NULL) (interrupts, kicks and DEVICE_NEEDS_RESET go through it), but they
 * are set up and made ready directly instead of through DRIVER_OK, because
 * activation does TUNSETOFFLOAD, which a socket does not support. n.el is a
 * real event loop from el_init(), so whether the tap is polled is visible
 * in its epoll set. Fields initialised: id, mac/config, tap_fd, tap_h, el,
 * t, rxq, txq, acked, mrg_rxbuf, rx_frame, tx_frame, chain, rx/tx_timer
 * (fd -1, or a timerfd for the rate-limiter tests), rx_rl/tx_rl. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/tap.h"
#include "vmm/event_loop.h"
#include "vmm/guest_mem.h"
#include "vmm/layout.h"

#define RAM MIB(1)
#define QSIZE 16
#define RXQ_DESC 0x1000ULL
#define RXQ_AVAIL 0x2000ULL
#define RXQ_USED 0x3000ULL
#define TXQ_DESC 0x4000ULL
#define TXQ_AVAIL 0x5000ULL
#define TXQ_USED 0x6000ULL
#define RXBUF 0x10000ULL /* + 0x1000 per buffer */
#define TXBUF 0x40000ULL
#define BIG 0x80000ULL   /* 2 x 64 KiB for oversized chains */
#define HL 12            /* TAP_VNET_HDR_LEN */
#define F(x) (1ULL << (x))

static struct guest_mem gm;
static struct vmmio t;
static struct vnet n;
static struct event_loop el;
static int sv[2] = { -1, -1 };
static uint16_t next_desc[2], avail_idx[2];
static unsigned nrx; /* receive buffers handed out so far */

static const gpa_t desc_gpa[2] = { RXQ_DESC, TXQ_DESC };
static const gpa_t avail_gpa[2] = { RXQ_AVAIL, TXQ_AVAIL };
static const gpa_t used_gpa[2] = { RXQ_USED, TXQ_USED };

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */

static void wr16(gpa_t a, uint16_t v)
{
	cr_assert_eq(gm_write(&gm, a, &v, 2), 0);
}

static uint16_t rd16(gpa_t a)
{
	uint16_t v;

	cr_assert_eq(gm_read(&gm, &v, a, 2), 0);
	return v;
}

static uint32_t rd32(gpa_t a)
{
	uint32_t v;

	cr_assert_eq(gm_read(&gm, &v, a, 4), 0);
	return v;
}

static uint32_t reg_rd(uint64_t off)
{
	uint32_t v = 0xeeeeeeee;

	vmmio_bus_ops.read(&t, off, (uint8_t *)&v, 4);
	return v;
}

static uint16_t add_desc(unsigned q, gpa_t addr, uint32_t len, uint16_t flags)
{
	struct vring_desc d = { .addr = addr, .len = len, .flags = flags,
				.next = (uint16_t)((next_desc[q] + 1) % QSIZE) };
	uint16_t i = next_desc[q];

	cr_assert_eq(gm_write(&gm, desc_gpa[q] + 16ULL * i, &d, sizeof(d)), 0);
	next_desc[q] = (uint16_t)((next_desc[q] + 1) % QSIZE);
	return i;
}

static void avail_add(unsigned q, uint16_t head)
{
	wr16(avail_gpa[q] + 4 + 2ULL * (avail_idx[q] % QSIZE), head);
	avail_idx[q]++;
	wr16(avail_gpa[q] + 2, avail_idx[q]);
}

/* One single-buffer receive chain of @len bytes; returns its head. */
static uint16_t rx_buf(uint32_t len)
{
	uint16_t h = add_desc(VNET_RXQ, RXBUF + 0x1000ULL * (nrx++ % 32), len,
			      VRING_DESC_F_WRITE);

	avail_add(VNET_RXQ, h);
	return h;
}

static gpa_t rx_addr_of(uint16_t head)
{
	struct vring_desc d;

	cr_assert_eq(gm_read(&gm, &d, RXQ_DESC + 16ULL * head, sizeof(d)), 0);
	return d.addr;
}

static uint16_t used_idx(unsigned q)
{
	return rd16(used_gpa[q] + 2);
}

static uint32_t used_id(unsigned q, unsigned i)
{
	return rd32(used_gpa[q] + 4 + 8ULL * (i % QSIZE));
}

static uint32_t used_len(unsigned q, unsigned i)
{
	return rd32(used_gpa[q] + 8 + 8ULL * (i % QSIZE));
}

/* A frame on the "tap": header (num_buffers poisoned) + @len payload bytes
 * with value (seed + i). */
static void tap_put(size_t len, uint8_t seed)
{
	uint8_t buf[HL + 4096];
	struct virtio_net_hdr_v1 *h = (struct virtio_net_hdr_v1 *)buf;

	cr_assert_leq(len, sizeof(buf) - HL);
	memset(buf, 0, HL);
	h->num_buffers = 0x5a5a;
	for (size_t i = 0; i < len; i++)
		buf[HL + i] = (uint8_t)(seed + i);
	cr_assert_eq(write(sv[1], buf, HL + len), (ssize_t)(HL + len));
}

/* Guest bytes at @a hold payload (seed + i) for @len bytes from offset @off. */
static void expect_payload(gpa_t a, size_t len, uint8_t seed, size_t off)
{
	uint8_t *p = gm_ptr(&gm, a, len);

	cr_assert_not_null(p);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(p[i], (uint8_t)(seed + off + i), "byte %zu: 0x%x != 0x%x", i, p[i],
			     (uint8_t)(seed + off + i));
}

static uint16_t hdr_num_buffers(gpa_t a)
{
	return rd16(a + offsetof(struct virtio_net_hdr_v1, num_buffers));
}

/* Whether the tap fd is in the event loop's epoll set and readable. */
static int tap_ready_in_loop(void)
{
	struct epoll_event ev;

	return epoll_wait(el.epfd, &ev, 1, 0);
}

static bool fd_readable_count(int fd)
{
	uint64_t v;

	return read(fd, &v, sizeof(v)) == sizeof(v);
}

static bool kicked(unsigned q)
{
	return fd_readable_count(t.kicks[q].h.fd);
}

static bool irq_raised(void)
{
	return fd_readable_count(t.irq.efd);
}

static void queue_ready(unsigned q, bool event_idx)
{
	struct virtqueue *vq = &t.vqs[q];

	vq->size = QSIZE;
	vq->desc_gpa = desc_gpa[q];
	vq->avail_gpa = avail_gpa[q];
	vq->used_gpa = used_gpa[q];
	vq->event_idx = event_idx;
	vq->indirect = true;
	cr_assert_eq(vq_activate(vq, &gm, VNET_QUEUE_MAX), 0);
	vq->ready = true;
}

/* The device as vnet_init + vnet_activate leave it, with @acked features
 * and the socketpair as its tap. */
static void net_up(uint64_t acked)
{
	static const uint8_t mac[6] = { 0x06, 0x00, 0xac, 0x10, 0x00, 0x02 };

	snprintf(n.id, sizeof(n.id), "eth0");
	memcpy(n.mac, mac, 6);
	memcpy(n.config.mac, mac, 6);
	n.has_mac = true;
	n.config.status = VIRTIO_NET_S_LINK_UP;
	n.tap_fd = sv[0];
	n.tap_h = (struct el_handler){ sv[0], NULL, &n };
	n.el = &el;
	n.rx_frame = malloc(VNET_MAX_FRAME);
	n.tx_frame = malloc(VNET_MAX_FRAME);
	n.chain = malloc(sizeof(*n.chain) * 3);
	cr_assert(n.rx_frame && n.tx_frame && n.chain);
	rl_init(&n.rx_rl, NULL, NULL, rl_now_ns());
	rl_init(&n.tx_rl, NULL, NULL, rl_now_ns());
	cr_assert_eq(vmmio_init(&t, &vnet_ops, &n, &gm, NULL, NULL, LAYOUT_VIRTIO_BASE, 5), 0);
	queue_ready(VNET_RXQ, acked & F(VIRTIO_RING_F_EVENT_IDX));
	queue_ready(VNET_TXQ, acked & F(VIRTIO_RING_F_EVENT_IDX));
	/* what DRIVER_OK would have done, minus TUNSETOFFLOAD */
	t.status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		   VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK;
	t.acked = acked;
	t.active = true;
	n.t = &t.transport;
	n.rxq = &t.vqs[VNET_RXQ];
	n.txq = &t.vqs[VNET_TXQ];
	n.acked = acked;
	n.mrg_rxbuf = acked & F(VIRTIO_NET_F_MRG_RXBUF);
	vnet_tap_poll(&n, true);
}

#define BASE (F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS))
#define MRG (BASE | F(VIRTIO_NET_F_MRG_RXBUF))

static void setup(void)
{
	cr_assert_eq(gm_init(&gm, RAM), 0);
	memset(&n, 0, sizeof(n));
	n.tap_fd = n.rx_timer.fd = n.tx_timer.fd = -1;
	memset(&t, 0, sizeof(t));
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t.kicks[q].h.fd = -1;
	t.irq.efd = -1;
	cr_assert_eq(el_init(&el), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	memset(next_desc, 0, sizeof(next_desc));
	memset(avail_idx, 0, sizeof(avail_idx));
	nrx = 0;
}

static void teardown(void)
{
	if (t.ops)
		vmmio_destroy(&t);
	if (n.tap_fd < 0 && sv[0] >= 0)
		close(sv[0]);
	vnet_destroy(&n); /* closes sv[0] (the tap) and the timers */
	if (sv[1] >= 0)
		close(sv[1]);
	sv[0] = sv[1] = -1;
	el_destroy(&el);
	gm_destroy(&gm);
}

TestSuite(net, .init = setup, .fini = teardown);

/* ------------------------------------------------------------------------ */
/* vnet_parse_mac                                                           */

Test(net, parse_mac_good)
{
	uint8_t m[6];
	static const uint8_t want[6] = { 0x06, 0x00, 0xac, 0x10, 0xff, 0x0a };

	cr_assert_eq(vnet_parse_mac("06:00:ac:10:ff:0a", m), 0);
	cr_assert_arr_eq(m, want, 6);
	memset(m, 0, 6);
	cr_assert_eq(vnet_parse_mac("06:00:AC:10:FF:0A", m), 0);
	cr_assert_arr_eq(m, want, 6);
	cr_assert_eq(vnet_parse_mac("00:00:00:00:00:00", m), 0);
	cr_assert_eq(vnet_parse_mac("ff:FF:fF:Ff:ff:ff", m), 0);
	cr_assert_eq(m[0], 0xff);
	cr_assert_eq(m[5], 0xff);
}

Test(net, parse_mac_bad_separators)
{
	uint8_t m[6];

	cr_assert_eq(vnet_parse_mac("06-00-ac-10-00-02", m), -EINVAL);
	cr_assert_eq(vnet_parse_mac("06:00:ac-10:00:02", m), -EINVAL);
	cr_assert_eq(vnet_parse_mac("06.00.ac.10.00.02", m), -EINVAL);
	cr_assert_eq(vnet_parse_mac("0600:ac:10:00:02:", m), -EINVAL);
	cr_assert_eq(vnet_parse_mac("06:00:ac:10:00:02:", m), -EINVAL);
}

Test(net, parse_mac_wrong_length)
{
	uint8_t m[6];

	cr_assert_eq(vnet_parse_mac("", m), -EINVAL);
	cr_assert_eq(vnet_parse_mac("06:00:ac:10:00", m), -EINVAL);
	cr_assert_eq(vnet_parse_mac("06:00:ac:10:00:2", m), -EINVAL);
	cr_assert_eq(vnet_parse_mac("6:00:ac:10:00:02", m), -EINVAL);
	cr_assert_eq(vnet_parse_mac("06:00:ac:10:00:023", m), -EINVAL);
	cr_assert_eq(vnet_parse_mac("06:00:ac:10:00:02:03", m), -EINVAL);
}

Test(net, parse_mac_non_hex)
{
	uint8_t m[6];

	cr_assert_eq(vnet_parse_mac("0g:00:ac:10:00:02", m), -EINVAL);
	cr_assert_eq(vnet_parse_mac("06:00:ac:10:00:0z", m), -EINVAL);
	cr_assert_eq(vnet_parse_mac("xx:xx:xx:xx:xx:xx", m), -EINVAL);
}

/* Every one of the 17 characters is a hex digit or (every third) a colon,
 * as config.c's valid_mac() requires: scanf's leniencies (leading blanks,
 * signs, a 0x prefix) are not MAC addresses. */
Test(net, parse_mac_rejects_scanf_leniencies)
{
	uint8_t m[6];

	cr_assert_eq(vnet_parse_mac(" 6:00:ac:10:00:02", m), -EINVAL, "leading blank accepted");
	cr_assert_eq(vnet_parse_mac("+6:00:ac:10:00:02", m), -EINVAL, "sign accepted");
	cr_assert_eq(vnet_parse_mac("-1:00:ac:10:00:02", m), -EINVAL, "minus sign accepted");
	cr_assert_eq(vnet_parse_mac("06:00: a:10:00:02", m), -EINVAL, "inner blank accepted");
	cr_assert_eq(vnet_parse_mac("0x:00:ac:10:00:02", m), -EINVAL, "0x prefix accepted");
}

/* ------------------------------------------------------------------------ */
/* vq_chain_write                                                       */

Test(net, copy_to_chain_across_buffers)
{
	struct virtqueue vq = { .gm = &gm };
	struct vq_chain c = { 0 };
	uint8_t frame[256];

	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(0x40 + i);
	memset(gm_ptr(&gm, RXBUF, 0x4000), 0xee, 0x4000);
	/* one readable buffer (skipped), then writable 5, 0, 7, 100 bytes */
	c.bufs[c.nbufs++] = (struct vq_buf){ TXBUF, 16, false };
	c.nread = 1;
	c.bufs[c.nbufs++] = (struct vq_buf){ RXBUF, 5, true };
	c.bufs[c.nbufs++] = (struct vq_buf){ RXBUF + 0x1000, 0, true };
	c.bufs[c.nbufs++] = (struct vq_buf){ RXBUF + 0x2000, 7, true };
	c.bufs[c.nbufs++] = (struct vq_buf){ RXBUF + 0x3000, 100, true };
	c.read_len = 16;
	c.write_len = 112;

	cr_assert_eq(vq_chain_write(&vq, &c, frame, 20), 20);
	expect_payload(RXBUF, 5, 0x40, 0);
	expect_payload(RXBUF + 0x2000, 7, 0x40, 5);
	expect_payload(RXBUF + 0x3000, 8, 0x40, 12);
	cr_assert_eq(*(uint8_t *)gm_ptr(&gm, RXBUF + 5, 1), 0xee, "wrote past a buffer");
	cr_assert_eq(*(uint8_t *)gm_ptr(&gm, RXBUF + 0x3000 + 8, 1), 0xee, "wrote past the frame");
	cr_assert_eq(*(uint8_t *)gm_ptr(&gm, RXBUF + 0x1000, 1), 0xee, "wrote into an empty buffer");

	/* more than the chain holds: capacity only */
	cr_assert_eq(vq_chain_write(&vq, &c, frame, sizeof(frame)), 112);
	expect_payload(RXBUF + 0x3000, 100, 0x40, 12);
	cr_assert_eq(*(uint8_t *)gm_ptr(&gm, RXBUF + 0x3000 + 100, 1), 0xee);
	/* nothing writable */
	c.nbufs = 1;
	cr_assert_eq(vq_chain_write(&vq, &c, frame, 20), 0);
	cr_assert_eq(vq_chain_write(&vq, &c, frame, 0), 0);
}

/* ------------------------------------------------------------------------ */
/* features and configuration space                                         */

Test(net, features_and_config_space)
{
	uint64_t f;

	net_up(BASE);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	t.dev_features_sel = 0;
	f = reg_rd(VIRTIO_MMIO_DEVICE_FEATURES);
	t.dev_features_sel = 1;
	f |= (uint64_t)reg_rd(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	cr_assert(f & F(VIRTIO_F_VERSION_1));
	cr_assert(f & F(VIRTIO_NET_F_MAC));
	cr_assert(f & F(VIRTIO_NET_F_STATUS));
	cr_assert(f & F(VIRTIO_NET_F_MRG_RXBUF));
	cr_assert(f & F(VIRTIO_NET_F_CSUM));
	cr_assert(f & F(VIRTIO_NET_F_GUEST_CSUM));
	cr_assert(f & F(VIRTIO_RING_F_EVENT_IDX));
	cr_assert_not(f & F(VIRTIO_NET_F_CTRL_VQ), "no control queue is implemented");
	cr_assert_not(f & F(VIRTIO_NET_F_MQ), "one queue pair only");
	/* MAC bytes 0-5, status (LINK_UP) at 6 */
	cr_assert_eq(reg_rd(VIRTIO_MMIO_CONFIG), 0x10ac0006);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_CONFIG + 4), 0x00010200);
	/* a read past the config space answers 0 */
	cr_assert_eq(reg_rd(VIRTIO_MMIO_CONFIG + 0x100), 0);
	/* no MAC configured: the guest picks one */
	n.has_mac = false;
	t.dev_features_sel = 0;
	cr_assert_not(reg_rd(VIRTIO_MMIO_DEVICE_FEATURES) & F(VIRTIO_NET_F_MAC));
}

/* ------------------------------------------------------------------------ */
/* receive                                                                  */

Test(net, rx_frames_into_buffers)
{
	uint16_t h0, h1;

	net_up(BASE);
	h0 = rx_buf(2048);
	h1 = rx_buf(2048);
	rx_buf(2048);
	tap_put(60, 0x10);
	tap_put(1500, 0x20);
	vnet_process_rx(&n);
	cr_assert_eq(used_idx(VNET_RXQ), 2);
	cr_assert_eq(used_id(VNET_RXQ, 0), h0);
	cr_assert_eq(used_len(VNET_RXQ, 0), HL + 60);
	cr_assert_eq(used_id(VNET_RXQ, 1), h1);
	cr_assert_eq(used_len(VNET_RXQ, 1), HL + 1500);
	expect_payload(rx_addr_of(h0) + HL, 60, 0x10, 0);
	expect_payload(rx_addr_of(h1) + HL, 1500, 0x20, 0);
	cr_assert_eq(n.stats.rx_packets, 2);
	cr_assert_eq(n.stats.rx_bytes, 1560);
	cr_assert_eq(n.stats.rx_dropped, 0);
	cr_assert(irq_raised(), "no used-buffer interrupt");
	cr_assert_eq(reg_rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	/* tap drained: polled again, nothing pending */
	cr_assert(n.tap_polled);
	cr_assert_eq(n.rx_len, 0);
	cr_assert_eq(tap_ready_in_loop(), 0);
	tap_put(10, 0);
	cr_assert_eq(tap_ready_in_loop(), 1, "tap not in the event loop");
}

/* virtio 1.2 §5.1.6.4.2: without VIRTIO_NET_F_MRG_RXBUF the device sets
 * num_buffers to 1 (the tap leaves those two bytes as they were or zero). */
Test(net, rx_num_buffers_is_1_without_mrg_rxbuf)
{
	uint16_t h;

	net_up(BASE);
	h = rx_buf(2048);
	tap_put(60, 0);
	vnet_process_rx(&n);
	cr_assert_eq(used_idx(VNET_RXQ), 1);
	cr_assert_eq(hdr_num_buffers(rx_addr_of(h)), 1, "num_buffers = 0x%x",
		     hdr_num_buffers(rx_addr_of(h)));
}

Test(net, rx_exhaustion_keeps_frame_and_stops_polling)
{
	uint16_t h0, h1, h2;

	net_up(BASE | F(VIRTIO_RING_F_EVENT_IDX));
	h0 = rx_buf(2048);
	tap_put(100, 0x01);
	tap_put(200, 0x02);
	tap_put(300, 0x03);
	vnet_process_rx(&n);
	cr_assert_eq(used_idx(VNET_RXQ), 1);
	cr_assert_eq(used_id(VNET_RXQ, 0), h0);
	cr_assert_eq(used_len(VNET_RXQ, 0), HL + 100);
	/* second frame held, tap out of the loop although it has data */
	cr_assert_eq(n.rx_len, HL + 200);
	cr_assert_not(n.tap_polled);
	cr_assert_eq(tap_ready_in_loop(), 0, "tap still polled with no buffers: busy loop");
	cr_assert_not(kicked(VNET_RXQ), "device re-kicked itself with no buffers");
	/* EVENT_IDX: the driver is asked to kick at its next buffer */
	cr_assert_eq(rd16(RXQ_USED + 4 + 8 * QSIZE), 1, "avail_event");
	cr_assert_eq(n.stats.rx_dropped, 0);
	cr_assert(irq_raised());

	/* the guest adds buffers and kicks */
	h1 = rx_buf(2048);
	h2 = rx_buf(2048);
	vmmio_kick(&t, VNET_RXQ);
	cr_assert_eq(used_idx(VNET_RXQ), 3);
	cr_assert_eq(used_id(VNET_RXQ, 1), h1);
	cr_assert_eq(used_len(VNET_RXQ, 1), HL + 200);
	expect_payload(rx_addr_of(h1) + HL, 200, 0x02, 0);
	cr_assert_eq(used_id(VNET_RXQ, 2), h2);
	cr_assert_eq(used_len(VNET_RXQ, 2), HL + 300);
	expect_payload(rx_addr_of(h2) + HL, 300, 0x03, 0);
	cr_assert(n.tap_polled, "tap not polled again once drained");
	cr_assert_eq(n.stats.rx_packets, 3);
	cr_assert_eq(n.stats.rx_dropped, 0);
}

Test(net, rx_kick_without_buffers_does_nothing)
{
	net_up(BASE);
	tap_put(100, 0);
	vnet_process_rx(&n);
	cr_assert_eq(used_idx(VNET_RXQ), 0);
	cr_assert_not(n.tap_polled);
	cr_assert_not(kicked(VNET_RXQ));
	vmmio_kick(&t, VNET_RXQ);
	cr_assert_eq(used_idx(VNET_RXQ), 0);
	cr_assert_eq(n.rx_len, HL + 100);
	cr_assert_not(irq_raised());
}

Test(net, rx_frame_bigger_than_chain_dropped_without_mrg)
{
	uint16_t h0, h1;

	net_up(BASE);
	h0 = rx_buf(100);
	h1 = rx_buf(2048);
	tap_put(200, 0x11); /* 212 bytes > 100 */
	tap_put(50, 0x22);
	vnet_process_rx(&n);
	cr_assert_eq(used_idx(VNET_RXQ), 2);
	cr_assert_eq(used_id(VNET_RXQ, 0), h0);
	cr_assert_eq(used_len(VNET_RXQ, 0), 0, "dropped frame's buffer returned with len 0");
	cr_assert_eq(used_id(VNET_RXQ, 1), h1);
	cr_assert_eq(used_len(VNET_RXQ, 1), HL + 50);
	expect_payload(rx_addr_of(h1) + HL, 50, 0x22, 0);
	cr_assert_eq(n.stats.rx_dropped, 1);
	cr_assert_eq(n.stats.rx_packets, 1);
	cr_assert_eq(n.stats.rx_bytes, 50);
}

Test(net, rx_frame_fills_chain_exactly_without_mrg)
{
	uint16_t h;

	net_up(BASE);
	/* two writable buffers in one chain: 12 + 88 = the frame */
	h = add_desc(VNET_RXQ, RXBUF, HL, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
	add_desc(VNET_RXQ, RXBUF + 0x1000, 88, VRING_DESC_F_WRITE);
	avail_add(VNET_RXQ, h);
	tap_put(88, 0x33);
	vnet_process_rx(&n);
	cr_assert_eq(used_idx(VNET_RXQ), 1);
	cr_assert_eq(used_len(VNET_RXQ, 0), HL + 88);
	expect_payload(RXBUF + 0x1000, 88, 0x33, 0);
	cr_assert_eq(n.stats.rx_dropped, 0);
}

Test(net, rx_runt_frame_dropped)
{
	uint8_t runt[5] = { 0 };
	uint16_t h;

	net_up(BASE);
	h = rx_buf(2048);
	cr_assert_eq(write(sv[1], runt, sizeof(runt)), 5);
	tap_put(40, 0x44);
	vnet_process_rx(&n);
	cr_assert_eq(n.stats.rx_dropped, 1);
	cr_assert_eq(used_idx(VNET_RXQ), 1);
	cr_assert_eq(used_len(VNET_RXQ, 0), HL + 40);
	expect_payload(rx_addr_of(h) + HL, 40, 0x44, 0);
}

Test(net, rx_mrg_across_several_chains)
{
	uint16_t h[4];

	net_up(MRG | F(VIRTIO_RING_F_EVENT_IDX));
	for (int i = 0; i < 4; i++)
		h[i] = rx_buf(128);
	tap_put(300, 0x50); /* 312 bytes: 128 + 128 + 56 */
	vnet_process_rx(&n);
	cr_assert_eq(used_idx(VNET_RXQ), 3);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(used_id(VNET_RXQ, i), h[i]);
	cr_assert_eq(used_len(VNET_RXQ, 0), 128);
	cr_assert_eq(used_len(VNET_RXQ, 1), 128);
	cr_assert_eq(used_len(VNET_RXQ, 2), 56);
	cr_assert_eq(hdr_num_buffers(rx_addr_of(h[0])), 3);
	expect_payload(rx_addr_of(h[0]) + HL, 116, 0x50, 0);
	expect_payload(rx_addr_of(h[1]), 128, 0x50, 116);
	expect_payload(rx_addr_of(h[2]), 56, 0x50, 244);
	cr_assert_eq(n.stats.rx_packets, 1);
	cr_assert_eq(n.stats.rx_bytes, 300);

	/* a small frame takes one buffer: num_buffers = 1 */
	tap_put(20, 0x60);
	vnet_process_rx(&n);
	cr_assert_eq(used_idx(VNET_RXQ), 4);
	cr_assert_eq(used_id(VNET_RXQ, 3), h[3]);
	cr_assert_eq(used_len(VNET_RXQ, 3), HL + 20);
	cr_assert_eq(hdr_num_buffers(rx_addr_of(h[3])), 1);
}

Test(net, rx_mrg_not_enough_buffers_unpops)
{
	uint16_t h[3];

	net_up(MRG | F(VIRTIO_RING_F_EVENT_IDX));
	h[0] = rx_buf(128);
	h[1] = rx_buf(128);
	tap_put(300, 0x70); /* needs 3 */
	vnet_process_rx(&n);
	cr_assert_eq(used_idx(VNET_RXQ), 0, "partial frame published");
	cr_assert_eq(t.vqs[VNET_RXQ].last_avail, 0, "chains not given back");
	cr_assert_eq(n.rx_len, HL + 300);
	cr_assert_not(n.tap_polled);
	cr_assert_eq(n.stats.rx_dropped, 0);
	/* Waiting for the guest: no busy loop (no self-kick), and the device
	 * must ask to be kicked when the guest adds the missing buffer. With
	 * EVENT_IDX that needs avail_event past the two buffers already seen
	 * (vring_need_event(avail_event, 3, 2) must be true). */
	cr_assert_not(kicked(VNET_RXQ), "device spins on a frame that does not fit yet");
	uint16_t ae = rd16(RXQ_USED + 4 + 8 * QSIZE);
	cr_assert(vring_need_event(ae, 3, 2), "avail_event %u: the guest's next buffer "
		  "would not be notified", ae);

	h[2] = rx_buf(128);
	vmmio_kick(&t, VNET_RXQ);
	cr_assert_eq(used_idx(VNET_RXQ), 3);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(used_id(VNET_RXQ, i), h[i]);
	cr_assert_eq(hdr_num_buffers(rx_addr_of(h[0])), 3);
	expect_payload(rx_addr_of(h[2]), 56, 0x70, 244);
	cr_assert(n.tap_polled);
}

Test(net, rx_broken_queue_needs_reset)
{
	net_up(BASE);
	wr16(RXQ_AVAIL + 2, 100); /* avail idx jumps by more than the queue size */
	tap_put(50, 0);
	vnet_process_rx(&n);
	cr_assert(t.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_not(n.tap_polled, "a broken queue must not keep the tap polled");
	cr_assert_eq(used_idx(VNET_RXQ), 0);
}

Test(net, rx_rate_limited_then_delivered)
{
	struct token_bucket_cfg ops = { .size = 1, .refill_time_ms = 3600 * 1000 };
	struct vnet_update off = { .rx_bw = &(struct token_bucket_cfg){ 0 },
				   .rx_ops = &(struct token_bucket_cfg){ 0 } };

	net_up(BASE);
	n.rx_timer = (struct el_handler){ timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK),
					  NULL, &n };
	cr_assert_geq(n.rx_timer.fd, 0);
	rl_init(&n.rx_rl, NULL, &ops, rl_now_ns());
	for (int i = 0; i < 3; i++)
		rx_buf(2048);
	tap_put(10, 1);
	tap_put(20, 2);
	vnet_process_rx(&n);
	cr_assert_eq(used_idx(VNET_RXQ), 1);
	cr_assert_eq(n.stats.rx_throttled, 1);
	cr_assert(n.rx_timer_armed);
	cr_assert_not(n.tap_polled, "throttled: the tap must not be polled");
	cr_assert_eq(n.rx_len, HL + 20);
	/* a kick while the timer runs changes nothing */
	vmmio_kick(&t, VNET_RXQ);
	cr_assert_eq(used_idx(VNET_RXQ), 1);
	/* limit lifted, timer "fired" */
	cr_assert_eq(vnet_update(&n, &off), 0);
	n.rx_timer_armed = false;
	vmmio_kick(&t, VNET_RXQ);
	cr_assert_eq(used_idx(VNET_RXQ), 2);
	cr_assert_eq(used_len(VNET_RXQ, 1), HL + 20);
	cr_assert(n.tap_polled);
}

Test(net, reset_stops_polling)
{
	net_up(BASE);
	cr_assert(n.tap_polled);
	vnet_ops.reset(&n);
	cr_assert_not(n.tap_polled);
	cr_assert_null(n.rxq);
	cr_assert_null(n.t);
	tap_put(10, 0);
	cr_assert_eq(tap_ready_in_loop(), 0);
	vnet_process_rx(&n); /* no queue: nothing happens */
	vnet_process_tx(&n);
}

/* ------------------------------------------------------------------------ */
/* transmit                                                                 */

static uint8_t *txb(unsigned i)
{
	return gm_ptr(&gm, TXBUF + 0x2000ULL * i, 0x2000);
}

/* Fill TX buffer @i with a zero header and payload (seed + k). */
static void tx_fill(unsigned i, size_t len, uint8_t seed)
{
	uint8_t *p = txb(i);

	memset(p, 0, HL);
	for (size_t k = 0; k < len; k++)
		p[HL + k] = (uint8_t)(seed + k);
}

static ssize_t tap_get(uint8_t *buf, size_t len)
{
	return recv(sv[1], buf, len, MSG_DONTWAIT | MSG_TRUNC);
}

Test(net, tx_frames_arrive_byte_exact)
{
	uint8_t got[4096];
	uint16_t h;

	net_up(BASE);
	/* header and frame in one buffer */
	tx_fill(0, 60, 0x30);
	h = add_desc(VNET_TXQ, TXBUF, HL + 60, 0);
	avail_add(VNET_TXQ, h);
	/* header and frame in separate buffers, frame split in two */
	tx_fill(1, 1000, 0x40);
	h = add_desc(VNET_TXQ, TXBUF + 0x2000, HL, VRING_DESC_F_NEXT);
	add_desc(VNET_TXQ, TXBUF + 0x2000 + HL, 400, VRING_DESC_F_NEXT);
	add_desc(VNET_TXQ, TXBUF + 0x2000 + HL + 400, 600, 0);
	avail_add(VNET_TXQ, h);
	vnet_process_tx(&n);
	cr_assert_eq(used_idx(VNET_TXQ), 2);
	cr_assert_eq(used_len(VNET_TXQ, 0), 0);
	cr_assert_eq(used_id(VNET_TXQ, 1), h);
	cr_assert_eq(used_len(VNET_TXQ, 1), 0);
	cr_assert_eq(tap_get(got, sizeof(got)), HL + 60);
	cr_assert_arr_eq(got, txb(0), HL + 60);
	cr_assert_eq(tap_get(got, sizeof(got)), HL + 1000);
	cr_assert_arr_eq(got, txb(1), HL + 1000);
	cr_assert_eq(tap_get(got, sizeof(got)), -1, "extra frame on the tap");
	cr_assert_eq(n.stats.tx_packets, 2);
	cr_assert_eq(n.stats.tx_bytes, 1060);
	cr_assert_eq(n.stats.tx_malformed, 0);
	cr_assert(irq_raised());
}

Test(net, tx_chain_shorter_than_header_malformed)
{
	uint8_t got[64];
	uint16_t h;

	net_up(BASE);
	tx_fill(0, 0, 0);
	h = add_desc(VNET_TXQ, TXBUF, HL - 1, 0);
	avail_add(VNET_TXQ, h);
	/* header split over two buffers, still 8 + 3 = 11 bytes */
	h = add_desc(VNET_TXQ, TXBUF, 8, VRING_DESC_F_NEXT);
	add_desc(VNET_TXQ, TXBUF + 8, 3, 0);
	avail_add(VNET_TXQ, h);
	vnet_process_tx(&n);
	cr_assert_eq(used_idx(VNET_TXQ), 2);
	cr_assert_eq(used_len(VNET_TXQ, 0), 0);
	cr_assert_eq(used_len(VNET_TXQ, 1), 0);
	cr_assert_eq(n.stats.tx_malformed, 2);
	cr_assert_eq(n.stats.tx_packets, 0);
	cr_assert_eq(tap_get(got, sizeof(got)), -1, "malformed frame reached the tap");
	cr_assert_not(t.status & VIRTIO_CONFIG_S_NEEDS_RESET, "a bad frame is not a broken queue");
}

Test(net, tx_header_only_frame_is_sent)
{
	uint8_t got[64];
	uint16_t h;

	net_up(BASE);
	tx_fill(0, 0, 0);
	h = add_desc(VNET_TXQ, TXBUF, HL, 0);
	avail_add(VNET_TXQ, h);
	vnet_process_tx(&n);
	cr_assert_eq(used_idx(VNET_TXQ), 1);
	cr_assert_eq(n.stats.tx_malformed, 0);
	cr_assert_eq(tap_get(got, sizeof(got)), HL);
}

Test(net, tx_writable_descriptor_malformed)
{
	uint8_t got[256];
	uint16_t h;

	net_up(BASE);
	tx_fill(0, 60, 0);
	h = add_desc(VNET_TXQ, TXBUF, HL + 60, VRING_DESC_F_NEXT);
	add_desc(VNET_TXQ, TXBUF + 0x1000, 16, VRING_DESC_F_WRITE);
	avail_add(VNET_TXQ, h);
	/* only writable */
	h = add_desc(VNET_TXQ, TXBUF, HL + 60, VRING_DESC_F_WRITE);
	avail_add(VNET_TXQ, h);
	/* then a good one: the queue keeps working */
	tx_fill(1, 30, 0x77);
	h = add_desc(VNET_TXQ, TXBUF + 0x2000, HL + 30, 0);
	avail_add(VNET_TXQ, h);
	vnet_process_tx(&n);
	cr_assert_eq(used_idx(VNET_TXQ), 3);
	cr_assert_eq(used_len(VNET_TXQ, 0), 0);
	cr_assert_eq(used_len(VNET_TXQ, 1), 0);
	cr_assert_eq(n.stats.tx_malformed, 2);
	cr_assert_eq(n.stats.tx_packets, 1);
	cr_assert_eq(tap_get(got, sizeof(got)), HL + 30);
	cr_assert_arr_eq(got, txb(1), HL + 30);
	cr_assert_eq(tap_get(got, sizeof(got)), -1);
}

Test(net, tx_oversized_frame_malformed)
{
	uint8_t got[64];
	uint16_t h;

	net_up(BASE);
	memset(gm_ptr(&gm, BIG, 0x20000), 0, 0x20000);
	/* 2 x 40000 readable bytes > VNET_MAX_FRAME */
	h = add_desc(VNET_TXQ, BIG, 40000, VRING_DESC_F_NEXT);
	add_desc(VNET_TXQ, BIG + 0x10000, 40000, 0);
	avail_add(VNET_TXQ, h);
	/* exactly VNET_MAX_FRAME is still fine */
	h = add_desc(VNET_TXQ, BIG, 0x10000, VRING_DESC_F_NEXT);
	add_desc(VNET_TXQ, BIG + 0x10000, VNET_MAX_FRAME - 0x10000, 0);
	avail_add(VNET_TXQ, h);
	vnet_process_tx(&n);
	cr_assert_eq(used_idx(VNET_TXQ), 2);
	cr_assert_eq(n.stats.tx_malformed, 1);
	cr_assert_eq(tap_get(got, sizeof(got)), VNET_MAX_FRAME);
	cr_assert_eq(tap_get(got, sizeof(got)), -1);
}

Test(net, tx_rate_limited_then_sent)
{
	struct token_bucket_cfg ops = { .size = 1, .refill_time_ms = 3600 * 1000 };
	struct vnet_update off = { .tx_bw = &(struct token_bucket_cfg){ 0 },
				   .tx_ops = &(struct token_bucket_cfg){ 0 } };
	uint8_t got[256];

	net_up(BASE);
	n.tx_timer = (struct el_handler){ timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK),
					  NULL, &n };
	cr_assert_geq(n.tx_timer.fd, 0);
	rl_init(&n.tx_rl, NULL, &ops, rl_now_ns());
	for (unsigned i = 0; i < 2; i++) {
		tx_fill(i, 40, (uint8_t)i);
		avail_add(VNET_TXQ, add_desc(VNET_TXQ, TXBUF + 0x2000ULL * i, HL + 40, 0));
	}
	vnet_process_tx(&n);
	cr_assert_eq(used_idx(VNET_TXQ), 1);
	cr_assert_eq(n.stats.tx_throttled, 1);
	cr_assert(n.tx_pending);
	cr_assert(n.tx_timer_armed);
	cr_assert_eq(tap_get(got, sizeof(got)), HL + 40);
	cr_assert_eq(tap_get(got, sizeof(got)), -1);
	cr_assert_eq(vnet_update(&n, &off), 0);
	n.tx_timer_armed = false;
	vmmio_kick(&t, VNET_TXQ);
	cr_assert_eq(used_idx(VNET_TXQ), 2);
	cr_assert_not(n.tx_pending);
	cr_assert_eq(tap_get(got, sizeof(got)), HL + 40);
	cr_assert_arr_eq(got, txb(1), HL + 40);
	cr_assert_eq(n.stats.tx_packets, 2);
}

Test(net, tx_tap_full_counts_drop)
{
	int small = 1;
	uint8_t got[4096];
	unsigned sent = 0;

	net_up(BASE);
	cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	for (unsigned i = 0; i < QSIZE; i++) {
		tx_fill(i % 8, 1500, 0);
		avail_add(VNET_TXQ, add_desc(VNET_TXQ, TXBUF + 0x2000ULL * (i % 8), HL + 1500, 0));
	}
	vnet_process_tx(&n);
	cr_assert_eq(used_idx(VNET_TXQ), QSIZE, "every chain returned");
	cr_assert_eq(n.stats.tx_packets + n.stats.tx_dropped, QSIZE);
	cr_assert_gt(n.stats.tx_dropped, 0, "a full tap must drop, not block");
	while (tap_get(got, sizeof(got)) > 0)
		sent++;
	cr_assert_eq(sent, n.stats.tx_packets);
}
