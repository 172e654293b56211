/* Full snapshots of a paused VM (DESIGN.md §7): the state file (machine
 * config, memory layout, every vCPU, irqchip, PIT, kvmclock, serial, i8042,
 * virtio devices)
 * and the memory file, and restoring that state into a VM built by
 * vm_build_from_snapshot(). The save and restore order each live in one
 * function below: vm_save_state() and vm_restore_state(). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/format.h"
#include "snapshot/memfile.h"
#include "snapshot/sections.h"
#include "vmm/log.h"
#include "vmm/vm.h"

/* "@what: <errno text>" into @err; returns -errno (errno read first). */
static int ioctl_fail(const char *what, unsigned id, char *err, size_t errlen)
{
	int e = errno;

	snprintf(err, errlen, "vCPU %u: %s: %s", id, what, strerror(e));
	return -e;
}

/* --- CONFIG section: the VM configuration as GET /vm/config shows it --- */

int vm_snapshot_parse_config(const void *payload, uint32_t len, struct vm_config *cfg,
			     char *err, size_t errlen)
{
	char msg[CONFIG_ERR_LEN];

	if (config_parse(payload, len, cfg, msg, sizeof(msg))) {
		config_free(cfg);
		snprintf(err, errlen, "snapshot CONFIG section: %s", msg);
		return -EINVAL;
	}
	return 0;
}

/* --- vCPU --- */

/* KVM_GET_MSR_INDEX_LIST: every MSR KVM saves or emulates. Caller frees. */
static struct kvm_msr_list *msr_index_list(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;

	if (ioctl(vm->kvm.kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG) {
		snprintf(err, errlen, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
		return NULL;
	}
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(l->indices[0]));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->nmsrs = probe.nmsrs;
	if (ioctl(vm->kvm.kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		snprintf(err, errlen, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
		free(l);
		return NULL;
	}
	return l;
}

/* Every MSR of @ml that this vCPU lets us read, one by one. */
static int save_msrs(struct vcpu *v, const struct kvm_msr_list *ml, struct snap_vcpu_state *s)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} one;

	s->nmsrs = 0;
	for (uint32_t i = 0; i < ml->nmsrs; i++) {
		memset(&one, 0, sizeof(one));
		one.hdr.nmsrs = 1;
		one.e.index = ml->indices[i];
		if (ioctl(v->fd, KVM_GET_MSRS, &one) != 1)
			continue;
		if (s->nmsrs == SNAP_MAX_MSRS) {
			log_warn("vcpu%u: more than %u MSRs; MSR 0x%x and later not saved", v->id,
				 SNAP_MAX_MSRS, one.e.index);
			break;
		}
		s->msrs[s->nmsrs++] = one.e;
	}
	return 0;
}

static int save_vcpu(struct vcpu *v, const struct kvm_msr_list *ml, struct snap_vcpu_state *s,
		     char *err, size_t errlen)
{
	struct kvm_xsave xs;
	struct {
		struct kvm_cpuid2 hdr;
		struct kvm_cpuid_entry2 e[SNAP_MAX_CPUID];
	} cpuid;
	int khz;

	memset(s, 0, sizeof(*s));
	memset(&cpuid, 0, sizeof(cpuid));
	cpuid.hdr.nent = SNAP_MAX_CPUID;
	if (ioctl(v->fd, KVM_GET_CPUID2, &cpuid) < 0)
		return ioctl_fail("KVM_GET_CPUID2", v->id, err, errlen);
	s->ncpuid = cpuid.hdr.nent;
	memcpy(s->cpuid, cpuid.e, s->ncpuid * sizeof(s->cpuid[0]));
	khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	s->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
	if (ioctl(v->fd, KVM_GET_REGS, &s->regs) < 0)
		return ioctl_fail("KVM_GET_REGS", v->id, err, errlen);
	if (ioctl(v->fd, KVM_GET_SREGS, &s->sregs) < 0)
		return ioctl_fail("KVM_GET_SREGS", v->id, err, errlen);
	if (ioctl(v->fd, KVM_GET_FPU, &s->fpu) < 0)
		return ioctl_fail("KVM_GET_FPU", v->id, err, errlen);
	if (ioctl(v->fd, KVM_GET_XSAVE, &xs) < 0)
		return ioctl_fail("KVM_GET_XSAVE", v->id, err, errlen);
	memcpy(s->xsave, xs.region, sizeof(s->xsave));
	if (ioctl(v->fd, KVM_GET_XCRS, &s->xcrs) < 0)
		return ioctl_fail("KVM_GET_XCRS", v->id, err, errlen);
	if (ioctl(v->fd, KVM_GET_DEBUGREGS, &s->debugregs) < 0)
		return ioctl_fail("KVM_GET_DEBUGREGS", v->id, err, errlen);
	if (ioctl(v->fd, KVM_GET_LAPIC, &s->lapic) < 0)
		return ioctl_fail("KVM_GET_LAPIC", v->id, err, errlen);
	save_msrs(v, ml, s);
	if (ioctl(v->fd, KVM_GET_MP_STATE, &s->mp_state) < 0)
		return ioctl_fail("KVM_GET_MP_STATE", v->id, err, errlen);
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &s->events) < 0)
		return ioctl_fail("KVM_GET_VCPU_EVENTS", v->id, err, errlen);
	return 0;
}

