/* VM wiring. The boot path, in order: guest RAM, KVM VM, memory slots,
 * then irqchip + PIT (cheaper in this order on our hosts), kernel and boot
 * structures, legacy devices on the buses, vCPUs. */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/format.h"
#include "snapshot/memfile.h"
#include "snapshot/sections.h"
#include "vmm/acpi.h"
#include "vmm/cmdline.h"
#include "vmm/layout.h"
#include "vmm/loader.h"
#include "vmm/log.h"
#include "vmm/mptable.h"
#include "vmm/x86_boot.h"
#include "vmm/x86_cpu.h"

static void i8042_reset(void *opaque)
{
	vm_request_stop(opaque, VM_EXIT_OK, "guest reset via i8042");
}

static int open_image(const char *path, const char *what, int *fd, struct image_src *src)
{
	int ret;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		ret = -errno;
		log_err("%s %s: %s", what, path, strerror(errno));
		return ret;
	}
	ret = image_src_from_fd(src, *fd);
	if (ret) {
		log_err("%s %s: %s", what, path, strerror(-ret));
		close(*fd);
		*fd = -1;
	}
	return ret;
}

/* virtio_mmio.device=4K@<base>:<gsi> per device (Linux's
 * CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES), then the root device as Firecracker
 * does: root=/dev/vda (or PARTUUID=...) with ro/rw. */
static int cmdline_add_devices(struct vm *vm, struct cmdline *cl)
{
	char p[96];
	int ret = 0;

	for (unsigned i = 0; !ret && i < vm->nvdevs; i++) {
		snprintf(p, sizeof(p), "virtio_mmio.device=4K@0x%llx:%u",
			 (unsigned long long)(LAYOUT_VIRTIO_BASE + i * LAYOUT_VIRTIO_SIZE),
			 LAYOUT_VIRTIO_GSI + i);
		ret = cmdline_append(cl, p);
	}
	if (!ret && vm->cfg->ndrives && vm->cfg->drives[0].is_root_device) {
		const struct drive_config *d = &vm->cfg->drives[0];

		if (d->partuuid)
			snprintf(p, sizeof(p), "root=PARTUUID=%.60s", d->partuuid);
		else
			snprintf(p, sizeof(p), "root=/dev/vda");
		ret = cmdline_append(cl, p);
		if (!ret)
			ret = cmdline_append(cl, d->is_read_only ? "ro" : "rw");
	}
	return ret;
}

/* Kernel, initrd, command line and the boot structures for the BSP. */
static int load_guest(struct vm *vm, struct kernel_info *ki)
{
	const struct boot_source *bs = &vm->cfg->boot;
	struct x86_boot_params bp = { 0 };
	struct image_src src;
	struct cmdline cl;
	int fd, ret;

	ret = open_image(bs->kernel_image_path, "kernel", &fd, &src);
	if (ret)
		return ret;
	ret = loader_load_kernel(&src, &vm->gm, ki);
	close(fd);
	if (ret)
		return ret;
	if (bs->initrd_path) {
		ret = open_image(bs->initrd_path, "initrd", &fd, &src);
		if (ret)
			return ret;
		bp.initrd_size = src.size;
		ret = loader_load_initrd(&src, &vm->gm, ki, &bp.initrd_gpa);
		close(fd);
		if (ret)
			return ret;
	}
	ret = cmdline_init(&cl, bs->boot_args, ki->cmdline_max);
	if (ret) {
		log_err("boot-source.boot_args: longer than the kernel's limit of %u bytes",
			ki->cmdline_max - 1);
		return ret;
	}
	ret = cmdline_add_devices(vm, &cl);
	if (ret) {
		cmdline_free(&cl);
		log_err("boot-source.boot_args: no room left for the device parameters "
			"(kernel limit %u bytes)", ki->cmdline_max - 1);
		return ret;
	}
	bp.cmdline_gpa = LAYOUT_CMDLINE;
	bp.cmdline_len = (uint32_t)cl.len;
	bp.hdr = ki->kind == BOOT_BZIMAGE ? &ki->hdr : NULL;
	ret = gm_write(&vm->gm, LAYOUT_CMDLINE, cl.buf, cl.len + 1);
	log_debug("kernel command line: %s", cl.buf);
	cmdline_free(&cl);
	if (!ret)
		ret = acpi_write_tables(&vm->gm, vm->nvcpus, &bp.rsdp_gpa);
	if (!ret)
		ret = x86_write_gdt_and_paging(&vm->gm);
	if (!ret)
		ret = ki->kind == BOOT_PVH ? x86_write_pvh_start_info(&vm->gm, &bp)
					   : x86_write_zero_page(&vm->gm, &bp);
	if (!ret)
		ret = mptable_write(&vm->gm, LAYOUT_EBDA, vm->nvcpus);
	if (ret)
		log_err("cannot write boot structures: %s", strerror(-ret));
	return ret;
}

