/* Unit tests for the kernel/initrd loaders with images built in memory:
 * ELF64 vmlinux, ELF with a Xen PVH note, bzImage, and every malformed
 * header, segment or note the loader must refuse with an exact error. */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmm/layout.h"
#include "vmm/loader.h"
#include "vmm/util.h"
#include "vmm/x86_boot.h"

#define IMG_MAX 0x24000

static struct guest_mem gm;
static uint8_t img[IMG_MAX];
static size_t img_size;
static struct kernel_info ki;

static void setup(void)
{
	cr_assert_eq(gm_init(&gm, MIB(4)), 0);
	memset(img, 0, sizeof(img));
	img_size = 0;
	memset(&ki, 0x5a, sizeof(ki));
}

static void teardown(void)
{
	gm_destroy(&gm);
}

static int load(void)
{
	struct image_buf b = { img, img_size };
	struct image_src src;

	image_src_from_buf(&src, &b);
	return loader_load_kernel(&src, &gm, &ki);
}

/* --- ELF builder --------------------------------------------------------- */

#define PH_OFF 64
#define SEG_OFF 0x1000
#define SEG_FILESZ 0x100
#define ENTRY 0x1000200

static Elf64_Ehdr *ehdr(void) { return (Elf64_Ehdr *)img; }
static Elf64_Phdr *phdr(unsigned i) { return (Elf64_Phdr *)(img + PH_OFF) + i; }

/* One PT_LOAD of SEG_FILESZ bytes (pattern i & 0xff ^ 0x3c) at 1 MiB,
 * memsz 0x2000. */
static void build_elf(void)
{
	Elf64_Ehdr *e = ehdr();
	Elf64_Phdr *p = phdr(0);

	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_ident[EI_VERSION] = EV_CURRENT;
	e->e_type = ET_EXEC;
	e->e_machine = EM_X86_64;
	e->e_version = EV_CURRENT;
	e->e_entry = ENTRY;
	e->e_phoff = PH_OFF;
	e->e_ehsize = sizeof(*e);
	e->e_phentsize = sizeof(Elf64_Phdr);
	e->e_phnum = 1;
	p->p_type = PT_LOAD;
	p->p_offset = SEG_OFF;
	p->p_vaddr = 0xffffffff81000000ULL;
	p->p_paddr = LAYOUT_HIGH_MEM;
	p->p_filesz = SEG_FILESZ;
	p->p_memsz = 0x2000;
	for (unsigned i = 0; i < SEG_FILESZ; i++)
		img[SEG_OFF + i] = (uint8_t)(i ^ 0x3c);
	img_size = SEG_OFF + SEG_FILESZ;
}

/* Append a note segment as program header @idx with the given notes. */
static size_t put_note(size_t off, uint32_t namesz, uint32_t descsz, uint32_t type,
		       const char *name, const void *desc)
{
	Elf64_Nhdr nh = { namesz, descsz, type };

	memcpy(img + off, &nh, sizeof(nh));
	off += sizeof(nh);
	if (name)
		memcpy(img + off, name, namesz);
	off += ALIGN_UP(namesz, 4);
	if (desc)
		memcpy(img + off, desc, descsz);
	off += ALIGN_UP(descsz, 4);
	return off;
}

#define NOTE_OFF 0x2000

static void add_note_phdr(unsigned idx, size_t end)
{
	Elf64_Phdr *p = phdr(idx);

	p->p_type = PT_NOTE;
	p->p_offset = NOTE_OFF;
	p->p_filesz = end - NOTE_OFF;
	p->p_align = 4;
	ehdr()->e_phnum = (Elf64_Half)(idx + 1);
	img_size = MAX(img_size, end);
}

TestSuite(loader, .init = setup, .fini = teardown);

