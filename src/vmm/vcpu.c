/* The vCPU run loop and its exit handling. Guest faults are reported with
 * the vCPU's registers and stop the VM; they never crash the monitor. */
#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/vm.h"
#include "vmm/x86_cpu.h"

#define VCPU_KICK_SIGNAL SIGUSR1

static void kick_handler(int sig)
{
	(void)sig; /* only there to make KVM_RUN return -EINTR */
}

int vcpu_signals_init(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

int vcpu_create(struct vcpu *v, struct vm *vm, unsigned id)
{
	int ret;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		ret = -errno;
		log_err("KVM_CREATE_VCPU %u: %s", id, strerror(errno));
		return ret;
	}
	v->run = mmap(NULL, (size_t)vm->kvm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		ret = -errno;
		log_err("mmap kvm_run %u: %s", id, strerror(errno));
		close(v->fd);
		v->fd = -1;
		v->run = NULL;
		return ret;
	}
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, (size_t)v->vm->kvm.run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

static void report_fault(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	log_err("vcpu%u: guest failure: KVM exit %s (%u)", v->id,
		exit_reason_name(r->exit_reason), r->exit_reason);
	if (r->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		log_err("vcpu%u: internal error suberror %u", v->id, r->internal.suberror);
	else if (r->exit_reason == KVM_EXIT_FAIL_ENTRY)
		log_err("vcpu%u: entry failure reason 0x%llx", v->id,
			(unsigned long long)r->fail_entry.hardware_entry_failure_reason);
	x86_cpu_dump(v->fd, v->id);
}

static void *vcpu_loop(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	int ret;

	if (vm->opts.filter_vcpu && (ret = vm->opts.filter_vcpu())) {
		log_err("vcpu%u: cannot install the seccomp filter: %s", v->id, strerror(-ret));
		vm_request_stop(vm, VM_EXIT_ERROR, "seccomp filter refused");
	}
	while (!vm_stopping(vm)) {
		enum exit_action act;

		vm_park_if_paused(vm, v);
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			log_err("vcpu%u: KVM_RUN: %s", v->id, strerror(errno));
			vm_request_stop(vm, VM_EXIT_INTERNAL, "KVM_RUN failed");
			break;
		}
		act = exit_dispatch(v->run, (size_t)vm->kvm.run_size, &vm->pio, &vm->mmio,
				    &v->stats);
		if (act == EXIT_ACT_STOP) {
			vm_request_stop(vm, VM_EXIT_OK, "guest powered off");
		} else if (act == EXIT_ACT_GUEST_FAULT) {
			report_fault(v);
			vm_request_stop(vm, VM_EXIT_GUEST_FAULT, "guest failure");
		}
	}
	/* Let a pending vm_pause() stop waiting for this thread. */
	pthread_mutex_lock(&vm->pause_lock);
	vm->running--;
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	int ret = pthread_create(&v->thread, NULL, vcpu_loop, v);

	if (ret) {
		log_err("vcpu%u: cannot start thread: %s", v->id, strerror(ret));
		return -ret;
	}
	v->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->started)
		return;
	/* immediate_exit covers the window before the thread enters KVM_RUN. */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *v)
{
	if (v->started)
		pthread_join(v->thread, NULL);
	v->started = false;
}
