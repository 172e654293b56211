/* PUT /boot-source: kernel image, initrd and boot arguments (pre-boot). */
#include "api/routes.h"

int api_boot_source(const cJSON *body, struct action *a, char *err, size_t errlen)
{
	a->kind = ACT_SET_BOOT_SOURCE;
	return config_parse_boot_source(body, "boot-source", &a->u.boot, err, errlen) ? 400 : 0;
}
