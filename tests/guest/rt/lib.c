/* Freestanding helpers: mem/str functions (rep movsb/stosb, so gcc cannot
 * turn them back into calls to themselves), reset via the i8042, the boot
 * timer port, halting and TSC deadlines. */
#include "io.h"
#include "rt.h"

#define TSC_KHZ_GUESS 2000000ULL	/* nominal; only bounds waits */

void *memcpy(void *d, const void *s, size_t n)
{
	void *r = d;
	asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return r;
}

void *memset(void *d, int c, size_t n)
{
	void *r = d;
	asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return r;
}

void *memmove(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;
	if (dp <= sp || dp >= sp + n)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (uint8_t)*a - (uint8_t)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

void rt_halt_forever(bool irqs)
{
	for (;;) {
		if (irqs)
			asm volatile("sti; hlt" ::: "memory");
		else
			asm volatile("cli; hlt" ::: "memory");
	}
}

/* i8042 "pulse reset line" command (0xFE to the command port). The command
 * line flag reset=triple adds a triple fault afterwards, for QEMU machines
 * without an i8042 (run them with -no-reboot). */
void guest_reset(void)
{
	outb(0x64, 0xfe);
	if (rt_cmdline_has("reset=triple")) {
		static const struct {
			uint16_t limit;
			uint64_t base;
		} __attribute__((packed)) none = { 0, 0 };
		asm volatile("lidt %0; ud2" : : "m"(none));
	}
	rt_halt_forever(false);
}

void boot_timer(void)
{
	outb(0x3f0, 123);
}

uint64_t rt_deadline_ms(unsigned ms)
{
	return rdtsc() + ms * TSC_KHZ_GUESS;
}

bool rt_expired(uint64_t deadline)
{
	return (int64_t)(rdtsc() - deadline) >= 0;
}
