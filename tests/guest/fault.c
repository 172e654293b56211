/* fault: loads an empty IDT (limit 0) and executes ud2. #UD cannot be
 * delivered, nor the #GP/#DF that follow: a triple fault (shutdown), which
 * the monitor must report as such. */
#include "rt.h"

const char rt_guest_name[] = "fault";

void guest_main(const struct boot_info *bi)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty = { 0, 0 };

	(void)bi;
	rt_printf("fault: triple faulting now\n");
	asm volatile("lidt %0; ud2" : : "m"(empty));
	rt_printf("fault: FAIL still running\n");
	guest_reset();
}
