/* Kernel image loaders: ELF vmlinux (64-bit boot protocol), ELF with a Xen
 * PVH note (PVH entry), and bzImage. The format is chosen from the file
 * itself. Images are read through a small source interface so tests can
 * feed hostile in-memory images. */
#ifndef FEMTOVM_LOADER_H
#define FEMTOVM_LOADER_H

#include <asm/bootparam.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

struct image_src {
	/* Read exactly @len bytes at @off into @buf; 0 or -errno. */
	int (*read)(void *ctx, uint64_t off, void *buf, uint64_t len);
	uint64_t size;
	void *ctx;
};

/* An image_src over an open file descriptor (pread). */
int image_src_from_fd(struct image_src *src, int fd);
/* An image_src over a memory buffer (tests, fuzzing). */
struct image_buf { const uint8_t *data; uint64_t size; };
void image_src_from_buf(struct image_src *src, struct image_buf *buf);

enum boot_kind { BOOT_LINUX64, BOOT_BZIMAGE, BOOT_PVH };

struct kernel_info {
	enum boot_kind kind;
	uint64_t entry;          /* 64-bit entry (rip) or PVH 32-bit entry */
	uint64_t load_end;       /* first byte above the loaded kernel */
	struct setup_header hdr; /* bzImage only */
	uint32_t cmdline_max;    /* bytes incl. NUL the kernel accepts */
	uint64_t initrd_max;     /* highest byte + 1 an initrd may occupy */
};

#define LOADER_MAX_PHDRS 64

/* Recognise and load a kernel into @gm. Errors: -ENOEXEC not a supported
 * format; -EINVAL malformed or truncated image; -ERANGE a segment lies
 * outside guest RAM or below 1 MiB; other -errno from the source. On error
 * a message naming the problem has been logged. */
int loader_load_kernel(const struct image_src *src, const struct guest_mem *gm,
		       struct kernel_info *ki);

/* Place an initrd page-aligned as high as possible below
 * min(ki->initrd_max, low RAM end) and above the kernel. -ENOSPC if it does
 * not fit. */
int loader_load_initrd(const struct image_src *src, const struct guest_mem *gm,
		       const struct kernel_info *ki, uint64_t *gpa);

#endif
