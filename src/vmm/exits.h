/* The vCPU exit dispatcher: a pure function of a struct kvm_run and the two
 * buses, so it can be unit-tested with hand-built kvm_run structures and no
 * /dev/kvm. */
#ifndef FEMTOVM_EXITS_H
#define FEMTOVM_EXITS_H

#include <linux/kvm.h>
#include <stddef.h>

#include "vmm/bus.h"

enum exit_action {
	EXIT_ACT_CONTINUE,   /* re-enter the guest */
	EXIT_ACT_STOP,       /* guest asked to power off or reset: clean stop */
	EXIT_ACT_GUEST_FAULT,/* triple fault, failed entry, emulation failure */
};

struct exit_stats {
	uint64_t pio, mmio, unmapped_pio, unmapped_mmio, other;
};

/* Handle one exit. @run_size is the size of the kvm_run mapping (the PIO
 * data offset is checked against it). @stats may be NULL. Unmapped accesses
 * are logged (rate-limited); reads of them return zeros. */
enum exit_action exit_dispatch(struct kvm_run *run, size_t run_size,
			       const struct bus *pio, const struct bus *mmio,
			       struct exit_stats *stats);

/* A short human name for a KVM exit reason. */
const char *exit_reason_name(uint32_t reason);

#endif
