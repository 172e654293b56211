/* Minimal ACPI tables (ACPI 6.4): RSDP, XSDT, a hardware-reduced FADT, an
 * empty DSDT and a MADT listing the vCPUs' LAPICs and the IOAPIC. Enough
 * for kernels that find CPUs only through ACPI (Debian's lack MPPARSE). */
#ifndef FEMTOVM_ACPI_H
#define FEMTOVM_ACPI_H

#include <stdint.h>

#include "vmm/guest_mem.h"

/* Write the tables at LAYOUT_ACPI for @ncpus (1..32). Returns 0 or -errno;
 * *rsdp receives the RSDP's guest address. */
int acpi_write_tables(const struct guest_mem *gm, unsigned ncpus, uint64_t *rsdp);

#endif
