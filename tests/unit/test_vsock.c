/* Unit tests for the virtio-vsock device and its connection muxer: a real
 * transport from vmmio_init(kvm = NULL) on a gm_init() guest memory, driven
 * to DRIVER_OK through its registers; split rings written by hand; the
 * host side through real Unix sockets in a temporary directory and a real
 * event loop pumped with epoll_wait(timeout 0). Covers both connection
 * directions, credit in both directions, RSTs for hostile packets,
 * half-open timeouts, device reset and TRANSPORT_RESET. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "virtio/mmio.h"
#include "virtio/vsock.h"
#include "virtio/vsock_conn.h"
#include "vmm/event_loop.h"
#include "vmm/guest_mem.h"
#include "vmm/util.h"

#define RAM MIB(2)
#define QSIZE 16
#define CID 3
#define RXBUF 0x20000ULL /* + 0x1000 per buffer */
#define TXBUF 0x40000ULL
#define EVBUF 0x60000ULL
#define BIGBUF 0x80000ULL /* 0x20000 bytes */

static struct guest_mem gm;
static struct vmmio t;
static struct vsock vs;
static struct event_loop el;
static char dir[64], uds[96];
static uint16_t next_desc[3], avail_idx[3], used_seen[3];

static gpa_t desc_gpa(unsigned q) { return 0x1000 + q * 0x3000; }
static gpa_t avail_gpa(unsigned q) { return desc_gpa(q) + 0x1000; }
static gpa_t used_gpa(unsigned q) { return desc_gpa(q) + 0x2000; }

static void wr16(gpa_t a, uint16_t v) { cr_assert_eq(gm_write(&gm, a, &v, 2), 0); }
static uint16_t rd16(gpa_t a) { uint16_t v; cr_assert_eq(gm_read(&gm, &v, a, 2), 0); return v; }
static uint32_t rd32(gpa_t a) { uint32_t v; cr_assert_eq(gm_read(&gm, &v, a, 4), 0); return v; }

static void reg_wr(uint64_t off, uint32_t v) { vmmio_bus_ops.write(&t, off, (uint8_t *)&v, 4); }
static uint32_t reg_rd(uint64_t off)
{
	uint32_t v;

	vmmio_bus_ops.read(&t, off, (uint8_t *)&v, 4);
	return v;
}

static void pump(void)
{
	struct epoll_event evs[32];
	int n;

	for (int round = 0; round < 20; round++) {
		n = epoll_wait(el.epfd, evs, 32, 0);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			struct el_handler *h = evs[i].data.ptr;

			h->cb(h, evs[i].events);
		}
	}
}

/* One-descriptor chain on queue @q, published and kicked. */
static void add_buf(unsigned q, gpa_t addr, uint32_t len, bool write)
{
	uint16_t d = next_desc[q]++ % QSIZE;
	gpa_t da = desc_gpa(q) + 16u * d;
	uint16_t flags = write ? VRING_DESC_F_WRITE : 0;

	cr_assert_eq(gm_write(&gm, da, &addr, 8), 0);
	cr_assert_eq(gm_write(&gm, da + 8, &len, 4), 0);
	wr16(da + 12, flags);
	wr16(da + 14, 0);
	wr16(avail_gpa(q) + 4 + 2 * (avail_idx[q] % QSIZE), d);
	avail_idx[q]++;
	wr16(avail_gpa(q) + 2, avail_idx[q]);
	vmmio_kick(&t, q);
}

static void post_rx(unsigned n)
{
	static unsigned k;

	for (unsigned i = 0; i < n; i++, k++)
		add_buf(VSOCK_RXQ, RXBUF + (k % QSIZE) * 0x1000, 0x1000, true);
}

/* Guest transmits a packet. */
static void guest_send(uint64_t src_cid, uint32_t src_port, uint32_t dst_port, uint16_t op,
		       uint32_t flags, const void *data, uint32_t len, uint32_t buf_alloc,
		       uint32_t fwd_cnt)
{
	static unsigned k;
	struct vsock_pkt p = { .src_cid = src_cid, .dst_cid = 2, .src_port = src_port,
			       .dst_port = dst_port, .len = len,
			       .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op, .flags = flags,
			       .buf_alloc = buf_alloc, .fwd_cnt = fwd_cnt };
	uint8_t raw[VSOCK_HDR_LEN];
	gpa_t a = len > 0x1000 - VSOCK_HDR_LEN ? BIGBUF : TXBUF + (k++ % QSIZE) * 0x1000;

	vsock_pkt_encode(&p, raw);
	cr_assert_eq(gm_write(&gm, a, raw, sizeof(raw)), 0);
	if (len)
		cr_assert_eq(gm_write(&gm, a + VSOCK_HDR_LEN, data, len), 0);
	add_buf(VSOCK_TXQ, a, VSOCK_HDR_LEN + len, false);
}

