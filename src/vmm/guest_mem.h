/* Guest RAM: one anonymous host mapping split into at most two guest-physical
 * regions around the 32-bit MMIO hole. All access from the monitor goes
 * through gm_ptr()/gm_read()/gm_write(), which bound-check against a single
 * region with overflow-safe arithmetic (DESIGN.md §5). */
#ifndef FEMTOVM_GUEST_MEM_H
#define FEMTOVM_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/util.h"

#define GM_MAX_REGIONS 2

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
};

/* Compute the regions for @size bytes of RAM without mapping anything:
 * [0, min(size, hole)) and, for the rest, [4 GiB, ...). -EINVAL if size is 0
 * or not page-aligned. */
int gm_layout(struct guest_mem *gm, uint64_t size);

/* gm_layout() plus an anonymous, private, lazily populated mapping. */
int gm_init(struct guest_mem *gm, uint64_t size);
void gm_destroy(struct guest_mem *gm);

/* Host pointer for [gpa, gpa+len) if the whole range lies inside one RAM
 * region, else NULL. len 0 is allowed (returns a pointer if gpa is inside or
 * at the end of a region). */
void *gm_ptr(const struct guest_mem *gm, gpa_t gpa, uint64_t len);

/* Copy to/from guest memory; -EFAULT if the range is not inside one region. */
int gm_read(const struct guest_mem *gm, void *dst, gpa_t gpa, uint64_t len);
int gm_write(const struct guest_mem *gm, gpa_t gpa, const void *src, uint64_t len);

/* Highest guest-physical address + 1 of RAM below the MMIO hole. */
uint64_t gm_low_end(const struct guest_mem *gm);

#endif
