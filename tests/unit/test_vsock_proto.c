/* Unit tests for the pure parts of virtio-vsock (vsock_proto.c): the
 * packet header parser with every hostile case, the header encoder, the
 * CONNECT line parser and credit arithmetic (virtio 1.2 §5.10.6). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "virtio/vsock.h"

#define CID 3

static void hdr(uint8_t raw[VSOCK_HDR_LEN], uint64_t src, uint64_t dst, uint32_t len,
		uint16_t type, uint16_t op)
{
	struct vsock_pkt p = { .src_cid = src, .dst_cid = dst, .src_port = 1234,
			       .dst_port = 5678, .len = len, .type = type, .op = op,
			       .flags = 0, .buf_alloc = 4096, .fwd_cnt = 17 };

	vsock_pkt_encode(&p, raw);
}

Test(vsock_proto, valid_packets_roundtrip)
{
	static const uint16_t ops[] = { VIRTIO_VSOCK_OP_REQUEST, VIRTIO_VSOCK_OP_RESPONSE,
					VIRTIO_VSOCK_OP_RST, VIRTIO_VSOCK_OP_SHUTDOWN,
					VIRTIO_VSOCK_OP_CREDIT_UPDATE,
					VIRTIO_VSOCK_OP_CREDIT_REQUEST };
	uint8_t raw[VSOCK_HDR_LEN];
	struct vsock_pkt p;

	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		hdr(raw, CID, 2, 0, VIRTIO_VSOCK_TYPE_STREAM, ops[i]);
		cr_assert_eq(vsock_pkt_parse(raw, VSOCK_HDR_LEN, CID, &p), VSOCK_PKT_OK);
		cr_assert_eq(p.op, ops[i]);
		cr_assert_eq(p.src_port, 1234);
		cr_assert_eq(p.dst_port, 5678);
		cr_assert_eq(p.buf_alloc, 4096);
		cr_assert_eq(p.fwd_cnt, 17);
	}
	hdr(raw, CID, 2, 100, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RW);
	cr_assert_eq(vsock_pkt_parse(raw, VSOCK_HDR_LEN + 100, CID, &p), VSOCK_PKT_OK);
	cr_assert_eq(p.len, 100);
	/* little-endian on the wire, whatever the host */
	cr_assert_eq(raw[24], 100);
	cr_assert_eq(raw[0], CID);
	cr_assert_eq(raw[8], 2);
	/* a longer buffer than len is fine */
	cr_assert_eq(vsock_pkt_parse(raw, VSOCK_HDR_LEN + 4096, CID, &p), VSOCK_PKT_OK);
}

