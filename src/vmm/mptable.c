/* MP table writer (Intel MP spec 1.4, §4): floating pointer, configuration
 * table header, one processor entry per vCPU, the ISA bus, the IOAPIC, an
 * identity ISA IRQ -> IOAPIC pin routing and the LAPIC LINT0/LINT1 wiring. */
#include "vmm/mptable.h"

#include <errno.h>
#include <string.h>

#include "vmm/layout.h"

/* Entry layouts from the MP spec; not exported by any Linux uapi header. */
struct mpf_intel {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;
	uint8_t length;    /* in 16-byte units: 1 */
	uint8_t specification; /* 4 = version 1.4 */
	uint8_t checksum;
	uint8_t feature1, feature2, feature3, feature4, feature5;
} __attribute__((packed));

struct mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint32_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag, reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type, busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };
#define CPU_ENABLED 1
#define CPU_BOOTPROCESSOR 2
#define APIC_VERSION 0x14
#define IOAPIC_VERSION 0x11

uint8_t mptable_checksum(const void *p, uint64_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

uint64_t mptable_size(unsigned ncpus)
{
	return sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
	       ncpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
	       sizeof(struct mpc_ioapic) + LAYOUT_IOAPIC_PINS * sizeof(struct mpc_intsrc) +
	       2 * sizeof(struct mpc_intsrc);
}

static uint8_t *put(uint8_t *p, const void *e, size_t n)
{
	memcpy(p, e, n);
	return p + n;
}

int mptable_write(const struct guest_mem *gm, uint64_t gpa, unsigned ncpus)
{
	uint64_t size = mptable_size(ncpus);
	struct mpf_intel *mpf;
	struct mpc_table *mpc;
	uint8_t *base, *p;

	if (ncpus == 0 || ncpus > MPTABLE_MAX_CPUS)
		return -EINVAL;
	/* Inside the EBDA the tables must not run past its end. */
	if (gpa >= LAYOUT_EBDA && gpa < LAYOUT_EBDA_END && size > LAYOUT_EBDA_END - gpa)
		return -ENOSPC;
	base = gm_ptr(gm, gpa, size);
	if (!base)
		return -EFAULT;
	memset(base, 0, size);

	mpf = (struct mpf_intel *)base;
	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(gpa + sizeof(*mpf));
	mpf->length = 1;
	mpf->specification = 4;

	mpc = (struct mpc_table *)(base + sizeof(*mpf));
	memcpy(mpc->signature, "PCMP", 4);
	mpc->spec = 4;
	memcpy(mpc->oem, "FEMTOVM ", 8);
	memcpy(mpc->productid, "MICROVM     ", 12);
	mpc->lapic = (uint32_t)LAYOUT_LAPIC;
	p = (uint8_t *)(mpc + 1);

	for (unsigned i = 0; i < ncpus; i++) {
		struct mpc_cpu c = {
			.type = MP_PROCESSOR, .apicid = (uint8_t)i, .apicver = APIC_VERSION,
			.cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0),
			/* family 6 signature; Linux only uses it for printing */
			.cpufeature = 0x600, .featureflag = 0x201, /* FPU | APIC */
		};
		p = put(p, &c, sizeof(c));
	}
	struct mpc_bus bus = { .type = MP_BUS, .busid = 0, .bustype = "ISA   " };
	p = put(p, &bus, sizeof(bus));
	uint8_t ioapic_id = (uint8_t)ncpus;
	struct mpc_ioapic io = { .type = MP_IOAPIC, .apicid = ioapic_id,
				 .apicver = IOAPIC_VERSION, .flags = 1,
				 .apicaddr = (uint32_t)LAYOUT_IOAPIC };
	p = put(p, &io, sizeof(io));
	/* ISA IRQ n -> IOAPIC pin n, bus-default polarity and trigger; this is
	 * how KVM's default GSI routing wires the in-kernel IOAPIC. */
	for (unsigned pin = 0; pin < LAYOUT_IOAPIC_PINS; pin++) {
		struct mpc_intsrc s = { .type = MP_INTSRC, .irqtype = MP_INT, .srcbus = 0,
					.srcbusirq = (uint8_t)pin, .dstapic = ioapic_id,
					.dstirq = (uint8_t)pin };
		p = put(p, &s, sizeof(s));
	}
	/* LINT0 = ExtINT (8259 pass-through), LINT1 = NMI, on all LAPICs. */
	struct mpc_intsrc l0 = { .type = MP_LINTSRC, .irqtype = MP_EXTINT,
				 .dstapic = 0xff, .dstirq = 0 };
	struct mpc_intsrc l1 = { .type = MP_LINTSRC, .irqtype = MP_NMI,
				 .dstapic = 0xff, .dstirq = 1 };
	p = put(p, &l0, sizeof(l0));
	p = put(p, &l1, sizeof(l1));

	mpc->length = (uint16_t)(p - (uint8_t *)mpc);
	/* Entry count (MP spec Table 4-2): CPUs, bus, IOAPIC, intsrc, lintsrc. */
	mpc->oemcount = (uint16_t)(ncpus + 1 + 1 + LAYOUT_IOAPIC_PINS + 2);
	mpc->checksum = (uint8_t)-mptable_checksum(mpc, mpc->length);
	mpf->checksum = (uint8_t)-mptable_checksum(mpf, sizeof(*mpf));
	return 0;
}