Test(loader, elf_valid)
{
	build_elf();
	cr_assert_eq(load(), 0);
	cr_assert_eq(ki.kind, BOOT_LINUX64);
	cr_assert_eq(ki.entry, ENTRY);
	cr_assert_eq(ki.load_end, LAYOUT_HIGH_MEM + 0x2000);
	cr_assert_eq(ki.cmdline_max, LAYOUT_CMDLINE_MAX);
	cr_assert_eq(ki.initrd_max, LAYOUT_MMIO_HOLE);
	cr_assert_arr_eq(gm.base + LAYOUT_HIGH_MEM, img + SEG_OFF, SEG_FILESZ);
	for (unsigned i = SEG_FILESZ; i < 0x2000; i++)
		cr_assert_eq(gm.base[LAYOUT_HIGH_MEM + i], 0, "bss byte %u", i);
	cr_assert_eq(gm.base[LAYOUT_HIGH_MEM - 1], 0);
}

Test(loader, elf_et_dyn_and_two_segments)
{
	build_elf();
	ehdr()->e_type = ET_DYN;
	*phdr(1) = *phdr(0);
	phdr(1)->p_paddr = MIB(2);
	phdr(1)->p_memsz = 0x3000;
	phdr(1)->p_filesz = 0x10;
	ehdr()->e_phnum = 2;
	cr_assert_eq(load(), 0);
	cr_assert_eq(ki.load_end, MIB(2) + 0x3000);
	cr_assert_arr_eq(gm.base + MIB(2), img + SEG_OFF, 0x10);
	/* reversed order: load_end is still the maximum */
	memset(&ki, 0, sizeof(ki));
	*phdr(2) = *phdr(0);
	*phdr(0) = *phdr(1);
	*phdr(1) = *phdr(2);
	cr_assert_eq(load(), 0);
	cr_assert_eq(ki.load_end, MIB(2) + 0x3000);
}

Test(loader, elf_segment_exactly_at_ram_end)
{
	build_elf();
	phdr(0)->p_paddr = MIB(4) - 0x2000;
	cr_assert_eq(load(), 0);
	cr_assert_eq(ki.load_end, MIB(4));
}

Test(loader, too_small_or_garbage_is_enoexec)
{
	img_size = 0;
	cr_assert_eq(load(), -ENOEXEC);
	memcpy(img, ELFMAG, 3);
	img_size = 3;
	cr_assert_eq(load(), -ENOEXEC);
	for (unsigned i = 0; i < 0x1000; i++)
		img[i] = (uint8_t)(i * 37 + 11);
	img_size = 0x1000;
	cr_assert_eq(load(), -ENOEXEC);
	memset(img, 0, 0x1000);
	cr_assert_eq(load(), -ENOEXEC);
}

Test(loader, elf_truncated_header)
{
	build_elf();
	img_size = sizeof(Elf64_Ehdr) - 1;
	cr_assert_eq(load(), -EINVAL);
	img_size = 4;
	cr_assert_eq(load(), -EINVAL);
}

Test(loader, elf_wrong_class_data_machine)
{
	build_elf();
	ehdr()->e_ident[EI_CLASS] = ELFCLASS32;
	cr_assert_eq(load(), -ENOEXEC);
	build_elf();
	ehdr()->e_ident[EI_DATA] = ELFDATA2MSB;
	cr_assert_eq(load(), -ENOEXEC);
	build_elf();
	ehdr()->e_machine = EM_386;
	cr_assert_eq(load(), -ENOEXEC);
	build_elf();
	ehdr()->e_machine = EM_AARCH64;
	cr_assert_eq(load(), -ENOEXEC);
	build_elf();
	ehdr()->e_type = ET_REL;
	cr_assert_eq(load(), -EINVAL);
	build_elf();
	ehdr()->e_type = ET_CORE;
	cr_assert_eq(load(), -EINVAL);
	cr_assert_eq(gm.base[LAYOUT_HIGH_MEM], 0, "nothing loaded");
}

