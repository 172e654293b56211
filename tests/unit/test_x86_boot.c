/* Unit tests for the x86 boot structures: the e820 map for many RAM sizes
 * (exact entries), the zero page, the PVH start info, GDT descriptors and
 * their KVM decoding, and the identity page tables. */
#include <criterion/criterion.h>
#include <asm/e820.h>
#include <errno.h>

#include "vmm/layout.h"
#include "vmm/util.h"
#include "vmm/x86_boot.h"

struct e { uint64_t addr, size; uint32_t type; };

static void check_e820(uint64_t ram, const struct e *want, unsigned nwant)
{
	struct guest_mem gm;
	struct boot_e820_entry out[X86_E820_MAX];
	unsigned n;

	memset(out, 0xee, sizeof(out));
	cr_assert_eq(gm_layout(&gm, ram), 0);
	n = x86_e820_build(&gm, out);
	cr_assert_eq(n, nwant, "ram 0x%llx: %u entries, want %u", (unsigned long long)ram, n, nwant);
	for (unsigned i = 0; i < n; i++) {
		cr_assert_eq(out[i].addr, want[i].addr, "ram 0x%llx entry %u addr 0x%llx",
			     (unsigned long long)ram, i, (unsigned long long)out[i].addr);
		cr_assert_eq(out[i].size, want[i].size, "ram 0x%llx entry %u size 0x%llx",
			     (unsigned long long)ram, i, (unsigned long long)out[i].size);
		cr_assert_eq(out[i].type, want[i].type, "ram 0x%llx entry %u type", (unsigned long long)ram, i);
	}
}

#define LOW { 0, 0x9fc00, E820_RAM }
#define EBDA { 0x9fc00, 0x400, E820_RESERVED }

Test(e820, below_ebda)
{
	const struct e w[] = { { 0, 0x80000, E820_RAM } };

	check_e820(KIB(512), w, 1);
}

Test(e820, one_mib)
{
	const struct e w[] = { LOW, EBDA };

	check_e820(MIB(1), w, 2);
}

Test(e820, two_mib)
{
	const struct e w[] = { LOW, EBDA, { MIB(1), MIB(1), E820_RAM } };

	check_e820(MIB(2), w, 3);
}

Test(e820, mib_128)
{
	const struct e w[] = { LOW, EBDA, { MIB(1), MIB(127), E820_RAM } };

	check_e820(MIB(128), w, 3);
}

Test(e820, gib_3)
{
	const struct e w[] = { LOW, EBDA, { MIB(1), GIB(3) - MIB(1), E820_RAM } };

	check_e820(GIB(3), w, 3);
}

Test(e820, gib_3_plus_2mib)
{
	const struct e w[] = { LOW, EBDA, { MIB(1), GIB(3) - MIB(1), E820_RAM },
			       { GIB(4), MIB(2), E820_RAM } };

	check_e820(GIB(3) + MIB(2), w, 4);
}

Test(e820, gib_4)
{
	const struct e w[] = { LOW, EBDA, { MIB(1), GIB(3) - MIB(1), E820_RAM },
			       { GIB(4), GIB(1), E820_RAM } };

	check_e820(GIB(4), w, 4);
}

Test(e820, gib_16)
{
	const struct e w[] = { LOW, EBDA, { MIB(1), GIB(3) - MIB(1), E820_RAM },
			       { GIB(4), GIB(13), E820_RAM } };

	check_e820(GIB(16), w, 4);
}

Test(e820, never_covers_hole_or_overlaps)
{
	static const uint64_t sizes[] = { MIB(1), MIB(3), MIB(255), GIB(2), GIB(3) + KIB(4),
					  GIB(64) };

	for (unsigned s = 0; s < ARRAY_SIZE(sizes); s++) {
		struct guest_mem gm;
		struct boot_e820_entry out[X86_E820_MAX];
		uint64_t ram = 0;
		unsigned n;

		cr_assert_eq(gm_layout(&gm, sizes[s]), 0);
		n = x86_e820_build(&gm, out);
		cr_assert_leq(n, X86_E820_MAX);
		for (unsigned i = 0; i < n; i++) {
			uint64_t end = out[i].addr + out[i].size;

			if (i)
				cr_assert_geq(out[i].addr, out[i - 1].addr + out[i - 1].size);
			cr_assert(end <= LAYOUT_MMIO_HOLE || out[i].addr >= LAYOUT_MMIO_HOLE_END);
			if (out[i].type == E820_RAM)
				ram += out[i].size;
		}
		/* all RAM except the EBDA and the 640K-1M window is described */
		cr_assert_eq(ram, sizes[s] - (MIB(1) - 0x9fc00), "size 0x%llx",
			     (unsigned long long)sizes[s]);
	}
}