Test(vsock_proto, hostile_headers)
{
	uint8_t raw[VSOCK_HDR_LEN];
	struct vsock_pkt p;

	hdr(raw, CID, 2, 0, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_REQUEST);
	cr_assert_eq(vsock_pkt_parse(raw, VSOCK_HDR_LEN - 1, CID, &p), VSOCK_PKT_SHORT);
	cr_assert_eq(vsock_pkt_parse(raw, 0, CID, &p), VSOCK_PKT_SHORT);
	cr_assert_not(vsock_pkt_err_wants_rst(VSOCK_PKT_SHORT, &p));

	/* len larger than the buffer */
	hdr(raw, CID, 2, 101, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RW);
	cr_assert_eq(vsock_pkt_parse(raw, VSOCK_HDR_LEN + 100, CID, &p), VSOCK_PKT_BADLEN);
	cr_assert(vsock_pkt_err_wants_rst(VSOCK_PKT_BADLEN, &p));
	cr_assert_eq(p.src_port, 1234, "ports parsed for the RST reply");
	hdr(raw, CID, 2, 0xffffffffu, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RW);
	cr_assert_eq(vsock_pkt_parse(raw, UINT64_MAX, CID, &p), VSOCK_PKT_BADLEN);
	/* len above the per-packet limit even with a big enough buffer */
	hdr(raw, CID, 2, VSOCK_MAX_PKT + 1, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RW);
	cr_assert_eq(vsock_pkt_parse(raw, VSOCK_HDR_LEN + 2 * VSOCK_MAX_PKT, CID, &p),
		     VSOCK_PKT_BADLEN);
	/* data on a control op */
	hdr(raw, CID, 2, 4, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_REQUEST);
	cr_assert_eq(vsock_pkt_parse(raw, VSOCK_HDR_LEN + 4, CID, &p), VSOCK_PKT_BADLEN);
	/* an RST is never answered with an RST */
	hdr(raw, CID, 2, 4, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RST);
	cr_assert_eq(vsock_pkt_parse(raw, VSOCK_HDR_LEN + 4, CID, &p), VSOCK_PKT_BADLEN);
	cr_assert_not(vsock_pkt_err_wants_rst(VSOCK_PKT_BADLEN, &p));

	/* unknown op */
	hdr(raw, CID, 2, 0, VIRTIO_VSOCK_TYPE_STREAM, 0);
	cr_assert_eq(vsock_pkt_parse(raw, VSOCK_HDR_LEN, CID, &p), VSOCK_PKT_BADOP);
	hdr(raw, CID, 2, 0, VIRTIO_VSOCK_TYPE_STREAM, 8);
	cr_assert_eq(vsock_pkt_parse(raw, VSOCK_HDR_LEN, CID, &p), VSOCK_PKT_BADOP);
	cr_assert(vsock_pkt_err_wants_rst(VSOCK_PKT_BADOP, &p));

	/* wrong source CID: not the guest's (spoofing the host, another guest) */
	hdr(raw, 2, 2, 0, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_REQUEST);
	cr_assert_eq(vsock_pkt_parse(raw, VSOCK_HDR_LEN, CID, &p), VSOCK_PKT_BADSRC);
	hdr(raw, CID + (1ULL << 32), 2, 0, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_REQUEST);
	cr_assert_eq(vsock_pkt_parse(raw, VSOCK_HDR_LEN, CID, &p), VSOCK_PKT_BADSRC);
	cr_assert_not(vsock_pkt_err_wants_rst(VSOCK_PKT_BADSRC, &p));

	/* wrong destination CID: only the host (2) */
	hdr(raw, CID, 1, 0, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_REQUEST);
	cr_assert_eq(vsock_pkt_parse(raw, VSOCK_HDR_LEN, CID, &p), VSOCK_PKT_BADDST);
	hdr(raw, CID, CID, 0, VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_REQUEST);
	cr_assert_eq(vsock_pkt_parse(raw, VSOCK_HDR_LEN, CID, &p), VSOCK_PKT_BADDST);
	cr_assert_not(vsock_pkt_err_wants_rst(VSOCK_PKT_BADDST, &p));

	/* wrong type: seqpacket (2) and garbage */
	hdr(raw, CID, 2, 0, 2, VIRTIO_VSOCK_OP_REQUEST);
	cr_assert_eq(vsock_pkt_parse(raw, VSOCK_HDR_LEN, CID, &p), VSOCK_PKT_BADTYPE);
	cr_assert(vsock_pkt_err_wants_rst(VSOCK_PKT_BADTYPE, &p));
	hdr(raw, CID, 2, 0, 0xffff, VIRTIO_VSOCK_OP_RW);
	cr_assert_eq(vsock_pkt_parse(raw, VSOCK_HDR_LEN, CID, &p), VSOCK_PKT_BADTYPE);

	for (int e = 0; e >= -6; e--)
		cr_assert_str_neq(vsock_pkt_strerror(e), "unknown error");
}

static int parse(const char *s, uint32_t *port)
{
	return vsock_parse_connect(s, strlen(s), port);
}

