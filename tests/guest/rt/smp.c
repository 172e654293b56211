/* AP start-up: INIT, SIPI, SIPI per AP (SDM Vol. 3 §8.4.4.1) with the
 * trampoline copied to RT_TRAMP_BASE, one AP at a time, each on its own
 * 8 KiB stack. rt_ap_entry is where trampoline.S lands in long mode. */
#include "io.h"
#include "rt.h"

#define RT_TRAMP_BASE 0x6000UL
#define ICR_INIT 0x00004500	/* INIT, level assert */
#define ICR_SIPI 0x00004600	/* start-up, vector in bits 7:0 */
#define AP_STACK 8192

void rt_ap_entry(void);
extern const uint8_t rt_tramp_start[], rt_tramp_end[];
extern const uint8_t rt_tramp_stack_off[];	/* an absolute symbol */

static uint8_t ap_stacks[RT_MAX_CPUS][AP_STACK]
	__attribute__((aligned(16), section(".bss.stack")));
static void (*ap_fn)(unsigned apic_id);
static volatile int online = 1;

void rt_ap_entry(void)
{
	rt_cpu_tables_load();
	unsigned id = rt_lapic_id();
	if (ap_fn)
		ap_fn(id);
	__atomic_add_fetch(&online, 1, __ATOMIC_RELEASE);
	rt_halt_forever(false);
}

static bool start_ap(unsigned apic_id, int slot)
{
	uint64_t *stack = (uint64_t *)(RT_TRAMP_BASE +
				       (uint64_t)rt_tramp_stack_off);
	*stack = (uint64_t)(ap_stacks[slot] + AP_STACK);
	int before = online;
	if (rt_lapic_ipi(apic_id, ICR_INIT) ||
	    rt_lapic_ipi(apic_id, ICR_SIPI | (RT_TRAMP_BASE >> 12)))
		return false;
	uint64_t soon = rt_deadline_ms(10);
	while (online == before && !rt_expired(soon))
		cpu_pause();
	if (online == before)	/* second SIPI, as the spec asks */
		rt_lapic_ipi(apic_id, ICR_SIPI | (RT_TRAMP_BASE >> 12));
	uint64_t deadline = rt_deadline_ms(1000);
	while (online == before && !rt_expired(deadline))
		cpu_pause();
	return online != before;
}

int rt_smp_start(void (*fn)(unsigned apic_id), int *listed)
{
	uint8_t ids[RT_MAX_CPUS];
	int n = rt_mp_cpus(ids, RT_MAX_CPUS);
	*listed = n;
	if (n <= 0)
		return online;
	ap_fn = fn;
	memcpy((void *)RT_TRAMP_BASE, rt_tramp_start,
	       (size_t)(rt_tramp_end - rt_tramp_start));
	unsigned self = rt_lapic_id();
	if (n > RT_MAX_CPUS)
		n = RT_MAX_CPUS;	/* the caller sees listed > online */
	for (int i = 0; i < n; i++)
		if (ids[i] != self)
			start_ap(ids[i], i);
	return online;
}
