/* Per-thread filter installation: no_new_privs, then seccomp(2) with the
 * generated program. A test build (-DFEMTOVM_SECCOMP_SELFTEST) then makes a
 * forbidden syscall when FEMTOVM_SECCOMP_SELFTEST names the thread kind, so
 * tests can check the filter really kills the process. */
#include "jail/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp_bpf.c"

#define LEN(a) (unsigned short)(sizeof(a) / sizeof((a)[0]))

static int install(const struct sock_filter *f, unsigned short len, const char *kind)
{
	struct sock_fprog prog = { .len = len, .filter = (struct sock_filter *)f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
#ifdef FEMTOVM_SECCOMP_SELFTEST
	{
		const char *t = getenv("FEMTOVM_SECCOMP_SELFTEST");

		if (t && !strcmp(t, kind))
			syscall(SYS_getppid); /* not on any allowlist: SIGSYS */
	}
#else
	(void)kind;
#endif
	return 0;
}

int seccomp_install_vmm(void)
{
	return install(bpf_vmm, LEN(bpf_vmm), "vmm");
}

int seccomp_install_vcpu(void)
{
	return install(bpf_vcpu, LEN(bpf_vcpu), "vcpu");
}
