/* One bus shape for port I/O and MMIO: non-overlapping address ranges, each
 * with a const ops table and an opaque device pointer (DESIGN.md §9 rule 6).
 * Devices are registered before the vCPUs start; lookups are lock-free. */
#ifndef FEMTOVM_BUS_H
#define FEMTOVM_BUS_H

#include <stdint.h>

struct bus_ops {
	/* @offset is relative to the range base; @len is 1, 2, 4 or 8. A read
	 * must fill all @len bytes of @data. Called on the vCPU thread. */
	void (*read)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len);
	void (*write)(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

#define BUS_MAX_RANGES 64

struct bus {
	const char *name; /* "pio" or "mmio", for messages */
	struct bus_range ranges[BUS_MAX_RANGES]; /* sorted by base */
	unsigned nr;
};

void bus_init(struct bus *bus, const char *name);

/* Add [base, base+len). -EINVAL for len 0 or a wrapping range, -EEXIST if it
 * overlaps a registered range, -ENOSPC if the bus is full. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name);

/* The range wholly containing [addr, addr+len), or NULL. */
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint32_t len);

/* Dispatch an access. Unmapped reads return all zeros. Returns 0, or
 * -ENOENT when nothing is mapped there (the caller logs). */
int bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len);
int bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len);

#endif
