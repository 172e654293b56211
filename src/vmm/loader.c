/* Kernel and initrd loading. Every offset and size read from an image is
 * treated as hostile: checked against the file size and, for load
 * addresses, against guest RAM via gm_ptr(). */
#include "vmm/loader.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/x86_boot.h"

static int fd_read(void *ctx, uint64_t off, void *buf, uint64_t len)
{
	int fd = (int)(intptr_t)ctx;
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EINVAL; /* file shrank under us */
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int image_src_from_fd(struct image_src *src, int fd)
{
	off_t end = lseek(fd, 0, SEEK_END);

	if (end < 0)
		return -errno;
	src->read = fd_read;
	src->size = (uint64_t)end;
	src->ctx = (void *)(intptr_t)fd;
	return 0;
}

static int buf_read(void *ctx, uint64_t off, void *buf, uint64_t len)
{
	const struct image_buf *b = ctx;

	if (!range_ok(off, len, b->size))
		return -EINVAL;
	memcpy(buf, b->data + off, len);
	return 0;
}

void image_src_from_buf(struct image_src *src, struct image_buf *buf)
{
	src->read = buf_read;
	src->size = buf->size;
	src->ctx = buf;
}

/* Bounded read: [off, off+len) must lie inside the image. */
static int src_read(const struct image_src *src, uint64_t off, void *buf, uint64_t len)
{
	if (!range_ok(off, len, src->size))
		return -EINVAL;
	return src->read(src->ctx, off, buf, len);
}

/* Copy image bytes straight into guest RAM at @gpa (checked). */
static int load_to_guest(const struct image_src *src, const struct guest_mem *gm,
			 uint64_t off, gpa_t gpa, uint64_t len)
{
	void *dst = gm_ptr(gm, gpa, len);

	if (!dst) {
		log_err("kernel: %" PRIu64 " bytes at guest address 0x%" PRIx64
			" do not fit in guest RAM", len, gpa);
		return -ERANGE;
	}
	return src_read(src, off, dst, len);
}

/* Look for the PVH entry note in one PT_NOTE segment. */
static int find_pvh_note(const struct image_src *src, const Elf64_Phdr *ph, uint64_t *entry)
{
	uint64_t off = 0, end = ph->p_filesz;

	if (!range_ok(ph->p_offset, ph->p_filesz, src->size))
		return -EINVAL;
	while (end - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		char name[4];
		uint64_t namesz, descsz;
		int ret = src_read(src, ph->p_offset + off, &nh, sizeof(nh));

		if (ret)
			return ret;
		off += sizeof(nh);
		namesz = ALIGN_UP((uint64_t)nh.n_namesz, 4);
		descsz = ALIGN_UP((uint64_t)nh.n_descsz, 4);
		if (namesz > end - off || descsz > end - off - namesz)
			return -EINVAL;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    (nh.n_descsz == 4 || nh.n_descsz == 8)) {
			uint64_t v = 0;

			ret = src_read(src, ph->p_offset + off, name, 4);
			if (ret)
				return ret;
			if (!memcmp(name, "Xen", 4)) {
				ret = src_read(src, ph->p_offset + off + namesz, &v, nh.n_descsz);
				if (ret)
					return ret;
				*entry = v;
				return 1;
			}
		}
		off += namesz + descsz;
	}
	return 0;
}

static int elf_check_header(const Elf64_Ehdr *eh, uint64_t size)
{
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64) {
		log_err("kernel: ELF image is not a little-endian x86-64 ELF64 file");
		return -ENOEXEC;
	}
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) {
		log_err("kernel: ELF image is not an executable (e_type %u)", eh->e_type);
		return -EINVAL;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    eh->e_phnum > LOADER_MAX_PHDRS ||
	    !range_ok(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), size)) {
		log_err("kernel: ELF program header table is malformed or truncated");
		return -EINVAL;
	}
	return 0;
}

static int load_elf(const struct image_src *src, const struct guest_mem *gm,
		    struct kernel_info *ki)
{
	Elf64_Phdr ph[LOADER_MAX_PHDRS];
	Elf64_Ehdr eh;
	uint64_t pvh_entry = 0, end = 0;
	int ret, has_pvh = 0, nload = 0;

	ret = src_read(src, 0, &eh, sizeof(eh));
	if (ret) {
		log_err("kernel: ELF header truncated");
		return -EINVAL;
	}
	ret = elf_check_header(&eh, src->size);
	if (ret)
		return ret;
	ret = src_read(src, eh.e_phoff, ph, eh.e_phnum * sizeof(Elf64_Phdr));
	if (ret)
		return -EINVAL;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_NOTE && !has_pvh) {
			ret = find_pvh_note(src, &ph[i], &pvh_entry);
			if (ret < 0) {
				log_err("kernel: ELF note segment %u is malformed", i);
				return -EINVAL;
			}
			has_pvh = ret;
		}
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz ||
		    !range_ok(ph[i].p_offset, ph[i].p_filesz, src->size)) {
			log_err("kernel: ELF segment %u lies outside the file", i);
			return -EINVAL;
		}
		if (ph[i].p_paddr < LAYOUT_HIGH_MEM ||
		    !gm_ptr(gm, ph[i].p_paddr, ph[i].p_memsz)) {
			log_err("kernel: ELF segment %u [0x%" PRIx64 ", +0x%" PRIx64
				") is below 1 MiB or outside guest RAM (%" PRIu64 " MiB)",
				i, (uint64_t)ph[i].p_paddr, (uint64_t)ph[i].p_memsz, gm->size >> 20);
			return -ERANGE;
		}
		/* Guest RAM is fresh anonymous memory, already zero, so the
		 * p_memsz - p_filesz tail (bss) needs no clearing. */
		ret = load_to_guest(src, gm, ph[i].p_offset, ph[i].p_paddr, ph[i].p_filesz);
		if (ret)
			return ret;
		end = MAX(end, ph[i].p_paddr + ph[i].p_memsz);
		if (ph[i].p_memsz)
			nload++;
	}
	if (!nload) {
		log_err("kernel: ELF image has no loadable segment");
		return -EINVAL;
	}
	ki->kind = has_pvh ? BOOT_PVH : BOOT_LINUX64;
	ki->entry = has_pvh ? pvh_entry : eh.e_entry;
	ki->load_end = end;
	return 0;
}

