/* PUT /drives/{id} (pre-boot: add or replace a drive) and PATCH
 * /drives/{id} (running: new backing file and/or rate limiter). The id in
 * the path must match the body's drive_id. */
#include "api/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/jsonv.h"

static const struct jv_field patch_fields[] = {
	{ .name = "drive_id", .type = JV_STRING, .required = true,
	  .offset = offsetof(struct drive_patch, drive_id) },
	{ .name = "path_on_host", .type = JV_STRING,
	  .offset = offsetof(struct drive_patch, path_on_host) },
	{ .name = "rate_limiter", .type = JV_IGNORE },
};

int api_drive(const cJSON *body, const char *id, bool patch, struct action *a, char *err,
	      size_t errlen)
{
	const cJSON *rl;

	if (!patch) {
		a->kind = ACT_PUT_DRIVE;
		if (config_parse_drive(body, "drive", &a->u.drive, err, errlen))
			return 400;
		return api_check_path_id(id, a->u.drive.drive_id, err, errlen);
	}
	a->kind = ACT_PATCH_DRIVE;
	if (jv_parse_object(body, "drive", patch_fields, ARRAY_SIZE(patch_fields),
			    &a->u.drive_patch, err, errlen))
		return 400;
	rl = cJSON_GetObjectItemCaseSensitive(body, "rate_limiter");
	if (rl) {
		if (config_parse_rate_limiter(rl, "drive.rate_limiter",
					      &a->u.drive_patch.rate_limiter, err, errlen))
			return 400;
		a->u.drive_patch.has_rate_limiter = true;
	}
	if (!a->u.drive_patch.path_on_host && !rl) {
		snprintf(err, errlen, "drive: PATCH needs path_on_host and/or rate_limiter");
		return 400;
	}
	return api_check_path_id(id, a->u.drive_patch.drive_id, err, errlen);
}
