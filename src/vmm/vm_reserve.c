/* Prepared KVM VM and reserved guest-RAM range (vm_reserve.h). */
#include "vmm/vm_reserve.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/guest_mem.h"
#include "vmm/log.h"
#include "vmm/util.h"

int vm_reserve_init(struct vm_reserve *r, unsigned mem_mib)
{
	struct guest_mem gm;
	int ret;

	memset(r, 0, sizeof(*r));
	r->kvm.kvm_fd = r->kvm.vm_fd = -1;
	r->size = MIB((uint64_t)mem_mib);
	ret = gm_layout(&gm, r->size);
	if (ret)
		return ret;
	/* Address space only: no access, no commit charge, nothing populated. */
	r->base = mmap(NULL, r->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (r->base == MAP_FAILED) {
		ret = -errno;
		r->base = NULL;
		log_err("--prepare-mem-mib: cannot reserve %u MiB of address space: %s", mem_mib,
			strerror(-ret));
		return ret;
	}
	gm.base = r->base;
	gm.regions[0].hva = gm.base;
	if (gm.nr_regions > 1)
		gm.regions[1].hva = gm.base + gm.regions[0].size;
	ret = kvm_open(&r->kvm, NULL);
	if (!ret)
		ret = kvm_set_memory(&r->kvm, &gm, 0);
	if (ret) {
		vm_reserve_destroy(r);
		return ret;
	}
	r->ready = true;
	return 0;
}

bool vm_reserve_take(struct vm_reserve *r, uint64_t size, struct kvm *kvm, uint8_t **base)
{
	if (!r || !r->ready)
		return false;
	if (r->size != size) {
		log_info("--prepare-mem-mib: prepared for %llu MiB, the VM has %llu MiB: "
			 "building it as usual", (unsigned long long)(r->size >> 20),
			 (unsigned long long)(size >> 20));
		return false;
	}
	log_info("--prepare-mem-mib: using the KVM VM prepared for %llu MiB",
		 (unsigned long long)(size >> 20));
	*kvm = r->kvm;
	*base = r->base;
	r->kvm.kvm_fd = r->kvm.vm_fd = -1;
	r->kvm.cpuid = NULL;
	r->base = NULL;
	r->ready = false;
	return true;
}

void vm_reserve_destroy(struct vm_reserve *r)
{
	kvm_close(&r->kvm);
	if (r->base)
		munmap(r->base, r->size);
	r->base = NULL;
	r->ready = false;
}
