/* vCPU threads: each runs KVM_RUN in a loop and dispatches exits
 * synchronously to the buses (DESIGN.md §2). A kick (signal +
 * immediate_exit) brings a vCPU out of the guest. */
#ifndef FEMTOVM_VCPU_H
#define FEMTOVM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

#include "vmm/exits.h"

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	struct exit_stats stats;
};

/* KVM_CREATE_VCPU and map its kvm_run. */
int vcpu_create(struct vcpu *v, struct vm *vm, unsigned id);
void vcpu_destroy(struct vcpu *v);

/* Install the no-op kick signal handler; once per process, before threads. */
int vcpu_signals_init(void);

int vcpu_start(struct vcpu *v);
/* Make the vCPU leave KVM_RUN soon (safe from any thread). */
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);

#endif
