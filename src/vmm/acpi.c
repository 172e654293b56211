/* ACPI table builder. Layouts from the ACPI 6.4 specification: §5.2.5.3
 * RSDP, §5.2.6 SDT header, §5.2.8 XSDT, §5.2.9 FADT, §5.2.12 MADT. Linux's
 * ACPI headers are not uapi, so the structures are declared here. */
#include "vmm/acpi.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "vmm/layout.h"
#include "vmm/mptable.h"

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;       /* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;       /* 2: ACPI 2.0+ with XSDT */
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t ext_checksum;   /* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

#define FADT_LEN 276
#define FADT_OFF_DSDT 40
#define FADT_OFF_IAPC_BOOT_ARCH 109
#define FADT_OFF_FLAGS 112
#define FADT_OFF_X_DSDT 140
#define FADT_OFF_HYPERVISOR_ID 268
#define IAPC_8042 (1u << 1)            /* i8042 present (reset, Ctrl+Alt+Del) */
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)
#define FADT_HW_REDUCED_ACPI (1u << 20) /* no PM timer, GPEs or SCI */

struct madt_lapic {
	uint8_t type, length, processor_uid, apic_id;
	uint32_t flags;          /* bit 0: enabled */
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t address, gsi_base;
} __attribute__((packed));

static uint8_t checksum(const void *p, size_t len)
{
	return (uint8_t)-mptable_checksum(p, len);
}

static void header(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, "FEMTVM", 6);
	memcpy(h->oem_table_id, "FEMTOVM ", 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, "FVMM", 4);
	h->creator_revision = 1;
}

/* Finish a table at @p of @len bytes: fix its checksum. */
static void seal(uint8_t *p, uint32_t len)
{
	struct acpi_header *h = (struct acpi_header *)p;

	h->checksum = 0;
	h->checksum = checksum(p, len);
}

static uint32_t build_madt(uint8_t *p, unsigned ncpus)
{
	uint8_t *q = p + sizeof(struct acpi_header);
	uint32_t lapic_addr = (uint32_t)LAYOUT_LAPIC, flags = 1; /* PCAT_COMPAT: 8259s present */
	struct madt_ioapic io = { 1, sizeof(io), (uint8_t)ncpus, 0, (uint32_t)LAYOUT_IOAPIC, 0 };
	uint32_t len;

	memcpy(q, &lapic_addr, 4);
	memcpy(q + 4, &flags, 4);
	q += 8;
	for (unsigned i = 0; i < ncpus; i++) {
		struct madt_lapic l = { 0, sizeof(l), (uint8_t)i, (uint8_t)i, 1 };

		memcpy(q, &l, sizeof(l));
		q += sizeof(l);
	}
	memcpy(q, &io, sizeof(io));
	q += sizeof(io);
	len = (uint32_t)(q - p);
	header((struct acpi_header *)p, "APIC", len, 5);
	seal(p, len);
	return len;
}

int acpi_write_tables(const struct guest_mem *gm, unsigned ncpus, uint64_t *rsdp_gpa)
{
	const uint64_t base = LAYOUT_ACPI;
	const uint64_t xsdt = base + 64, fadt = xsdt + 64, dsdt = fadt + 320, madt = dsdt + 64;
	uint64_t size = madt + 512 - base;
	uint8_t *mem, *p;
	struct acpi_rsdp *r;
	uint32_t v32;
	uint64_t v64;

	if (ncpus == 0 || ncpus > MPTABLE_MAX_CPUS)
		return -EINVAL;
	mem = gm_ptr(gm, base, size);
	if (!mem)
		return -EFAULT;
	memset(mem, 0, size);

	/* DSDT: an empty definition block; the devices are on the command line. */
	header((struct acpi_header *)(mem + (dsdt - base)), "DSDT", sizeof(struct acpi_header), 2);
	seal(mem + (dsdt - base), sizeof(struct acpi_header));

	p = mem + (fadt - base);
	header((struct acpi_header *)p, "FACP", FADT_LEN, 6);
	v32 = (uint32_t)dsdt;
	memcpy(p + FADT_OFF_DSDT, &v32, 4);
	v64 = dsdt;
	memcpy(p + FADT_OFF_X_DSDT, &v64, 8);
	p[FADT_OFF_IAPC_BOOT_ARCH] = IAPC_8042 | IAPC_VGA_NOT_PRESENT | IAPC_CMOS_RTC_NOT_PRESENT;
	v32 = FADT_HW_REDUCED_ACPI;
	memcpy(p + FADT_OFF_FLAGS, &v32, 4);
	memcpy(p + FADT_OFF_HYPERVISOR_ID, "FEMTOVM ", 8);
	seal(p, FADT_LEN);

	build_madt(mem + (madt - base), ncpus);

	p = mem + (xsdt - base);
	header((struct acpi_header *)p, "XSDT", sizeof(struct acpi_header) + 16, 1);
	memcpy(p + sizeof(struct acpi_header), &fadt, 8);
	memcpy(p + sizeof(struct acpi_header) + 8, &madt, 8);
	seal(p, sizeof(struct acpi_header) + 16);

	r = (struct acpi_rsdp *)mem;
	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, "FEMTVM", 6);
	r->revision = 2;
	r->length = sizeof(*r);
	r->xsdt_address = xsdt;
	r->checksum = checksum(r, 20);
	r->ext_checksum = checksum(r, sizeof(*r));
	*rsdp_gpa = base;
	return 0;
}
