/* MEMORY_LAYOUT payload: total RAM and the guest-physical regions with
 * their offsets in the memory file. Restore sizes the mapping of the memory
 * file from this, so it is held to the shapes gm_layout() can produce. */
#include <errno.h>
#include <string.h>

#include "snapshot/internal.h"
#include "snapshot/sections.h"
#include "vmm/layout.h"

#define PAGE 4096ULL

void snap_mem_layout_from_gm(const struct guest_mem *gm, struct snap_mem_layout *l)
{
	uint64_t off = 0;

	memset(l, 0, sizeof(*l));
	l->mem_size = gm->size;
	for (unsigned i = 0; i < gm->nr_regions && i < SNAP_MEM_MAX_REGIONS; i++) {
		l->regions[i] = (struct snap_mem_region){ gm->regions[i].gpa, gm->regions[i].size,
							  off };
		off += gm->regions[i].size;
		l->nregions++;
	}
}

static int check_region(const struct snap_mem_region *r, uint32_t i, uint64_t min_gpa,
			uint64_t off, char *err, size_t errlen)
{
	if (!r->size || (r->gpa | r->size) % PAGE)
		return snap_errf(-EINVAL, err, errlen,
				 "memory region %u (0x%llx + 0x%llx) empty or not page-aligned", i,
				 (unsigned long long)r->gpa, (unsigned long long)r->size);
	if (!range_ok(r->gpa, r->size, SNAP_MEM_MAX_GPA))
		return snap_errf(-EINVAL, err, errlen, "memory region %u beyond 0x%llx", i,
				 (unsigned long long)SNAP_MEM_MAX_GPA);
	if (r->gpa < min_gpa)
		return snap_errf(-EINVAL, err, errlen,
				 "memory region %u overlaps or precedes region %u", i, i - 1);
	if (r->gpa < LAYOUT_MMIO_HOLE_END && r->gpa + r->size > LAYOUT_MMIO_HOLE)
		return snap_errf(-EINVAL, err, errlen, "memory region %u overlaps the MMIO hole",
				 i);
	if (r->file_offset != off)
		return snap_errf(-EINVAL, err, errlen,
				 "memory region %u file offset 0x%llx, expected 0x%llx", i,
				 (unsigned long long)r->file_offset, (unsigned long long)off);
	return 0;
}

int snap_check_mem_layout(const struct snap_mem_layout *l, char *err, size_t errlen)
{
	uint64_t next = 0, total = 0;
	int ret;

	if (l->nregions == 0 || l->nregions > SNAP_MEM_MAX_REGIONS)
		return snap_errf(-EINVAL, err, errlen, "memory region count %u not in 1..%u",
				 l->nregions, SNAP_MEM_MAX_REGIONS);
	if (!l->mem_size || l->mem_size % PAGE || l->mem_size > SNAP_MEM_MAX_SIZE)
		return snap_errf(-EINVAL, err, errlen,
				 "memory size 0x%llx zero, not page-aligned or above 1 TiB",
				 (unsigned long long)l->mem_size);
	for (uint32_t i = 0; i < l->nregions; i++) {
		const struct snap_mem_region *r = &l->regions[i];

		ret = check_region(r, i, next, total, err, errlen);
		if (ret)
			return ret;
		next = r->gpa + r->size;
		total += r->size; /* ≤ 2^46 per region, 8 regions: no overflow */
	}
	if (total != l->mem_size)
		return snap_errf(-EINVAL, err, errlen,
				 "memory regions add up to 0x%llx, not memory size 0x%llx",
				 (unsigned long long)total, (unsigned long long)l->mem_size);
	return 0;
}

int snap_encode_mem_layout(struct snap_writer *w, const struct snap_mem_layout *l)
{
	uint8_t buf[SNAP_MEM_LAYOUT_LEN(SNAP_MEM_MAX_REGIONS)];
	struct snap_out o = { buf, 0, sizeof(buf) };
	int ret;

	if (w->error)
		return w->error;
	ret = snap_check_mem_layout(l, w->err, sizeof(w->err));
	if (ret)
		return w->error = ret;
	snap_out64(&o, l->mem_size);
	snap_out32(&o, l->nregions);
	snap_out32(&o, 0); /* reserved */
	for (uint32_t i = 0; i < l->nregions; i++) {
		snap_out64(&o, l->regions[i].gpa);
		snap_out64(&o, l->regions[i].size);
		snap_out64(&o, l->regions[i].file_offset);
	}
	return snap_put_section(w, SNAP_SEC_MEMORY_LAYOUT, 0, 1, buf, o.len);
}

int snap_decode_mem_layout(const void *payload, uint32_t len, struct snap_mem_layout *l,
			   char *err, size_t errlen)
{
	struct snap_in in = { payload, len, false };
	uint32_t reserved;
	int ret;

	memset(l, 0, sizeof(*l));
	l->mem_size = snap_in64(&in);
	l->nregions = snap_in32(&in);
	reserved = snap_in32(&in);
	if (in.short_)
		return snap_errf(-EINVAL, err, errlen, "truncated memory layout header");
	if (l->nregions == 0 || l->nregions > SNAP_MEM_MAX_REGIONS)
		return snap_errf(-EINVAL, err, errlen, "memory region count %u not in 1..%u",
				 l->nregions, SNAP_MEM_MAX_REGIONS);
	if (reserved)
		return snap_errf(-EINVAL, err, errlen, "memory layout reserved field not zero");
	for (uint32_t i = 0; i < l->nregions; i++) {
		l->regions[i].gpa = snap_in64(&in);
		l->regions[i].size = snap_in64(&in);
		l->regions[i].file_offset = snap_in64(&in);
	}
	ret = snap_in_done(&in, "memory layout", err, errlen);
	return ret ? ret : snap_check_mem_layout(l, err, errlen);
}
