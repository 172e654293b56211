/* Guest RAM mapping and the only checked accessors the monitor uses to touch
 * it. Every guest-supplied address ends up in gm_ptr(). */
#include "vmm/guest_mem.h"

#include <errno.h>
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
	void *p;
	int ret = gm_layout(gm, size);

	if (ret)
		return ret;
	/* NORESERVE: pages are only allocated when the guest touches them. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	gm->base = p;
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

uint64_t gm_low_end(const struct guest_mem *gm)
{
	return gm->regions[0].gpa + gm->regions[0].size;
}
