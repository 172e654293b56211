/* PATCH /vm: {"state": "Paused" | "Resumed"}. */
#include "api/routes.h"

#include "vmm/jsonv.h"

static const char *const states[] = { "Paused", "Resumed", NULL };

struct vm_state_body {
	unsigned state;
};

static const struct jv_field fields[] = {
	{ .name = "state", .type = JV_ENUM, .required = true, .choices = states,
	  .offset = offsetof(struct vm_state_body, state) },
};

int api_vm_state(const cJSON *body, struct action *a, char *err, size_t errlen)
{
	struct vm_state_body b = { 0 };

	if (jv_parse_object(body, "vm", fields, ARRAY_SIZE(fields), &b, err, errlen))
		return 400;
	a->kind = b.state == 0 ? ACT_PAUSE : ACT_RESUME;
	return 0;
}
