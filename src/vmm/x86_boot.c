/* Guest boot structures for the Linux 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst) and the PVH boot ABI: e820, GDT, page
 * tables, zero page and hvm_start_info. */
#include "vmm/x86_boot.h"

#include <asm/e820.h>
#include <errno.h>
#include <string.h>

#include "vmm/layout.h"

unsigned x86_e820_build(const struct guest_mem *gm, struct boot_e820_entry *out)
{
	uint64_t low_end = gm_low_end(gm);
	unsigned n = 0;

	out[n++] = (struct boot_e820_entry){ 0, MIN(low_end, LAYOUT_EBDA), E820_RAM };
	if (low_end > LAYOUT_EBDA)
		out[n++] = (struct boot_e820_entry){ LAYOUT_EBDA,
			LAYOUT_EBDA_END - LAYOUT_EBDA, E820_RESERVED };
	if (low_end > LAYOUT_HIGH_MEM)
		out[n++] = (struct boot_e820_entry){ LAYOUT_HIGH_MEM,
			low_end - LAYOUT_HIGH_MEM, E820_RAM };
	if (gm->nr_regions > 1)
		out[n++] = (struct boot_e820_entry){ gm->regions[1].gpa,
			gm->regions[1].size, E820_RAM };
	return n;
}

uint64_t x86_gdt_entry(unsigned index)
{
	/* flags(G,D/B,L) | access(P,S,type), base 0, limit 0xfffff pages */
	switch (index) {
	case LAYOUT_SEL_CODE32 / 8: return 0x00cf9b000000ffffULL; /* 32-bit code */
	case LAYOUT_SEL_CODE64 / 8: return 0x00af9b000000ffffULL; /* 64-bit code */
	case LAYOUT_SEL_DATA / 8:   return 0x00cf93000000ffffULL; /* data, r/w */
	case LAYOUT_SEL_TSS / 8:    return 0x00808b0000000067ULL; /* busy 32-bit TSS */
	default: return 0;
	}
}

struct kvm_segment x86_segment_from_gdt(uint64_t d, uint16_t selector)
{
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
	struct kvm_segment s = {
		.base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24),
		.selector = selector,
		.type = (d >> 40) & 0xf,
		.s = (d >> 44) & 1,
		.dpl = (d >> 45) & 3,
		.present = (d >> 47) & 1,
		.avl = (d >> 52) & 1,
		.l = (d >> 53) & 1,
		.db = (d >> 54) & 1,
		.g = (d >> 55) & 1,
	};

	s.limit = s.g ? (limit << 12) | 0xfff : limit;
	s.unusable = !s.present;
	return s;
}

int x86_write_gdt_and_paging(const struct guest_mem *gm)
{
	uint64_t *gdt = gm_ptr(gm, LAYOUT_GDT_ADDR, LAYOUT_GDT_ENTRIES * 8);
	uint64_t *pml4 = gm_ptr(gm, LAYOUT_PML4, 4096);
	uint64_t *pdpt = gm_ptr(gm, LAYOUT_PDPT, 4096);
	uint64_t *pd = gm_ptr(gm, LAYOUT_PD, 4096);

	if (!gdt || !pml4 || !pdpt || !pd)
		return -EFAULT;
	for (unsigned i = 0; i < LAYOUT_GDT_ENTRIES; i++)
		gdt[i] = x86_gdt_entry(i);
	/* present | writable; PD entries add PS for 2 MiB pages */
	pml4[0] = LAYOUT_PDPT | 0x3;
	pdpt[0] = LAYOUT_PD | 0x3;
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | 0x83;
	return 0;
}

int x86_write_zero_page(const struct guest_mem *gm, const struct x86_boot_params *bp)
{
	struct boot_params *zp = gm_ptr(gm, LAYOUT_ZERO_PAGE, sizeof(*zp));
	struct boot_e820_entry e820[X86_E820_MAX];

	if (!zp)
		return -EFAULT;
	memset(zp, 0, sizeof(*zp));
	if (bp->hdr)
		zp->hdr = *bp->hdr;
	/* Fields a boot loader must fill (boot.rst, "Details of header fields"). */
	zp->hdr.boot_flag = 0xaa55;
	zp->hdr.header = 0x53726448; /* "HdrS" */
	zp->hdr.type_of_loader = 0xff; /* undefined loader */
	if (!bp->hdr)
		zp->hdr.kernel_alignment = 0x1000000;
	zp->hdr.loadflags |= LOADED_HIGH;
	zp->hdr.cmd_line_ptr = (uint32_t)bp->cmdline_gpa;
	zp->ext_cmd_line_ptr = (uint32_t)(bp->cmdline_gpa >> 32);
	zp->hdr.cmdline_size = bp->cmdline_len;
	zp->hdr.ramdisk_image = (uint32_t)bp->initrd_gpa;
	zp->ext_ramdisk_image = (uint32_t)(bp->initrd_gpa >> 32);
	zp->hdr.ramdisk_size = (uint32_t)bp->initrd_size;
	zp->ext_ramdisk_size = (uint32_t)(bp->initrd_size >> 32);
	zp->acpi_rsdp_addr = bp->rsdp_gpa;
	zp->e820_entries = (uint8_t)x86_e820_build(gm, e820);
	memcpy(zp->e820_table, e820, zp->e820_entries * sizeof(e820[0]));
	return 0;
}

int x86_write_pvh_start_info(const struct guest_mem *gm, const struct x86_boot_params *bp)
{
	struct boot_e820_entry e820[X86_E820_MAX];
	unsigned n = x86_e820_build(gm, e820);
	struct hvm_start_info *si = gm_ptr(gm, LAYOUT_ZERO_PAGE, sizeof(*si));
	struct hvm_memmap_table_entry *mm =
		gm_ptr(gm, LAYOUT_PVH_MEMMAP, n * sizeof(*mm) + sizeof(struct hvm_modlist_entry));

	if (!si || !mm)
		return -EFAULT;
	memset(si, 0, sizeof(*si));
	si->magic = XEN_HVM_START_MAGIC;
	si->version = 1;
	si->cmdline_paddr = bp->cmdline_gpa;
	si->rsdp_paddr = bp->rsdp_gpa;
	si->memmap_paddr = LAYOUT_PVH_MEMMAP;
	si->memmap_entries = n;
	for (unsigned i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_table_entry){ e820[i].addr, e820[i].size,
							 e820[i].type, 0 };
	if (bp->initrd_size) {
		struct hvm_modlist_entry *mod = (struct hvm_modlist_entry *)(mm + n);

		*mod = (struct hvm_modlist_entry){ bp->initrd_gpa, bp->initrd_size, 0, 0 };
		si->nr_modules = 1;
		si->modlist_paddr = LAYOUT_PVH_MEMMAP + n * sizeof(*mm);
	}
	return 0;
}
