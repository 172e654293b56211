/* CRC-32 of the state file: IEEE 802.3 polynomial, reflected, the same value
 * as zlib's crc32() (check: "123456789" -> 0xcbf43926). Built with
 * -DSNAP_USE_ZLIB (and -lz) it is zlib's; otherwise a half-byte table here
 * is plenty for files of at most SNAP_MAX_FILE bytes. */
#include "snapshot/format.h"

#ifdef SNAP_USE_ZLIB
#include <zlib.h>

uint32_t snap_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	/* zlib takes uInt lengths: feed it in pieces below 4 GiB. */
	while (len) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;

		crc = (uint32_t)crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return crc;
}
#else
/* Half-byte table (Sarwate's method on nibbles): 16 constants, no init. */
static const uint32_t nibble[16] = {
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
	0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
	0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

uint32_t snap_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		crc = nibble[crc & 15] ^ (crc >> 4);
		crc = nibble[crc & 15] ^ (crc >> 4);
	}
	return ~crc;
}
#endif
