/* Pure parts of virtio-vsock: the packet header (virtio 1.2 §5.10.6), the
 * hybrid protocol's CONNECT line, and credit arithmetic (§5.10.6.3). No
 * I/O here; everything is unit-tested and fuzzed. */
#include <errno.h>
#include <string.h>

#include "virtio/vsock.h"
#include "vmm/util.h"

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* Offsets in struct virtio_vsock_hdr (packed, little-endian). */
enum {
	O_SRC_CID = 0, O_DST_CID = 8, O_SRC_PORT = 16, O_DST_PORT = 20, O_LEN = 24,
	O_TYPE = 28, O_OP = 30, O_FLAGS = 32, O_BUF_ALLOC = 36, O_FWD_CNT = 40,
};

_Static_assert(sizeof(struct virtio_vsock_hdr) == VSOCK_HDR_LEN, "vsock header size");

int vsock_pkt_parse(const uint8_t raw[VSOCK_HDR_LEN], uint64_t chain_len, uint64_t guest_cid,
		    struct vsock_pkt *p)
{
	memset(p, 0, sizeof(*p));
	if (chain_len < VSOCK_HDR_LEN)
		return VSOCK_PKT_SHORT;
	p->src_cid = le64(raw + O_SRC_CID);
	p->dst_cid = le64(raw + O_DST_CID);
	p->src_port = le32(raw + O_SRC_PORT);
	p->dst_port = le32(raw + O_DST_PORT);
	p->len = le32(raw + O_LEN);
	p->type = le16(raw + O_TYPE);
	p->op = le16(raw + O_OP);
	p->flags = le32(raw + O_FLAGS);
	p->buf_alloc = le32(raw + O_BUF_ALLOC);
	p->fwd_cnt = le32(raw + O_FWD_CNT);

	if (p->src_cid != guest_cid)
		return VSOCK_PKT_BADSRC;
	if (p->dst_cid != VSOCK_HOST_CID)
		return VSOCK_PKT_BADDST;
	if (p->len > chain_len - VSOCK_HDR_LEN || p->len > VSOCK_MAX_PKT)
		return VSOCK_PKT_BADLEN;
	if (p->type != VIRTIO_VSOCK_TYPE_STREAM)
		return VSOCK_PKT_BADTYPE;
	switch (p->op) {
	case VIRTIO_VSOCK_OP_RW:
		return VSOCK_PKT_OK;
	case VIRTIO_VSOCK_OP_REQUEST:
	case VIRTIO_VSOCK_OP_RESPONSE:
	case VIRTIO_VSOCK_OP_RST:
	case VIRTIO_VSOCK_OP_SHUTDOWN:
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		return p->len ? VSOCK_PKT_BADLEN : VSOCK_PKT_OK;
	default:
		return VSOCK_PKT_BADOP;
	}
}

bool vsock_pkt_err_wants_rst(int err, const struct vsock_pkt *p)
{
	switch (err) {
	case VSOCK_PKT_BADLEN:
	case VSOCK_PKT_BADTYPE:
	case VSOCK_PKT_BADOP:
		/* Addressed correctly: tell the guest its socket is dead, but
		 * never answer an RST with an RST. */
		return p->op != VIRTIO_VSOCK_OP_RST;
	default:
		return false;
	}
}

const char *vsock_pkt_strerror(int err)
{
	switch (err) {
	case VSOCK_PKT_OK: return "ok";
	case VSOCK_PKT_SHORT: return "chain shorter than the header or device-writable";
	case VSOCK_PKT_BADLEN: return "payload length beyond the buffer or the limit";
	case VSOCK_PKT_BADSRC: return "source CID is not the guest's";
	case VSOCK_PKT_BADDST: return "destination CID is not the host";
	case VSOCK_PKT_BADTYPE: return "socket type is not stream";
	case VSOCK_PKT_BADOP: return "unknown operation";
	default: return "unknown error";
	}
}

void vsock_pkt_encode(const struct vsock_pkt *p, uint8_t raw[VSOCK_HDR_LEN])
{
	put64(raw + O_SRC_CID, p->src_cid);
	put64(raw + O_DST_CID, p->dst_cid);
	put32(raw + O_SRC_PORT, p->src_port);
	put32(raw + O_DST_PORT, p->dst_port);
	put32(raw + O_LEN, p->len);
	put16(raw + O_TYPE, p->type);
	put16(raw + O_OP, p->op);
	put32(raw + O_FLAGS, p->flags);
	put32(raw + O_BUF_ALLOC, p->buf_alloc);
	put32(raw + O_FWD_CNT, p->fwd_cnt);
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int vsock_parse_connect(const char *buf, size_t len, uint32_t *port)
{
	static const char kw[] = "connect";
	const char *nl = memchr(buf, '\n', MIN(len, (size_t)VSOCK_LINE_MAX));
	size_t end, i;
	uint64_t v = 0;

	if (!nl)
		return len >= VSOCK_LINE_MAX ? -EINVAL : 0;
	end = (size_t)(nl - buf);
	if (end && buf[end - 1] == '\r')
		end--;
	for (i = 0; i < sizeof(kw) - 1; i++)
		if (i >= end || lower(buf[i]) != kw[i])
			return -EINVAL;
	if (i >= end || buf[i] != ' ')
		return -EINVAL;
	while (i < end && buf[i] == ' ')
		i++;
	if (i == end)
		return -EINVAL;
	for (; i < end; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(buf[i] - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	*port = (uint32_t)v;
	return (int)(nl - buf) + 1;
}

uint32_t vsock_credit_peer(const struct vsock_credit *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt; /* wraps like the spec's counters */

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

bool vsock_credit_accepts(const struct vsock_credit *c, uint32_t len)
{
	uint32_t held = c->rx_cnt - c->fwd_cnt; /* ≤ buf_alloc by induction */

	return held <= c->buf_alloc && len <= c->buf_alloc - held;
}

bool vsock_credit_update_due(const struct vsock_credit *c)
{
	return c->fwd_cnt - c->fwd_cnt_told >= c->buf_alloc / 4;
}
