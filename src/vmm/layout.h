/* Guest-physical layout of a femtovm x86_64 microVM: every fixed address and
 * port the monitor uses, in one place (DESIGN.md §3). Addresses are gpa_t
 * values, never host pointers. */
#ifndef FEMTOVM_LAYOUT_H
#define FEMTOVM_LAYOUT_H

#include <stdint.h>

/* GDT used for both boot paths. Linux's 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol") requires
 * __BOOT_CS = 0x10 and __BOOT_DS = 0x18, so entry 1 is left null. */
#define LAYOUT_GDT_ADDR 0x500ULL
#define LAYOUT_GDT_ENTRIES 5
#define LAYOUT_SEL_CODE64 0x10 /* 64-bit code, also the PVH 32-bit code slot */
#define LAYOUT_SEL_DATA 0x18   /* flat 4 GiB data */
#define LAYOUT_SEL_TSS 0x20    /* a busy-less 32-bit TSS, needed by VMX entry */
#define LAYOUT_SEL_CODE32 0x08 /* 32-bit flat code for the PVH entry */

#define LAYOUT_BOOT_STACK 0x8ff0ULL /* initial rsp/esp, grows down */
#define LAYOUT_ZERO_PAGE 0x7000ULL  /* struct boot_params, or hvm_start_info */
#define LAYOUT_PVH_MEMMAP 0x7800ULL /* PVH: hvm_memmap_table_entry array */

/* Identity page tables covering the first 1 GiB with 2 MiB pages. */
#define LAYOUT_PML4 0x9000ULL
#define LAYOUT_PDPT 0xa000ULL
#define LAYOUT_PD 0xb000ULL

#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 2048 /* bytes including the NUL (Linux x86 limit) */

/* The Extended BIOS Data Area, last KiB of base memory; holds the MP table
 * (Intel MP spec 1.4 §4: the floating pointer may live in the EBDA's first
 * KiB, which Linux scans). */
#define LAYOUT_EBDA 0x9fc00ULL
#define LAYOUT_EBDA_END 0xa0000ULL
#define LAYOUT_HIGH_MEM 0x100000ULL /* 1 MiB: kernel load address */

/* ACPI tables (RSDP first) in the BIOS area, where Linux also scans for the
 * RSDP; kernels built without MP-table support count CPUs from the MADT. */
#define LAYOUT_ACPI 0xE0000ULL
#define LAYOUT_ACPI_END 0x100000ULL

/* The 32-bit MMIO hole; RAM that does not fit below it continues at 4 GiB. */
#define LAYOUT_MMIO_HOLE 0xC0000000ULL
#define LAYOUT_MMIO_HOLE_END 0x100000000ULL

/* virtio-mmio slots: device n at base + n * size, interrupt GSI base + n. */
#define LAYOUT_VIRTIO_BASE 0xD0000000ULL
#define LAYOUT_VIRTIO_SIZE 0x1000ULL
#define LAYOUT_VIRTIO_GSI 5
#define LAYOUT_VIRTIO_MAX 18 /* GSIs 5..22 of the 24-pin IOAPIC */

#define LAYOUT_IOAPIC 0xFEC00000ULL
#define LAYOUT_LAPIC 0xFEE00000ULL
#define LAYOUT_IOAPIC_PINS 24

/* KVM needs three pages for the VMX real-mode TSS and one for the identity
 * map, somewhere the guest never uses: just below the IOAPIC's BIOS area. */
#define LAYOUT_KVM_TSS 0xfffbd000ULL
#define LAYOUT_KVM_IDENTITY_MAP 0xfffbc000ULL

/* Legacy I/O ports. */
#define LAYOUT_COM1_PORT 0x3f8
#define LAYOUT_COM1_IRQ 4
#define LAYOUT_I8042_PORT 0x60 /* 0x60 data, 0x64 command/status */
#define LAYOUT_I8042_CMD 0x64
#define LAYOUT_I8042_IRQ 1
#define LAYOUT_BOOT_TIMER_PORT 0x3f0
#define LAYOUT_BOOT_TIMER_MAGIC 123

#endif
