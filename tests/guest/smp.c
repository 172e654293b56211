/* smp: starts every CPU the MP table lists; each AP reports its APIC id and
 * the BSP reports how many came online out of how many were listed. */
#include "rt.h"

const char rt_guest_name[] = "smp";

static void ap_main(unsigned apic_id)
{
	rt_printf("smp: cpu %u online\n", apic_id);
}

void guest_main(const struct boot_info *bi)
{
	(void)bi;
	rt_printf("smp: bsp apic id %u\n", rt_lapic_id());
	int listed;
	int n = rt_smp_start(ap_main, &listed);
	if (listed < 0)
		rt_printf("smp: FAIL no MP table\n");
	else
		rt_printf("smp: %d of %d cpus online\n", n, listed);
	guest_reset();
}
