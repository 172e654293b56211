/* Boot-time marker device on port 0x3f0 (DESIGN.md §3). */
#include "vmm/boot_timer.h"

#include "vmm/layout.h"
#include "vmm/log.h"

static void boot_timer_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct boot_timer *t = opaque;

	(void)len;
	if (off != 0 || data[0] != LAYOUT_BOOT_TIMER_MAGIC || !t->enabled || t->fired_us)
		return;
	t->fired_us = log_uptime_us();
	log_info("Guest-boot-time = %llu us (%llu ms) since process start",
		 (unsigned long long)t->fired_us, (unsigned long long)(t->fired_us / 1000));
}

static void boot_timer_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	for (uint32_t i = 0; i < len; i++)
		data[i] = 0;
}

const struct bus_ops boot_timer_ops = { .read = boot_timer_read, .write = boot_timer_write };