static int setup_legacy_devices(struct vm *vm)
{
	int ret;

	ret = irq_line_init(&vm->serial_irq, &vm->kvm, LAYOUT_COM1_IRQ);
	if (!ret)
		ret = irq_line_init(&vm->i8042_irq, &vm->kvm, LAYOUT_I8042_IRQ);
	if (ret)
		return ret;
	serial_init(&vm->serial, vm->opts.serial_out, &vm->serial_irq);
	i8042_init(&vm->i8042, &vm->i8042_irq, i8042_reset, vm);
	vm->boot_timer.enabled = vm->opts.boot_timer;
	ret = bus_register(&vm->pio, LAYOUT_COM1_PORT, 8, &serial_ops, &vm->serial, "com1");
	if (!ret)
		ret = bus_register(&vm->pio, LAYOUT_I8042_PORT, 5, &i8042_ops, &vm->i8042, "i8042");
	if (!ret)
		ret = bus_register(&vm->pio, LAYOUT_BOOT_TIMER_PORT, 1, &boot_timer_ops,
				   &vm->boot_timer, "boot-timer");
	if (ret)
		log_err("cannot register legacy devices: %s", strerror(-ret));
	return ret;
}

/* One virtio-mmio slot: transport + bus range. */
static int add_virtio_slot(struct vm *vm, const struct virtio_dev_ops *ops, void *dev,
			   const char *name)
{
	unsigned n = vm->nvdevs;
	uint64_t base = LAYOUT_VIRTIO_BASE + n * LAYOUT_VIRTIO_SIZE;
	int ret;

	if (n == LAYOUT_VIRTIO_MAX)
		return -ENOSPC;
	ret = vmmio_init(&vm->vdevs[n], ops, dev, &vm->gm, &vm->kvm, vm->el, base,
			 LAYOUT_VIRTIO_GSI + n);
	vm->nvdevs++; /* counted even on failure so vm_destroy cleans it up */
	if (!ret)
		ret = bus_register(&vm->mmio, base, LAYOUT_VIRTIO_SIZE, &vmmio_bus_ops,
				   &vm->vdevs[n], name);
	if (ret)
		log_err("%s: cannot attach at 0x%llx: %s", name, (unsigned long long)base,
			strerror(-ret));
	return ret;
}

/* The vsock device takes the slot after the drives and interfaces; its
 * socket handlers lock the transport through vs->tp. */
static int setup_vsock(struct vm *vm)
{
	const struct vsock_config *v = &vm->cfg->vsock;
	int ret;

	vm->vsock = calloc(1, sizeof(*vm->vsock));
	if (!vm->vsock)
		return -ENOMEM;
	ret = vsock_init(vm->vsock, v->guest_cid, v->uds_path, vm->el);
	if (ret) {
		log_err("vsock: cannot set up on %s: %s", v->uds_path, strerror(-ret));
		return ret;
	}
	ret = add_virtio_slot(vm, &vsock_ops, vm->vsock, "vsock");
	if (!ret)
		vm->vsock->tp = &vm->vdevs[vm->nvdevs - 1];
	return ret;
}

