/* Intel MultiProcessor Specification 1.4 parsing: find the "_MP_" floating
 * pointer (EBDA first KiB at 0x9fc00, then the BIOS area 0xF0000-0xFFFFF, on
 * 16-byte boundaries, §4), check checksums and collect the enabled processor
 * entries (type 0, 20 bytes; flags bit 0 = enabled, bit 1 = BSP, §4.3.1). */
#include "rt.h"

struct mp_float {
	char sig[4];	/* "_MP_" */
	uint32_t config;
	uint8_t len16;
	uint8_t rev;
	uint8_t sum;
	uint8_t feature[5];
} __attribute__((packed));

struct mp_config {
	char sig[4];	/* "PCMP" */
	uint16_t length;
	uint8_t rev;
	uint8_t sum;
	char oem[8];
	char product[12];
	uint32_t oem_table;
	uint16_t oem_size;
	uint16_t count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_sum;
	uint8_t reserved;
} __attribute__((packed));

struct mp_cpu {
	uint8_t type;	/* 0 */
	uint8_t apic_id;
	uint8_t apic_ver;
	uint8_t flags;
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

static const struct mp_float *scan(uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a + 16 <= end; a += 16) {
		const struct mp_float *f = (const struct mp_float *)a;
		if (memcmp(f->sig, "_MP_", 4) == 0 && f->len16 == 1 &&
		    sum((const uint8_t *)f, 16) == 0)
			return f;
	}
	return NULL;
}

int rt_mp_cpus(uint8_t *ids, int max)
{
	const struct mp_float *f = scan(0x9fc00, 0xa0000);
	if (!f)
		f = scan(0xf0000, 0x100000);
	if (!f || f->feature[0] != 0 || f->config == 0)
		return -1;	/* no table, or a default configuration */
	const struct mp_config *c = (const struct mp_config *)(uint64_t)f->config;
	if (memcmp(c->sig, "PCMP", 4) != 0 ||
	    sum((const uint8_t *)c, c->length) != 0)
		return -1;
	const uint8_t *p = (const uint8_t *)(c + 1);
	const uint8_t *end = (const uint8_t *)c + c->length;
	int n = 0;
	/* Walk by base table length, like Linux: qboot leaves count at 0. */
	while (p < end) {
		if (*p > 4)
			return -1;	/* unknown entry type: length unknown */
		if (*p != 0) {
			p += 8;	/* bus, IOAPIC, interrupt entries */
			continue;
		}
		const struct mp_cpu *cpu = (const struct mp_cpu *)p;
		p += sizeof(*cpu);
		if (p > end)
			break;
		if (!(cpu->flags & 1))
			continue;
		/* Count every enabled CPU, store the first max (BSP first). */
		if (n < max) {
			ids[n] = cpu->apic_id;
			if ((cpu->flags & 2) && n > 0) {
				ids[n] = ids[0];
				ids[0] = cpu->apic_id;
			}
		} else if ((cpu->flags & 2) && max > 0) {
			ids[0] = cpu->apic_id;	/* keep the BSP, drop an AP */
		}
		n++;
	}
	return n;
}
