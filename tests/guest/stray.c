/* stray: accesses to guest-physical addresses and I/O ports nobody backs.
 * Each is written (a pattern the monitor must drop) and then read back; the
 * monitor should answer reads with 0 and keep running. */
#include "io.h"
#include "rt.h"

const char rt_guest_name[] = "stray";

static void probe_mem(uint64_t a)
{
	if (rt_map_high(a)) {
		rt_printf("stray: skip 0x%lx\n", a);
		return;
	}
	mmio_write32(a, 0xdeadbeef);
	rt_printf("stray: read 0x%lx = 0x%x\n", a, mmio_read32(a));
}

static void probe_io(uint16_t port)
{
	outb(port, 0xa5);
	rt_printf("stray: read port 0x%x = 0x%x\n", port, inb(port));
}

void guest_main(const struct boot_info *bi)
{
	probe_mem(0xC0001000);
	probe_mem(0xE0000000);
	probe_mem(bi->ram_top);
	probe_io(0x510);
	probe_io(0x2f8);
	rt_printf("stray: done\n");
	guest_reset();
}
