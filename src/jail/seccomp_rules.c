/* The allowlists. Every syscall carries the reason the thread needs it;
 * anything else kills the process (SCMP_ACT_KILL_PROCESS). ioctl is allowed
 * only for the listed request numbers. */
#include "jail/seccomp_rules.h"

#include <asm/ioctls.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <stdio.h>

struct rule {
	int nr;
	const char *why;
};

#define R(name, why) { SCMP_SYS(name), why }

/* Shared by both thread kinds. */
static const struct rule common[] = {
	R(futex, "pthread mutexes and condition variables"),
	R(write, "serial output, eventfd signals (irqfd, kicks, stop), log lines"),
	R(epoll_ctl, "re-arm serial input / tap polling after the guest frees buffers"),
	R(timerfd_settime, "arm/disarm device rate-limiter timers"),
	R(clock_gettime, "log timestamps and rate limiters when the vDSO is unavailable"),
	R(mmap, "glibc malloc arenas"),
	R(munmap, "glibc malloc arenas; guest memory and kvm_run at teardown"),
	R(brk, "glibc malloc"),
	R(madvise, "glibc releases thread stacks and arena pages"),
	R(rt_sigreturn, "return from the vCPU kick signal handler"),
	R(rt_sigprocmask, "glibc masks signals around thread exit"),
	R(sched_yield, "glibc lock back-off"),
	R(gettid, "glibc"),
	R(exit, "thread exit"),
	R(exit_group, "process exit"),
};

static const struct rule vmm_only[] = {
	R(epoll_wait, "the event loop itself"),
	R(epoll_pwait, "the event loop (glibc may use epoll_pwait)"),
	R(read, "eventfds, timerfds, signalfd, sockets, tap, serial input"),
	R(readv, "tap and socket reads"),
	R(writev, "tap and socket writes"),
	R(pread64, "block device reads"),
	R(pwrite64, "block device writes"),
	R(preadv, "block device reads (scatter-gather)"),
	R(pwritev, "block device writes (scatter-gather)"),
	R(fdatasync, "virtio-blk FLUSH"),
	R(fsync, "virtio-blk FLUSH fallback"),
	R(openat, "PATCH /drives opens the new backing file"),
	R(newfstatat, "PATCH /drives checks the new backing file"),
	R(fstat, "PATCH /drives checks the new backing file"),
	R(close, "closing connections, files and at teardown"),
	R(accept4, "API and vsock connections"),
	R(recvfrom, "API and vsock socket reads"),
	R(sendto, "API and vsock socket writes (MSG_NOSIGNAL)"),
	R(recvmsg, "socket reads"),
	R(sendmsg, "socket writes"),
	R(socket, "vsock guest-to-host connections"),
	R(connect, "vsock guest-to-host connections"),
	R(getsockopt, "completion of a non-blocking connect"),
	R(shutdown, "half-closing vsock connections"),
	R(unlink, "removing the API socket at exit"),
	R(unlinkat, "removing the API socket at exit"),
	R(tgkill, "kicking vCPUs out of KVM_RUN (pause, stop)"),
	R(getpid, "pthread_kill passes our pid to tgkill"),
	R(fcntl, "setting O_NONBLOCK"),
	R(mremap, "glibc realloc of large buffers"),
	R(ftruncate, "PUT /snapshot/create sizes the memory file"),
	R(rename, "PUT /snapshot/create puts the state file in place atomically"),
	R(renameat, "PUT /snapshot/create puts the state file in place atomically"),
	R(renameat2, "PUT /snapshot/create puts the state file in place atomically"),
};

/* ioctl requests by thread kind (argument 1 must match one exactly). */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN,          /* run the guest */
	KVM_GET_REGS,     /* register dump on a guest fault */
	KVM_GET_SREGS,    /* register dump on a guest fault */
	TUNSETOFFLOAD,    /* virtio-net activation (DRIVER_OK write) mirrors offloads */
};
static const unsigned long vmm_ioctls[] = {
	TCGETS,           /* terminal state of stdin at exit */
	TCSETS,           /* restore the terminal at exit */
	/* PUT /snapshot/create reads the paused VM's state (DESIGN.md §7): */
	KVM_GET_MSR_INDEX_LIST, /* which MSRs to save (on /dev/kvm) */
	KVM_GET_CPUID2,   /* each vCPU's CPUID, restored first */
	KVM_GET_TSC_KHZ,  /* each vCPU's TSC rate */
	KVM_GET_REGS,     /* vCPU general-purpose registers */
	KVM_GET_SREGS,    /* vCPU segment and control registers */
	KVM_GET_FPU,      /* vCPU x87/SSE state */
	KVM_GET_XSAVE,    /* vCPU extended state */
	KVM_GET_XCRS,     /* vCPU XCR0 */
	KVM_GET_DEBUGREGS, /* vCPU debug registers */
	KVM_GET_LAPIC,    /* vCPU local APIC registers */
	KVM_GET_MSRS,     /* vCPU MSRs, one at a time */
	KVM_GET_MP_STATE, /* vCPU run state (running, halted, INIT wait) */
	KVM_GET_VCPU_EVENTS, /* vCPU pending exceptions, NMIs, interrupt shadow */
	KVM_GET_IRQCHIP,  /* PIC master/slave and IOAPIC state */
	KVM_GET_PIT2,     /* PIT state */
	KVM_GET_CLOCK,    /* kvmclock */
	KVM_GET_DIRTY_LOG, /* Diff snapshots: pages the guest wrote since the last one */
};

const char *seccomp_kind_name(enum seccomp_kind kind)
{
	return kind == SECCOMP_VCPU ? "vcpu" : "vmm";
}

static int add_rules(scmp_filter_ctx ctx, const struct rule *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r[i].nr, 0);

		if (ret) {
			fprintf(stderr, "seccomp: cannot allow syscall %d: %d\n", r[i].nr, ret);
			return ret;
		}
	}
	return 0;
}

static int add_ioctls(scmp_filter_ctx ctx, const unsigned long *req, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					   SCMP_A1(SCMP_CMP_EQ, req[i]));

		if (ret)
			return ret;
	}
	return 0;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

scmp_filter_ctx seccomp_rules_build(enum seccomp_kind kind)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int ret;

	if (!ctx)
		return NULL;
	ret = add_rules(ctx, common, N(common));
	if (!ret && kind == SECCOMP_VMM)
		ret = add_rules(ctx, vmm_only, N(vmm_only));
	if (!ret && kind == SECCOMP_VMM)
		ret = add_ioctls(ctx, vmm_ioctls, N(vmm_ioctls));
	if (!ret && kind == SECCOMP_VCPU)
		ret = add_ioctls(ctx, vcpu_ioctls, N(vcpu_ioctls));
	if (ret) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}