#define GPORT 1234
static void gsend(uint32_t dst_port, uint16_t op, const void *data, uint32_t len)
{
	guest_send(CID, GPORT, dst_port, op, 0, data, len, 4096, 0);
}

/* Next used receive buffer as a packet (+ payload into @data). */
static bool guest_recv(struct vsock_pkt *p, void *data, uint32_t max)
{
	gpa_t used = used_gpa(VSOCK_RXQ);
	uint8_t raw[VSOCK_HDR_LEN];
	uint32_t id, len;

	if (rd16(used + 2) == used_seen[VSOCK_RXQ])
		return false;
	id = rd32(used + 4 + 8 * (used_seen[VSOCK_RXQ] % QSIZE));
	len = rd32(used + 8 + 8 * (used_seen[VSOCK_RXQ] % QSIZE));
	used_seen[VSOCK_RXQ]++;
	{
		gpa_t addr;

		cr_assert_eq(gm_read(&gm, &addr, desc_gpa(VSOCK_RXQ) + 16 * id, 8), 0);
		cr_assert_geq(len, VSOCK_HDR_LEN);
		cr_assert_eq(gm_read(&gm, raw, addr, sizeof(raw)), 0);
		/* parse as the guest would: swap roles for the CID check */
		memset(p, 0, sizeof(*p));
		memcpy(&p->src_cid, raw, 8);
		memcpy(&p->dst_cid, raw + 8, 8);
		memcpy(&p->src_port, raw + 16, 4);
		memcpy(&p->dst_port, raw + 20, 4);
		memcpy(&p->len, raw + 24, 4);
		memcpy(&p->type, raw + 28, 2);
		memcpy(&p->op, raw + 30, 2);
		memcpy(&p->flags, raw + 32, 4);
		memcpy(&p->buf_alloc, raw + 36, 4);
		memcpy(&p->fwd_cnt, raw + 40, 4);
		cr_assert_eq(len, VSOCK_HDR_LEN + p->len);
		cr_assert_leq(p->len, max);
		if (p->len)
			cr_assert_eq(gm_read(&gm, data, addr + VSOCK_HDR_LEN, p->len), 0);
	}
	cr_assert_eq(p->src_cid, 2);
	cr_assert_eq(p->dst_cid, CID);
	cr_assert_eq(p->type, VIRTIO_VSOCK_TYPE_STREAM);
	return true;
}

static void expect_pkt(uint16_t op, struct vsock_pkt *p)
{
	uint8_t data[0x1000];

	cr_assert(guest_recv(p, data, sizeof(data)), "no packet, expected op %u", op);
	cr_assert_eq(p->op, op, "op %u, expected %u", p->op, op);
}

static void expect_none(void)
{
	struct vsock_pkt p;
	uint8_t data[0x1000];

	cr_assert_not(guest_recv(&p, data, sizeof(data)), "unexpected packet op %u", p.op);
}

static void setup(void)
{
	cr_assert_eq(gm_init(&gm, RAM), 0);
	cr_assert_eq(el_init(&el), 0);
	snprintf(dir, sizeof(dir), "/tmp/fvm-vsock-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	cr_assert_eq(vsock_init(&vs, CID, uds, &el), 0);
	cr_assert_eq(vmmio_init(&t, &vsock_ops, &vs, &gm, NULL, &el, 0xd0000000, 5), 0);
	vs.tp = &t;
	memset(next_desc, 0, sizeof(next_desc));
	memset(avail_idx, 0, sizeof(avail_idx));
	memset(used_seen, 0, sizeof(used_seen));
	/* §3.1.1 through the registers */
	reg_wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	reg_wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	reg_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_wr(VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	reg_wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				   VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned q = 0; q < 3; q++) {
		reg_wr(VIRTIO_MMIO_QUEUE_SEL, q);
		reg_wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		reg_wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc_gpa(q));
		reg_wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail_gpa(q));
		reg_wr(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used_gpa(q));
		reg_wr(VIRTIO_MMIO_QUEUE_READY, 1);
	}
	reg_wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				   VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert(vs.active);
}

