/* The memory file of a snapshot (DESIGN.md §7): Full writes all guest RAM,
 * Diff only the pages written since the last snapshot or load. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "snapshot/memfile.h"
#include "vmm/vm.h"

int vm_dirty_init(struct vm *vm)
{
	(void)vm;
	return 0;
}

int vm_snapshot_write_memory(struct vm *vm, const char *mem_path, bool diff, char *err,
			     size_t errlen)
{
	int fd, ret;

	if (diff) {
		snprintf(err, errlen, "Diff snapshots are not supported yet");
		return -EOPNOTSUPP;
	}
	fd = open(mem_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create memory file %s: %s", mem_path,
			 strerror(errno));
		return ret;
	}
	ret = snap_mem_write_full(fd, &vm->gm);
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	if (ret)
		snprintf(err, errlen, "cannot write memory file %s: %s", mem_path, strerror(-ret));
	return ret;
}
