/* Guest RAM mapping and the only checked accessors the monitor uses to touch
 * it. Every guest-supplied address ends up in gm_ptr(). */
#include "vmm/guest_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/layout.h"

int gm_layout(struct guest_mem *gm, uint64_t size)
{
	uint64_t low;

	memset(gm, 0, sizeof(*gm));
	if (size == 0 || size & 0xfff)
		return -EINVAL;
	low = MIN(size, LAYOUT_MMIO_HOLE);
	gm->regions[0] = (struct gm_region){ .gpa = 0, .size = low };
	gm->nr_regions = 1;
	if (size > low) {
		gm->regions[1] = (struct gm_region){ .gpa = LAYOUT_MMIO_HOLE_END,
						     .size = size - low };
		gm->nr_regions = 2;
	}
	gm->size = size;
	return 0;
}

int gm_init(struct guest_mem *gm, uint64_t size)
{
	return gm_init_at(gm, size, NULL);
}

int gm_init_at(struct guest_mem *gm, uint64_t size, void *at)
{
	void *p;
	int ret = gm_layout(gm, size);

	if (ret)
		return ret;
	/* NORESERVE: pages are only allocated when the guest touches them. */
	p = mmap(at, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (at ? MAP_FIXED : 0), -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	gm->base = p;
	gm->anon = true;
	gm->regions[0].hva = gm->base;
	if (gm->nr_regions > 1)
		gm->regions[1].hva = gm->base + gm->regions[0].size;
	return 0;
}

void gm_destroy(struct guest_mem *gm)
{
	if (gm->base)
		munmap(gm->base, gm->size);
	gm->base = NULL;
	for (unsigned i = 0; i < GM_MAX_REGIONS; i++) {
		free(gm->dirty[i]);
		free(gm->file_data[i]);
		gm->dirty[i] = gm->file_data[i] = NULL;
	}
}

void *gm_ptr(const struct guest_mem *gm, gpa_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];

		if (gpa < r->gpa)
			continue;
		if (!range_ok(gpa - r->gpa, len, r->size))
			continue;
		if (!r->hva)
			return NULL;
		return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int gm_read(const struct guest_mem *gm, void *dst, gpa_t gpa, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, gpa_t gpa, const void *src, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

/* --- device-write tracking (KVM_GET_DIRTY_LOG layout: bit p % 64 of word
 * p / 64 is page p of the region) --- */


uint64_t gm_dirty_words(const struct gm_region *r)
{
	return (r->size / GM_PAGE_SIZE + 63) / 64;
}

int gm_dirty_enable(struct guest_mem *gm)
{
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		if (gm->dirty[i])
			continue;
		gm->dirty[i] = calloc(gm_dirty_words(&gm->regions[i]), sizeof(uint64_t));
		if (!gm->dirty[i])
			return -ENOMEM;
	}
	return 0;
}

void gm_bitmap_set(uint64_t *bm, uint64_t first, uint64_t n)
{
	uint64_t last = first + n - 1;

	while (n && first <= last) {
		uint64_t w = first / 64, lo = first % 64;
		uint64_t hi = MIN(last - (first - lo), 63); /* last bit in this word */
		uint64_t mask = (hi == 63 ? ~0ULL : (2ULL << hi) - 1) & ~((1ULL << lo) - 1);

		__atomic_fetch_or(&bm[w], mask, __ATOMIC_RELAXED);
		first += hi - lo + 1;
	}
}

void gm_mark_dirty(const struct guest_mem *gm, gpa_t gpa, uint64_t len)
{
	if (!len || !gm->dirty[0])
		return;
	for (unsigned i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];
		uint64_t start, end, first;

		/* Clip [gpa, gpa+len) (saturating at 2^64) to the region. */
		end = gpa + len < gpa ? UINT64_MAX : gpa + len;
		start = MAX(gpa, r->gpa);
		end = MIN(end, r->gpa + r->size);
		if (start >= end || !gm->dirty[i])
			continue;
		first = (start - r->gpa) / GM_PAGE_SIZE;
		gm_bitmap_set(gm->dirty[i], first, (end - 1 - r->gpa) / GM_PAGE_SIZE - first + 1);
	}
}

void gm_dirty_collect(const struct guest_mem *gm, unsigned r, uint64_t *dst)
{
	if (r >= gm->nr_regions || !gm->dirty[r])
		return;
	for (uint64_t w = 0, n = gm_dirty_words(&gm->regions[r]); w < n; w++)
		if (__atomic_load_n(&gm->dirty[r][w], __ATOMIC_RELAXED))
			dst[w] |= __atomic_exchange_n(&gm->dirty[r][w], 0, __ATOMIC_ACQ_REL);
}

void gm_dirty_restore(const struct guest_mem *gm, unsigned r, const uint64_t *src)
{
	if (r >= gm->nr_regions || !gm->dirty[r])
		return;
	for (uint64_t w = 0, n = gm_dirty_words(&gm->regions[r]); w < n; w++)
		if (src[w])
			__atomic_fetch_or(&gm->dirty[r][w], src[w], __ATOMIC_RELAXED);
}

uint64_t gm_low_end(const struct guest_mem *gm)
{
	return gm->regions[0].gpa + gm->regions[0].size;
}
