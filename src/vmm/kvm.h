/* /dev/kvm and VM-level setup: capability checks, memory slots, in-kernel
 * irqchip and PIT, irqfds. The order matters on this host: memory slots are
 * registered before the irqchip (DESIGN.md §2, issue 2). */
#ifndef FEMTOVM_KVM_H
#define FEMTOVM_KVM_H

#include <linux/kvm.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

struct kvm {
	int kvm_fd;
	int vm_fd;
	int run_size;                 /* size of each vCPU's kvm_run mapping */
	struct kvm_cpuid2 *cpuid;     /* KVM_GET_SUPPORTED_CPUID */
};

/* Open /dev/kvm (or @dev), check the API version and the capabilities
 * femtovm needs, and create the VM. Logs what is missing. */
int kvm_open(struct kvm *kvm, const char *dev);
void kvm_close(struct kvm *kvm);

/* Register every region of @gm as a memory slot. */
int kvm_set_memory(struct kvm *kvm, const struct guest_mem *gm, int track_dirty);

/* KVM's dirty log of memory slot @slot (region @slot of the guest_mem
 * given to kvm_set_memory() with track_dirty): the pages the guest wrote
 * since the slot was created or since the last call, which this call
 * clears (KVM_GET_DIRTY_LOG without manual protect, so the pages are
 * write-protected again). @bitmap has gm_dirty_words() words and is
 * overwritten, in the same layout as guest_mem's device bitmaps. Fails
 * (-ENOENT) for a slot without KVM_MEM_LOG_DIRTY_PAGES. 0 or -errno. */
int kvm_get_dirty_log(struct kvm *kvm, unsigned slot, uint64_t *bitmap);

/* In-kernel PIC+IOAPIC+LAPIC and PIT, plus the TSS and identity-map pages. */
int kvm_create_irqchip(struct kvm *kvm);

/* Route @efd to @gsi (edge: each write to the eventfd is one pulse). */
int kvm_irqfd(struct kvm *kvm, int efd, unsigned gsi);

/* Fetch KVM_GET_SUPPORTED_CPUID once (cached in kvm->cpuid). */
int kvm_supported_cpuid(struct kvm *kvm);

#endif
