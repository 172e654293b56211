/* One microVM: all wiring of memory, KVM, devices, buses and vCPUs in one
 * place (DESIGN.md §9 rule 5). vm_build_for_boot() is the only constructor
 * today; vm_build_from_snapshot() joins it with snapshots. */
#ifndef FEMTOVM_VM_H
#define FEMTOVM_VM_H

#include <stdbool.h>

#include "vmm/boot_timer.h"
#include "vmm/bus.h"
#include "vmm/config.h"
#include "vmm/event_loop.h"
#include "vmm/guest_mem.h"
#include "vmm/i8042.h"
#include "vmm/irq.h"
#include "vmm/kvm.h"
#include "vmm/serial.h"
#include "vmm/vcpu.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"

/* femtovm's process exit codes (documented in README.md and --help). */
enum vm_exit_code {
	VM_EXIT_OK = 0,          /* guest reset/powered off, or stopped by signal */
	VM_EXIT_ERROR = 1,       /* could not start the VM (KVM, memory, kernel) */
	VM_EXIT_USAGE = 2,       /* bad command line or configuration */
	VM_EXIT_GUEST_FAULT = 3, /* triple fault, failed entry, emulation failure */
	VM_EXIT_INTERNAL = 4,    /* the monitor failed while the VM ran */
};

struct vm_opts {
	bool boot_timer;  /* --boot-timer */
	int serial_out;   /* fd for guest serial output */
	int serial_in;    /* fd for guest serial input, -1 for none */
};

struct vm {
	const struct vm_config *cfg;
	struct vm_opts opts;
	struct kvm kvm;
	struct guest_mem gm;
	struct bus pio, mmio;
	struct vcpu vcpus[CONFIG_MAX_VCPUS];
	unsigned nvcpus;

	struct irq_line serial_irq, i8042_irq;
	struct serial serial;
	struct i8042 i8042;
	struct boot_timer boot_timer;

	/* virtio-mmio slots in order: slot n at LAYOUT_VIRTIO_BASE + n * 4 KiB. */
	struct vmmio *vdevs;     /* calloc'd, nvdevs entries */
	unsigned nvdevs;
	struct vblk *blks;       /* calloc'd, one per configured drive */

	struct event_loop el;
	struct el_handler stop_h, input_h, signal_h;
	int stop_efd, signal_fd;
	bool input_open;
	int stopping;  /* atomic */
	int exit_code; /* first stop request wins */
};

/* Build a VM ready to boot @cfg (validated) — memory, KVM, kernel, boot
 * structures, devices, vCPUs — without running it. 0 or -errno (logged). */
int vm_build_for_boot(struct vm *vm, const struct vm_config *cfg, const struct vm_opts *opts);

/* Start the vCPU threads and serve the event loop until the VM stops.
 * Returns an enum vm_exit_code. */
int vm_run(struct vm *vm);

void vm_destroy(struct vm *vm);

/* Ask the VM to stop with @code (first request wins). Any thread. */
void vm_request_stop(struct vm *vm, int code, const char *why);
bool vm_stopping(const struct vm *vm);

#endif
