/* PUT /logger: log file and level (pre-boot). */
#include "api/routes.h"

int api_logger(const cJSON *body, struct action *a, char *err, size_t errlen)
{
	a->kind = ACT_SET_LOGGER;
	return config_parse_logger(body, "logger", &a->u.logger, err, errlen) ? 400 : 0;
}
