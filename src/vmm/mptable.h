/* Intel MultiProcessor Specification 1.4 tables, so a guest without ACPI
 * finds its CPUs, the IOAPIC and the ISA interrupt routing. */
#ifndef FEMTOVM_MPTABLE_H
#define FEMTOVM_MPTABLE_H

#include <stdint.h>

#include "vmm/guest_mem.h"

#define MPTABLE_MAX_CPUS 32

/* Bytes the tables for @ncpus take (floating pointer + configuration table). */
uint64_t mptable_size(unsigned ncpus);

/* Build the tables for @ncpus (APIC ids 0..ncpus-1, IOAPIC id ncpus) at
 * @gpa. -EINVAL for ncpus 0 or > MPTABLE_MAX_CPUS, -ENOSPC if they would
 * not fit in the EBDA, -EFAULT if @gpa is not RAM. */
int mptable_write(const struct guest_mem *gm, uint64_t gpa, unsigned ncpus);

/* Sum of @len bytes mod 256; a valid MP structure sums to 0. */
uint8_t mptable_checksum(const void *p, uint64_t len);

#endif
