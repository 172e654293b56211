/* x86 boot-time guest structures: e820 map, GDT, identity page tables, the
 * Linux zero page (struct boot_params) and the PVH hvm_start_info. Pure
 * writers into guest memory; register setup lives in x86_cpu. */
#ifndef FEMTOVM_X86_BOOT_H
#define FEMTOVM_X86_BOOT_H

#include <asm/bootparam.h>
#include <linux/kvm.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

/* PVH start-of-day structures (Xen public/arch-x86/hvm/start_info.h, the
 * PVH boot ABI); not in any Linux uapi header. */
#define XEN_HVM_START_MAGIC 0x336ec578
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

#define X86_E820_MAX 8

/* The e820 map for @gm exactly as DESIGN.md §3 describes: low RAM below the
 * EBDA, the EBDA reserved, RAM from 1 MiB to the hole, RAM above 4 GiB.
 * Returns the number of entries written (≤ X86_E820_MAX). */
unsigned x86_e820_build(const struct guest_mem *gm, struct boot_e820_entry *out);

/* GDT at LAYOUT_GDT_ADDR and identity page tables for the first 1 GiB. */
int x86_write_gdt_and_paging(const struct guest_mem *gm);

/* Descriptor for GDT slot @index (selector / 8), and its KVM form. */
uint64_t x86_gdt_entry(unsigned index);
struct kvm_segment x86_segment_from_gdt(uint64_t desc, uint16_t selector);

struct x86_boot_params {
	const struct setup_header *hdr; /* bzImage header to copy, or NULL */
	uint64_t cmdline_gpa;
	uint32_t cmdline_len;           /* without the NUL */
	uint64_t initrd_gpa, initrd_size;
	uint64_t rsdp_gpa;              /* ACPI RSDP, 0 for none */
};

/* Fill the zero page at LAYOUT_ZERO_PAGE for the 64-bit boot protocol. */
int x86_write_zero_page(const struct guest_mem *gm, const struct x86_boot_params *bp);

/* Fill hvm_start_info (+ memmap and modlist) for the PVH entry. */
int x86_write_pvh_start_info(const struct guest_mem *gm, const struct x86_boot_params *bp);

#endif