static int restore_cpuid(struct vcpu *v, const struct snap_vcpu_state *s, char *err,
			 size_t errlen)
{
	struct {
		struct kvm_cpuid2 hdr;
		struct kvm_cpuid_entry2 e[SNAP_MAX_CPUID];
	} cpuid;
	int khz;

	memset(&cpuid, 0, sizeof(cpuid));
	cpuid.hdr.nent = s->ncpuid;
	memcpy(cpuid.e, s->cpuid, s->ncpuid * sizeof(s->cpuid[0]));
	if (ioctl(v->fd, KVM_SET_CPUID2, &cpuid) < 0)
		return ioctl_fail("KVM_SET_CPUID2", v->id, err, errlen);
	khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	if (s->tsc_khz && khz > 0 && (uint32_t)khz != s->tsc_khz &&
	    ioctl(v->fd, KVM_SET_TSC_KHZ, (unsigned long)s->tsc_khz) < 0)
		return ioctl_fail("KVM_SET_TSC_KHZ", v->id, err, errlen);
	return 0;
}

/* KVM_SET_MSRS stops at the first MSR it refuses; skip that one (logged)
 * and carry on with the rest. */
static int restore_msrs(struct vcpu *v, const struct snap_vcpu_state *s, char *err,
			size_t errlen)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[SNAP_MAX_MSRS];
	} msrs;
	uint32_t done = 0;

	while (done < s->nmsrs) {
		int n;

		memset(&msrs, 0, sizeof(msrs));
		msrs.hdr.nmsrs = s->nmsrs - done;
		memcpy(msrs.e, s->msrs + done, msrs.hdr.nmsrs * sizeof(msrs.e[0]));
		n = ioctl(v->fd, KVM_SET_MSRS, &msrs);
		if (n < 0)
			return ioctl_fail("KVM_SET_MSRS", v->id, err, errlen);
		done += (uint32_t)n;
		if (done < s->nmsrs) {
			log_warn("vcpu%u: KVM refused MSR 0x%x; skipped", v->id,
				 s->msrs[done].index);
			done++;
		}
	}
	return 0;
}

static int restore_xsave(struct vcpu *v, const struct snap_vcpu_state *s, char *err,
			 size_t errlen)
{
	struct kvm_xsave xs;

	memset(&xs, 0, sizeof(xs));
	memcpy(xs.region, s->xsave, sizeof(xs.region));
	if (ioctl(v->fd, KVM_SET_XSAVE, &xs) < 0)
		return ioctl_fail("KVM_SET_XSAVE", v->id, err, errlen);
	return 0;
}

