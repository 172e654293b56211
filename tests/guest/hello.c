/* hello: the boot-protocol check. Prints the protocol, command line, memory
 * map and usable RAM, writes the boot timer and resets; with the "idle" flag
 * it halts forever with interrupts on instead (memory benchmarks). */
#include "io.h"
#include "rt.h"

const char rt_guest_name[] = "hello";

void guest_main(const struct boot_info *bi)
{
	rt_printf("hello: protocol=%s\n", bi->protocol);
	rt_printf("hello: cmdline=%s\n", bi->cmdline);
	for (unsigned i = 0; i < bi->nr_mem; i++)
		rt_printf("hello: mem 0x%lx-0x%lx type %u\n", bi->mem[i].start,
			  bi->mem[i].start + bi->mem[i].size, bi->mem[i].type);
	rt_printf("hello: ram_kib=%lu\n", bi->ram_bytes >> 10);
	boot_timer();
	if (rt_cmdline_has("idle")) {
		rt_printf("hello: idle\n");
		rt_halt_forever(true);
	}
	rt_printf("hello: bye\n");
	guest_reset();
}
