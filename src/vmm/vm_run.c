/* A built VM's life on the event loop: starting the vCPU threads, serial
 * input from the host, pause/resume (kick + park), and the stop path that
 * ends the process's event loop. */
#include "vmm/vm.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/log.h"

bool vm_stopping(const struct vm *vm)
{
	return __atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE);
}

void vm_request_stop(struct vm *vm, int code, const char *why)
{
	uint64_t one = 1;
	int expected = 0;

	if (!__atomic_compare_exchange_n(&vm->stopping, &expected, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	vm->exit_code = code;
	log_info("stopping VM: %s (exit code %d)", why, code);
	/* Wake vCPUs parked by a pause so they can exit. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	if (write(vm->stop_efd, &one, sizeof(one)) < 0) {
		/* the eventfd cannot overflow with a single write */
	}
}

static void on_stop(struct el_handler *h, uint32_t events)
{
	struct vm *vm = h->opaque;
	uint64_t v;

	(void)events;
	if (read(vm->stop_efd, &v, sizeof(v)) < 0) {
		/* spurious wakeup: nothing to consume */
	}
	if (vm_stopping(vm))
		vm->el->stop = true;
}

/* Stop watching the input while the guest's FIFO is full. Removing the fd
 * (rather than masking it) also silences EPOLLHUP, which epoll reports even
 * with an empty mask. The re-check closes the race with a vCPU draining the
 * FIFO between our space check and the removal (on_rx_space re-adds). */
static void pause_input(struct vm *vm)
{
	el_del(vm->el, &vm->input_h);
	if (serial_rx_space(&vm->serial))
		el_add(vm->el, &vm->input_h, EPOLLIN);
}

/* Host input for the serial port; pauses while the guest's FIFO is full. */
static void on_input(struct el_handler *h, uint32_t events)
{
	struct vm *vm = h->opaque;
	uint8_t buf[SERIAL_RX_FIFO];
	unsigned space = serial_rx_space(&vm->serial);
	ssize_t n;

	(void)events;
	if (!space) {
		pause_input(vm);
		return;
	}
	n = read(h->fd, buf, space);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		vm->input_open = false;
		el_del(vm->el, h);
		return;
	}
	serial_push_input(&vm->serial, buf, (unsigned)n);
}

/* The guest drained a full receive FIFO (vCPU thread): listen again. If the
 * fd is still registered el_add fails with EEXIST, which is fine. */
static void on_rx_space(void *opaque)
{
	struct vm *vm = opaque;

	if (__atomic_load_n(&vm->input_open, __ATOMIC_ACQUIRE))
		el_add(vm->el, &vm->input_h, EPOLLIN);
}

int vm_setup_events(struct vm *vm)
{
	int ret;

	vm->stop_h = (struct el_handler){ vm->stop_efd, on_stop, vm };
	ret = el_add(vm->el, &vm->stop_h, EPOLLIN);
	if (ret) {
		vm->stop_h.fd = -1;
		return ret;
	}
	if (vm->opts.serial_in >= 0) {
		vm->input_h = (struct el_handler){ vm->opts.serial_in, on_input, vm };
		/* epoll refuses regular files and /dev/null: then there is no input. */
		vm->input_open = el_add(vm->el, &vm->input_h, EPOLLIN) == 0;
	}
	return 0;
}

int vm_start(struct vm *vm)
{
	int ret = 0;

	vm->serial.rx_space = on_rx_space;
	vm->serial.rx_opaque = vm;
	for (unsigned i = 0; i < vm->nvcpus && !ret; i++) {
		/* Count the thread before it runs: it decrements when it exits. */
		pthread_mutex_lock(&vm->pause_lock);
		vm->running++;
		pthread_mutex_unlock(&vm->pause_lock);
		ret = vcpu_start(&vm->vcpus[i]);
		if (ret) {
			pthread_mutex_lock(&vm->pause_lock);
			vm->running--;
			pthread_mutex_unlock(&vm->pause_lock);
		}
	}
	if (ret) {
		vm_request_stop(vm, VM_EXIT_ERROR, "cannot start vCPU threads");
		return ret;
	}
	log_debug("vCPUs started after %llu us", (unsigned long long)log_uptime_us());
	if (vm->opts.filter_vmm && (ret = vm->opts.filter_vmm())) {
		log_err("cannot install the event-loop seccomp filter: %s", strerror(-ret));
		vm_request_stop(vm, VM_EXIT_ERROR, "seccomp filter refused");
	}
	return ret;
}

void vm_park_if_paused(struct vm *vm, struct vcpu *v)
{
	pthread_mutex_lock(&vm->pause_lock);
	if (vm->paused && !vm_stopping(vm)) {
		/* Complete a pending I/O exit without entering the guest, so that
		 * a paused vCPU's registers are consistent for a snapshot (KVM API
		 * doc, KVM_RUN immediate_exit). Returns -EINTR by design. */
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (ioctl(v->fd, KVM_RUN, 0) == 0)
			log_debug("vcpu%u: KVM_RUN with immediate_exit returned 0", v->id);
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		vm->parked++;
		pthread_cond_broadcast(&vm->pause_cond);
		while (vm->paused && !vm_stopping(vm))
			pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
		vm->parked--;
	}
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	vm->paused = true;
	pthread_mutex_unlock(&vm->pause_lock);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->parked < vm->running && !vm_stopping(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	vm->paused = false;
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_shutdown(struct vm *vm)
{
	if (!vm_stopping(vm))
		vm_request_stop(vm, VM_EXIT_OK, "shutdown requested");
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_join(&vm->vcpus[i]);
}
