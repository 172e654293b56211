/* Kernel command-line assembly: the user's boot_args (or femtovm's defaults
 * when none were given) followed by the parameters the monitor must add,
 * such as virtio_mmio.device=... for each device. */
#ifndef FEMTOVM_CMDLINE_H
#define FEMTOVM_CMDLINE_H

#include <stddef.h>

/* Used when the user gives no boot_args at all. */
#define CMDLINE_DEFAULT "console=ttyS0 reboot=k panic=1 pci=off"

struct cmdline {
	char *buf;
	size_t len;   /* without the NUL */
	size_t cap;   /* maximum length including the NUL */
};

/* Start with @user, or CMDLINE_DEFAULT if @user is NULL. @cap counts the
 * NUL. -E2BIG if it does not fit, -ENOMEM on allocation failure. */
int cmdline_init(struct cmdline *c, const char *user, size_t cap);
/* Append " @param". -E2BIG if the result (plus NUL) would exceed the cap;
 * the command line is unchanged then. */
int cmdline_append(struct cmdline *c, const char *param);
void cmdline_free(struct cmdline *c);

#endif