Test(loader, elf_phdr_table_bounds)
{
	build_elf();
	ehdr()->e_phoff = img_size;
	cr_assert_eq(load(), -EINVAL, "phoff at EOF");
	build_elf();
	ehdr()->e_phoff = img_size - sizeof(Elf64_Phdr) + 1;
	cr_assert_eq(load(), -EINVAL, "table crosses EOF");
	build_elf();
	ehdr()->e_phoff = UINT64_MAX - 8;
	cr_assert_eq(load(), -EINVAL, "phoff + size wraps");
	build_elf();
	ehdr()->e_phnum = 0;
	cr_assert_eq(load(), -EINVAL);
	build_elf();
	ehdr()->e_phnum = LOADER_MAX_PHDRS + 1;
	img_size = IMG_MAX;
	cr_assert_eq(load(), -EINVAL, "phnum 65");
	build_elf();
	ehdr()->e_phnum = 0xffff;
	img_size = IMG_MAX;
	cr_assert_eq(load(), -EINVAL, "phnum 0xffff");
	build_elf();
	ehdr()->e_phentsize = 32;
	cr_assert_eq(load(), -EINVAL, "phentsize");
	cr_assert_eq(gm.base[LAYOUT_HIGH_MEM], 0, "nothing loaded");
}

Test(loader, elf_max_phdrs_ok)
{
	build_elf();
	/* 64 headers: the PT_LOAD plus 63 PT_NULL; table 64*56 = 3584 bytes at
	 * 0x4000 (segment data stays at 0x1000). */
	ehdr()->e_phoff = 0x4000;
	memcpy(img + 0x4000, phdr(0), sizeof(Elf64_Phdr));
	ehdr()->e_phnum = LOADER_MAX_PHDRS;
	img_size = 0x4000 + LOADER_MAX_PHDRS * sizeof(Elf64_Phdr);
	cr_assert_eq(load(), 0);
	cr_assert_eq(ki.kind, BOOT_LINUX64);
}

Test(loader, elf_segment_outside_file)
{
	build_elf();
	phdr(0)->p_filesz = SEG_FILESZ + 1;
	cr_assert_eq(load(), -EINVAL, "filesz one past EOF");
	build_elf();
	phdr(0)->p_offset = img_size;
	cr_assert_eq(load(), -EINVAL, "offset at EOF");
	build_elf();
	phdr(0)->p_offset = UINT64_MAX - 0x10;
	cr_assert_eq(load(), -EINVAL, "offset + filesz wraps");
	build_elf();
	phdr(0)->p_filesz = UINT64_MAX;
	phdr(0)->p_memsz = UINT64_MAX;
	cr_assert_eq(load(), -EINVAL, "huge filesz");
}

Test(loader, elf_filesz_greater_than_memsz)
{
	build_elf();
	phdr(0)->p_memsz = SEG_FILESZ - 1;
	cr_assert_eq(load(), -EINVAL);
	cr_assert_eq(gm.base[LAYOUT_HIGH_MEM], 0);
}

Test(loader, elf_paddr_checks)
{
	static const struct { uint64_t paddr, memsz; const char *what; } bad[] = {
		{ 0, 0x2000, "paddr 0" },
		{ LAYOUT_HIGH_MEM - 0x1000, 0x2000, "below 1 MiB" },
		{ LAYOUT_ZERO_PAGE, 0x200, "over the zero page" },
		{ MIB(4), 0x2000, "at RAM end" },
		{ MIB(4) - 0x1000, 0x2000, "straddling RAM end" },
		{ MIB(64), 0x2000, "beyond RAM" },
		{ LAYOUT_HIGH_MEM, UINT64_MAX, "paddr + memsz wraps" },
		{ LAYOUT_HIGH_MEM, UINT64_MAX - LAYOUT_HIGH_MEM + 1, "paddr + memsz == 2^64" },
		{ UINT64_MAX - 0x10, 0x200, "top of address space" },
		{ GIB(4), 0x200, "above the hole, no high RAM" },
	};

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		build_elf();
		phdr(0)->p_paddr = bad[i].paddr;
		phdr(0)->p_memsz = bad[i].memsz;
		cr_assert_eq(load(), -ERANGE, "%s", bad[i].what);
	}
	cr_assert_eq(gm.base[LAYOUT_HIGH_MEM], 0, "nothing loaded");
}

Test(loader, elf_without_load_segment)
{
	build_elf();
	phdr(0)->p_type = PT_NULL;
	cr_assert_eq(load(), -EINVAL);
}

/* --- PVH notes ----------------------------------------------------------- */

