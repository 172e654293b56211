/* PUT /actions: InstanceStart, SendCtrlAltDel, FlushMetrics. */
#include "api/routes.h"

#include "vmm/jsonv.h"

static const char *const action_names[] = { "InstanceStart", "SendCtrlAltDel", "FlushMetrics",
					    NULL };
static const enum action_kind action_kinds[] = { ACT_INSTANCE_START, ACT_SEND_CTRL_ALT_DEL,
						 ACT_FLUSH_METRICS };

struct actions_body {
	unsigned action_type;
};

static const struct jv_field fields[] = {
	{ .name = "action_type", .type = JV_ENUM, .required = true, .choices = action_names,
	  .offset = offsetof(struct actions_body, action_type) },
};

int api_actions(const cJSON *body, struct action *a, char *err, size_t errlen)
{
	struct actions_body b = { 0 };

	if (jv_parse_object(body, "actions", fields, ARRAY_SIZE(fields), &b, err, errlen))
		return 400;
	a->kind = action_kinds[b.action_type];
	return 0;
}
