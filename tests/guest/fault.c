/* fault: loads an empty IDT (limit 0) and executes ud2. #UD cannot be
 * delivered, nor the #GP/#DF that follow: a triple fault (shutdown), which
 * the monitor must report as such. With "fault=pf" it instead touches an
 * unmapped address to exercise the runtime's exception report. */
#include "rt.h"

const char rt_guest_name[] = "fault";

void guest_main(const struct boot_info *bi)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty = { 0, 0 };

	(void)bi;
	if (rt_cmdline_has("fault=pf")) {
		rt_printf("fault: page faulting now\n");
		(void)*(volatile uint32_t *)0x8000000000ULL;	/* 512 GiB */
	}
	rt_printf("fault: triple faulting now\n");
	asm volatile("lidt %0; ud2" : : "m"(empty));
	rt_printf("fault: FAIL still running\n");
	guest_reset();
}
