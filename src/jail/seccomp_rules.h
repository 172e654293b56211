/* femtovm's seccomp allowlists, one per thread kind, built with libseccomp.
 * Used at build time by seccomp_gen (which emits the BPF programs the
 * monitor loads) and by tests. */
#ifndef FEMTOVM_SECCOMP_RULES_H
#define FEMTOVM_SECCOMP_RULES_H

#include <seccomp.h>

enum seccomp_kind {
	SECCOMP_VMM,   /* the event-loop thread, after the VM started */
	SECCOMP_VCPU,  /* every vCPU thread, before its first KVM_RUN */
	SECCOMP_KINDS,
};

/* A filter context for @kind: default action kill-process, the allowlist
 * and the ioctl request filter. NULL on failure (logged to stderr). */
scmp_filter_ctx seccomp_rules_build(enum seccomp_kind kind);

const char *seccomp_kind_name(enum seccomp_kind kind);

#endif
