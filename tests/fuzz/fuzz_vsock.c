/* libFuzzer harness for virtio-vsock: the pure parsers (packet header,
 * CONNECT line) over the raw input, then the whole device — transport,
 * queues, muxer and real host Unix sockets — driven by an op stream that
 * plays a hostile guest and a host peer at once.
 *
 * Set-up (once): 1 MiB guest RAM, a transport from vmmio_init(kvm = NULL,
 * el = NULL), uds_path in a private temporary directory with a listener on
 * "<uds>_1" (guest port 1 connects there; every other port is refused).
 * Each input starts from a driver reset and a fresh DRIVER_OK.
 *
 * Op stream (byte op, then its operands):
 *   0 tx packet: flags byte (1 force valid CIDs, 2 split header/data over
 *     two descriptors, 4 stream type), 44 header bytes, u8 len, len bytes
 *   1 rx buffer: u16 length (≤ 4 KiB), then an rx kick
 *   2 raw descriptor: queue, slot, 16 raw descriptor bytes, then publish
 *     slot with a raw avail index delta and kick
 *   3 TRANSPORT_RESET; 4 event buffer of u8 length
 *   5 host peer: accept on "<uds>_1", write u8 bytes, maybe close
 *   6 host client: connect to uds, write a line of u8 bytes from input
 *   7 host events: every open connection's handler runs (as epoll would)
 *   8 timeout scan with time far in the future
 * Invariants (trap when broken): connection count ≤ cap and consistent
 * with the pool; the device never writes outside guest RAM (ASan). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
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
#include "vmm/guest_mem.h"
#include "vmm/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                           \
	do {                                                                               \
		if (!(c))                                                                  \
			__builtin_trap();                                                  \
	} while (0)

#define RAM (1u << 20)
#define QSIZE 16
#define CID 3
#define BUF 0x20000u

static struct guest_mem gm;
static struct vmmio t;
static struct vsock vs;
static char uds[108];
static int peer_listen = -1;
static int peers[8], npeers;
static int clients[8], nclients;
static uint16_t next_desc[3], avail_idx[3];
static bool ready;

static gpa_t desc_gpa(unsigned q) { return 0x1000 + q * 0x3000; }
static gpa_t avail_gpa(unsigned q) { return desc_gpa(q) + 0x1000; }
static gpa_t used_gpa(unsigned q) { return desc_gpa(q) + 0x2000; }

static void reg_wr(uint64_t off, uint32_t v) { vmmio_bus_ops.write(&t, off, (uint8_t *)&v, 4); }

static void wr16(gpa_t a, uint16_t v) { gm_write(&gm, a, &v, 2); }

static int init_once(void)
{
	char dir[] = "/tmp/fvm-fuzz-vsock-XXXXXX";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	log_set_level(LOG_ERROR);
	if (!mkdtemp(dir) || gm_init(&gm, RAM))
		return -1;
	snprintf(uds, sizeof(uds), "%s/v", dir);
	if (vsock_init(&vs, CID, uds, NULL) ||
	    vmmio_init(&t, &vsock_ops, &vs, &gm, NULL, NULL, 0xd0000000, 5))
		return -1;
	vs.tp = &t;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_1", uds);
	peer_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (bind(peer_listen, (struct sockaddr *)&sa, sizeof(sa)) || listen(peer_listen, 64))
		return -1;
	return 0;
}

static void start_device(void)
{
	reg_wr(VIRTIO_MMIO_STATUS, 0);
	memset(gm_ptr(&gm, 0, 0x10000), 0, 0x10000);
	memset(next_desc, 0, sizeof(next_desc));
	memset(avail_idx, 0, sizeof(avail_idx));
	reg_wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	reg_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
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
}

static void put_desc(unsigned q, uint16_t d, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	gpa_t a = desc_gpa(q) + 16u * (d % QSIZE);

	gm_write(&gm, a, &addr, 8);
	gm_write(&gm, a + 8, &len, 4);
	wr16(a + 12, flags);
	wr16(a + 14, next);
}

static void publish(unsigned q, uint16_t head, uint16_t delta)
{
	wr16(avail_gpa(q) + 4 + 2 * (avail_idx[q] % QSIZE), head);
	avail_idx[q] = (uint16_t)(avail_idx[q] + delta);
	wr16(avail_gpa(q) + 2, avail_idx[q]);
	vmmio_kick(&t, q);
}

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static size_t take(struct in *in, uint8_t *dst, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	memcpy(dst, in->p, k);
	memset(dst + k, 0, len - k);
	in->p += k;
	in->n -= k;
	return k;
}

static void op_tx(struct in *in)
{
	uint8_t flags = u8(in), raw[VSOCK_HDR_LEN], payload[256];
	uint8_t len;
	gpa_t a = BUF + 0x10000u + (next_desc[1] % QSIZE) * 0x400u;
	uint16_t d = next_desc[1];

	take(in, raw, sizeof(raw));
	len = u8(in);
	take(in, payload, len);
	if (flags & 1) {
		uint64_t src = CID, dst = 2;

		memcpy(raw, &src, 8);
		memcpy(raw + 8, &dst, 8);
	}
	if (flags & 4) {
		uint16_t type = VIRTIO_VSOCK_TYPE_STREAM;

		memcpy(raw + 28, &type, 2);
	}
	gm_write(&gm, a, raw, sizeof(raw));
	gm_write(&gm, a + VSOCK_HDR_LEN, payload, len);
	if (flags & 2) {
		put_desc(1, d, a, VSOCK_HDR_LEN, VRING_DESC_F_NEXT, (uint16_t)((d + 1) % QSIZE));
		put_desc(1, (uint16_t)(d + 1), a + VSOCK_HDR_LEN, len, 0, 0);
		next_desc[1] = (uint16_t)(d + 2);
	} else {
		put_desc(1, d, a, VSOCK_HDR_LEN + len, 0, 0);
		next_desc[1] = (uint16_t)(d + 1);
	}
	publish(1, d % QSIZE, 1);
}

static void host_events(void)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &vs.pool[i];

		if (c->state != VC_FREE && c->h.fd >= 0)
			c->h.cb(&c->h, EPOLLIN | EPOLLOUT);
	}
	vs.listen_h.cb(&vs.listen_h, EPOLLIN);
}

static int expire_all(void *dev, void *arg)
{
	(void)arg;
	vsock_conns_expire(dev, UINT64_MAX / 2);
	vsock_process_rx(dev);
	return 0;
}

static void check(void)
{
	unsigned used = 0;

	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		used += vs.pool[i].state != VC_FREE;
	CHECK(used == vs.nconns);
	CHECK(vs.nconns <= VSOCK_MAX_CONNS);
	CHECK(vs.rst_len <= VSOCK_RST_RING);
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		const struct vsock_conn *c = &vs.pool[i];

		if (c->state == VC_FREE)
			continue;
		CHECK(c->buf_len <= VSOCK_CONN_BUF);
		CHECK(c->cr.rx_cnt - c->cr.fwd_cnt == c->buf_len || c->h.fd < 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct vsock_pkt p;
	uint32_t port;

	if (!ready) {
		if (init_once())
			abort();
		ready = true;
	}
	/* The pure parsers over the raw input. */
	if (size >= VSOCK_HDR_LEN)
		vsock_pkt_parse(data, size, CID, &p);
	vsock_parse_connect((const char *)data, size, &port);

	start_device();
	for (unsigned steps = 0; in.n && steps < 64; steps++) {
		uint8_t op = u8(&in) % 9;

		switch (op) {
		case 0:
			op_tx(&in);
			break;
		case 1: {
			uint16_t len = (uint16_t)((u8(&in) | u8(&in) << 8) % 0x1001);
			uint16_t d = next_desc[0]++;

			put_desc(0, d, BUF + (d % QSIZE) * 0x1000u, len, VRING_DESC_F_WRITE, 0);
			publish(0, d % QSIZE, 1);
			break;
		}
		case 2: {
			uint8_t q = u8(&in) % 3, slot = u8(&in) % QSIZE, raw[16], delta;

			take(&in, raw, sizeof(raw));
			gm_write(&gm, desc_gpa(q) + 16u * slot, raw, sizeof(raw));
			delta = u8(&in);
			publish(q, slot, delta ? delta : 1);
			break;
		}
		case 3:
			vmmio_locked_call(&t, vsock_transport_reset, NULL);
			break;
		case 4: {
			uint16_t d = next_desc[2]++;

			put_desc(2, d, BUF + 0x18000u + (d % QSIZE) * 16u, u8(&in) % 17,
				 VRING_DESC_F_WRITE, 0);
			publish(2, d % QSIZE, 1);
			break;
		}
		case 5: {
			uint8_t buf[256], n = u8(&in);
			int fd = accept4(peer_listen, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

			take(&in, buf, n);
			if (fd < 0 && npeers)
				fd = peers[--npeers];
			if (fd < 0)
				break;
			if (send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			}
			if ((n & 1) || npeers == 8)
				close(fd);
			else
				peers[npeers++] = fd;
			break;
		}
		case 6: {
			struct sockaddr_un sa = { .sun_family = AF_UNIX };
			uint8_t buf[64], n = u8(&in) % 64;
			int fd;

			take(&in, buf, n);
			if (nclients == 8) {
				close(clients[--nclients]);
				break;
			}
			snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", uds);
			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
				close(fd);
				break;
			}
			vs.listen_h.cb(&vs.listen_h, EPOLLIN);
			if (send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			}
			clients[nclients++] = fd;
			break;
		}
		case 7:
			host_events();
			break;
		case 8:
			vmmio_locked_call(&t, expire_all, NULL);
			break;
		}
		check();
	}
	/* Everything closes with the driver reset at the next input; peers
	 * and clients too, so descriptors do not pile up. */
	while (npeers)
		close(peers[--npeers]);
	while (nclients)
		close(clients[--nclients]);
	reg_wr(VIRTIO_MMIO_STATUS, 0);
	check();
	CHECK(vs.nconns == 0);
	return 0;
}