/* --- GDT ------------------------------------------------------------- */

Test(gdt, entries_per_selector)
{
	cr_assert_eq(x86_gdt_entry(0), 0);
	cr_assert_neq(x86_gdt_entry(LAYOUT_SEL_CODE32 / 8), 0);
	cr_assert_neq(x86_gdt_entry(LAYOUT_SEL_CODE64 / 8), 0);
	cr_assert_neq(x86_gdt_entry(LAYOUT_SEL_DATA / 8), 0);
	cr_assert_neq(x86_gdt_entry(LAYOUT_SEL_TSS / 8), 0);
	cr_assert_eq(x86_gdt_entry(LAYOUT_GDT_ENTRIES), 0);
	cr_assert_eq(x86_gdt_entry(1000), 0);
	/* Linux 64-bit boot protocol: __BOOT_CS 0x10, __BOOT_DS 0x18 */
	cr_assert_eq(LAYOUT_SEL_CODE64, 0x10);
	cr_assert_eq(LAYOUT_SEL_DATA, 0x18);
}

Test(gdt, decode_code64)
{
	struct kvm_segment s = x86_segment_from_gdt(x86_gdt_entry(LAYOUT_SEL_CODE64 / 8),
						    LAYOUT_SEL_CODE64);

	cr_assert_eq(s.selector, 0x10);
	cr_assert_eq(s.base, 0);
	cr_assert_eq(s.limit, 0xffffffff);
	cr_assert_eq(s.type, 0xb);
	cr_assert_eq(s.s, 1);
	cr_assert_eq(s.dpl, 0);
	cr_assert_eq(s.present, 1);
	cr_assert_eq(s.l, 1);
	cr_assert_eq(s.db, 0, "L=1 requires D=0");
	cr_assert_eq(s.g, 1);
	cr_assert_eq(s.unusable, 0);
}

Test(gdt, decode_code32)
{
	struct kvm_segment s = x86_segment_from_gdt(x86_gdt_entry(LAYOUT_SEL_CODE32 / 8),
						    LAYOUT_SEL_CODE32);

	cr_assert_eq(s.selector, 0x08);
	cr_assert_eq(s.base, 0);
	cr_assert_eq(s.limit, 0xffffffff);
	cr_assert_eq(s.type, 0xb);
	cr_assert_eq(s.s, 1);
	cr_assert_eq(s.present, 1);
	cr_assert_eq(s.l, 0);
	cr_assert_eq(s.db, 1);
	cr_assert_eq(s.g, 1);
}

Test(gdt, decode_data)
{
	struct kvm_segment s = x86_segment_from_gdt(x86_gdt_entry(LAYOUT_SEL_DATA / 8),
						    LAYOUT_SEL_DATA);

	cr_assert_eq(s.selector, 0x18);
	cr_assert_eq(s.base, 0);
	cr_assert_eq(s.limit, 0xffffffff);
	cr_assert_eq(s.type, 0x3);
	cr_assert_eq(s.s, 1);
	cr_assert_eq(s.present, 1);
	cr_assert_eq(s.l, 0);
	cr_assert_eq(s.db, 1);
	cr_assert_eq(s.g, 1);
	cr_assert_eq(s.unusable, 0);
}

Test(gdt, decode_tss)
{
	struct kvm_segment s = x86_segment_from_gdt(x86_gdt_entry(LAYOUT_SEL_TSS / 8),
						    LAYOUT_SEL_TSS);

	cr_assert_eq(s.selector, 0x20);
	cr_assert_eq(s.type, 0xb, "busy 32-bit TSS (VMX guest-state check for TR)");
	cr_assert_eq(s.s, 0);
	cr_assert_eq(s.present, 1);
	cr_assert_geq(s.limit, 0x67, "a 32-bit TSS is at least 104 bytes");
	cr_assert_eq(s.unusable, 0);
}

