/* libFuzzer harness for config_parse(): any byte string must be rejected
 * with a message or accepted with every field inside its documented range,
 * without leaks (config_free after both outcomes). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmm/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config cfg;
	char err[CONFIG_ERR_LEN];
	int ret;

	err[0] = 0;
	ret = config_parse((const char *)data, size, &cfg, err, sizeof(err));
	if (ret) {
		if (!err[0] || !memchr(err, 0, sizeof(err)))
			__builtin_trap(); /* every rejection says why */
	} else {
		if (!cfg.has_boot_source || !cfg.boot.kernel_image_path ||
		    !cfg.boot.kernel_image_path[0])
			__builtin_trap();
		if (cfg.machine.vcpu_count < 1 || cfg.machine.vcpu_count > CONFIG_MAX_VCPUS ||
		    cfg.machine.mem_size_mib < 1 || cfg.machine.mem_size_mib > CONFIG_MAX_MEM_MIB)
			__builtin_trap();
		if (cfg.machine.smt && cfg.machine.vcpu_count > 1 && cfg.machine.vcpu_count % 2)
			__builtin_trap();
	}
	config_free(&cfg);
	return 0;
}