static int load_bzimage(const struct image_src *src, const struct guest_mem *gm,
			struct kernel_info *ki)
{
	struct setup_header *h = &ki->hdr;
	uint8_t jump_end;
	uint64_t hdr_len, setup_sects, pm_off, pm_size;
	const uint64_t hdr_off = offsetof(struct boot_params, hdr);
	int ret;

	memset(h, 0, sizeof(*h));
	if (src_read(src, 0x201, &jump_end, 1)) {
		log_err("kernel: bzImage setup header truncated");
		return -EINVAL;
	}
	/* The header ends at 0x202 + the byte at 0x201 (boot.rst). */
	hdr_len = MIN(0x202 + (uint64_t)jump_end - hdr_off, sizeof(*h));
	ret = src_read(src, hdr_off, h, hdr_len);
	if (ret) {
		log_err("kernel: bzImage setup header truncated");
		return -EINVAL;
	}
	if (h->version < 0x20c || !(h->xloadflags & XLF_KERNEL_64) ||
	    !(h->loadflags & LOADED_HIGH)) {
		log_err("kernel: bzImage protocol %u.%02u lacks a 64-bit entry point "
			"(need >= 2.12 with XLF_KERNEL_64)", h->version >> 8, h->version & 0xff);
		return -EINVAL;
	}
	setup_sects = h->setup_sects ? h->setup_sects : 4;
	pm_off = (setup_sects + 1) * 512;
	if (pm_off >= src->size) {
		log_err("kernel: bzImage has no protected-mode kernel after its setup code");
		return -EINVAL;
	}
	pm_size = src->size - pm_off;
	if (!gm_ptr(gm, LAYOUT_HIGH_MEM, MAX(pm_size, (uint64_t)h->init_size))) {
		log_err("kernel: bzImage needs 0x%" PRIx64 " bytes at 1 MiB; guest RAM is too small",
			MAX(pm_size, (uint64_t)h->init_size));
		return -ERANGE;
	}
	ret = load_to_guest(src, gm, pm_off, LAYOUT_HIGH_MEM, pm_size);
	if (ret)
		return ret;
	ki->kind = BOOT_BZIMAGE;
	/* 64-bit entry: load address + 0x200 (boot.rst, 64-bit boot protocol). */
	ki->entry = LAYOUT_HIGH_MEM + 0x200;
	ki->load_end = LAYOUT_HIGH_MEM + MAX(pm_size, (uint64_t)h->init_size);
	/* 64-bit arithmetic: cmdline_size may be 0xffffffff. */
	ki->cmdline_max = h->version >= 0x206 ?
		(uint32_t)MIN((uint64_t)h->cmdline_size + 1, (uint64_t)LAYOUT_CMDLINE_MAX) : 256;
	ki->initrd_max = (uint64_t)h->initrd_addr_max + 1;
	return 0;
}

int loader_load_kernel(const struct image_src *src, const struct guest_mem *gm,
		       struct kernel_info *ki)
{
	uint8_t magic[4];
	uint16_t boot_flag = 0;
	uint32_t hdrs = 0;

	memset(ki, 0, sizeof(*ki));
	ki->cmdline_max = LAYOUT_CMDLINE_MAX;
	ki->initrd_max = LAYOUT_MMIO_HOLE;
	if (src_read(src, 0, magic, sizeof(magic))) {
		log_err("kernel: image is too small (%" PRIu64 " bytes)", src->size);
		return -ENOEXEC;
	}
	if (!memcmp(magic, ELFMAG, SELFMAG))
		return load_elf(src, gm, ki);
	if (!src_read(src, 0x1fe, &boot_flag, 2) && !src_read(src, 0x202, &hdrs, 4) &&
	    boot_flag == 0xaa55 && hdrs == 0x53726448)
		return load_bzimage(src, gm, ki);
	log_err("kernel: image is neither an ELF file nor a bzImage");
	return -ENOEXEC;
}

int loader_load_initrd(const struct image_src *src, const struct guest_mem *gm,
		       const struct kernel_info *ki, uint64_t *gpa)
{
	uint64_t top = MIN(MIN(ki->initrd_max, gm_low_end(gm)), LAYOUT_MMIO_HOLE);
	uint64_t bottom = ALIGN_UP(ki->load_end, 4096);
	uint64_t addr;

	if (src->size == 0) {
		log_err("initrd: file is empty");
		return -EINVAL;
	}
	if (src->size > top || ALIGN_DOWN(top - src->size, 4096) < bottom) {
		log_err("initrd: %" PRIu64 " bytes do not fit between the kernel and 0x%" PRIx64,
			src->size, top);
		return -ENOSPC;
	}
	addr = ALIGN_DOWN(top - src->size, 4096);
	*gpa = addr;
	return load_to_guest(src, gm, 0, addr, src->size);
}