Test(vsock_proto, connect_line)
{
	uint32_t port = 0;

	cr_assert_eq(parse("CONNECT 52\n", &port), 11);
	cr_assert_eq(port, 52);
	cr_assert_eq(parse("connect 1024\n", &port), 13, "lower-case keyword");
	cr_assert_eq(port, 1024);
	cr_assert_eq(parse("CoNnEcT 7\r\n", &port), 11, "CRLF");
	cr_assert_eq(port, 7);
	cr_assert_eq(parse("CONNECT  9\n", &port), 11, "several spaces");
	cr_assert_eq(parse("CONNECT 4294967295\n", &port), 19);
	cr_assert_eq(port, 4294967295u);
	/* the line ends at the first newline; the rest is data */
	cr_assert_eq(parse("CONNECT 5\nhello", &port), 10);
	cr_assert_eq(port, 5);

	/* no newline yet: need more */
	cr_assert_eq(parse("", &port), 0);
	cr_assert_eq(parse("CONN", &port), 0);
	cr_assert_eq(parse("CONNECT 52", &port), 0);
	/* too long without a newline */
	cr_assert_eq(parse("CONNECT 5555555555555555555555555", &port), -EINVAL);
	cr_assert_eq(parse("CONNECT 00000000000000000000000001\n", &port), -EINVAL);
	/* not a number */
	cr_assert_eq(parse("CONNECT abc\n", &port), -EINVAL);
	cr_assert_eq(parse("CONNECT 12a\n", &port), -EINVAL);
	cr_assert_eq(parse("CONNECT -1\n", &port), -EINVAL);
	cr_assert_eq(parse("CONNECT +1\n", &port), -EINVAL);
	cr_assert_eq(parse("CONNECT 0x10\n", &port), -EINVAL);
	cr_assert_eq(parse("CONNECT \n", &port), -EINVAL);
	cr_assert_eq(parse("CONNECT 4294967296\n", &port), -EINVAL, "above u32");
	cr_assert_eq(parse("CONNECT 1 2\n", &port), -EINVAL);
	/* wrong keyword or separator */
	cr_assert_eq(parse("CONNECT5\n", &port), -EINVAL);
	cr_assert_eq(parse("CONNECT\t5\n", &port), -EINVAL);
	cr_assert_eq(parse("CONNEC 5\n", &port), -EINVAL);
	cr_assert_eq(parse("XCONNECT 5\n", &port), -EINVAL);
	cr_assert_eq(parse(" CONNECT 5\n", &port), -EINVAL);
	cr_assert_eq(parse("\n", &port), -EINVAL);
	cr_assert_eq(vsock_parse_connect("CONNECT 5\0\n", 11, &port), -EINVAL, "NUL");
	/* a newline beyond VSOCK_LINE_MAX does not count */
	char buf[64];
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, "CONNECT", 7);
	buf[40] = '5';
	buf[41] = '\n';
	cr_assert_eq(vsock_parse_connect(buf, 42, &port), -EINVAL);
}

Test(vsock_proto, credit)
{
	struct vsock_credit c = { .peer_buf_alloc = 1000, .buf_alloc = 4096 };

	/* host → guest: what the guest can still take */
	cr_assert_eq(vsock_credit_peer(&c), 1000);
	c.tx_cnt = 600;
	cr_assert_eq(vsock_credit_peer(&c), 400);
	c.tx_cnt = 1000;
	cr_assert_eq(vsock_credit_peer(&c), 0);
	c.peer_fwd_cnt = 500;
	cr_assert_eq(vsock_credit_peer(&c), 500);
	/* counters wrap (§5.10.6.3: free-running u32) */
	c.tx_cnt = 100;
	c.peer_fwd_cnt = UINT32_MAX - 99; /* 200 in flight across the wrap */
	cr_assert_eq(vsock_credit_peer(&c), 800);
	/* a guest claiming to have consumed more than it got gets nothing */
	c.tx_cnt = 100;
	c.peer_fwd_cnt = 300;
	cr_assert_eq(vsock_credit_peer(&c), 0);
	/* or shrinking its buffer below what is in flight */
	c.peer_fwd_cnt = 0;
	c.peer_buf_alloc = 50;
	cr_assert_eq(vsock_credit_peer(&c), 0);

	/* guest → host: within our buffer */
	cr_assert(vsock_credit_accepts(&c, 4096));
	cr_assert_not(vsock_credit_accepts(&c, 4097));
	c.rx_cnt = 4000;
	cr_assert(vsock_credit_accepts(&c, 96));
	cr_assert_not(vsock_credit_accepts(&c, 97));
	c.fwd_cnt = 1000;
	cr_assert(vsock_credit_accepts(&c, 1096));
	cr_assert_not(vsock_credit_accepts(&c, UINT32_MAX));
	c.rx_cnt = 10;
	c.fwd_cnt = UINT32_MAX - 9; /* wrapped: 20 held */
	cr_assert(vsock_credit_accepts(&c, 4076));
	cr_assert_not(vsock_credit_accepts(&c, 4077));

	/* unsolicited credit update after a quarter of the buffer */
	c.fwd_cnt = 1000;
	c.fwd_cnt_told = 0;
	cr_assert_not(vsock_credit_update_due(&c));
	c.fwd_cnt = 1024;
	cr_assert(vsock_credit_update_due(&c));
	c.fwd_cnt_told = 1024;
	cr_assert_not(vsock_credit_update_due(&c));
}