static int setup_virtio_devices(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	int ret = 0;

	vm->vdevs = calloc(LAYOUT_VIRTIO_MAX, sizeof(*vm->vdevs));
	vm->blks = calloc(cfg->ndrives ? cfg->ndrives : 1, sizeof(*vm->blks));
	vm->nets = calloc(cfg->nnets ? cfg->nnets : 1, sizeof(*vm->nets));
	if (!vm->vdevs || !vm->blks || !vm->nets)
		return -ENOMEM;
	for (unsigned i = 0; i < cfg->nnets; i++)
		vm->nets[i].tap_fd = vm->nets[i].rx_timer.fd = vm->nets[i].tx_timer.fd = -1;
	for (unsigned i = 0; i < cfg->ndrives; i++)
		vm->blks[i].fd = vm->blks[i].timer.fd = -1;
	for (unsigned i = 0; !ret && i < cfg->ndrives; i++) {
		const struct drive_config *d = &cfg->drives[i];

		ret = vblk_init(&vm->blks[i], d->drive_id, d->path_on_host, d->is_read_only,
				d->cache_type == DRIVE_CACHE_UNSAFE,
				&d->rate_limiter.bandwidth, &d->rate_limiter.ops, vm->el);
		if (!ret)
			ret = add_virtio_slot(vm, &vblk_ops, &vm->blks[i], d->drive_id);
	}
	for (unsigned i = 0; !ret && i < cfg->nnets; i++) {
		const struct net_config *n = &cfg->nets[i];
		uint8_t mac[6];

		if (n->guest_mac && vnet_parse_mac(n->guest_mac, mac))
			return -EINVAL; /* validated by config; cannot happen */
		ret = vnet_init(&vm->nets[i], n->iface_id, n->host_dev_name,
				n->guest_mac ? mac : NULL,
				&n->rx_rate_limiter.bandwidth, &n->rx_rate_limiter.ops,
				&n->tx_rate_limiter.bandwidth, &n->tx_rate_limiter.ops, vm->el);
		if (!ret)
			ret = add_virtio_slot(vm, &vnet_ops, &vm->nets[i], n->iface_id);
	}
	if (!ret && cfg->vsock.present)
		ret = setup_vsock(vm);
	return ret;
}

int vm_update_drive(struct vm *vm, unsigned idx, const char *path,
		    const struct rate_limiter_config *rl, char *err, size_t errlen)
{
	struct vblk_update u = { .path = path, .bw = rl ? &rl->bandwidth : NULL,
				 .ops = rl ? &rl->ops : NULL, .err = err, .errlen = errlen };

	if (idx >= vm->cfg->ndrives) {
		snprintf(err, errlen, "no drive %u", idx);
		return -ENOENT;
	}
	/* Drives occupy the first slots, in config order. */
	return vmmio_locked_call(&vm->vdevs[idx], vblk_update, &u);
}

int vm_update_net(struct vm *vm, unsigned idx, const struct rate_limiter_config *rx,
		  const struct rate_limiter_config *tx)
{
	struct vnet_update u = { rx ? &rx->bandwidth : NULL, rx ? &rx->ops : NULL,
				 tx ? &tx->bandwidth : NULL, tx ? &tx->ops : NULL };

	if (idx >= vm->cfg->nnets)
		return -ENOENT;
	/* Interfaces follow the drives in slot order. */
	return vmmio_locked_call(&vm->vdevs[vm->cfg->ndrives + idx], vnet_update, &u);
}

