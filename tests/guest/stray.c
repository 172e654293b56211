/* stray: accesses to guest-physical addresses and I/O ports nobody backs.
 * Each is written (a pattern the monitor must drop) and then read back; the
 * monitor should answer reads with 0 and keep running. With "count=N"
 * (N > 1) the whole set is repeated N times and only a summary line is
 * printed: that many guest-triggered exits check the monitor's log rate
 * limiting. */
#include "io.h"
#include "rt.h"

const char rt_guest_name[] = "stray";

#define NR_MEM 3
#define NR_IO 2

struct probes {
	uint64_t mem[NR_MEM];
	bool mem_ok[NR_MEM];	/* false: above what the runtime can map */
	uint16_t io[NR_IO];
};

/* First non-zero read, for the summary. */
static bool bad;
static bool bad_is_port;
static uint64_t bad_where;
static uint32_t bad_value;
static uint64_t accesses;

static void note(bool port, uint64_t where, uint32_t v)
{
	if (v && !bad) {
		bad = true;
		bad_is_port = port;
		bad_where = where;
		bad_value = v;
	}
}

static uint32_t probe_mem(uint64_t a)
{
	mmio_write32(a, 0xdeadbeef);
	uint32_t v = mmio_read32(a);
	accesses += 2;
	note(false, a, v);
	return v;
}

static uint8_t probe_io(uint16_t port)
{
	outb(port, 0xa5);
	uint8_t v = inb(port);
	accesses += 2;
	note(true, port, v);
	return v;
}

void guest_main(const struct boot_info *bi)
{
	struct probes p = {
		.mem = { 0xC0001000, 0xE0000000, bi->ram_top },
		.io = { 0x510, 0x2f8 },
	};
	uint64_t count = rt_cmdline_u64("count", 1);
	if (count == 0)
		count = 1;
	/* Only ram_top can be above 4 GiB: map its window once, up front
	 * (rt_map_high is a long loop of emulated instructions). */
	for (int i = 0; i < NR_MEM; i++) {
		p.mem_ok[i] = rt_map_high(p.mem[i]) == 0;
		if (!p.mem_ok[i])
			rt_printf("stray: skip 0x%lx\n", p.mem[i]);
	}
	if (count == 1) {
		for (int i = 0; i < NR_MEM; i++)
			if (p.mem_ok[i])
				rt_printf("stray: read 0x%lx = 0x%x\n", p.mem[i],
					  probe_mem(p.mem[i]));
		for (int i = 0; i < NR_IO; i++)
			rt_printf("stray: read port 0x%x = 0x%x\n", p.io[i],
				  probe_io(p.io[i]));
	} else {
		for (uint64_t n = 0; n < count; n++) {
			for (int i = 0; i < NR_MEM; i++)
				if (p.mem_ok[i])
					probe_mem(p.mem[i]);
			for (int i = 0; i < NR_IO; i++)
				probe_io(p.io[i]);
		}
		if (!bad)
			rt_printf("stray: %lu accesses, all zero\n", accesses);
		else
			rt_printf("stray: %lu accesses, first non-zero read %s0x%lx = 0x%x\n",
				  accesses, bad_is_port ? "port " : "", bad_where,
				  bad_value);
	}
	rt_printf("stray: done\n");
	guest_reset();
}
