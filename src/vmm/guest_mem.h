/* Guest RAM: one host mapping split into at most two guest-physical regions
 * around the 32-bit MMIO hole. All access from the monitor goes through
 * gm_ptr()/gm_read()/gm_write(), which bound-check against a single region
 * with overflow-safe arithmetic (DESIGN.md §5). With dirty tracking on, the
 * pages devices write are recorded here, since device writes bypass KVM's
 * dirty log (Diff snapshots, DESIGN.md §7). */
#ifndef FEMTOVM_GUEST_MEM_H
#define FEMTOVM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/util.h"

#define GM_MAX_REGIONS 2
#define GM_PAGE_SIZE 4096u /* dirty and file-data bitmaps: one bit per page */

struct gm_region {
	gpa_t gpa;      /* guest-physical start */
	uint64_t size;  /* bytes */
	uint8_t *hva;   /* host address of gpa */
};

struct guest_mem {
	struct gm_region regions[GM_MAX_REGIONS];
	unsigned nr_regions;
	uint8_t *base;  /* whole mapping, for munmap */
	uint64_t size;  /* total RAM bytes */
	/* gm_init()'s anonymous mapping: a page never touched reads as zero.
	 * False for a memory file mapped MAP_PRIVATE, whose untouched pages
	 * hold the file's bytes. */
	bool anon;
	/* The memory file mapped MAP_PRIVATE, when known (snap_mem_map_gm()):
	 * a snapshot must not truncate the file its own RAM comes from. */
	bool file_known;
	uint64_t file_dev, file_ino;
	/* Pages where that file held data (not holes) when it was mapped, one
	 * bitmap per region in the dirty-bitmap layout; NULL: unknown, any
	 * page may hold data. A page never written since reads as the file. */
	uint64_t *file_data[GM_MAX_REGIONS];
	/* Pages written by devices since the last gm_dirty_collect(), one
	 * bitmap per region in KVM_GET_DIRTY_LOG's layout; NULL when dirty
	 * tracking is off. Updated atomically. */
	uint64_t *dirty[GM_MAX_REGIONS];
};

/* Compute the regions for @size bytes of RAM without mapping anything:
 * [0, min(size, hole)) and, for the rest, [4 GiB, ...). -EINVAL if size is 0
 * or not page-aligned. */
int gm_layout(struct guest_mem *gm, uint64_t size);

/* gm_layout() plus an anonymous, private, lazily populated mapping. */
int gm_init(struct guest_mem *gm, uint64_t size);
/* The same placed exactly at @at (MAP_FIXED: replaces what is there, e.g.
 * a range reserved by vm_reserve_init()), or anywhere when @at is NULL. */
int gm_init_at(struct guest_mem *gm, uint64_t size, void *at);
void gm_destroy(struct guest_mem *gm);

/* Host pointer for [gpa, gpa+len) if the whole range lies inside one RAM
 * region, else NULL. len 0 is allowed (returns a pointer if gpa is inside or
 * at the end of a region). */
void *gm_ptr(const struct guest_mem *gm, gpa_t gpa, uint64_t len);

/* Copy to/from guest memory; -EFAULT if the range is not inside one region. */
int gm_read(const struct guest_mem *gm, void *dst, gpa_t gpa, uint64_t len);
int gm_write(const struct guest_mem *gm, gpa_t gpa, const void *src, uint64_t len);

/* Start recording device writes: allocate a zeroed bitmap per region.
 * Idempotent. 0 or -ENOMEM. */
int gm_dirty_enable(struct guest_mem *gm);

/* Words of a bitmap with one bit per 4 KiB page of @r (rounded up to 64
 * pages, as KVM_GET_DIRTY_LOG wants). */
uint64_t gm_dirty_words(const struct gm_region *r);

/* Set bits [first, first + n) of @bm (atomically: bitmaps may be shared). */
void gm_bitmap_set(uint64_t *bm, uint64_t first, uint64_t n);

/* Record that a device wrote [gpa, gpa+len): every page of it that lies in
 * RAM is marked; parts outside RAM are ignored (the write itself would have
 * been refused). No-op when tracking is off or len is 0. Any thread. */
void gm_mark_dirty(const struct guest_mem *gm, gpa_t gpa, uint64_t len);

/* Fetch and clear region @r's device bitmap: OR it into @dst (gm_dirty_words()
 * words), leaving the recorded set empty. No-op when tracking is off. */
void gm_dirty_collect(const struct guest_mem *gm, unsigned r, uint64_t *dst);

/* Put back bits taken by gm_dirty_collect() (OR @src into region @r's
 * bitmap), e.g. when the snapshot that took them failed. */
void gm_dirty_restore(const struct guest_mem *gm, unsigned r, const uint64_t *src);

/* Whether device @dev, inode @ino is the memory file @gm is mapped from
 * (a snapshot must not be written over it). */
static inline bool gm_maps_file(const struct guest_mem *gm, uint64_t dev, uint64_t ino)
{
	return gm->file_known && dev == gm->file_dev && ino == gm->file_ino;
}

/* Highest guest-physical address + 1 of RAM below the MMIO hole. */
uint64_t gm_low_end(const struct guest_mem *gm);

#endif