static int create_vcpus(struct vm *vm, const struct kernel_info *ki)
{
	int ret = kvm_supported_cpuid(&vm->kvm);

	for (unsigned i = 0; !ret && i < vm->nvcpus; i++) {
		ret = vcpu_create(&vm->vcpus[i], vm, i);
		if (!ret)
			ret = x86_cpu_init(vm->vcpus[i].fd, vm->kvm.cpuid, i, vm->nvcpus,
					   vm->cfg->machine.smt);
	}
	/* APs wait in KVM for INIT/SIPI from the guest; only the BSP is set up. */
	if (!ret)
		ret = x86_cpu_set_boot_regs(vm->vcpus[0].fd, ki->kind, ki->entry);
	return ret;
}

/* The parts of a VM every constructor starts from: nothing allocated but
 * the stop eventfd, every fd -1 so vm_destroy() works at any point. */
static int vm_init_empty(struct vm *vm, const struct vm_config *cfg, const struct vm_opts *opts,
			 struct event_loop *el)
{
	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->opts = *opts;
	vm->nvcpus = cfg->machine.vcpu_count;
	vm->el = el;
	vm->kvm.kvm_fd = vm->kvm.vm_fd = vm->stop_h.fd = -1;
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	vm->serial_irq.efd = vm->i8042_irq.efd = -1;
	for (unsigned i = 0; i < CONFIG_MAX_VCPUS; i++)
		vm->vcpus[i].fd = -1;
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0)
		return -errno;
	return 0;
}

/* The prepared VM (--prepare-mem-mib, vm_reserve.h) when it was prepared
 * for @size bytes of RAM: its KVM VM becomes this VM's and *@base is the
 * reserved range to map guest RAM over. */
static bool take_prepared(struct vm *vm, uint64_t size, uint8_t **base)
{
	*base = NULL;
	return vm_reserve_take(vm->opts.reserve, size, &vm->kvm, base);
}

/* Everything both constructors build once guest RAM is mapped: the KVM VM
 * and its memory slots (created now, or prepared already: then only
 * dirty-page logging may need switching on), irqchip and PIT, event
 * sources, legacy devices and the virtio devices (drives, taps by name,
 * the vsock socket — after a load's overrides). */
static int setup_kvm_and_devices(struct vm *vm, bool prepared)
{
	bool track = vm->cfg->machine.track_dirty_pages;
	int ret = prepared ? 0 : kvm_open(&vm->kvm, NULL);

	if (!ret && (!prepared || track))
		ret = kvm_set_memory(&vm->kvm, &vm->gm, track);
	if (!ret)
		ret = vm_dirty_init(vm);
	if (!ret)
		ret = kvm_create_irqchip(&vm->kvm);
	if (!ret)
		ret = vm_setup_events(vm);
	if (!ret)
		ret = setup_legacy_devices(vm);
	if (!ret)
		ret = setup_virtio_devices(vm);
	return ret;
}

int vm_build_for_boot(struct vm *vm, const struct vm_config *cfg, const struct vm_opts *opts,
		      struct event_loop *el)
{
	uint64_t size = MIB((uint64_t)cfg->machine.mem_size_mib);
	struct kernel_info ki;
	uint8_t *base;
	bool prepared;
	int ret = vm_init_empty(vm, cfg, opts, el);

	if (ret)
		return ret;
	prepared = take_prepared(vm, size, &base);
	ret = gm_init_at(&vm->gm, size, base);
	if (ret) {
		if (base)
			munmap(base, size);
		log_err("cannot map %u MiB of guest memory: %s", cfg->machine.mem_size_mib,
			strerror(-ret));
		return ret;
	}
	ret = setup_kvm_and_devices(vm, prepared);
	if (!ret)
		ret = load_guest(vm, &ki);
	if (!ret)
		ret = create_vcpus(vm, &ki);
	return ret;
}

/* Guest RAM from the memory file: the layout the snapshot recorded must be
 * the one this monitor would lay out for that much RAM. Mapped over the
 * prepared VM's range when it fits (*@prepared). */
