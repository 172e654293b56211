/* PUT /vsock (pre-boot): the vsock device's guest CID and Unix socket
 * path, as Firecracker's VsockConfig (vsock_id optional and ignored). A
 * second PUT replaces the first. */
#include "api/routes.h"

int api_vsock(const cJSON *body, struct action *a, char *err, size_t errlen)
{
	a->kind = ACT_SET_VSOCK;
	return config_parse_vsock(body, "vsock", &a->u.vsock, err, errlen) ? 400 : 0;
}

/* The vsock object of GET /vm/config (null when there is none). */
cJSON *api_vsock_json(const struct vsock_config *v)
{
	cJSON *o;

	if (!v->present)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	if (v->vsock_id)
		cJSON_AddStringToObject(o, "vsock_id", v->vsock_id);
	cJSON_AddNumberToObject(o, "guest_cid", (double)v->guest_cid);
	cJSON_AddStringToObject(o, "uds_path", v->uds_path);
	return o;
}
