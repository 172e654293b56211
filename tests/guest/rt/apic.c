/* Local APIC (xAPIC MMIO, SDM Vol. 3 ch. 10), IOAPIC (82093AA datasheet:
 * IOREGSEL at +0x00, IOWIN at +0x10, redirection entry n at registers
 * 0x10 + 2n / 0x11 + 2n) and the legacy 8259 initialisation and mask. */
#include "io.h"
#include "rt.h"

#define LAPIC_ID 0x20
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xB0
#define LAPIC_SVR 0xF0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define SVR_ENABLE 0x100
#define ICR_PENDING (1u << 12)

static uint32_t lapic_read(unsigned reg)
{
	return mmio_read32(RT_LAPIC_BASE + reg);
}

static void lapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(RT_LAPIC_BASE + reg, v);
}

unsigned rt_lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void rt_lapic_enable(void)
{
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, SVR_ENABLE | RT_SPURIOUS_VECTOR);
}

void rt_lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

int rt_lapic_ipi(unsigned apic_id, uint32_t icr_low)
{
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr_low);
	for (int i = 0; i < 1000; i++)
		if (!(lapic_read(LAPIC_ICR_LO) & ICR_PENDING))
			return 0;
	return -1;
}

uint32_t rt_ioapic_read(unsigned reg)
{
	mmio_write32(RT_IOAPIC_BASE, reg);
	return mmio_read32(RT_IOAPIC_BASE + 0x10);
}

static void ioapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(RT_IOAPIC_BASE, reg);
	mmio_write32(RT_IOAPIC_BASE + 0x10, v);
}

/* Fixed delivery, physical destination; flags add level/active-low/mask.
 * The high half goes first so the entry is never live with a stale dest. */
void rt_ioapic_route(unsigned pin, unsigned vector, unsigned apic_id,
		     uint32_t flags)
{
	ioapic_write(0x10 + 2 * pin, RT_IOAPIC_MASKED);
	ioapic_write(0x11 + 2 * pin, apic_id << 24);
	ioapic_write(0x10 + 2 * pin, (vector & 0xff) | flags);
}

/* Initialise both 8259s (ICW1-ICW4: edge, cascaded, vector bases 0x20 and
 * 0x28 clear of the exception vectors, slave on IR2, 8086 mode), then mask
 * every line (OCW1 0xff), as any APIC-using OS does. Left alone, the PIC
 * keeps its reset vector base 0, and an ISA IRQ that also reaches it (KVM
 * routes GSIs 0-15 to both the PIC and the IOAPIC; LINT0 is ExtINT) would
 * arrive as "exception" vector 1 or 5. Called by the runtime at start-up. */
void rt_pic_mask_all(void)
{
	outb(0x20, 0x11);	/* ICW1: init, ICW4 needed */
	outb(0xa0, 0x11);
	outb(0x21, 0x20);	/* ICW2: vector base */
	outb(0xa1, 0x28);
	outb(0x21, 0x04);	/* ICW3: slave on IR2 */
	outb(0xa1, 0x02);	/* ICW3: slave id 2 */
	outb(0x21, 0x01);	/* ICW4: 8086 mode */
	outb(0xa1, 0x01);
	outb(0x21, 0xff);	/* OCW1: mask all */
	outb(0xa1, 0xff);
}