static int map_snapshot_memory(struct vm *vm, const struct snap_reader *r,
			       const char *mem_path, bool *prepared, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *base;
	struct snap_mem_layout l;
	const void *p;
	uint32_t n;
	int ret;

	ret = snap_require_section(r, SNAP_SEC_MEMORY_LAYOUT, 0, &p, &n, err, errlen);
	if (!ret)
		ret = snap_decode_mem_layout(p, n, &l, err, errlen);
	if (ret)
		return ret;
	if (l.mem_size != MIB((uint64_t)vm->cfg->machine.mem_size_mib) ||
	    gm_layout(&vm->gm, l.mem_size) || l.nregions != vm->gm.nr_regions) {
		snprintf(err, errlen, "snapshot memory layout does not match %u MiB of RAM",
			 vm->cfg->machine.mem_size_mib);
		return -EINVAL;
	}
	for (unsigned i = 0; i < l.nregions; i++) {
		if (l.regions[i].gpa != vm->gm.regions[i].gpa ||
		    l.regions[i].size != vm->gm.regions[i].size) {
			snprintf(err, errlen, "snapshot memory region %u does not match the "
				 "layout of %u MiB of RAM", i, vm->cfg->machine.mem_size_mib);
			return -EINVAL;
		}
	}
	/* Keep the prepared VM for a later load if this file cannot serve
	 * (snap_mem_map_gm() then says why). */
	if (stat(mem_path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == l.mem_size) {
		*prepared = take_prepared(vm, l.mem_size, &base);
		vm->gm.base = base; /* gm_destroy() unmaps it whatever happens next */
	}
	/* Also records which pages of the file are holes, so a later Full
	 * snapshot need not read them. */
	return snap_mem_map_gm(mem_path, &vm->gm, err, errlen);
}

int vm_build_from_snapshot(struct vm *vm, const struct vm_config *cfg,
			   const struct vm_opts *opts, struct event_loop *el,
			   const struct snap_reader *r, const char *mem_path, char *err,
			   size_t errlen)
{
	bool prepared = false;
	int ret = vm_init_empty(vm, cfg, opts, el);

	err[0] = 0;
	if (ret)
		goto out;
	ret = map_snapshot_memory(vm, r, mem_path, &prepared, err, errlen);
	if (ret)
		return ret;
	/* The boot order (top of this file) minus kernel loading. */
	ret = setup_kvm_and_devices(vm, prepared);
	for (unsigned i = 0; !ret && i < vm->nvcpus; i++)
		ret = vcpu_create(&vm->vcpus[i], vm, i);
	if (ret)
		goto out;
	vm->mem_has_base = true;
	return vm_restore_state(vm, r, err, errlen);
out:
	if (!err[0])
		snprintf(err, errlen, "%s", log_last_error()[0] ? log_last_error()
							     : strerror(-ret));
	return ret;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i].vm)
			vcpu_destroy(&vm->vcpus[i]);
	for (unsigned i = 0; i < vm->nvdevs; i++)
		vmmio_destroy(&vm->vdevs[i]);
	for (unsigned i = 0; vm->blks && i < vm->cfg->ndrives; i++)
		vblk_destroy(&vm->blks[i]);
	for (unsigned i = 0; vm->nets && i < vm->cfg->nnets; i++)
		vnet_destroy(&vm->nets[i]);
	if (vm->vsock) {
		vsock_destroy(vm->vsock);
		free(vm->vsock);
		vm->vsock = NULL;
	}
	free(vm->vdevs);
	free(vm->blks);
	free(vm->nets);
	irq_line_destroy(&vm->serial_irq);
	irq_line_destroy(&vm->i8042_irq);
	if (vm->stop_h.fd >= 0 && vm->el)
		el_del(vm->el, &vm->stop_h);
	if (vm->input_open)
		el_del(vm->el, &vm->input_h);
	pthread_mutex_destroy(&vm->pause_lock);
	pthread_cond_destroy(&vm->pause_cond);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	kvm_close(&vm->kvm);
	gm_destroy(&vm->gm);
}
