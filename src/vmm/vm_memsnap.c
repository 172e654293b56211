/* The memory file of a snapshot (DESIGN.md §7) and the dirty-page tracking
 * behind Diff snapshots. Full writes every non-zero page into a sparse file
 * of exactly the RAM size; Diff writes the pages written since the last
 * snapshot or load: KVM's dirty log (guest writes) OR guest_mem's device
 * bitmaps (device writes, which bypass KVM), holes meaning "unchanged". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/memfile.h"
#include "vmm/log.h"
#include "vmm/vm.h"

int vm_dirty_init(struct vm *vm)
{
	int ret;

	if (!vm->cfg->machine.track_dirty_pages)
		return 0;
	ret = gm_dirty_enable(&vm->gm);
	if (ret)
		log_err("cannot allocate the dirty-page bitmaps: %s", strerror(-ret));
	return ret;
}

static void free_bitmaps(uint64_t *bm[GM_MAX_REGIONS])
{
	for (unsigned i = 0; i < GM_MAX_REGIONS; i++)
		free(bm[i]);
}

/* Take the pages written since the last snapshot or load into @bm (one
 * bitmap per region, allocated here): KVM's log and the device bitmaps,
 * both cleared by the taking. */
static int take_dirty(struct vm *vm, uint64_t *bm[GM_MAX_REGIONS], char *err, size_t errlen)
{
	const struct guest_mem *gm = &vm->gm;
	int ret;

	memset(bm, 0, GM_MAX_REGIONS * sizeof(bm[0]));
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		bm[i] = calloc(gm_dirty_words(&gm->regions[i]), sizeof(uint64_t));
		if (!bm[i]) {
			snprintf(err, errlen, "out of memory for the dirty-page bitmaps");
			ret = -ENOMEM;
			goto err_put_back;
		}
		ret = kvm_get_dirty_log(&vm->kvm, i, bm[i]);
		if (ret) {
			snprintf(err, errlen, "cannot read KVM's dirty log of memory slot %u: %s",
				 i, strerror(-ret));
			goto err_put_back;
		}
		gm_dirty_collect(gm, i, bm[i]);
	}
	return 0;
err_put_back:
	/* Slots already read lost their KVM log: keep their pages dirty. */
	for (unsigned i = 0; i < gm->nr_regions && bm[i]; i++)
		gm_dirty_restore(gm, i, bm[i]);
	free_bitmaps(bm);
	return ret;
}

/* Open @path for writing without truncating it yet: truncating the file
 * this VM's RAM is mapped from would pull pages from under the guest (and
 * the reads below would SIGBUS), so that one is refused. */
static int open_for_writing(const struct guest_mem *gm, const char *path, char *err,
			    size_t errlen)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600), ret;

	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create memory file %s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		snprintf(err, errlen, "cannot stat memory file %s: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	if (gm_maps_file(gm, st.st_dev, st.st_ino)) {
		snprintf(err, errlen, "memory file %s is the file this VM's memory is loaded "
			 "from; write the snapshot to another path", path);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* The memory file: with @dirty (a Diff against a base) only those pages,
 * else every non-zero page. Durable (fsync) before it returns 0. */
static int write_file(struct vm *vm, const char *path, uint64_t *const dirty[], char *err,
		      size_t errlen)
{
	int fd = open_for_writing(&vm->gm, path, err, errlen), ret;

	if (fd < 0)
		return fd;
	ret = dirty ? snap_mem_write_dirty(fd, &vm->gm, (const uint64_t *const *)dirty)
		    : snap_mem_write_full(fd, &vm->gm);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (ret == -EOPNOTSUPP)
		snprintf(err, errlen, "cannot write Diff memory file %s: its filesystem's "
			 "blocks are larger than a page, so holes cannot mark unchanged pages",
			 path);
	else if (ret)
		snprintf(err, errlen, "cannot write memory file %s: %s", path, strerror(-ret));
	return ret;
}

/* Full: every non-zero page. Diff with a base (mem_has_base): the pages
 * dirty since it, zero or not, so a merge copies them all. Diff of a VM
 * that was booted and never snapshotted: there is no base to be relative
 * to, so it is written like a Full (every non-zero page) and is complete on
 * its own: load it as it is, merge it onto nothing. With tracking on, the
 * dirty pages are taken (and so cleared) into @t; if the write fails they
 * are put back at once, else vm_snapshot_settle_memory() decides. */
int vm_snapshot_write_memory(struct vm *vm, const char *mem_path, bool diff,
			     struct vm_mem_taken *t, char *err, size_t errlen)
{
	bool tracking = vm->cfg->machine.track_dirty_pages;
	int ret;

	memset(t, 0, sizeof(*t));
	if (diff && !tracking) {
		snprintf(err, errlen, "Diff snapshots need track_dirty_pages");
		return -EINVAL;
	}
	if (tracking) {
		ret = take_dirty(vm, t->bm, err, errlen);
		if (ret)
			return ret;
		t->taken = true;
	}
	ret = write_file(vm, mem_path, diff && vm->mem_has_base ? t->bm : NULL, err, errlen);
	if (ret)
		vm_snapshot_settle_memory(vm, t, false);
	return ret;
}

void vm_snapshot_settle_memory(struct vm *vm, struct vm_mem_taken *t, bool kept)
{
	/* Not kept: the snapshot does not exist, so its pages are still
	 * unsaved and the next Diff must have them. */
	for (unsigned i = 0; t->taken && !kept && i < vm->gm.nr_regions; i++)
		gm_dirty_restore(&vm->gm, i, t->bm[i]);
	free_bitmaps(t->bm);
	memset(t, 0, sizeof(*t));
}
