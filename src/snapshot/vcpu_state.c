/* VCPU section payload: the KVM structures of one vCPU in restore order
 * (DESIGN.md §7), preceded by the counts of its variable parts. KVM checks
 * the register contents itself; here the counts and lengths are bounded
 * before anything is copied, and fields KVM requires zero are checked. */
#include <errno.h>
#include <string.h>

#include "snapshot/internal.h"
#include "snapshot/sections.h"
#include "vmm/util.h"

/* The fixed-size parts, in payload order, with names for messages. */
#define VCPU_PARTS(s)                                                           \
	{ &(s)->regs, sizeof((s)->regs), "regs" },                              \
	{ &(s)->sregs, sizeof((s)->sregs), "sregs" },                           \
	{ &(s)->fpu, sizeof((s)->fpu), "fpu" },                                 \
	{ &(s)->xsave, sizeof((s)->xsave), "xsave" },                           \
	{ &(s)->xcrs, sizeof((s)->xcrs), "xcrs" },                              \
	{ &(s)->debugregs, sizeof((s)->debugregs), "debugregs" },               \
	{ &(s)->lapic, sizeof((s)->lapic), "lapic" },                           \
	{ &(s)->mp_state, sizeof((s)->mp_state), "mp_state" },                  \
	{ &(s)->events, sizeof((s)->events), "vcpu events" }

_Static_assert(sizeof(((struct kvm_xsave *)0)->region) ==
		       sizeof(((struct snap_vcpu_state *)0)->xsave),
	       "xsave region size");

struct part {
	void *p;
	size_t len;
	const char *name;
};

int snap_encode_vcpu(struct snap_writer *w, uint32_t index, const struct snap_vcpu_state *s)
{
	struct snap_vcpu_state *m = (struct snap_vcpu_state *)s; /* iovec wants non-const */
	const struct part parts[] = { VCPU_PARTS(m) };
	struct iovec iov[ARRAY_SIZE(parts) + 3];
	uint8_t head[16];
	unsigned n = 0;

	if (!w->error && (s->nmsrs > SNAP_MAX_MSRS || s->ncpuid > SNAP_MAX_CPUID))
		w->error = snap_errf(-EINVAL, w->err, sizeof(w->err),
				     "vCPU %u: MSR count %u or CPUID count %u over cap", index,
				     s->nmsrs, s->ncpuid);
	if (w->error)
		return w->error;
	snap_le32(head, s->nmsrs);
	snap_le32(head + 4, s->ncpuid);
	snap_le32(head + 8, sizeof(s->xsave));
	snap_le32(head + 12, s->tsc_khz);
	iov[n++] = (struct iovec){ head, sizeof(head) };
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
		iov[n++] = (struct iovec){ parts[i].p, parts[i].len };
	iov[n++] = (struct iovec){ m->msrs, s->nmsrs * sizeof(s->msrs[0]) };
	iov[n++] = (struct iovec){ m->cpuid, s->ncpuid * sizeof(s->cpuid[0]) };
	return snap_put_sectionv(w, SNAP_SEC_VCPU, index, 1, iov, n);
}

/* Contents checks: only what would make a restore misbehave before KVM
 * itself gets to validate (counts it indexes by, must-be-zero fields). */
static int check_vcpu(const struct snap_vcpu_state *s, char *err, size_t errlen)
{
	uint32_t mp = s->mp_state.mp_state;

	if (s->xcrs.nr_xcrs > KVM_MAX_XCRS)
		return snap_errf(-EINVAL, err, errlen, "XCR count %u exceeds %u",
				 s->xcrs.nr_xcrs, KVM_MAX_XCRS);
	if (s->xcrs.flags)
		return snap_errf(-EINVAL, err, errlen, "xcrs flags 0x%x not zero", s->xcrs.flags);
	if (s->debugregs.flags)
		return snap_errf(-EINVAL, err, errlen, "debugregs flags 0x%llx not zero",
				 (unsigned long long)s->debugregs.flags);
	/* x86 states only (include/uapi/linux/kvm.h; 5..8 are s390). */
	if (mp > KVM_MP_STATE_SUSPENDED ||
	    (mp > KVM_MP_STATE_SIPI_RECEIVED && mp < KVM_MP_STATE_AP_RESET_HOLD))
		return snap_errf(-EINVAL, err, errlen, "mp_state %u not an x86 state", mp);
	for (uint32_t i = 0; i < s->nmsrs; i++)
		if (s->msrs[i].reserved)
			return snap_errf(-EINVAL, err, errlen, "MSR entry %u (0x%x) reserved not zero",
					 i, s->msrs[i].index);
	return 0;
}

int snap_decode_vcpu(const void *payload, uint32_t len, struct snap_vcpu_state *s, char *err,
		     size_t errlen)
{
	const struct part parts[] = { VCPU_PARTS(s) };
	struct snap_in in = { payload, len, false };
	uint32_t xsave_size;

	memset(s, 0, sizeof(*s));
	s->nmsrs = snap_in32(&in);
	s->ncpuid = snap_in32(&in);
	xsave_size = snap_in32(&in);
	s->tsc_khz = snap_in32(&in);
	if (in.short_)
		return snap_errf(-EINVAL, err, errlen, "truncated vCPU state header");
	if (s->nmsrs > SNAP_MAX_MSRS)
		return snap_errf(-EINVAL, err, errlen, "MSR count %u exceeds %u", s->nmsrs,
				 SNAP_MAX_MSRS);
	if (s->ncpuid > SNAP_MAX_CPUID)
		return snap_errf(-EINVAL, err, errlen, "CPUID count %u exceeds %u", s->ncpuid,
				 SNAP_MAX_CPUID);
	if (xsave_size != sizeof(s->xsave))
		return snap_errf(-EINVAL, err, errlen, "xsave size %u unsupported (expected %zu)",
				 xsave_size, sizeof(s->xsave));
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
		if (!snap_in_take(&in, parts[i].p, parts[i].len))
			return snap_errf(-EINVAL, err, errlen, "truncated %s", parts[i].name);
	if (!snap_in_take(&in, s->msrs, s->nmsrs * sizeof(s->msrs[0])))
		return snap_errf(-EINVAL, err, errlen, "truncated MSR list");
	if (!snap_in_take(&in, s->cpuid, s->ncpuid * sizeof(s->cpuid[0])))
		return snap_errf(-EINVAL, err, errlen, "truncated CPUID list");
	if (in.left)
		return snap_errf(-EINVAL, err, errlen, "%zu trailing bytes in vCPU state",
				 in.left);
	return check_vcpu(s, err, errlen);
}