Test(gdt, decode_arbitrary_fields)
{
	/* base 0x12345678, limit 0xabcde (byte granular), access 0x93 with
	 * DPL 3 (0xf3), AVL=1, D/B=1 */
	uint64_t d = (0x12ULL << 56) | (0x5aULL << 48) | (0xf3ULL << 40) |
		     (0x345678ULL << 16) | 0xbcde;
	struct kvm_segment s = x86_segment_from_gdt(d, 0x2b);

	cr_assert_eq(s.base, 0x12345678);
	cr_assert_eq(s.limit, 0xabcde);
	cr_assert_eq(s.type, 3);
	cr_assert_eq(s.dpl, 3);
	cr_assert_eq(s.s, 1);
	cr_assert_eq(s.present, 1);
	cr_assert_eq(s.avl, 1);
	cr_assert_eq(s.l, 0);
	cr_assert_eq(s.db, 1);
	cr_assert_eq(s.g, 0);
	cr_assert_eq(s.selector, 0x2b);
}

Test(gdt, decode_null_is_unusable)
{
	struct kvm_segment s = x86_segment_from_gdt(0, 0);

	cr_assert_eq(s.present, 0);
	cr_assert_eq(s.unusable, 1);
}

/* --- boot structures in real guest memory ------------------------------ */

static struct guest_mem gm;

static void mem_setup(void)
{
	cr_assert_eq(gm_init(&gm, MIB(4)), 0);
	memset(gm.base, 0xa5, 0x10000); /* catch fields left unwritten */
}

static void mem_teardown(void)
{
	gm_destroy(&gm);
}

TestSuite(boot_mem, .init = mem_setup, .fini = mem_teardown);

Test(boot_mem, gdt_and_page_tables)
{
	uint64_t *gdt = (uint64_t *)(gm.base + LAYOUT_GDT_ADDR);
	uint64_t *pml4 = (uint64_t *)(gm.base + LAYOUT_PML4);
	uint64_t *pdpt = (uint64_t *)(gm.base + LAYOUT_PDPT);
	uint64_t *pd = (uint64_t *)(gm.base + LAYOUT_PD);

	memset(gm.base + LAYOUT_PML4, 0, 3 * 4096); /* fresh RAM is zero */
	cr_assert_eq(x86_write_gdt_and_paging(&gm), 0);
	for (unsigned i = 0; i < LAYOUT_GDT_ENTRIES; i++)
		cr_assert_eq(gdt[i], x86_gdt_entry(i), "GDT slot %u", i);
	cr_assert_eq(pml4[0], LAYOUT_PDPT | 3);
	cr_assert_eq(pdpt[0], LAYOUT_PD | 3);
	for (unsigned i = 0; i < 512; i++)
		cr_assert_eq(pd[i], ((uint64_t)i << 21) | 0x83, "PD entry %u", i);
	for (unsigned i = 1; i < 512; i++) {
		cr_assert_eq(pml4[i], 0);
		cr_assert_eq(pdpt[i], 0);
	}
}

Test(boot_mem, gdt_and_paging_need_ram)
{
	struct guest_mem tiny;

	cr_assert_eq(gm_init(&tiny, KIB(44)), 0); /* PD page at 0xb000 missing */
	cr_assert_eq(x86_write_gdt_and_paging(&tiny), -EFAULT);
	gm_destroy(&tiny);
	cr_assert_eq(gm_init(&tiny, KIB(48)), 0);
	cr_assert_eq(x86_write_gdt_and_paging(&tiny), 0);
	gm_destroy(&tiny);
}

