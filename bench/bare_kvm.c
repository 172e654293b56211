/*
 * bare_kvm: the smallest useful KVM loader, as a physical-limit reference
 * for cold start. One VM, one 64 KiB memslot, one vCPU in real mode running
 *   mov dx, 0x3f8 ; mov al, 'K' ; out dx, al ; hlt
 * The port write exits to us; we write the byte to stdout and stop.
 * No irqchip, no CPUID setup, no devices: anything a real monitor spends
 * beyond this is its own cost.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE  0x10000
#define CODE_ADDR 0x1000

static const uint8_t code[] = {
	0xba, 0xf8, 0x03,	/* mov dx, 0x3f8 */
	0xb0, 'K',		/* mov al, 'K' */
	0xee,			/* out dx, al */
	0xf4,			/* hlt */
};

static int die(const char *what)
{
	perror(what);
	return 1;
}

int main(void)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int kvm, vm, vcpu;
	long run_size;
	uint8_t *mem;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return die("open /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return die("KVM_CREATE_VM");

	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return die("mmap guest memory");
	memcpy(mem + CODE_ADDR, code, sizeof(code));
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return die("KVM_SET_USER_MEMORY_REGION");

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return die("KVM_CREATE_VCPU");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (long)sizeof(*run))
		return die("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu, 0);
	if (run == MAP_FAILED)
		return die("mmap kvm_run");

	/* Real mode at 0000:1000 (reset state has CS base 0xffff0000). */
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return die("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_ADDR;
	regs.rflags = 0x2;	/* bit 1 is reserved, always set */
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return die("KVM_SET_REGS");

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return die("KVM_RUN");
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (run->io.direction == KVM_EXIT_IO_OUT &&
			    run->io.port == 0x3f8 && run->io.size == 1) {
				uint8_t *b = (uint8_t *)run + run->io.data_offset;

				if (write(STDOUT_FILENO, b, 1) != 1)
					return die("write");
			}
			break;
		case KVM_EXIT_HLT:
			return write(STDOUT_FILENO, "\n", 1) == 1 ? 0 : 1;
		default:
			fprintf(stderr, "bare_kvm: unexpected exit %u\n",
				run->exit_reason);
			return 1;
		}
	}
}
