/* One microVM: all wiring of memory, KVM, devices, buses and vCPUs in one
 * place (DESIGN.md §9 rule 5): vm_build_for_boot() and
 * vm_build_from_snapshot(). */
#ifndef FEMTOVM_VM_H
#define FEMTOVM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
#include "vmm/vm_reserve.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/vsock.h"

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
	/* Per-thread seccomp filters (NULL: none, --no-seccomp): installed by
	 * each vCPU thread before its first KVM_RUN, and by the event-loop
	 * thread once every vCPU has started. */
	int (*filter_vcpu)(void);
	int (*filter_vmm)(void);
	/* A KVM VM prepared for one RAM size (--prepare-mem-mib), taken by
	 * the first VM built with that size; NULL: none. */
	struct vm_reserve *reserve;
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
	struct vnet *nets;       /* calloc'd, one per network interface */
	struct vsock *vsock;     /* calloc'd when configured; slot after the nets */

	/* A snapshot was taken of this VM or it was loaded from one: a Diff
	 * holds the pages written since then. */
	bool mem_has_base;

	struct event_loop *el;   /* the process's event loop (not owned) */
	struct el_handler stop_h, input_h;
	int stop_efd;
	bool input_open;
	int stopping;  /* atomic */
	int exit_code; /* first stop request wins */

	/* Pause: vCPUs park on pause_cond while paused is set. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	bool paused;
	unsigned parked;
	unsigned running;        /* vCPU threads started and not yet exited */
};

/* Build a VM ready to boot @cfg (validated) — memory, KVM, kernel, boot
 * structures, devices, vCPUs — without running it; its event sources go on
 * @el. 0 or -errno (logged). vm_destroy() cleans up after a failure too. */
int vm_build_for_boot(struct vm *vm, const struct vm_config *cfg, const struct vm_opts *opts,
		      struct event_loop *el);

struct snap_reader;

/* Build a paused-ready VM from a validated state file @r (its CONFIG
 * section already parsed into @cfg->machine) with guest RAM the memory file
 * @mem_path mapped MAP_PRIVATE: same memslots, irqchip and PIT, legacy
 * and virtio devices (opened afresh from @cfg, then their transport and
 * queue state restored), vCPUs with their saved CPUID and state
 * (vm_restore_state()). 0 or -errno with @err set; vm_destroy() cleans up. */
int vm_build_from_snapshot(struct vm *vm, const struct vm_config *cfg,
			   const struct vm_opts *opts, struct event_loop *el,
			   const struct snap_reader *r, const char *mem_path, char *err,
			   size_t errlen);

/* vm_snapshot.c: write a snapshot of a paused VM: the state file (with
 * @config_json, the whole VM configuration as GET /vm/config shows it, as
 * its CONFIG section) and the memory file, Full or @diff (dirty pages only;
 * needs track_dirty_pages). 0 or -errno, @err set. */
int vm_snapshot_create(struct vm *vm, const char *config_json, const char *state_path,
		       const char *mem_path, bool diff, char *err, size_t errlen);
/* Dirty pages taken for a snapshot, until its state file is written. */
struct vm_mem_taken {
	uint64_t *bm[GM_MAX_REGIONS];
	bool taken;
};
/* vm_memsnap.c: the memory file of a snapshot at @mem_path: every
 * non-zero page (Full), or with @diff only the pages written since the
 * last snapshot or load (KVM's dirty log plus the pages devices wrote;
 * a VM never snapshotted has no base: then every non-zero page). With
 * tracking on, the dirty pages are taken into @t. 0 or -errno, @err set
 * (nothing taken then). */
int vm_snapshot_write_memory(struct vm *vm, const char *mem_path, bool diff,
			     struct vm_mem_taken *t, char *err, size_t errlen);
/* After the state file: @kept (the snapshot exists) drops the taken pages,
 * so the next Diff is relative to it; otherwise they are put back. */
void vm_snapshot_settle_memory(struct vm *vm, struct vm_mem_taken *t, bool kept);
/* vm_memsnap.c: with track_dirty_pages, start tracking the pages devices
 * write (called by both constructors once guest memory is set up). */
int vm_dirty_init(struct vm *vm);
/* Restore every saved component of @r into a built VM, in order. */
int vm_restore_state(struct vm *vm, const struct snap_reader *r, char *err, size_t errlen);
/* The CONFIG section (written by the caller of vm_snapshot_create()) back
 * into @cfg, validated as a --config-file document. On error @cfg is freed. */
int vm_snapshot_parse_config(const void *payload, uint32_t len, struct vm_config *cfg,
			     char *err, size_t errlen);

/* Event sources of a VM (stop eventfd, serial input); called by the build. */
int vm_setup_events(struct vm *vm);

/* Start the vCPU threads. When the guest stops, el->stop is set. */
int vm_start(struct vm *vm);

/* Park every vCPU outside KVM_RUN and wait until they all are; resume
 * releases them. Event-loop thread only. */
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);

/* Stop the vCPUs (if still running) and join them. */
void vm_shutdown(struct vm *vm);

void vm_destroy(struct vm *vm);

/* PATCH /network-interfaces: new rate limits for interface @idx. */
int vm_update_net(struct vm *vm, unsigned idx, const struct rate_limiter_config *rx,
		  const struct rate_limiter_config *tx);

/* PATCH /drives: new backing file and/or rate limits for drive @idx
 * (config order). 0 or -errno with @err set; nothing changes on error. */
int vm_update_drive(struct vm *vm, unsigned idx, const char *path,
		    const struct rate_limiter_config *rl, char *err, size_t errlen);

/* Ask the VM to stop with @code (first request wins). Any thread. */
void vm_request_stop(struct vm *vm, int code, const char *why);
bool vm_stopping(const struct vm *vm);

/* vCPU side of pausing: park here while the VM is paused. */
void vm_park_if_paused(struct vm *vm, struct vcpu *v);

#endif
