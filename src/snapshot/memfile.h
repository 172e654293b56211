/* The snapshot memory file: guest RAM regions back to back (the layout in
 * the MEMORY_LAYOUT section). Full snapshots write every non-zero page into
 * a sparse file whose holes read as zero; diff snapshots write only dirty
 * pages into a sparse file whose holes mean "unchanged", and a merge
 * applies a diff onto its base. Restore maps the file MAP_PRIVATE so pages
 * load lazily and clones share the page cache (DESIGN.md §7). */
#ifndef FEMTOVM_SNAPSHOT_MEMFILE_H
#define FEMTOVM_SNAPSHOT_MEMFILE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

#define SNAP_PAGE_SIZE GM_PAGE_SIZE

/* Full snapshot: discard @fd's contents, size it to gm->size (all holes,
 * which read as zero on any filesystem), then pwrite every page of @gm's
 * regions that is not all zero, each run of them with one call. When
 * /proc/self/pagemap is readable, pages known to be zero are skipped
 * without being read, so untouched RAM is not faulted in: with gm->anon,
 * pages never touched; with gm->file_data (snap_mem_map_gm()), pages still
 * the file's (never written) over a hole of that file. Every other page is
 * read and compared (all of them in a jail without /proc). No fsync: the
 * caller decides about durability. 0 or -errno. */
int snap_mem_write_full(int fd, const struct guest_mem *gm);

/* Diff snapshot: discard @fd's contents, size it to gm->size (all holes),
 * then pwrite only the dirty pages. @dirty[r] is region r's bitmap in
 * KVM_GET_DIRTY_LOG's layout (bit i of word i / 64 = page i of the region).
 * -EOPNOTSUPP when the filesystem's block size is above the page size, as
 * the holes would then not mark clean pages exactly. 0 or -errno. */
int snap_mem_write_dirty(int fd, const struct guest_mem *gm, const uint64_t *const dirty[]);

/* Map the memory file at @path MAP_PRIVATE (read-write, copy-on-write,
 * lazily paged in; writes never reach the file) into @gm, laid out by
 * gm_layout(). The file must be a regular file of exactly gm->size bytes.
 * It goes at gm->base exactly when that is set (MAP_FIXED over a range
 * reserved by vm_reserve_init()), else anywhere. Sets base and each
 * region's host address (back to back),
 * clears gm->anon, records the file's identity (file_dev, file_ino) so a
 * later snapshot can refuse to overwrite the file it runs from, and where
 * the file holds data (gm->file_data, from SEEK_DATA/SEEK_HOLE; left NULL
 * if that fails) so a Full snapshot skips untouched pages over holes
 * unread. Call before the event-loop thread's seccomp filter (it lseeks).
 * The caller gm_destroy()s. 0 or -errno; @err says why. */
int snap_mem_map_gm(const char *path, struct guest_mem *gm, char *err, size_t errlen);

/* Copy every data (non-hole) range of the diff file onto the base file at
 * the same offsets (SEEK_DATA/SEEK_HOLE), then fsync the base. Both must be
 * regular files of the same size; a filesystem whose holes are coarser than
 * a page or not reported at all is refused (-EOPNOTSUPP) rather than
 * merged wrongly. 0 or -errno; @err says why. */
int snap_mem_merge(const char *base_path, const char *diff_path, char *err, size_t errlen);

#endif
