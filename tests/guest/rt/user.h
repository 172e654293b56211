/* Ring-3 support for performance guests (DESIGN.md §10: this workplace's
 * KVM emulates guest ring-0 code at ~1 us per instruction, ring-3 code runs
 * at native speed). Nothing here runs unless a guest calls rt_user_init(),
 * so the other guests are unaffected.
 *
 *   rt_user_init()       BSP only: a GDT with the runtime's three segments
 *                        plus user data (0x23) / user code64 (0x2b) and a
 *                        64-bit TSS (0x30) whose RSP0 is a 16 KiB stack for
 *                        interrupts taken in ring 3; the syscall below.
 *   rt_user_map(pa, len) sets the U bit on the 2 MiB pages covering
 *                        [pa, pa+len) (below 4 GiB) and on the PML4/PDPT
 *                        entries above them; the code, data, stacks, rings,
 *                        buffers and MMIO pages the ring-3 code touches must
 *                        be mapped so (the runtime has no SMEP/SMAP).
 *   rt_user_call(fn, arg, stack_top)
 *                        iretq into ring 3 (CPL 3, IOPL 3, IF = 1: port I/O
 *                        and cli/sti allowed, the PIT keeps ticking) running
 *                        fn(arg) on stack_top; returns fn's value when fn
 *                        returns (or calls rt_user_exit).
 *
 * From ring 3: rt_user_exit(v) (syscall 0) ends the call;
 * rt_user_ring0(fn, arg) (syscall 1) runs fn(arg) in ring 0 on the
 * RSP0 stack with interrupts off and returns its value (e.g. a sti;hlt wait
 * or anything privileged). Every syscall and every interrupt taken in
 * ring 3 runs emulated ring-0 code (tens of us): keep them out of hot
 * loops. */
#ifndef RT_USER_H
#define RT_USER_H

#include <stdint.h>

#define RT_USER_CS 0x2b
#define RT_USER_DS 0x23
#define RT_USER_TSS 0x30
#define RT_USER_VECTOR 6	/* #UD: see rt_user_syscall */

void rt_user_init(void);
int rt_user_map(uint64_t pa, uint64_t len);
long rt_user_call(long (*fn)(void *), void *arg, void *stack_top);

/* The way from ring 3 into ring 0: a call to rt_user_gate, whose ud2
 * raises #UD; the runtime's vector-6 handler (registered by rt_user_init)
 * recognises the address and CPL 3, dispatches on rax and returns past the
 * ud2. Any other #UD is reported as the runtime reports exceptions (plus
 * cs=) and resets. (`int 0x80` through a DPL-3 gate raises #UD itself
 * under this workplace's KVM, so it is not used.) The interrupt stub saves
 * and restores every caller-saved register except rax. */
static inline long rt_user_syscall(long nr, long a, long b)
{
	long r;

	asm volatile("call rt_user_gate"
		     : "=a"(r)
		     : "a"(nr), "D"(a), "S"(b)
		     : "memory", "cc");
	return r;
}

static inline void __attribute__((noreturn)) rt_user_exit(long v)
{
	rt_user_syscall(0, v, 0);
	__builtin_unreachable();
}

static inline long rt_user_ring0(long (*fn)(long), long arg)
{
	return rt_user_syscall(1, (long)fn, arg);
}

/* 1 when the CPU is in ring 3 (CS RPL). */
static inline int rt_user_cpl(void)
{
	uint16_t cs;

	asm volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}

#endif
