/* Boot timer: the guest writes LAYOUT_BOOT_TIMER_MAGIC to port 0x3f0 when it
 * has booted, and the monitor logs the time since process start. */
#ifndef FEMTOVM_BOOT_TIMER_H
#define FEMTOVM_BOOT_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"

struct boot_timer {
	bool enabled;       /* --boot-timer; writes are ignored otherwise */
	uint64_t fired_us;  /* 0 until the guest signalled */
};

extern const struct bus_ops boot_timer_ops;

#endif
