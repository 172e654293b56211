/* Helpers shared by the performance guests (perf/blkbench, perf/netbench):
 * barriers, a ring-3 clock (TSC calibrated against the 10 ms PIT tick while
 * the run lasts), and fixed-point printing. Everything here is usable from
 * ring 3 (no privileged instructions). */
#ifndef PERF_H
#define PERF_H

#include "io.h"
#include "rt.h"
#include "user.h"

static inline void perf_mb(void)
{
	asm volatile("lock; addl $0, (%%rsp)" ::: "memory", "cc");
}

static inline void perf_barrier(void)
{
	asm volatile("" ::: "memory");
}

/* Run clock: starts on a PIT tick edge; every later edge seen by
 * perf_clock_poll() refines the TSC rate, so elapsed times are exact to a
 * few us even though the tick is 10 ms. */
struct perf_clock {
	uint32_t tick0, tick_last;
	uint64_t tsc0, tsc_last;
};

static inline void perf_clock_start(struct perf_clock *c)
{
	uint32_t t = rt_ticks;

	while (rt_ticks == t)
		cpu_pause();
	c->tick0 = c->tick_last = rt_ticks;
	c->tsc0 = c->tsc_last = rdtsc();
}

/* Call often; returns ticks since the start. */
static inline uint32_t perf_clock_poll(struct perf_clock *c)
{
	uint32_t t = rt_ticks;

	if (t != c->tick_last) {
		c->tick_last = t;
		c->tsc_last = rdtsc();
	}
	return t - c->tick0;
}

/* Microseconds from the start to now. Before the first refining edge it
 * falls back to ticks. */
static inline uint64_t perf_clock_us(struct perf_clock *c)
{
	uint64_t now = rdtsc();
	uint32_t nt = c->tick_last - c->tick0;

	if (!nt || c->tsc_last == c->tsc0)
		return (uint64_t)(rt_ticks - c->tick0) * RT_TICK_MS * 1000u;
	return (now - c->tsc0) * nt * RT_TICK_MS * 1000u / (c->tsc_last - c->tsc0);
}

/* "<int>.<1 decimal>" of num/den into buf (ring 0 or 3). */
static inline void perf_fix1(char *buf, uint64_t num, uint64_t den)
{
	uint64_t v = den ? (num * 10 + den / 2) / den : 0;
	char tmp[24];
	int n = 0, k = 0;

	tmp[n++] = (char)('0' + v % 10);
	tmp[n++] = '.';
	v /= 10;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		buf[k++] = tmp[--n];
	buf[k] = 0;
}

static inline uint64_t perf_xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

#endif