static void teardown(void)
{
	vmmio_destroy(&t);
	vsock_destroy(&vs);
	el_destroy(&el);
	gm_destroy(&gm);
	rmdir(dir);
}

TestSuite(vsock, .init = setup, .fini = teardown);

static int client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", uds);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Bytes readable on @fd now (non-blocking), -1 on EOF. */
static ssize_t try_read(int fd, void *buf, size_t len)
{
	ssize_t r = recv(fd, buf, len, MSG_DONTWAIT);

	if (r == 0 || (r < 0 && errno == ECONNRESET))
		return -1; /* closed (with unread data: reset) */
	return r < 0 ? 0 : r;
}

/* host client → guest port 5000, accepted; returns client fd, *hport. */
static int host_connect(uint32_t *hport, uint32_t guest_buf)
{
	struct vsock_pkt p;
	char line[32] = { 0 };
	int fd = client();

	pump(); /* accept */
	cr_assert_eq(write(fd, "CONNECT 5000\n", 13), 13);
	pump();
	expect_pkt(VIRTIO_VSOCK_OP_REQUEST, &p);
	cr_assert_eq(p.dst_port, 5000);
	cr_assert_geq(p.src_port, VSOCK_HOST_PORT_BASE);
	cr_assert_eq(p.buf_alloc, VSOCK_CONN_BUF);
	*hport = p.src_port;
	guest_send(CID, 5000, p.src_port, VIRTIO_VSOCK_OP_RESPONSE, 0, NULL, 0, guest_buf, 0);
	pump();
	cr_assert_gt(try_read(fd, line, sizeof(line) - 1), 0);
	char want[32];
	snprintf(want, sizeof(want), "OK %u\n", *hport);
	cr_assert_str_eq(line, want);
	return fd;
}

Test(vsock, config_space)
{
	cr_assert_eq(reg_rd(VIRTIO_MMIO_DEVICE_ID), 19);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_CONFIG), CID);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_CONFIG + 4), 0);
}

Test(vsock, host_to_guest_data_and_credit)
{
	uint8_t buf[0x1000];
	struct vsock_pkt p;
	uint32_t hport;
	int fd;

	post_rx(QSIZE);
	fd = host_connect(&hport, 8); /* the guest has room for 8 bytes */
	cr_assert_eq(write(fd, "0123456789abcdef", 16), 16);
	pump();
	cr_assert(guest_recv(&p, buf, sizeof(buf)));
	cr_assert_eq(p.op, VIRTIO_VSOCK_OP_RW);
	cr_assert_eq(p.len, 8, "only the guest's credit is read");
	cr_assert_eq(memcmp(buf, "01234567", 8), 0);
	/* credit exhausted: the device asks once, then waits */
	expect_pkt(VIRTIO_VSOCK_OP_CREDIT_REQUEST, &p);
	pump();
	expect_none();
	guest_send(CID, 5000, hport, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0, 8, 8);
	pump();
	cr_assert(guest_recv(&p, buf, sizeof(buf)));
	cr_assert_eq(p.op, VIRTIO_VSOCK_OP_RW);
	cr_assert_eq(memcmp(buf, "89abcdef", 8), 0);
	expect_pkt(VIRTIO_VSOCK_OP_CREDIT_REQUEST, &p); /* exhausted again */

	/* guest → host on the same connection, fwd_cnt advertised */
	guest_send(CID, 5000, hport, VIRTIO_VSOCK_OP_RW, 0, "pong", 4, 64, 16);
	pump();
	cr_assert_eq(try_read(fd, buf, sizeof(buf)), 4);
	cr_assert_eq(memcmp(buf, "pong", 4), 0);
	cr_assert_eq(vs.stats.tx_bytes, 4);
	cr_assert_eq(vs.stats.rx_bytes, 16);

	/* host closes: SHUTDOWN(SEND) to the guest; guest shuts down fully:
	 * the device finishes with an RST */
	shutdown(fd, SHUT_WR);
	pump();
	expect_pkt(VIRTIO_VSOCK_OP_SHUTDOWN, &p);
	cr_assert_eq(p.flags, VIRTIO_VSOCK_SHUTDOWN_SEND);
	guest_send(CID, 5000, hport, VIRTIO_VSOCK_OP_SHUTDOWN,
		   VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0, 64, 16);
	pump();
	expect_pkt(VIRTIO_VSOCK_OP_RST, &p);
	cr_assert_eq(try_read(fd, buf, sizeof(buf)), -1, "client sees EOF");
	cr_assert_eq(vs.nconns, 0);
	close(fd);
}

