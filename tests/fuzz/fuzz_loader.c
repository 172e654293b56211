/* libFuzzer harness for the kernel and initrd loaders: the input is a kernel
 * image loaded into a 4 MiB guest; on success the initrd loader places the
 * same bytes. A second pass feeds the initrd loader a kernel_info built from
 * the first 16 input bytes. Checks that results stay inside guest RAM. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/layout.h"
#include "vmm/loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem gm;

static void check_initrd(const struct kernel_info *ki, uint64_t gpa, uint64_t len)
{
	if (gpa % 4096 || gpa + len > gm_low_end(&gm) || gpa + len > ki->initrd_max ||
	    gpa < ki->load_end)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_buf b = { data, size };
	struct image_src src;
	struct kernel_info ki;
	uint64_t gpa = 0;

	if (!gm.base && gm_init(&gm, 4u << 20))
		abort();
	image_src_from_buf(&src, &b);
	if (loader_load_kernel(&src, &gm, &ki) == 0) {
		if (ki.kind != BOOT_LINUX64 && ki.kind != BOOT_BZIMAGE && ki.kind != BOOT_PVH)
			__builtin_trap();
		if (ki.load_end > gm.size || ki.load_end < LAYOUT_HIGH_MEM)
			__builtin_trap();
		if (ki.cmdline_max < 1 || ki.cmdline_max > LAYOUT_CMDLINE_MAX)
			__builtin_trap();
		if (loader_load_initrd(&src, &gm, &ki, &gpa) == 0)
			check_initrd(&ki, gpa, size);
	}
	if (size > 16) {
		uint32_t v[4];

		memcpy(v, data, sizeof(v));
		memset(&ki, 0, sizeof(ki));
		ki.load_end = v[0] % (8u << 20);
		ki.initrd_max = (uint64_t)v[1] * 2;
		b = (struct image_buf){ data + 16, (v[2] % 2) ? size - 16 : (v[3] % (size - 16)) };
		image_src_from_buf(&src, &b);
		if (loader_load_initrd(&src, &gm, &ki, &gpa) == 0)
			check_initrd(&ki, gpa, b.size);
	}
	return 0;
}
