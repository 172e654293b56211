/* A KVM VM prepared before it is needed (--prepare-mem-mib): KVM_CREATE_VM
 * and the memory slots for a given RAM size, over an address range that
 * is only reserved (PROT_NONE, nothing allocated). KVM's per-slot metadata
 * costs time in proportion to the slot size; a pooled femtovm waiting for
 * InstanceStart or PUT /snapshot/load pays it up front, and a VM of that
 * exact size then only maps its RAM (anonymous or the memory file) over the
 * reserved range. A VM of another size is built as usual. */
#ifndef FEMTOVM_VM_RESERVE_H
#define FEMTOVM_VM_RESERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/kvm.h"

struct vm_reserve {
	bool ready;
	uint64_t size;   /* guest RAM bytes */
	uint8_t *base;   /* the reserved range, laid out as gm_init() would */
	struct kvm kvm;  /* VM with the memory slots, no irqchip yet */
};

/* Prepare for @mem_mib MiB of RAM. 0 or -errno (logged). */
int vm_reserve_init(struct vm_reserve *r, unsigned mem_mib);

/* For a VM of @size bytes: true, with the prepared VM moved into @kvm and
 * the reserved range's start in *@base (both now the caller's); false when
 * @r is NULL, used up, or prepared for another size. */
bool vm_reserve_take(struct vm_reserve *r, uint64_t size, struct kvm *kvm, uint8_t **base);

/* Release whatever was not taken. */
void vm_reserve_destroy(struct vm_reserve *r);

#endif