Test(vsock, host_to_guest_refused_and_bad_lines)
{
	struct vsock_pkt p;
	char buf[64];
	int fd;

	post_rx(QSIZE);
	/* no listener in the guest: RST → the client is closed, no OK */
	fd = client();
	pump();
	cr_assert_eq(write(fd, "connect 77\n", 11), 11);
	pump();
	expect_pkt(VIRTIO_VSOCK_OP_REQUEST, &p);
	guest_send(CID, 77, p.src_port, VIRTIO_VSOCK_OP_RST, 0, NULL, 0, 0, 0);
	pump();
	cr_assert_eq(try_read(fd, buf, sizeof(buf)), -1);
	close(fd);

	/* bad lines close the client without a REQUEST */
	static const char *const bad[] = { "CONNECT x\n", "HELLO 5\n", "CONNECT 99999999999\n",
					   "CONNECT 1111111111111111111111111111111" };
	for (unsigned i = 0; i < 4; i++) {
		fd = client();
		pump();
		cr_assert_eq(write(fd, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
		pump();
		cr_assert_eq(try_read(fd, buf, sizeof(buf)), -1, "%s", bad[i]);
		close(fd);
	}
	expect_none();
	cr_assert_eq(vs.stats.bad_connect_lines, 4);
	cr_assert_eq(vs.nconns, 0);

	/* a line split across writes, with data after it */
	fd = client();
	pump();
	cr_assert_eq(write(fd, "CONN", 4), 4);
	pump();
	expect_none();
	cr_assert_eq(write(fd, "ECT 9\nearly", 11), 11);
	pump();
	expect_pkt(VIRTIO_VSOCK_OP_REQUEST, &p);
	guest_send(CID, 9, p.src_port, VIRTIO_VSOCK_OP_RESPONSE, 0, NULL, 0, 4096, 0);
	pump();
	uint8_t data[0x1000];
	cr_assert(guest_recv(&p, data, sizeof(data)));
	cr_assert_eq(p.op, VIRTIO_VSOCK_OP_RW);
	cr_assert_eq(p.len, 5);
	cr_assert_eq(memcmp(data, "early", 5), 0, "bytes after the line reach the guest");
	close(fd);
}

Test(vsock, half_open_timeouts)
{
	struct vsock_pkt p;
	char buf[16];
	int a, b;

	post_rx(QSIZE);
	vs.line_timeout_ms = 1;
	vs.req_timeout_ms = 1;
	a = client(); /* never sends a line */
	b = client();
	pump();
	cr_assert_eq(write(b, "CONNECT 5\n", 10), 10);
	pump();
	expect_pkt(VIRTIO_VSOCK_OP_REQUEST, &p); /* never answered */
	cr_assert_eq(vs.nconns, 2);
	usleep(5000);
	cr_assert_not(vsock_conns_expire(&vs, vsock_now_ns()));
	vsock_process_rx(&vs);
	expect_pkt(VIRTIO_VSOCK_OP_RST, &p); /* the guest forgets the REQUEST */
	cr_assert_eq(try_read(a, buf, sizeof(buf)), -1);
	cr_assert_eq(try_read(b, buf, sizeof(buf)), -1);
	cr_assert_eq(vs.stats.timeouts, 2);
	cr_assert_eq(vs.nconns, 0);
	close(a);
	close(b);
}

static int listen_at(uint32_t port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", uds, port);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 4), 0);
	return fd;
}

Test(vsock, guest_to_host)
{
	struct vsock_pkt p;
	char path[128], buf[64];
	int l = listen_at(6000), s;

	post_rx(QSIZE);
	gsend(6000, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	expect_pkt(VIRTIO_VSOCK_OP_RESPONSE, &p);
	cr_assert_eq(p.src_port, 6000);
	cr_assert_eq(p.dst_port, GPORT);
	s = accept(l, NULL, NULL);
	cr_assert_geq(s, 0);
	gsend(6000, VIRTIO_VSOCK_OP_RW, "hi host", 7);
	cr_assert_eq(read(s, buf, sizeof(buf)), 7);
	cr_assert_eq(write(s, "hi guest", 8), 8);
	pump();
	uint8_t data[0x1000];
	cr_assert(guest_recv(&p, data, sizeof(data)));
	cr_assert_eq(p.op, VIRTIO_VSOCK_OP_RW);
	cr_assert_eq(memcmp(data, "hi guest", 8), 0);
	cr_assert_eq(p.fwd_cnt, 7, "our fwd_cnt counts bytes written to the host");

	/* nobody listens on 6001: RST */
	guest_send(CID, GPORT + 1, 6001, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0, 4096, 0);
	expect_pkt(VIRTIO_VSOCK_OP_RST, &p);
	cr_assert_eq(p.src_port, 6001);
	cr_assert_eq(p.dst_port, GPORT + 1);
	cr_assert_eq(vs.stats.conns_refused, 1);

	/* guest RST closes the host socket */
	gsend(6000, VIRTIO_VSOCK_OP_RST, NULL, 0);
	cr_assert_eq(read(s, buf, sizeof(buf)), 0);
	cr_assert_eq(vs.nconns, 0);
	close(s);
	close(l);
	snprintf(path, sizeof(path), "%s_6000", uds);
	unlink(path);
}

Test(vsock, guest_beyond_credit_is_reset)
{
	static uint8_t big[0x1000];
	struct vsock_pkt p;
	char path[128];
	int l = listen_at(6000), s;

	post_rx(QSIZE);
	gsend(6000, VIRTIO_VSOCK_OP_REQUEST, NULL, 0);
	expect_pkt(VIRTIO_VSOCK_OP_RESPONSE, &p);
	s = accept(l, NULL, NULL);
	/* the host never reads: the guest may fill VSOCK_CONN_BUF plus what
	 * the socket buffer takes, never more */
	int sz = 4096;
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	unsigned sent = 0;
	while (vs.nconns && sent < 64 * 1024 * 1024) {
		gsend(6000, VIRTIO_VSOCK_OP_RW, big, sizeof(big) - VSOCK_HDR_LEN);
		sent += sizeof(big) - VSOCK_HDR_LEN;
	}
	cr_assert_eq(vs.nconns, 0, "a guest ignoring credit is reset");
	cr_assert_eq(vs.stats.credit_violations, 1);
	/* the RST came after any credit updates */
	bool rst = false;
	uint8_t data[0x1000];
	while (guest_recv(&p, data, sizeof(data)))
		rst |= p.op == VIRTIO_VSOCK_OP_RST;
	cr_assert(rst);
	close(s);
	close(l);
	snprintf(path, sizeof(path), "%s_6000", uds);
	unlink(path);
}

Test(vsock, hostile_packets)
{
	struct vsock_pkt p;

	post_rx(QSIZE);
	/* wrong source CID, wrong destination: dropped silently */
	guest_send(CID + 1, GPORT, 5, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0, 0, 0);
	guest_send(2, GPORT, 5, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0, 0, 0);
	expect_none();
	cr_assert_eq(vs.stats.tx_malformed, 2);
	/* unknown op, wrong type, len beyond the buffer: RST */
	gsend(5, 99, NULL, 0);
	expect_pkt(VIRTIO_VSOCK_OP_RST, &p);
	cr_assert_eq(p.dst_port, GPORT);
	struct vsock_pkt bad = { .src_cid = CID, .dst_cid = 2, .src_port = GPORT, .dst_port = 5,
				 .len = 100, .type = VIRTIO_VSOCK_TYPE_STREAM,
				 .op = VIRTIO_VSOCK_OP_RW };
	uint8_t raw[VSOCK_HDR_LEN];
	vsock_pkt_encode(&bad, raw);
	cr_assert_eq(gm_write(&gm, TXBUF, raw, sizeof(raw)), 0);
	add_buf(VSOCK_TXQ, TXBUF, VSOCK_HDR_LEN + 10, false);
	expect_pkt(VIRTIO_VSOCK_OP_RST, &p);
	/* a writable transmit buffer, a short one */
	add_buf(VSOCK_TXQ, TXBUF, 0x1000, true);
	add_buf(VSOCK_TXQ, TXBUF, 10, false);
	/* packets on no connection: RST, except RST */
	gsend(5, VIRTIO_VSOCK_OP_RW, "x", 1);
	expect_pkt(VIRTIO_VSOCK_OP_RST, &p);
	gsend(5, VIRTIO_VSOCK_OP_RST, NULL, 0);
	gsend(5, VIRTIO_VSOCK_OP_RESPONSE, NULL, 0);
	expect_pkt(VIRTIO_VSOCK_OP_RST, &p);
	expect_none();
	cr_assert_eq(vs.stats.tx_malformed, 6);
	/* a receive buffer too small for a header is returned unused */
	add_buf(VSOCK_RXQ, RXBUF, 8, true);
	cr_assert_eq(reg_rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	/* a broken ring sets DEVICE_NEEDS_RESET, not a crash */
	wr16(avail_gpa(VSOCK_TXQ) + 2, (uint16_t)(avail_idx[VSOCK_TXQ] + 1000));
	vmmio_kick(&t, VSOCK_TXQ);
	cr_assert_neq(reg_rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
}

Test(vsock, transport_reset_event_and_device_reset)
{
	struct vsock_pkt p;
	char buf[16];
	uint32_t hport;
	int fd;

	post_rx(QSIZE);
	fd = host_connect(&hport, 4096);
	cr_assert_eq(vs.nconns, 1);
	/* no event buffer yet: pending until the guest adds one */
	cr_assert_eq(vmmio_locked_call(&t, vsock_transport_reset, NULL), 0);
	cr_assert_eq(vs.nconns, 0);
	cr_assert_eq(try_read(fd, buf, sizeof(buf)), -1, "connections dropped");
	close(fd);
	cr_assert(vs.event_pending);
	cr_assert_eq(rd16(used_gpa(VSOCK_EVQ) + 2), 0);
	add_buf(VSOCK_EVQ, EVBUF, 8, true);
	cr_assert_eq(rd16(used_gpa(VSOCK_EVQ) + 2), 1);
	cr_assert_eq(rd32(used_gpa(VSOCK_EVQ) + 8), 4, "used length = sizeof(event)");
	cr_assert_eq(rd32(EVBUF), VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	cr_assert_not(vs.event_pending);
	/* with a buffer already there it is delivered at once */
	add_buf(VSOCK_EVQ, EVBUF + 8, 8, true);
	cr_assert_eq(vmmio_locked_call(&t, vsock_transport_reset, NULL), 0);
	cr_assert_eq(rd16(used_gpa(VSOCK_EVQ) + 2), 2);

	/* driver reset closes connections too; the listener stays */
	fd = host_connect(&hport, 4096);
	reg_wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_not(vs.active);
	cr_assert_eq(vs.nconns, 0);
	cr_assert_eq(try_read(fd, buf, sizeof(buf)), -1);
	close(fd);
	fd = client();
	pump();
	cr_assert_eq(vs.nconns, 1, "still accepting after a reset");
	close(fd);
	pump();
	(void)p;
}

Test(vsock, stale_and_live_uds_path)
{
	struct vsock other;

	/* uds is live (ours): a second device must refuse it */
	cr_assert_eq(vsock_init(&other, CID, uds, NULL), -EADDRINUSE);
	vsock_destroy(&other);
	cr_assert_eq(access(uds, F_OK), 0, "the live socket is left alone");
	/* a non-socket file is refused */
	char path[128];
	snprintf(path, sizeof(path), "%s/file", dir);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	cr_assert_eq(vsock_init(&other, CID, path, NULL), -EEXIST);
	vsock_destroy(&other);
	unlink(path);
	/* a stale socket file is replaced */
	snprintf(path, sizeof(path), "%s/stale", dir);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	cr_assert_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	cr_assert_eq(vsock_init(&other, CID, path, NULL), 0);
	vsock_destroy(&other);
	cr_assert_neq(access(path, F_OK), 0, "removed at destroy");
}