#define SET(req, field)                                                       \
	do {                                                                  \
		if (!ret && ioctl(v->fd, req, &(field)) < 0)                  \
			ret = ioctl_fail(#req, v->id, err, errlen);           \
	} while (0)

/* One vCPU from @s, in the order of vm_restore_state()'s comment. */
static int restore_vcpu(struct vcpu *v, struct snap_vcpu_state *s, char *err, size_t errlen)
{
	int ret = restore_cpuid(v, s, err, errlen);

	SET(KVM_SET_MP_STATE, s->mp_state);
	SET(KVM_SET_REGS, s->regs);
	SET(KVM_SET_SREGS, s->sregs);
	SET(KVM_SET_FPU, s->fpu);
	if (!ret)
		ret = restore_xsave(v, s, err, errlen);
	SET(KVM_SET_XCRS, s->xcrs);
	SET(KVM_SET_DEBUGREGS, s->debugregs);
	SET(KVM_SET_LAPIC, s->lapic);
	if (!ret)
		ret = restore_msrs(v, s, err, errlen);
	/* Apply the saved pending NMI and SIPI vector too, as QEMU does. */
	s->events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	SET(KVM_SET_VCPU_EVENTS, s->events);
	return ret;
}

/* --- whole VM --- */

static const uint32_t chips[] = { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
				  KVM_IRQCHIP_IOAPIC };
static const uint32_t chip_sections[] = { SNAP_SEC_IRQCHIP_PIC_MASTER,
					  SNAP_SEC_IRQCHIP_PIC_SLAVE, SNAP_SEC_IOAPIC };

static int vm_fail(const char *what, char *err, size_t errlen)
{
	int e = errno;

	snprintf(err, errlen, "%s: %s", what, strerror(e));
	return -e;
}

/* One virtio slot: transport registers, then each queue. */
static void save_virtio(struct vmmio *t, unsigned slot, struct snap_writer *w)
{
	struct snap_vtransport_state ts;
	struct snap_vq_state vqs[VIRTIO_MAX_QUEUES];

	vmmio_save(t, &ts, vqs);
	snap_encode_vtransport(w, slot, &ts);
	for (unsigned q = 0; q < ts.num_queues; q++)
		snap_encode_vq(w, slot, q, &vqs[q]);
}

/* Save order: machine config and memory layout, then each vCPU (CPUID, TSC
 * rate, regs, sregs, FPU, XSAVE, XCRs, debug regs, LAPIC, MSRs, MP state,
 * vcpu events — taken while every vCPU is parked outside KVM_RUN with its
 * last I/O completed, so the set is consistent), then irqchip (PIC master,
 * PIC slave, IOAPIC), PIT, kvmclock, and the devices (serial, i8042, then
 * each virtio-mmio slot: its transport, then its queues; a device first
 * gives back requests it popped but did not serve, so none is lost). */
static int vm_save_state(struct vm *vm, const char *config_json, struct snap_writer *w,
			 char *err, size_t errlen)
{
	struct snap_vcpu_state *vs = malloc(sizeof(*vs));
	struct kvm_msr_list *ml = NULL;
	struct snap_mem_layout layout;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	struct serial_state ss;
	struct i8042_state ks;
	int ret = 0;

	if (!vs) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	snap_put_section(w, SNAP_SEC_CONFIG, 0, 1, config_json, (uint32_t)strlen(config_json));
	snap_mem_layout_from_gm(&vm->gm, &layout);
	snap_encode_mem_layout(w, &layout);
	ml = msr_index_list(vm, err, errlen);
	if (!ml) {
		ret = -EIO;
		goto out;
	}
	for (unsigned i = 0; !ret && i < vm->nvcpus; i++) {
		ret = save_vcpu(&vm->vcpus[i], ml, vs, err, errlen);
		if (!ret)
			snap_encode_vcpu(w, i, vs);
	}
	for (unsigned i = 0; !ret && i < ARRAY_SIZE(chips); i++) {
		struct kvm_irqchip chip = { .chip_id = chips[i] };

		if (ioctl(vm->kvm.vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
			ret = vm_fail("KVM_GET_IRQCHIP", err, errlen);
		else
			snap_encode_irqchip(w, &chip);
	}
	if (!ret && ioctl(vm->kvm.vm_fd, KVM_GET_PIT2, &pit) < 0)
		ret = vm_fail("KVM_GET_PIT2", err, errlen);
	if (!ret)
		snap_encode_pit(w, &pit);
	memset(&clock, 0, sizeof(clock));
	if (!ret && ioctl(vm->kvm.vm_fd, KVM_GET_CLOCK, &clock) < 0)
		ret = vm_fail("KVM_GET_CLOCK", err, errlen);
	if (!ret)
		snap_encode_clock(w, &clock);
	serial_save(&vm->serial, &ss);
	i8042_save(&vm->i8042, &ks);
	snap_put_section(w, SNAP_SEC_SERIAL, 0, 1, &ss, sizeof(ss));
	snap_put_section(w, SNAP_SEC_I8042, 0, 1, &ks, sizeof(ks));
	for (unsigned i = 0; i < vm->nvdevs; i++)
		save_virtio(&vm->vdevs[i], i, w);
	if (!ret && w->error) {
		snprintf(err, errlen, "%s", w->err);
		ret = w->error;
	}
out:
	free(ml);
	free(vs);
	return ret;
}

/* A fixed-size device section: exact length, copied into @dst. */
static int device_section(const struct snap_reader *r, uint32_t id, void *dst, size_t len,
			  const char *what, char *err, size_t errlen)
{
	const void *p;
	uint32_t n;
	int ret = snap_require_section(r, id, 0, &p, &n, err, errlen);

	if (ret)
		return ret;
	if (n != len) {
		snprintf(err, errlen, "%s state is %u bytes, expected %zu", what, n, len);
		return -EINVAL;
	}
	memcpy(dst, p, len);
	return 0;
}

/* One virtio slot from its sections, each decoded and checked first. */
static int restore_virtio(struct vmmio *t, unsigned slot, const struct snap_reader *r,
			  char *err, size_t errlen)
{
	struct snap_vtransport_state ts;
	struct snap_vq_state vqs[VIRTIO_MAX_QUEUES];
	char msg[SNAP_ERR_LEN];
	const void *p;
	uint32_t n;
	int ret = snap_require_section(r, SNAP_SEC_VIRTIO_TRANSPORT, slot, &p, &n, err, errlen);

	if (!ret)
		ret = snap_decode_vtransport(p, n, &ts, msg, sizeof(msg));
	if (ret) {
		if (ret != -ENOENT)
			snprintf(err, errlen, "virtio slot %u: %s", slot, msg);
		return ret;
	}
	for (unsigned q = 0; q < ts.num_queues; q++) {
		ret = snap_require_section(r, SNAP_SEC_VIRTQUEUE, SNAP_VQ_INDEX(slot, q), &p, &n,
					   err, errlen);
		if (ret)
			return ret;
		ret = snap_decode_vq(p, n, t->ops->queue_max, &vqs[q], msg, sizeof(msg));
		if (!ret)
			ret = snap_check_vq(&ts, q, &vqs[q], msg, sizeof(msg));
		if (ret) {
			snprintf(err, errlen, "virtio slot %u queue %u: %s", slot, q, msg);
			return ret;
		}
	}
	ret = vmmio_restore(t, &ts, vqs, msg, sizeof(msg));
	if (ret)
		snprintf(err, errlen, "virtio slot %u: %s", slot, msg);
	return ret;
}

/* Every vCPU in id order, and no section for one the config lacks. */
static int restore_vcpus(struct vm *vm, const struct snap_reader *r, char *err, size_t errlen)
{
	struct snap_vcpu_state *vs = malloc(sizeof(*vs));
	const void *p;
	uint32_t n;
	int ret = 0;

	if (!vs) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; !ret && i < vm->nvcpus; i++) {
		ret = snap_require_section(r, SNAP_SEC_VCPU, i, &p, &n, err, errlen);
		if (!ret)
			ret = snap_decode_vcpu(p, n, vs, err, errlen);
		if (!ret)
			ret = restore_vcpu(&vm->vcpus[i], vs, err, errlen);
	}
	free(vs);
	if (!ret && snap_find_section(r, SNAP_SEC_VCPU, vm->nvcpus, &p, &n) == 0) {
		snprintf(err, errlen, "VCPU section %u beyond the configured %u vCPUs",
			 vm->nvcpus, vm->nvcpus);
		ret = -EINVAL;
	}
	return ret;
}

/* PIC master, PIC slave, IOAPIC, PIT, kvmclock. */
static int restore_vm_timers_irqs(struct vm *vm, const struct snap_reader *r, char *err,
				  size_t errlen)
{
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	const void *p;
	uint32_t n;
	int ret = 0;

	for (unsigned i = 0; !ret && i < ARRAY_SIZE(chips); i++) {
		struct kvm_irqchip chip;

		ret = snap_require_section(r, chip_sections[i], 0, &p, &n, err, errlen);
		if (!ret)
			ret = snap_decode_irqchip(p, n, chips[i], &chip, err, errlen);
		if (!ret && ioctl(vm->kvm.vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
			ret = vm_fail("KVM_SET_IRQCHIP", err, errlen);
	}
	if (!ret)
		ret = snap_require_section(r, SNAP_SEC_PIT, 0, &p, &n, err, errlen);
	if (!ret)
		ret = snap_decode_pit(p, n, &pit, err, errlen);
	if (!ret && ioctl(vm->kvm.vm_fd, KVM_SET_PIT2, &pit) < 0)
		ret = vm_fail("KVM_SET_PIT2", err, errlen);
	if (!ret)
		ret = snap_require_section(r, SNAP_SEC_CLOCK, 0, &p, &n, err, errlen);
	if (!ret)
		ret = snap_decode_clock(p, n, &clock, err, errlen);
	if (!ret) {
		/* Continue the guest clock where it stopped: no jump by the
		 * wall-clock time between snapshot and restore. */
		clock.flags &= ~(uint32_t)(KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC);
		if (ioctl(vm->kvm.vm_fd, KVM_SET_CLOCK, &clock) < 0)
			ret = vm_fail("KVM_SET_CLOCK", err, errlen);
	}
	return ret;
}

/* Serial, i8042, then each virtio slot (and none beyond the config). */
static int restore_devices(struct vm *vm, const struct snap_reader *r, char *err,
			   size_t errlen)
{
	struct serial_state ss;
	struct i8042_state ks;
	const void *p;
	uint32_t n;
	int ret = device_section(r, SNAP_SEC_SERIAL, &ss, sizeof(ss), "serial", err, errlen);

	if (!ret)
		ret = serial_restore(&vm->serial, &ss, err, errlen);
	if (!ret)
		ret = device_section(r, SNAP_SEC_I8042, &ks, sizeof(ks), "i8042", err, errlen);
	if (!ret)
		ret = i8042_restore(&vm->i8042, &ks, err, errlen);
	for (unsigned i = 0; !ret && i < vm->nvdevs; i++)
		ret = restore_virtio(&vm->vdevs[i], i, r, err, errlen);
	if (!ret && snap_find_section(r, SNAP_SEC_VIRTIO_TRANSPORT, vm->nvdevs, &p, &n) == 0) {
		snprintf(err, errlen, "VIRTIO_TRANSPORT section %u beyond the configured %u "
			 "virtio devices", vm->nvdevs, vm->nvdevs);
		ret = -EINVAL;
	}
	return ret;
}

/* Restore order: each vCPU gets its CPUID first (KVM wants it before any
 * other state) and TSC rate, then MP state, regs, sregs, FPU and XSAVE,
 * XCRs, debug regs, the LAPIC after SREGS (SREGS carries the APIC base that
 * decides the LAPIC mode), MSRs after the LAPIC (the TSC deadline needs
 * it), and the vcpu events last (pending exceptions, NMIs, interrupt
 * shadow apply to the restored registers). Then irqchip (PIC master, PIC
 * slave, IOAPIC), PIT, kvmclock, then the devices (serial, i8042, then
 * each virtio slot: transport and queues, after the irqchip so a pending
 * device interrupt raised again is not overwritten; the vsock device then
 * queues TRANSPORT_RESET, as its host connections did not survive). Every
 * section is decoded and checked before it is applied. */
int vm_restore_state(struct vm *vm, const struct snap_reader *r, char *err, size_t errlen)
{
	int ret = restore_vcpus(vm, r, err, errlen);

	if (!ret)
		ret = restore_vm_timers_irqs(vm, r, err, errlen);
	if (!ret)
		ret = restore_devices(vm, r, err, errlen);
	if (!ret && vm->vsock && vm->vsock->tp->active)
		vmmio_locked_call(vm->vsock->tp, vsock_transport_reset, NULL);
	return ret;
}

/* The state file must not be the memory file, nor the file this VM's
 * RAM is mapped from (replacing that one would be harmless now that the
 * state file is renamed into place, but the snapshot would be unusable). */
static int check_paths(struct vm *vm, const char *state_path, const char *mem_path, char *err,
		       size_t errlen)
{
	struct stat st, mst;

	if (!strcmp(state_path, mem_path)) {
		snprintf(err, errlen, "snapshot_path and mem_file_path are the same file %s",
			 state_path);
		return -EINVAL;
	}
	if (stat(state_path, &st))
		return 0;
	if (!stat(mem_path, &mst) && st.st_dev == mst.st_dev && st.st_ino == mst.st_ino) {
		snprintf(err, errlen, "snapshot_path %s and mem_file_path %s are the same file",
			 state_path, mem_path);
		return -EINVAL;
	}
	if (gm_maps_file(&vm->gm, st.st_dev, st.st_ino)) {
		snprintf(err, errlen, "snapshot_path %s is the file this VM's memory is loaded "
			 "from; write the snapshot to another path", state_path);
		return -EINVAL;
	}
	return 0;
}

int vm_snapshot_create(struct vm *vm, const char *config_json, const char *state_path,
		       const char *mem_path, bool diff, char *err, size_t errlen)
{
	struct snap_writer w;
	struct vm_mem_taken taken;
	uint8_t *buf = NULL;
	size_t len;
	/* A Diff of a VM with no base is complete: flagged as not a diff. */
	uint32_t flags = (diff && vm->mem_has_base ? SNAP_F_DIFF_MEM : 0) |
			 (vm->cfg->machine.track_dirty_pages ? SNAP_F_DIRTY_TRACKING : 0);
	int ret;

	if (diff && !vm->cfg->machine.track_dirty_pages) {
		snprintf(err, errlen, "Diff snapshots need dirty page tracking: set "
			 "track_dirty_pages in /machine-config before boot, or in "
			 "/snapshot/load");
		return -EINVAL;
	}
	ret = check_paths(vm, state_path, mem_path, err, errlen);
	if (ret)
		return ret;
	ret = snap_writer_begin(&w, flags);
	if (ret) {
		snprintf(err, errlen, "cannot start the state file: %s", w.err);
		return ret;
	}
	ret = vm_save_state(vm, config_json, &w, err, errlen);
	if (ret) {
		snap_writer_abort(&w);
		return ret;
	}
	ret = snap_writer_finish(&w, &buf, &len);
	if (ret) {
		snprintf(err, errlen, "cannot build the state file: %s", w.err);
		return ret;
	}
	if (diff && !vm->mem_has_base)
		log_info("Diff snapshot of a VM never snapshotted or loaded: there is no base, "
			 "so %s holds every non-zero page (load it as it is)", mem_path);
	/* Memory first: the state file appearing is what completes a snapshot. */
	ret = vm_snapshot_write_memory(vm, mem_path, diff, &taken, err, errlen);
	if (ret) {
		free(buf);
		return ret;
	}
	ret = snap_write_file(state_path, buf, len);
	free(buf);
	vm_snapshot_settle_memory(vm, &taken, ret == 0);
	if (ret) {
		snprintf(err, errlen, "cannot write state file %s: %s", state_path,
			 strerror(-ret));
		return ret;
	}
	vm->mem_has_base = true;
	return 0;
}
