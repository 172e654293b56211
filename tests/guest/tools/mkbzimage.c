/* mkbzimage: wraps a test-guest ELF (linked at 0x100000, 64-bit entry at
 * +0x200) into a Linux bzImage (Documentation/arch/x86/boot.rst): setup
 * sectors with a protocol 2.15 setup_header and a real-mode stub, followed by
 * the flat protected-mode image. init_size covers the ELF's bss.
 * Usage: mkbzimage GUEST.elf SETUP16.bin OUT.bzImage */
#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOAD_ADDR 0x100000u
#define SETUP_SECTS 4
#define SETUP_SIZE ((SETUP_SECTS + 1) * 512)
#define HDR_OFF 0x1f1
#define STUB_OFF 0x280	/* setup16.S assumes IP 0x80 = offset 0x280 */
#define VERSION_OFF 0x600	/* kernel_version string (offset - 0x200) */
#define VERSION_STR "femtovm-test-guest"

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return NULL;
	}
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0, r;
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			uint8_t *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	*len = n;
	return buf;
}

/* Flattens the PT_LOAD segments into img (file bytes only) and returns the
 * image length; *mem_end gets the end of memory incl. bss, from LOAD_ADDR. */
static long flatten(const uint8_t *elf, size_t len, uint8_t **img,
		    uint64_t *mem_end)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_phoff > len || eh->e_phnum > (len - eh->e_phoff) / sizeof(Elf64_Phdr)) {
		fprintf(stderr, "mkbzimage: not an x86_64 ELF\n");
		return -1;
	}
	if (eh->e_entry != LOAD_ADDR + 0x200) {
		fprintf(stderr, "mkbzimage: entry %#lx, want %#x\n",
			(unsigned long)eh->e_entry, LOAD_ADDR + 0x200);
		return -1;
	}
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(elf + eh->e_phoff);
	uint64_t file_end = 0;
	*mem_end = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_paddr < LOAD_ADDR || ph[i].p_paddr >= LOAD_ADDR + (64u << 20) ||
		    ph[i].p_offset > len || ph[i].p_filesz > len - ph[i].p_offset ||
		    ph[i].p_memsz > (64u << 20)) {
			fprintf(stderr, "mkbzimage: bad segment %d\n", i);
			return -1;
		}
		uint64_t off = ph[i].p_paddr - LOAD_ADDR;
		if (ph[i].p_filesz && off + ph[i].p_filesz > file_end)
			file_end = off + ph[i].p_filesz;
		if (off + ph[i].p_memsz > *mem_end)
			*mem_end = off + ph[i].p_memsz;
	}
	*img = calloc(1, file_end + 16);
	if (!*img)
		return -1;
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_filesz)
			memcpy(*img + (ph[i].p_paddr - LOAD_ADDR),
			       elf + ph[i].p_offset, ph[i].p_filesz);
	return (long)file_end;
}

static void fill_header(struct setup_header *h, uint64_t img_len,
			uint64_t mem_end)
{
	h->setup_sects = SETUP_SECTS;
	h->syssize = (uint32_t)((img_len + 15) / 16);
	h->boot_flag = 0xAA55;
	/* "jmp short" from 0x200 to the stub: rel8 = target - 0x202 */
	h->jump = 0xEB | ((STUB_OFF - 0x202) << 8);
	h->header = 0x53726448;	/* "HdrS" */
	h->version = 0x020f;
	h->kernel_version = VERSION_OFF - 0x200;
	h->loadflags = LOADED_HIGH;
	h->code32_start = LOAD_ADDR;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = LOAD_ADDR;
	h->relocatable_kernel = 0;
	h->min_alignment = 20;
	h->xloadflags = XLF_KERNEL_64;
	h->cmdline_size = 2047;
	h->pref_address = LOAD_ADDR;
	h->init_size = (uint32_t)((mem_end + 0xfff) & ~0xfffULL);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: mkbzimage GUEST.elf SETUP16.bin OUT\n");
		return 2;
	}
	size_t elf_len, stub_len;
	uint8_t *elf = read_file(argv[1], &elf_len);
	uint8_t *stub = read_file(argv[2], &stub_len);
	uint8_t *img = NULL;
	uint64_t mem_end;
	long img_len = elf && stub ? flatten(elf, elf_len, &img, &mem_end) : -1;
	if (img_len < 0)
		return 1;
	if (stub_len > VERSION_OFF - STUB_OFF) {
		fprintf(stderr, "mkbzimage: setup stub too big\n");
		return 1;
	}
	static uint8_t setup[SETUP_SIZE];
	memcpy(setup + STUB_OFF, stub, stub_len);
	memcpy(setup + VERSION_OFF, VERSION_STR, sizeof(VERSION_STR));
	struct setup_header h;
	memset(&h, 0, sizeof(h));
	fill_header(&h, (uint64_t)img_len, mem_end);
	memcpy(setup + HDR_OFF, &h, sizeof(h));
	FILE *out = fopen(argv[3], "wb");
	if (!out || fwrite(setup, 1, SETUP_SIZE, out) != SETUP_SIZE ||
	    fwrite(img, 1, (size_t)img_len, out) != (size_t)img_len ||
	    fclose(out)) {
		perror(argv[3]);
		return 1;
	}
	free(elf);
	free(stub);
	free(img);
	return 0;
}
