/* The snapshot memory file: guest RAM regions back to back (the layout in
 * the MEMORY_LAYOUT section). Full snapshots write every byte; diff snapshots
 * write only dirty pages into a sparse file whose holes mean "unchanged",
 * and a merge applies a diff onto its base. Restore maps the file
 * MAP_PRIVATE so pages load lazily and clones share the page cache (§7). */
#ifndef FEMTOVM_SNAPSHOT_MEMFILE_H
#define FEMTOVM_SNAPSHOT_MEMFILE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

#define SNAP_PAGE_SIZE 4096u

/* Write all of @gm's regions to @fd from offset 0 (pwrite, so the file
 * position is unused), leaving a file of exactly gm->size bytes. No fsync:
 * the caller decides about durability. 0 or -errno. */
int snap_mem_write_full(int fd, const struct guest_mem *gm);

/* Diff snapshot: discard @fd's contents, size it to gm->size (all holes),
 * then pwrite only the dirty pages. @dirty[r] is region r's bitmap in
 * KVM_GET_DIRTY_LOG's layout (bit i of word i / 64 = page i of the region).
 * -EOPNOTSUPP when the filesystem's block size is above the page size, as
 * the holes would then not mark clean pages exactly. 0 or -errno. */
int snap_mem_write_dirty(int fd, const struct guest_mem *gm, const uint64_t *const dirty[]);

/* Map the memory file at @path MAP_PRIVATE (read-write, copy-on-write,
 * lazily paged in; writes never reach the file). The file must be a regular
 * file of exactly @size bytes, @size non-zero and page-aligned. The caller
 * munmap()s @size bytes at *@addr. 0 or -errno; @err says why. */
int snap_mem_map_private(const char *path, uint64_t size, void **addr, char *err,
			 size_t errlen);

/* Copy every data (non-hole) range of the diff file onto the base file at
 * the same offsets (SEEK_DATA/SEEK_HOLE), then fsync the base. Both must be
 * regular files of the same size; a filesystem whose holes are coarser than
 * a page or not reported at all is refused (-EOPNOTSUPP) rather than
 * merged wrongly. 0 or -errno; @err says why. */
int snap_mem_merge(const char *base_path, const char *diff_path, char *err, size_t errlen);

#endif
