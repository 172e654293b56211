/* count: a heartbeat for pause/resume and snapshot tests. Prints
 * "count: <n>" (n = 1, 2, ...) every period_ms (default 50, PIT-timed,
 * hlt in between) forever, or up to count.max=N and then "count: end" and a
 * reset. A paused VM prints nothing; after resume the count goes on from
 * the next number. */
#include "io.h"
#include "rt.h"

const char rt_guest_name[] = "count";

void guest_main(const struct boot_info *bi)
{
	(void)bi;
	uint64_t max = rt_cmdline_u64("count.max", 0);
	uint64_t period = rt_cmdline_u64("period_ms", 50);
	uint32_t ticks = (uint32_t)((period + RT_TICK_MS - 1) / RT_TICK_MS);

	if (ticks == 0)
		ticks = 1;
	rt_pit_start();
	rt_printf("count: period_ms=%u\n", ticks * RT_TICK_MS);
	/* Deadlines advance by the period, so late wake-ups do not add up;
	 * after a long pause the next number comes at once, then on period. */
	uint32_t next = rt_ticks + ticks;
	for (uint64_t n = 1; !max || n <= max; n++) {
		for (;;) {
			cpu_cli();
			if ((int32_t)(rt_ticks - next) >= 0)
				break;
			rt_idle();
		}
		cpu_sti();
		if ((int32_t)(rt_ticks - next) >= (int32_t)ticks)
			next = rt_ticks;	/* resumed after a pause: no burst */
		next += ticks;
		rt_printf("count: %lu\n", n);
	}
	cpu_cli();
	rt_pit_stop();
	rt_printf("count: end\n");
	guest_reset();
}
