/* The PVH boot structures (Xen public header arch-x86/hvm/start_info.h, which
 * linux-libc-dev does not ship): ebx points at struct hvm_start_info; from
 * version 1 it carries a memory map of e820-typed entries. */
#ifndef RT_HVM_START_INFO_H
#define RT_HVM_START_INFO_H

#include <stdint.h>

#define XEN_HVM_START_MAGIC_VALUE 0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;	/* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

#endif
