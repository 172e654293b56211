/* Just enough Ethernet / ARP (RFC 826) / IPv4 (RFC 791) / ICMP echo
 * (RFC 792) for test guests that are pinged and arped through a tap:
 * checksums (RFC 1071), header checks and reply builders working on frame
 * buffers (no device here). Shared by the net and snap guests and
 * perf/netbench, whose ring-3 loops call it (nothing here is privileged). */
#ifndef INET_H
#define INET_H

#include "rt.h"

#define INET_ETH_ARP 0x0806
#define INET_ETH_IPV4 0x0800

/* Our interface. */
struct inet_if {
	uint8_t mac[6];
	uint8_t ip[4];
};

/* Outcome of a header check. */
enum { INET_OK, INET_BADLEN, INET_BADSUM, INET_IGNORED };

/* Big-endian 16-bit fields; inline: per-packet header fields. */
static inline uint16_t inet_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void inet_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 1071 sum of p[0..len) added to sum (fold it with inet_fold). */
uint64_t inet_sum(const uint8_t *p, uint32_t len, uint64_t sum);
uint16_t inet_fold(uint64_t sum);
/* "a.b.c.d" (the whole string) into out; false when malformed. */
bool inet_parse_ip(const char *s, uint8_t out[4]);
/* "name=aa:bb:cc:dd:ee:ff" with rt_printf's prefix. */
void inet_print_mac(const char *prefix, const char *name, const uint8_t *m);

/* Destination, our source MAC and the EtherType at f[0..14). */
void inet_eth_hdr(uint8_t *f, const struct inet_if *me, const uint8_t *dst, uint16_t type);
/* True for frames to our MAC or broadcast, at least 14 bytes long. */
bool inet_for_us(const uint8_t *f, uint32_t len, const struct inet_if *me);

/* Ethernet, IPv4 (DF, TTL 64, identification id, header checksum) and UDP
 * headers from us (port sport) to dip:dport via dmac at f[0..42), for
 * plen payload bytes at f + 42; the UDP checksum is left 0 ("none", RFC
 * 768), for the caller to fill once the payload is in. Returns the frame
 * length (42 + plen). */
uint32_t inet_udp_hdr(uint8_t *f, const struct inet_if *me, const uint8_t *dmac,
		      const uint8_t *dip, uint16_t sport, uint16_t dport, uint32_t plen,
		      uint16_t id);

/* Checks an ARP packet (Ethernet, IPv4): INET_OK with *op, else why not. */
int inet_arp_in(const uint8_t *f, uint32_t len, uint16_t *op);
/* True when ARP request f asks for our address. */
bool inet_arp_for_us(const uint8_t *f, const struct inet_if *me);
/* Builds an ARP packet from us into out: operation op, target hardware
 * address tha, target protocol address tpa, Ethernet destination dst.
 * Returns its length (42). */
uint32_t inet_arp(uint8_t *out, const struct inet_if *me, uint16_t op, const uint8_t *tha,
		  const uint8_t *tpa, const uint8_t *dst);

/* Checks an IPv4 frame: length, header checksum, addressed to us,
 * unfragmented. INET_OK with *tot (total length) and *ihl (header bytes)
 * set, else why not. */
int inet_ipv4_in(const uint8_t *f, uint32_t len, const struct inet_if *me, uint32_t *tot,
		 uint32_t *ihl);
/* Checks the ICMP message of a checked IPv4 frame: INET_OK for a valid
 * echo request, else why not. */
int inet_icmp_echo_in(const uint8_t *f, uint32_t tot, uint32_t ihl);
/* The echo reply to echo request f (checked) into out; returns its frame
 * length (14 + tot). */
uint32_t inet_icmp_echo_reply(uint8_t *out, const uint8_t *f, uint32_t tot, uint32_t ihl,
			      const struct inet_if *me);

#endif
