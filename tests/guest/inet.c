/* Ethernet / ARP / IPv4 / ICMP echo helpers for test guests (see inet.h).
 * Checksums go 4 bytes a step: every ring-0 guest instruction is emulated
 * on this workplace's KVM. */
#include "inet.h"

/* Little-endian words: byte-order independent once folded and stored back
 * in memory order (RFC 1071 §2(B)). */
uint64_t inet_sum(const uint8_t *p, uint32_t len, uint64_t sum)
{
	while (len >= 4) {
		sum += *(const uint32_t *)p;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		sum += *(const uint16_t *)p;
		p += 2;
		len -= 2;
	}
	if (len)
		sum += *p;
	return sum;
}

uint16_t inet_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

bool inet_parse_ip(const char *s, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, n = 0;

		while (*s >= '0' && *s <= '9' && n < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			n++;
		}
		if (!n || v > 255 || (i < 3 ? *s++ != '.' : *s != 0))
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

void inet_print_mac(const char *prefix, const char *name, const uint8_t *m)
{
	rt_printf("%s %s=%02x:%02x:%02x:%02x:%02x:%02x\n", prefix, name, m[0], m[1], m[2], m[3],
		  m[4], m[5]);
}

void inet_eth_hdr(uint8_t *f, const struct inet_if *me, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, me->mac, 6);
	inet_put16(f + 12, type);
}

bool inet_for_us(const uint8_t *f, uint32_t len, const struct inet_if *me)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	return len >= 14 && (!memcmp(f, me->mac, 6) || !memcmp(f, bcast, 6));
}

uint32_t inet_udp_hdr(uint8_t *f, const struct inet_if *me, const uint8_t *dmac,
		      const uint8_t *dip, uint16_t sport, uint16_t dport, uint32_t plen,
		      uint16_t id)
{
	uint8_t *h = f + 14, *u = h + 20;
	uint16_t c;

	inet_eth_hdr(f, me, dmac, INET_ETH_IPV4);
	h[0] = 0x45;
	h[1] = 0;
	inet_put16(h + 2, (uint16_t)(20 + 8 + plen));
	inet_put16(h + 4, id);
	inet_put16(h + 6, 0x4000);	/* DF */
	h[8] = 64;
	h[9] = 17;
	h[10] = h[11] = 0;
	memcpy(h + 12, me->ip, 4);
	memcpy(h + 16, dip, 4);
	c = inet_fold(inet_sum(h, 20, 0));
	memcpy(h + 10, &c, 2);
	inet_put16(u, sport);
	inet_put16(u + 2, dport);
	inet_put16(u + 4, (uint16_t)(8 + plen));
	u[6] = u[7] = 0;
	return 42 + plen;
}

int inet_arp_in(const uint8_t *f, uint32_t len, uint16_t *op)
{
	const uint8_t *a = f + 14;

	if (len < 42 || inet_be16(a) != 1 || inet_be16(a + 2) != INET_ETH_IPV4 || a[4] != 6 ||
	    a[5] != 4)
		return INET_IGNORED;
	*op = inet_be16(a + 6);
	return INET_OK;
}

bool inet_arp_for_us(const uint8_t *f, const struct inet_if *me)
{
	return inet_be16(f + 14 + 6) == 1 && !memcmp(f + 14 + 24, me->ip, 4);
}

uint32_t inet_arp(uint8_t *out, const struct inet_if *me, uint16_t op, const uint8_t *tha,
		  const uint8_t *tpa, const uint8_t *dst)
{
	uint8_t *a = out + 14;

	inet_eth_hdr(out, me, dst, INET_ETH_ARP);
	inet_put16(a, 1);
	inet_put16(a + 2, INET_ETH_IPV4);
	a[4] = 6;
	a[5] = 4;
	inet_put16(a + 6, op);
	memcpy(a + 8, me->mac, 6);
	memcpy(a + 14, me->ip, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, tpa, 4);
	return 42;
}

int inet_ipv4_in(const uint8_t *f, uint32_t len, const struct inet_if *me, uint32_t *tot,
		 uint32_t *ihl)
{
	const uint8_t *h = f + 14;

	if (len < 34 || (h[0] >> 4) != 4 || (*ihl = (h[0] & 0xfu) * 4u) < 20 ||
	    (*tot = inet_be16(h + 2)) < *ihl || 14 + *tot > len)
		return INET_BADLEN;
	if (inet_fold(inet_sum(h, *ihl, 0)))
		return INET_BADSUM;
	if (memcmp(h + 16, me->ip, 4) || (inet_be16(h + 6) & 0x3fff))
		return INET_IGNORED;	/* not ours, or a fragment */
	return INET_OK;
}

int inet_icmp_echo_in(const uint8_t *f, uint32_t tot, uint32_t ihl)
{
	const uint8_t *ic = f + 14 + ihl;
	uint32_t ilen = tot - ihl;

	if (ilen < 8)
		return INET_BADLEN;
	if (inet_fold(inet_sum(ic, ilen, 0)))
		return INET_BADSUM;
	return ic[0] == 8 && ic[1] == 0 ? INET_OK : INET_IGNORED;
}

uint32_t inet_icmp_echo_reply(uint8_t *out, const uint8_t *f, uint32_t tot, uint32_t ihl,
			      const struct inet_if *me)
{
	uint8_t *rip = out + 14, *ric = rip + ihl;
	uint16_t c;

	memcpy(out, f, 14 + tot);
	inet_eth_hdr(out, me, f + 6, INET_ETH_IPV4);
	memcpy(rip + 12, me->ip, 4);
	memcpy(rip + 16, f + 14 + 12, 4);
	rip[8] = 64;
	rip[10] = rip[11] = 0;
	c = inet_fold(inet_sum(rip, ihl, 0));
	memcpy(rip + 10, &c, 2);
	ric[0] = 0;
	ric[2] = ric[3] = 0;
	c = inet_fold(inet_sum(ric, tot - ihl, 0));
	memcpy(ric + 2, &c, 2);
	return 14 + tot;
}
