/* Public interface of the test-guest runtime: boot information handed to
 * guest_main(), serial console, command line, interrupts, LAPIC/IOAPIC, SMP
 * and the reset/boot-timer helpers. Every guest links the whole runtime and
 * defines rt_guest_name[] and guest_main(). */
#ifndef RT_H
#define RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_MAX_MEM 32	/* memory-map entries kept from the boot protocol */
#define RT_MAX_CPUS 32	/* CPUs the SMP code will start (femtovm's and
			 * Firecracker's vcpu_count maximum) */
#define RT_CMDLINE_MAX 2048

/* One memory-map entry; type uses the e820 numbering (1 = usable RAM). */
struct boot_mem {
	uint64_t start;
	uint64_t size;
	uint32_t type;
};

struct boot_info {
	const char *protocol;	/* "64bit", "pvh" or "32bit" */
	const char *cmdline;	/* never NULL; "" when the loader gave none */
	unsigned nr_mem;
	struct boot_mem mem[RT_MAX_MEM];
	uint64_t ram_bytes;	/* sum of type-1 entries */
	uint64_t ram_top;	/* end of the highest type-1 entry */
};

/* Provided by each guest. */
extern const char rt_guest_name[];
void guest_main(const struct boot_info *bi);

/* Console (COM1, polled). rt_printf formats into a 256-byte buffer and
 * prints it atomically with respect to other CPUs. Supports %s %c %d %i %u
 * %x %X %p, the l/ll/z modifiers, '0' padding and a field width. */
void rt_putc(char c);
void rt_puts(const char *s);
int rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_vsnprintf(char *buf, size_t len, const char *fmt, va_list ap);

/* Command line: "key=value" words and bare flags, separated by spaces.
 * rt_cmdline_get copies the value ("" for a flag) and returns 0, or -1 if
 * the key is absent. */
int rt_cmdline_get(const char *key, char *buf, size_t len);
bool rt_cmdline_has(const char *key);
uint64_t rt_cmdline_u64(const char *key, uint64_t dflt);
/* Parse a decimal or 0x-prefixed hex number at @s into *v; returns the
 * first character after it. */
const char *rt_parse_num(const char *s, uint64_t *v);

/* Interrupts. Handlers run with interrupts off on the interrupted stack;
 * they must send their own LAPIC EOI. Vectors 0-31 without a handler print
 * "<name>: exception ..." and reset. */
struct rt_frame {
	uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
typedef void rt_irq_fn(struct rt_frame *f);
void rt_irq_register(unsigned vector, rt_irq_fn *fn);
void rt_cpu_tables_load(void);	/* lgdt + lidt on the calling CPU */

/* LAPIC (xAPIC MMIO at 0xFEE00000) and IOAPIC (0xFEC00000). */
#define RT_LAPIC_BASE 0xFEE00000UL
#define RT_IOAPIC_BASE 0xFEC00000UL
#define RT_SPURIOUS_VECTOR 0xFF
unsigned rt_lapic_id(void);
void rt_lapic_enable(void);
void rt_lapic_eoi(void);
int rt_lapic_ipi(unsigned apic_id, uint32_t icr_low);	/* 0 or -1 (stuck) */
#define RT_IOAPIC_LEVEL (1u << 15)
#define RT_IOAPIC_ACTIVE_LOW (1u << 13)
#define RT_IOAPIC_MASKED (1u << 16)
void rt_ioapic_route(unsigned pin, unsigned vector, unsigned apic_id,
		     uint32_t flags);
uint32_t rt_ioapic_read(unsigned reg);
/* Remap both 8259s to vectors 0x20/0x28 and mask them so only the IOAPIC
 * speaks. The runtime calls it before guest_main(); calling again is
 * harmless. */
void rt_pic_mask_all(void);

/* MP table (Intel MP spec 1.4): fills up to max enabled processor APIC ids,
 * BSP first. Returns the number of enabled processors the table lists (which
 * may exceed max: only max ids are stored), or -1 when there is no valid
 * table. */
int rt_mp_cpus(uint8_t *apic_ids, int max);

/* Starts every AP the MP table lists, up to RT_MAX_CPUS CPUs in all
 * (INIT-SIPI-SIPI, trampoline at 0x6000, 8 KiB stack each). Each AP loads the runtime's GDT/IDT/page tables, calls
 * fn(apic_id), then counts itself online and halts with interrupts off.
 * APs are started one at a time, each waited for up to ~1 s. Returns CPUs
 * online including the BSP; *listed gets the MP table's CPU count (or -1). */
int rt_smp_start(void (*fn)(unsigned apic_id), int *listed);

/* The runtime identity-maps 0-4 GiB. rt_map_high identity-maps (uncached)
 * the 1 GiB-aligned window holding pa, replacing any earlier window, so one
 * address above 4 GiB (below 512 GiB) can be touched. 0 or -1. */
int rt_map_high(uint64_t pa);

/* Time: TSC-based, assuming a nominal 2 GHz TSC (only used for bounded
 * waits, so the exact rate does not matter). */
uint64_t rt_deadline_ms(unsigned ms);
bool rt_expired(uint64_t deadline);

/* PIT channel 0 as a 10 ms tick (rate generator) on IOAPIC pins 0 and 2
 * (KVM's default routing uses pin 0, QEMU and the MP-table override pin
 * 2) at RT_TICK_VECTOR, to the BSP; enables the LAPIC. rt_ticks counts the
 * interrupts. rt_pit_stop silences channel 0 again. */
#define RT_TICK_VECTOR 0x30
#define RT_TICK_MS 10u
extern volatile uint32_t rt_ticks;
void rt_pit_start(void);
void rt_pit_stop(void);
/* Sleep n ticks in sti;hlt (other interrupts may wake it; it sleeps on). */
void rt_sleep_ticks(uint32_t n);
/* One wait step for loops of the form
 *     for (;;) { cpu_cli(); if (done) break; rt_idle(); }
 * sti;hlt;cli: the sti shadow means no wakeup is lost before the hlt. */
static inline void rt_idle(void)
{
	asm volatile("sti; hlt; cli" ::: "memory");
}

/* virtio-mmio devices from the command line (Linux's
 * virtio_mmio.device=<size>@<base>:<irq>[:<id>] syntax, size with an
 * optional K/M/G suffix), in command-line order: femtovm appends one per
 * device in slot order (base 0xD0000000 + n * 0x1000, GSI 5 + n). Fills up
 * to max entries; returns how many were found (may exceed max). */
struct rt_vmmio {
	uint64_t base;
	uint64_t size;
	unsigned gsi;
};
int rt_virtio_mmio_devices(struct rt_vmmio *devs, int max);

/* Machine control. */
void guest_reset(void) __attribute__((noreturn));	/* 0xFE to port 0x64 */
void boot_timer(void);					/* byte 123 to 0x3f0 */
void rt_halt_forever(bool irqs) __attribute__((noreturn));

/* Freestanding libc subset. */
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

#endif
