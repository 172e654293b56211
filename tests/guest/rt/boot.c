/* Common start of every test guest: builds the runtime's identity page tables
 * (0-4 GiB, 2 MiB pages, 3-4 GiB uncached for the MMIO hole), loads GDT/IDT,
 * turns the boot protocol's structure (Linux boot_params or PVH
 * hvm_start_info) into a struct boot_info and calls guest_main(). */
#include <asm/bootparam.h>

#include "hvm_start_info.h"
#include "io.h"
#include "rt.h"

#define PROTO_64 0
#define PROTO_PVH 1
#define PROTO_32 2

#define PTE_P 0x1ULL
#define PTE_W 0x2ULL
#define PTE_PWT 0x8ULL
#define PTE_PCD 0x10ULL
#define PTE_PS 0x80ULL

void rt_banner(void);
void rt_start(unsigned proto, uint64_t info);
void rt_idt_init(void);

/* Referenced by entry.S and trampoline.S, hence not static. entry.S clears
 * .bss before C runs; the stack is in .bss.stack, which it leaves alone. */
uint64_t rt_pml4[512] __attribute__((aligned(4096)));
uint64_t rt_pdpt[512] __attribute__((aligned(4096)));
uint64_t rt_pd[4][512] __attribute__((aligned(4096)));
static uint64_t pd_high[512] __attribute__((aligned(4096)));
uint8_t rt_boot_stack[16384]
	__attribute__((aligned(16), section(".bss.stack")));
extern uint8_t rt_boot_stack_top[];
asm(".globl rt_boot_stack_top\n.set rt_boot_stack_top, rt_boot_stack + 16384");

static struct boot_info info;
static char cmdline_copy[RT_CMDLINE_MAX];
const char *rt_cmdline = "";

/* Printed first on the 64-bit path (the 32-bit paths print it in asm). */
void rt_banner(void)
{
	rt_puts(rt_guest_name);
	rt_puts(": start\n");
}

/* 2048 2 MiB pages: 0-3 GiB write-back, 3-4 GiB (MMIO hole: virtio-mmio,
 * IOAPIC, LAPIC) PCD|PWT = uncached under the default PAT. */
static void paging_init(void)
{
	for (uint64_t i = 0; i < 2048; i++) {
		uint64_t e = (i << 21) | PTE_P | PTE_W | PTE_PS;
		if (i >= 1536)
			e |= PTE_PCD | PTE_PWT;
		rt_pd[i >> 9][i & 511] = e;
	}
	for (int i = 0; i < 4; i++)
		rt_pdpt[i] = (uint64_t)rt_pd[i] | PTE_P | PTE_W;
	rt_pml4[0] = (uint64_t)rt_pdpt | PTE_P | PTE_W;
	write_cr3((uint64_t)rt_pml4);
}

int rt_map_high(uint64_t pa)
{
	uint64_t gib = pa >> 30;
	if (gib < 4)
		return 0;
	if (gib >= 512)
		return -1;
	for (uint64_t i = 0; i < 512; i++)
		pd_high[i] = (gib << 30) | (i << 21) | PTE_P | PTE_W | PTE_PS |
			     PTE_PCD | PTE_PWT;
	for (uint64_t g = 4; g < 512; g++)
		rt_pdpt[g] = 0;
	rt_pdpt[gib] = (uint64_t)pd_high | PTE_P | PTE_W;
	write_cr3((uint64_t)rt_pml4);	/* flush the old window */
	return 0;
}

static void set_cmdline(uint64_t pa)
{
	if (pa == 0 || pa >= (1ULL << 32))
		return;
	const char *s = (const char *)pa;
	size_t n = 0;
	while (n < RT_CMDLINE_MAX - 1 && s[n]) {
		cmdline_copy[n] = s[n];
		n++;
	}
	cmdline_copy[n] = 0;
	rt_cmdline = cmdline_copy;
}

static void add_mem(uint64_t start, uint64_t size, uint32_t type)
{
	if (info.nr_mem >= RT_MAX_MEM || size == 0)
		return;	/* QEMU's PVH memmap ends with an empty entry */
	info.mem[info.nr_mem].start = start;
	info.mem[info.nr_mem].size = size;
	info.mem[info.nr_mem].type = type;
	info.nr_mem++;
	if (type == 1) {
		info.ram_bytes += size;
		if (start + size > info.ram_top)
			info.ram_top = start + size;
	}
}

static void parse_boot_params(uint64_t pa)
{
	const struct boot_params *bp = (const struct boot_params *)pa;
	set_cmdline(bp->hdr.cmd_line_ptr |
		    ((uint64_t)bp->ext_cmd_line_ptr << 32));
	unsigned n = bp->e820_entries;
	if (n > E820_MAX_ENTRIES_ZEROPAGE)
		n = E820_MAX_ENTRIES_ZEROPAGE;
	for (unsigned i = 0; i < n; i++)
		add_mem(bp->e820_table[i].addr, bp->e820_table[i].size,
			bp->e820_table[i].type);
}

static void parse_pvh(uint64_t pa)
{
	const struct hvm_start_info *si = (const struct hvm_start_info *)pa;
	if (si->magic != XEN_HVM_START_MAGIC_VALUE) {
		rt_printf("%s: FAIL bad hvm_start_info magic %x\n",
			  rt_guest_name, si->magic);
		guest_reset();
	}
	set_cmdline(si->cmdline_paddr);
	if (si->version < 1 || si->memmap_paddr == 0 ||
	    si->memmap_paddr >= (1ULL << 32))
		return;
	const struct hvm_memmap_table_entry *m =
		(const struct hvm_memmap_table_entry *)si->memmap_paddr;
	for (uint32_t i = 0; i < si->memmap_entries && i < RT_MAX_MEM; i++)
		add_mem(m[i].addr, m[i].size, m[i].type);
}

void rt_start(unsigned proto, uint64_t pa)
{
	rt_cpu_tables_load();
	paging_init();
	rt_idt_init();
	rt_pic_mask_all();	/* before anything can raise an ISA interrupt */
	info.cmdline = "";
	if (proto == PROTO_PVH) {
		info.protocol = "pvh";
		parse_pvh(pa);
	} else {
		info.protocol = proto == PROTO_32 ? "32bit" : "64bit";
		if (pa && pa < (1ULL << 32))
			parse_boot_params(pa);
	}
	info.cmdline = rt_cmdline;
	guest_main(&info);
	guest_reset();
}
