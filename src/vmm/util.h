/* Small helpers shared by every module: sizes, alignment, overflow-checked
 * arithmetic and error-return conventions (0 or -errno). */
#ifndef FEMTOVM_UTIL_H
#define FEMTOVM_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KIB(x) ((uint64_t)(x) << 10)
#define MIB(x) ((uint64_t)(x) << 20)
#define GIB(x) ((uint64_t)(x) << 30)
#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((uint64_t)(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a)-1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define UNUSED __attribute__((unused))

/* A guest-physical address. Never cast to a pointer: use gm_ptr(). */
typedef uint64_t gpa_t;

/* True when [start, start+len) fits in [0, limit) without wrapping. */
static inline int range_ok(uint64_t start, uint64_t len, uint64_t limit)
{
	return start <= limit && len <= limit - start;
}

#endif
