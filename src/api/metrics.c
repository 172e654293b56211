/* PUT /metrics: where FlushMetrics appends its JSON lines (pre-boot). */
#include "api/routes.h"

#include "vmm/jsonv.h"

static const struct jv_field fields[] = {
	{ .name = "metrics_path", .type = JV_STRING, .required = true, .offset = 0 },
};

int api_metrics(const cJSON *body, struct action *a, char *err, size_t errlen)
{
	a->kind = ACT_SET_METRICS;
	return jv_parse_object(body, "metrics", fields, ARRAY_SIZE(fields), &a->u.metrics_path,
			       err, errlen) ? 400 : 0;
}
