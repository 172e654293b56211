/* Loading femtovm's per-thread seccomp filters (generated at build time
 * from seccomp_rules.c). Each thread installs its own: the event-loop thread
 * once the VM has started, every vCPU thread before its first KVM_RUN. */
#ifndef FEMTOVM_SECCOMP_H
#define FEMTOVM_SECCOMP_H

/* Install the event-loop thread's filter on the calling thread. 0/-errno. */
int seccomp_install_vmm(void);
/* Install the vCPU filter on the calling thread. 0/-errno. */
int seccomp_install_vcpu(void);

#endif
