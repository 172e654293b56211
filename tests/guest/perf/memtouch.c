/* memtouch: a guest with a working set, for snapshot-clone memory
 * benchmarks (a function runtime that has initialised its heap). At boot
 * it writes memtouch.mib MiB (default 64) at 16 MiB, every 8-byte word a
 * value derived from its address (never zero), in ring 3 (native speed,
 * DESIGN.md §10). Then, every memtouch.slice_ms (default 10, PIT ticks),
 * it reads and checks in ring 3 the next slice of the region, sized so
 * that one full pass takes memtouch.pass_ms (default 1000): a clone
 * restored from a snapshot has read its whole working set after two pass
 * lines (page-cache pages shared between clones), a cold boot has written
 * it (private pages). It halts in between and never ends.
 *
 *   memtouch: wrote <mib> MiB in <ms> ms
 *   memtouch: pass <p> ok                  a full read pass, every word right
 *   memtouch: pass <p> FAIL bad=<n>        words that did not hold their value
 * Needs 16 MiB + memtouch.mib of RAM. */
#include "perf.h"

const char rt_guest_name[] = "memtouch";

#define BUF_BASE 0x1000000UL		/* 16 MiB */
#define PAGE 4096UL
#define USTACK_SIZE 16384

extern uint8_t _end[];
static uint8_t ustack[USTACK_SIZE] __attribute__((aligned(16), section(".noinit.memtouch")));

struct region {
	uint64_t base, pages;		/* the working set */
	uint64_t next, per_slice;	/* pass position and pages per slice */
	uint64_t bad;			/* wrong words in the current pass */
	uint32_t pass;			/* completed passes */
	int pass_done;			/* a pass ended in the last slice */
};

static struct region reg;

static inline uint64_t word_value(uint64_t addr)
{
	return (addr * 0x9E3779B97F4A7C15ULL) | 1;
}

/* Ring 3: write the whole region. */
static long fill(void *arg)
{
	struct region *r = arg;
	uint64_t end = r->base + r->pages * PAGE;

	for (uint64_t a = r->base; a < end; a += 8)
		*(volatile uint64_t *)a = word_value(a);
	return 0;
}

/* Ring 3: read and check the next per_slice pages. */
static long check_slice(void *arg)
{
	struct region *r = arg;

	r->pass_done = 0;
	for (uint64_t n = 0; n < r->per_slice; n++) {
		uint64_t a = r->base + r->next * PAGE;

		for (uint64_t i = 0; i < PAGE; i += 8)
			if (*(volatile uint64_t *)(a + i) != word_value(a + i))
				r->bad++;
		if (++r->next == r->pages) {
			r->next = 0;
			r->pass++;
			r->pass_done = 1;
			return 0;	/* print the pass before going on */
		}
	}
	return 0;
}

static void setup(const struct boot_info *bi, uint32_t slice_ticks)
{
	uint64_t mib = rt_cmdline_u64("memtouch.mib", 64);
	uint64_t pass_ms = rt_cmdline_u64("memtouch.pass_ms", 1000);
	uint64_t slices = pass_ms / (slice_ticks * RT_TICK_MS);
	struct perf_clock clk;
	char ms[24];

	if (mib == 0 || bi->ram_top < BUF_BASE || mib > (bi->ram_top - BUF_BASE) >> 20) {
		rt_printf("memtouch: FAIL memtouch.mib=%lu does not fit above 16 MiB\n", mib);
		guest_reset();
	}
	reg.base = BUF_BASE;
	reg.pages = (mib << 20) / PAGE;
	reg.per_slice = slices ? (reg.pages + slices - 1) / slices : reg.pages;
	rt_user_init();
	rt_user_map(0, (uint64_t)_end);
	rt_user_map(reg.base, reg.pages * PAGE);
	cpu_sti();		/* the clock needs PIT ticks */
	perf_clock_start(&clk);
	rt_user_call(fill, &reg, ustack + sizeof(ustack));
	perf_clock_poll(&clk);
	perf_fix1(ms, perf_clock_us(&clk), 1000);
	rt_printf("memtouch: wrote %lu MiB in %s ms\n", mib, ms);
}

void guest_main(const struct boot_info *bi)
{
	uint64_t slice_ms = rt_cmdline_u64("memtouch.slice_ms", 10);
	uint32_t ticks = (uint32_t)((slice_ms + RT_TICK_MS - 1) / RT_TICK_MS);

	if (ticks == 0)
		ticks = 1;
	rt_pit_start();
	setup(bi, ticks);
	for (;;) {
		rt_sleep_ticks(ticks);
		rt_user_call(check_slice, &reg, ustack + sizeof(ustack));
		if (!reg.pass_done)
			continue;
		if (reg.bad)
			rt_printf("memtouch: pass %u FAIL bad=%lu\n", reg.pass, reg.bad);
		else
			rt_printf("memtouch: pass %u ok\n", reg.pass);
		reg.bad = 0;
	}
}
