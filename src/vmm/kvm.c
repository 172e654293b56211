/* KVM system and VM file descriptors: the first ioctls of every boot. */
#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/layout.h"
#include "vmm/log.h"

/* Log "@what: <errno text>" and return -errno (errno saved before logging). */
static int kvm_fail(const char *what)
{
	int e = errno;

	log_err("%s: %s", what, strerror(e));
	return -e;
}

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
};

int kvm_open(struct kvm *kvm, const char *dev)
{
	int ret;

	memset(kvm, 0, sizeof(*kvm));
	kvm->vm_fd = -1;
	kvm->kvm_fd = open(dev ? dev : "/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->kvm_fd < 0) {
		ret = -errno;
		log_err("cannot open %s: %s", dev ? dev : "/dev/kvm", strerror(errno));
		return ret;
	}
	ret = ioctl(kvm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		log_err("KVM API version %d, need %d", ret, KVM_API_VERSION);
		goto err_close;
	}
	for (unsigned i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(kvm->kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			log_err("KVM lacks %s", required_caps[i].name);
			goto err_close;
		}
	}
	kvm->run_size = ioctl(kvm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->run_size < (int)sizeof(struct kvm_run)) {
		log_err("bad KVM_GET_VCPU_MMAP_SIZE %d", kvm->run_size);
		goto err_close;
	}
	kvm->vm_fd = ioctl(kvm->kvm_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0) {
		ret = -errno;
		log_err("KVM_CREATE_VM: %s", strerror(errno));
		close(kvm->kvm_fd);
		kvm->kvm_fd = -1;
		return ret;
	}
	return 0;
err_close:
	close(kvm->kvm_fd);
	kvm->kvm_fd = -1;
	return -ENOTSUP;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->kvm_fd >= 0)
		close(kvm->kvm_fd);
	free(kvm->cpuid);
	kvm->cpuid = NULL;
	kvm->vm_fd = kvm->kvm_fd = -1;
}

int kvm_set_memory(struct kvm *kvm, const struct guest_mem *gm, int track_dirty)
{
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = i,
			.flags = track_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0,
			.guest_phys_addr = gm->regions[i].gpa,
			.memory_size = gm->regions[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)gm->regions[i].hva,
		};

		if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return kvm_fail("KVM_SET_USER_MEMORY_REGION");
	}
	return 0;
}

int kvm_get_dirty_log(struct kvm *kvm, unsigned slot, uint64_t *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	if (ioctl(kvm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return kvm_fail("KVM_GET_DIRTY_LOG");
	return 0;
}

int kvm_create_irqchip(struct kvm *kvm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = LAYOUT_KVM_IDENTITY_MAP;

	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return kvm_fail("KVM_CREATE_IRQCHIP");
	if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return kvm_fail("KVM_CREATE_PIT2");
	if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_KVM_TSS) < 0)
		return kvm_fail("KVM_SET_TSS_ADDR");
	if (ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return kvm_fail("KVM_SET_IDENTITY_MAP_ADDR");
	return 0;
}

int kvm_irqfd(struct kvm *kvm, int efd, unsigned gsi)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)efd, .gsi = gsi };

	if (ioctl(kvm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return kvm_fail("KVM_IRQFD");
	return 0;
}

int kvm_supported_cpuid(struct kvm *kvm)
{
	unsigned nent = 128;

	if (kvm->cpuid)
		return 0;
	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(kvm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			kvm->cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG || nent >= 4096)
			return kvm_fail("KVM_GET_SUPPORTED_CPUID");
		nent *= 2;
	}
}
