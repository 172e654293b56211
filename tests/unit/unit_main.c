/* Process-wide setup for the unit-test binary: monitor log lines go to
 * /dev/null (many tests feed hostile input that is logged on purpose) unless
 * FEMTOVM_UNIT_LOG is set in the environment. */
#include <stdlib.h>

#include "vmm/log.h"

__attribute__((constructor)) static void unit_quiet_logs(void)
{
	log_init();
	if (!getenv("FEMTOVM_UNIT_LOG"))
		log_set_path("/dev/null");
}