Test(loader, pvh_note_4_byte_desc)
{
	uint32_t entry = 0x1000123;
	size_t end;

	build_elf();
	end = put_note(NOTE_OFF, 4, 4, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", &entry);
	add_note_phdr(1, end);
	cr_assert_eq(load(), 0);
	cr_assert_eq(ki.kind, BOOT_PVH);
	cr_assert_eq(ki.entry, 0x1000123);
	cr_assert_eq(ki.load_end, LAYOUT_HIGH_MEM + 0x2000);
}

Test(loader, pvh_note_8_byte_desc_after_other_notes)
{
	uint64_t entry = 0x100456;
	uint8_t build_id[20];
	size_t end;

	memset(build_id, 0xab, sizeof(build_id));
	build_elf();
	end = put_note(NOTE_OFF, 4, 20, NT_GNU_BUILD_ID, "GNU", build_id);
	end = put_note(end, 4, 8, 17, "Xen", &entry);       /* another Xen note */
	end = put_note(end, 5, 4, 18, "Xenn", &entry);      /* wrong name length */
	end = put_note(end, 4, 8, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", &entry);
	add_note_phdr(1, end);
	cr_assert_eq(load(), 0);
	cr_assert_eq(ki.kind, BOOT_PVH);
	cr_assert_eq(ki.entry, 0x100456);
}

Test(loader, pvh_note_before_load_segment)
{
	uint32_t entry = 0x100789;
	size_t end;

	build_elf();
	*phdr(1) = *phdr(0);
	end = put_note(NOTE_OFF, 4, 4, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", &entry);
	add_note_phdr(0, end);
	ehdr()->e_phnum = 2;
	cr_assert_eq(load(), 0);
	cr_assert_eq(ki.kind, BOOT_PVH);
	cr_assert_eq(ki.entry, 0x100789);
}

Test(loader, notes_that_are_not_pvh)
{
	uint32_t entry = 0x100123;
	size_t end;

	build_elf();
	end = put_note(NOTE_OFF, 4, 4, XEN_ELFNOTE_PHYS32_ENTRY, "GNU", &entry);
	end = put_note(end, 4, 2, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", &entry); /* bad desc size */
	end = put_note(end, 4, 16, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", NULL);
	add_note_phdr(1, end);
	cr_assert_eq(load(), 0);
	cr_assert_eq(ki.kind, BOOT_LINUX64);
	cr_assert_eq(ki.entry, ENTRY);
}

Test(loader, note_trailing_bytes_shorter_than_header_ignored)
{
	size_t end;

	build_elf();
	end = put_note(NOTE_OFF, 4, 4, 1, "GNU", "abcd");
	add_note_phdr(1, end + 8); /* 8 stray bytes: less than a note header */
	cr_assert_eq(load(), 0);
	cr_assert_eq(ki.kind, BOOT_LINUX64);
}

Test(loader, malformed_notes)
{
	uint32_t entry = 0x100123;
	size_t end;

	build_elf();
	end = put_note(NOTE_OFF, 0xffffffffu, 4, XEN_ELFNOTE_PHYS32_ENTRY, NULL, NULL);
	add_note_phdr(1, NOTE_OFF + 64);
	cr_assert_eq(load(), -EINVAL, "namesz huge");

	build_elf();
	end = put_note(NOTE_OFF, 4, 0xfffffffdu, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", NULL);
	add_note_phdr(1, NOTE_OFF + 64);
	cr_assert_eq(load(), -EINVAL, "descsz huge");

	build_elf();
	end = put_note(NOTE_OFF, 4, 4, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", &entry);
	add_note_phdr(1, end - 1);
	cr_assert_eq(load(), -EINVAL, "desc runs past the segment");

	build_elf();
	end = put_note(NOTE_OFF, 4, 4, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", &entry);
	add_note_phdr(1, end);
	phdr(1)->p_offset = IMG_MAX;
	cr_assert_eq(load(), -EINVAL, "note segment past EOF");

	build_elf();
	end = put_note(NOTE_OFF, 4, 4, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", &entry);
	add_note_phdr(1, end);
	phdr(1)->p_filesz = UINT64_MAX;
	cr_assert_eq(load(), -EINVAL, "note filesz huge");
	(void)end;
}

/* --- bzImage ------------------------------------------------------------- */

#define BZ_PM_SIZE 0x800

static struct setup_header *bzhdr(void)
{
	return (struct setup_header *)(img + offsetof(struct boot_params, hdr));
}

/* A bzImage with @sects setup sectors (0 meaning 4) and BZ_PM_SIZE bytes of
 * protected-mode payload. */
static void build_bz(uint8_t sects)
{
	struct setup_header *h = bzhdr();
	uint64_t pm_off = ((sects ? sects : 4) + 1) * 512ULL;

	memset(img, 0, sizeof(img));
	h->setup_sects = sects;
	h->boot_flag = 0xaa55;
	h->jump = 0x6aeb; /* jmp to 0x26c: the whole 2.15 header is present */
	h->header = 0x53726448;
	h->version = 0x20f;
	h->loadflags = LOADED_HIGH;
	h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h->cmdline_size = 2047;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = 0x200000;
	h->init_size = 0x10000;
	for (unsigned i = 0; i < BZ_PM_SIZE; i++)
		img[pm_off + i] = (uint8_t)(i * 7 + 1);
	img_size = pm_off + BZ_PM_SIZE;
}

Test(loader, bzimage_valid)
{
	build_bz(4);
	cr_assert_eq(load(), 0);
	cr_assert_eq(ki.kind, BOOT_BZIMAGE);
	cr_assert_eq(ki.entry, 0x100200);
	cr_assert_eq(ki.cmdline_max, 2048);
	cr_assert_eq(ki.initrd_max, 0x80000000ULL);
	cr_assert_eq(ki.load_end, LAYOUT_HIGH_MEM + 0x10000, "init_size counts");
	cr_assert_eq(ki.hdr.version, 0x20f);
	cr_assert_eq(ki.hdr.init_size, 0x10000);
	cr_assert_eq(ki.hdr.kernel_alignment, 0x200000);
	cr_assert_eq(ki.hdr.setup_sects, 4);
	cr_assert_eq(ki.hdr.boot_flag, 0xaa55);
	cr_assert_eq(memcmp(&ki.hdr, bzhdr(), sizeof(ki.hdr)), 0, "whole header copied");
	cr_assert_arr_eq(gm.base + LAYOUT_HIGH_MEM, img + 5 * 512, BZ_PM_SIZE);
	cr_assert_eq(gm.base[LAYOUT_HIGH_MEM + BZ_PM_SIZE], 0);
}

Test(loader, bzimage_cmdline_size)
{
	build_bz(4);
	bzhdr()->cmdline_size = 255;
	cr_assert_eq(load(), 0);
	cr_assert_eq(ki.cmdline_max, 256);
	build_bz(4);
	bzhdr()->cmdline_size = 100000;
	cr_assert_eq(load(), 0);
	cr_assert_eq(ki.cmdline_max, 2048, "capped at Linux's x86 limit");
}

Test(loader, bzimage_cmdline_size_max_u32)
{
	/* cmdline_size + 1 must not wrap to 0 */
	build_bz(4);
	bzhdr()->cmdline_size = UINT32_MAX;
	cr_assert_eq(load(), 0);
	cr_assert_eq(ki.cmdline_max, 2048);
}

Test(loader, bzimage_setup_sects_zero_means_four)
{
	build_bz(0);
	cr_assert_eq(load(), 0);
	cr_assert_arr_eq(gm.base + LAYOUT_HIGH_MEM, img + 5 * 512, BZ_PM_SIZE);
	build_bz(1);
	memset(gm.base + LAYOUT_HIGH_MEM, 0, BZ_PM_SIZE);
	cr_assert_eq(load(), 0);
	cr_assert_arr_eq(gm.base + LAYOUT_HIGH_MEM, img + 2 * 512, BZ_PM_SIZE);
	build_bz(255);
	cr_assert_eq(load(), 0);
	cr_assert_arr_eq(gm.base + LAYOUT_HIGH_MEM, img + 256 * 512, BZ_PM_SIZE);
}

Test(loader, bzimage_protocol_requirements)
{
	build_bz(4);
	bzhdr()->version = 0x20b;
	cr_assert_eq(load(), -EINVAL, "protocol 2.11");
	build_bz(4);
	bzhdr()->version = 0x206;
	cr_assert_eq(load(), -EINVAL, "protocol 2.06");
	build_bz(4);
	bzhdr()->xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	cr_assert_eq(load(), -EINVAL, "no XLF_KERNEL_64");
	build_bz(4);
	bzhdr()->loadflags = 0;
	cr_assert_eq(load(), -EINVAL, "zImage (not LOADED_HIGH)");
	build_bz(4);
	bzhdr()->version = 0x20c;
	cr_assert_eq(load(), 0, "2.12 is enough");
}

Test(loader, bzimage_short_header_jump)
{
	/* 0x201 says the header ends at 0x202: version and flags are absent */
	build_bz(4);
	bzhdr()->jump = 0x00eb;
	cr_assert_eq(load(), -EINVAL);
}

Test(loader, bzimage_without_payload)
{
	build_bz(4);
	img_size = 5 * 512;
	cr_assert_eq(load(), -EINVAL);
	build_bz(255);
	img_size = 0x1000; /* file ends inside the setup code */
	cr_assert_eq(load(), -EINVAL);
}

Test(loader, bzimage_truncated_header)
{
	build_bz(4);
	img_size = 0x206; /* magic present, rest of the header missing */
	cr_assert_eq(load(), -EINVAL);
}

Test(loader, bzimage_too_big_for_ram)
{
	build_bz(4);
	bzhdr()->init_size = MIB(3); /* 1 MiB + 3 MiB = RAM end: fits exactly */
	cr_assert_eq(load(), 0);
	cr_assert_eq(ki.load_end, MIB(4));
	build_bz(4);
	bzhdr()->init_size = MIB(3) + 1;
	cr_assert_eq(load(), -ERANGE);
	build_bz(4);
	bzhdr()->init_size = UINT32_MAX;
	cr_assert_eq(load(), -ERANGE);
}

Test(loader, bzimage_payload_too_big_for_ram)
{
	struct guest_mem small;
	struct image_buf b;
	struct image_src src;

	build_bz(4);
	cr_assert_eq(gm_init(&small, MIB(1) + 0x1000), 0); /* 4 KiB above 1 MiB */
	b = (struct image_buf){ img, img_size };
	image_src_from_buf(&src, &b);
	bzhdr()->init_size = 0;
	cr_assert_eq(loader_load_kernel(&src, &small, &ki), 0);
	img_size = 5 * 512 + 0x1001;
	b.size = img_size;
	image_src_from_buf(&src, &b);
	cr_assert_eq(loader_load_kernel(&src, &small, &ki), -ERANGE);
	gm_destroy(&small);
}

Test(loader, bzimage_magic_variants)
{
	build_bz(4);
	bzhdr()->header = 0x53726449;
	cr_assert_eq(load(), -ENOEXEC, "no HdrS");
	build_bz(4);
	bzhdr()->boot_flag = 0x55aa;
	cr_assert_eq(load(), -ENOEXEC, "bad boot_flag");
	build_bz(4);
	img_size = 0x205;
	cr_assert_eq(load(), -ENOEXEC, "HdrS cut off");
}

Test(loader, image_from_fd)
{
	char path[] = "/tmp/femtovm-unit-kernel-XXXXXX";
	int fd = mkstemp(path);
	struct image_src src;

	cr_assert_geq(fd, 0);
	unlink(path);
	build_elf();
	cr_assert_eq(write(fd, img, img_size), (ssize_t)img_size);
	cr_assert_eq(image_src_from_fd(&src, fd), 0);
	cr_assert_eq(src.size, img_size);
	cr_assert_eq(loader_load_kernel(&src, &gm, &ki), 0);
	cr_assert_eq(ki.kind, BOOT_LINUX64);
	cr_assert_arr_eq(gm.base + LAYOUT_HIGH_MEM, img + SEG_OFF, SEG_FILESZ);
	close(fd);
}

/* --- initrd -------------------------------------------------------------- */

static int load_initrd(size_t size, const struct kernel_info *k, uint64_t *gpa)
{
	static uint8_t data[MIB(4)];
	struct image_buf b = { data, size };
	struct image_src src;

	for (size_t i = 0; i < MIN(size, 4096u); i++)
		data[i] = (uint8_t)(i + 1);
	if (size)
		data[size - 1] = 0xee;
	image_src_from_buf(&src, &b);
	return loader_load_initrd(&src, &gm, k, gpa);
}

Test(loader, initrd_placed_high_and_aligned)
{
	struct kernel_info k = { .load_end = LAYOUT_HIGH_MEM + 0x2000, .initrd_max = LAYOUT_MMIO_HOLE };
	uint64_t gpa = 0;

	cr_assert_eq(load_initrd(0x1801, &k, &gpa), 0);
	cr_assert_eq(gpa, ALIGN_DOWN(MIB(4) - 0x1801, 4096));
	cr_assert_eq(gpa % 4096, 0);
	cr_assert_leq(gpa + 0x1801, MIB(4));
	cr_assert_eq(gm.base[gpa], 1);
	cr_assert_eq(gm.base[gpa + 0x1800], 0xee);
}

Test(loader, initrd_below_initrd_max)
{
	struct kernel_info k = { .load_end = LAYOUT_HIGH_MEM + 0x2000, .initrd_max = 0x300000 };
	uint64_t gpa = 0;

	cr_assert_eq(load_initrd(0x1000, &k, &gpa), 0);
	cr_assert_eq(gpa, 0x2ff000);
	k.initrd_max = 0x2ff800; /* not page aligned: still below */
	cr_assert_eq(load_initrd(0x1000, &k, &gpa), 0);
	cr_assert_eq(gpa, 0x2fe000);
	cr_assert_leq(gpa + 0x1000, 0x2ff800);
}

Test(loader, initrd_fits_exactly_above_kernel)
{
	struct kernel_info k = { .load_end = LAYOUT_HIGH_MEM + 0x1801, .initrd_max = LAYOUT_MMIO_HOLE };
	uint64_t bottom = ALIGN_UP(k.load_end, 4096), gpa = 0;

	cr_assert_eq(load_initrd(MIB(4) - bottom, &k, &gpa), 0);
	cr_assert_eq(gpa, bottom);
	cr_assert_eq(load_initrd(MIB(4) - bottom + 1, &k, &gpa), -ENOSPC);
}

Test(loader, initrd_too_big_or_empty)
{
	struct kernel_info k = { .load_end = LAYOUT_HIGH_MEM + 0x2000, .initrd_max = LAYOUT_MMIO_HOLE };
	uint64_t gpa = 0x1234;

	cr_assert_eq(load_initrd(MIB(4), &k, &gpa), -ENOSPC);
	cr_assert_eq(load_initrd(MIB(3), &k, &gpa), -ENOSPC);
	k.initrd_max = LAYOUT_HIGH_MEM; /* max below the kernel */
	cr_assert_eq(load_initrd(0x1000, &k, &gpa), -ENOSPC);
	k.initrd_max = 1;
	cr_assert_eq(load_initrd(0x1000, &k, &gpa), -ENOSPC);
	k.initrd_max = LAYOUT_MMIO_HOLE;
	cr_assert_eq(load_initrd(0, &k, &gpa), -EINVAL);
	cr_assert_eq(gpa, 0x1234, "untouched on failure");
}

Test(loader, initrd_after_bzimage)
{
	uint64_t gpa = 0;

	build_bz(4);
	bzhdr()->initrd_addr_max = 0x37ffff;
	cr_assert_eq(load(), 0);
	cr_assert_eq(load_initrd(0x2345, &ki, &gpa), 0);
	cr_assert_leq(gpa + 0x2345, 0x380000);
	cr_assert_geq(gpa, ki.load_end);
	cr_assert_eq(gpa % 4096, 0);
	cr_assert_eq(gpa, ALIGN_DOWN(0x380000 - 0x2345, 4096));
}