Test(boot_mem, zero_page_without_header)
{
	struct x86_boot_params bp = { .hdr = NULL, .cmdline_gpa = LAYOUT_CMDLINE,
				      .cmdline_len = 37, .initrd_gpa = 0x200000,
				      .initrd_size = 0x1234 };
	struct boot_params *zp = (struct boot_params *)(gm.base + LAYOUT_ZERO_PAGE);

	cr_assert_eq(x86_write_zero_page(&gm, &bp), 0);
	cr_assert_eq(zp->hdr.boot_flag, 0xaa55);
	cr_assert_eq(zp->hdr.header, 0x53726448);
	cr_assert_eq(zp->hdr.type_of_loader, 0xff);
	cr_assert_eq(zp->hdr.kernel_alignment, 0x1000000);
	cr_assert(zp->hdr.loadflags & LOADED_HIGH);
	cr_assert_eq(zp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	cr_assert_eq(zp->ext_cmd_line_ptr, 0);
	cr_assert_eq(zp->hdr.cmdline_size, 37);
	cr_assert_eq(zp->hdr.ramdisk_image, 0x200000);
	cr_assert_eq(zp->hdr.ramdisk_size, 0x1234);
	cr_assert_eq(zp->ext_ramdisk_image, 0);
	cr_assert_eq(zp->ext_ramdisk_size, 0);
	cr_assert_eq(zp->e820_entries, 3);
	cr_assert_eq(zp->e820_table[0].addr, 0);
	cr_assert_eq(zp->e820_table[0].size, 0x9fc00);
	cr_assert_eq(zp->e820_table[0].type, E820_RAM);
	cr_assert_eq(zp->e820_table[1].addr, 0x9fc00);
	cr_assert_eq(zp->e820_table[1].type, E820_RESERVED);
	cr_assert_eq(zp->e820_table[2].addr, MIB(1));
	cr_assert_eq(zp->e820_table[2].size, MIB(3));
	cr_assert_eq(zp->e820_table[2].type, E820_RAM);
	cr_assert_eq(zp->e820_table[3].size, 0, "unused e820 slots are zero");
	/* everything else zeroed */
	cr_assert_eq(zp->hdr.version, 0);
	cr_assert_eq(zp->hdr.setup_sects, 0);
	cr_assert_eq(zp->screen_info.orig_video_mode, 0);
	cr_assert_eq(((uint8_t *)zp)[sizeof(*zp) - 1], 0);
	cr_assert_eq(gm.base[LAYOUT_ZERO_PAGE + sizeof(*zp)], 0xa5, "no write past the zero page");
}

Test(boot_mem, zero_page_copies_bzimage_header)
{
	struct setup_header h;
	struct x86_boot_params bp = { .hdr = &h, .cmdline_gpa = 0x123456789ULL,
				      .cmdline_len = 5, .initrd_gpa = 0x1200000000ULL,
				      .initrd_size = 0x300000000ULL };
	struct boot_params *zp = (struct boot_params *)(gm.base + LAYOUT_ZERO_PAGE);

	memset(&h, 0, sizeof(h));
	h.setup_sects = 7;
	h.version = 0x20f;
	h.init_size = 0x2000000;
	h.kernel_alignment = 0x200000;
	h.xloadflags = XLF_KERNEL_64;
	h.type_of_loader = 0x12;
	h.loadflags = 0x20; /* QUIET_FLAG: preserved */
	cr_assert_eq(x86_write_zero_page(&gm, &bp), 0);
	cr_assert_eq(zp->hdr.setup_sects, 7);
	cr_assert_eq(zp->hdr.version, 0x20f);
	cr_assert_eq(zp->hdr.init_size, 0x2000000);
	cr_assert_eq(zp->hdr.kernel_alignment, 0x200000, "kernel's own alignment kept");
	cr_assert_eq(zp->hdr.xloadflags, XLF_KERNEL_64);
	cr_assert_eq(zp->hdr.type_of_loader, 0xff);
	cr_assert_eq(zp->hdr.loadflags, 0x20 | LOADED_HIGH);
	cr_assert_eq(zp->hdr.boot_flag, 0xaa55);
	cr_assert_eq(zp->hdr.header, 0x53726448);
	cr_assert_eq(zp->hdr.cmd_line_ptr, 0x23456789);
	cr_assert_eq(zp->ext_cmd_line_ptr, 0x1);
	cr_assert_eq(zp->hdr.ramdisk_image, 0);
	cr_assert_eq(zp->ext_ramdisk_image, 0x12);
	cr_assert_eq(zp->hdr.ramdisk_size, 0);
	cr_assert_eq(zp->ext_ramdisk_size, 3);
}

Test(boot_mem, zero_page_needs_ram)
{
	struct guest_mem tiny;
	struct x86_boot_params bp = { 0 };

	cr_assert_eq(gm_init(&tiny, KIB(28)), 0); /* ends at 0x7000 */
	cr_assert_eq(x86_write_zero_page(&tiny, &bp), -EFAULT);
	cr_assert_eq(x86_write_pvh_start_info(&tiny, &bp), -EFAULT);
	gm_destroy(&tiny);
}

Test(boot_mem, pvh_start_info_without_initrd)
{
	struct x86_boot_params bp = { .cmdline_gpa = LAYOUT_CMDLINE, .cmdline_len = 10 };
	struct hvm_start_info *si = (struct hvm_start_info *)(gm.base + LAYOUT_ZERO_PAGE);
	struct hvm_memmap_table_entry *mm =
		(struct hvm_memmap_table_entry *)(gm.base + LAYOUT_PVH_MEMMAP);

	cr_assert_eq(x86_write_pvh_start_info(&gm, &bp), 0);
	cr_assert_eq(si->magic, XEN_HVM_START_MAGIC);
	cr_assert_eq(si->version, 1);
	cr_assert_eq(si->flags, 0);
	cr_assert_eq(si->nr_modules, 0);
	cr_assert_eq(si->modlist_paddr, 0);
	cr_assert_eq(si->cmdline_paddr, LAYOUT_CMDLINE);
	cr_assert_eq(si->rsdp_paddr, 0);
	cr_assert_eq(si->memmap_paddr, LAYOUT_PVH_MEMMAP);
	cr_assert_eq(si->memmap_entries, 3);
	cr_assert_eq(mm[0].addr, 0);
	cr_assert_eq(mm[0].size, 0x9fc00);
	cr_assert_eq(mm[0].type, E820_RAM);
	cr_assert_eq(mm[1].addr, 0x9fc00);
	cr_assert_eq(mm[1].size, 0x400);
	cr_assert_eq(mm[1].type, E820_RESERVED);
	cr_assert_eq(mm[2].addr, MIB(1));
	cr_assert_eq(mm[2].size, MIB(3));
	cr_assert_eq(mm[2].type, E820_RAM);
	cr_assert_eq(mm[2].reserved, 0);
	/* memmap must not overlap the start info */
	cr_assert_geq(LAYOUT_PVH_MEMMAP, LAYOUT_ZERO_PAGE + sizeof(*si));
}

Test(boot_mem, pvh_start_info_with_initrd)
{
	struct x86_boot_params bp = { .cmdline_gpa = LAYOUT_CMDLINE, .cmdline_len = 10,
				      .initrd_gpa = 0x300000, .initrd_size = 0x4567 };
	struct hvm_start_info *si = (struct hvm_start_info *)(gm.base + LAYOUT_ZERO_PAGE);
	struct hvm_modlist_entry *mod;

	cr_assert_eq(x86_write_pvh_start_info(&gm, &bp), 0);
	cr_assert_eq(si->nr_modules, 1);
	cr_assert_eq(si->memmap_entries, 3);
	/* modlist follows the memmap and does not overlap it */
	cr_assert_geq(si->modlist_paddr,
		      LAYOUT_PVH_MEMMAP + 3 * sizeof(struct hvm_memmap_table_entry));
	cr_assert_eq(si->modlist_paddr % 8, 0);
	mod = (struct hvm_modlist_entry *)(gm.base + si->modlist_paddr);
	cr_assert_eq(mod->paddr, 0x300000);
	cr_assert_eq(mod->size, 0x4567);
	cr_assert_eq(mod->cmdline_paddr, 0);
	cr_assert_eq(mod->reserved, 0);
}

Test(boot_mem, pvh_memmap_high_ram)
{
	/* 3 GiB + 2 MiB real (lazy) mapping: four memmap entries */
	struct guest_mem big;
	struct x86_boot_params bp = { .cmdline_gpa = LAYOUT_CMDLINE };
	struct hvm_start_info *si;
	struct hvm_memmap_table_entry *mm;

	cr_assert_eq(gm_init(&big, GIB(3) + MIB(2)), 0);
	cr_assert_eq(x86_write_pvh_start_info(&big, &bp), 0);
	si = (struct hvm_start_info *)(big.base + LAYOUT_ZERO_PAGE);
	mm = (struct hvm_memmap_table_entry *)(big.base + LAYOUT_PVH_MEMMAP);
	cr_assert_eq(si->memmap_entries, 4);
	cr_assert_eq(mm[3].addr, GIB(4));
	cr_assert_eq(mm[3].size, MIB(2));
	cr_assert_eq(mm[3].type, E820_RAM);
	gm_destroy(&big);
}
