/* The route table: which resource handles each method and path, and the
 * request-level checks every handler shares (JSON body present and an
 * object). */
#include "api/routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/util.h"

void action_free(struct action *a)
{
	switch (a->kind) {
	case ACT_SET_BOOT_SOURCE: config_free_boot_source(&a->u.boot); break;
	case ACT_PUT_DRIVE: config_free_drive(&a->u.drive); break;
	case ACT_PATCH_DRIVE:
		free(a->u.drive_patch.drive_id);
		free(a->u.drive_patch.path_on_host);
		break;
	case ACT_PUT_NET: config_free_net(&a->u.net); break;
	case ACT_PATCH_NET: free(a->u.net_patch.iface_id); break;
	case ACT_SET_LOGGER: free(a->u.logger.log_path); break;
	case ACT_SET_METRICS: free(a->u.metrics_path); break;
	case ACT_SET_VSOCK: config_free_vsock(&a->u.vsock); break;
	case ACT_SNAPSHOT_CREATE:
		free(a->u.snap_create.snapshot_path);
		free(a->u.snap_create.mem_file_path);
		break;
	case ACT_SNAPSHOT_LOAD:
		free(a->u.snap_load.snapshot_path);
		free(a->u.snap_load.mem_path);
		free(a->u.snap_load.vsock_uds_path);
		for (unsigned i = 0; i < a->u.snap_load.nnet_overrides; i++) {
			free(a->u.snap_load.net_overrides[i].iface_id);
			free(a->u.snap_load.net_overrides[i].host_dev_name);
		}
		break;
	default: break;
	}
	memset(&a->u, 0, sizeof(a->u));
}

static int get_route(const char *path, struct action *a)
{
	static const struct { const char *path; enum action_kind kind; } gets[] = {
		{ "/", ACT_GET_INFO },
		{ "/version", ACT_GET_VERSION },
		{ "/machine-config", ACT_GET_MACHINE_CONFIG },
		{ "/vm/config", ACT_GET_VM_CONFIG },
	};

	for (unsigned i = 0; i < ARRAY_SIZE(gets); i++) {
		if (!strcmp(path, gets[i].path)) {
			a->kind = gets[i].kind;
			return 0;
		}
	}
	return 404;
}

/* Body-carrying routes. */
static int body_route(const char *m, const char *path, const cJSON *body,
		      const struct vm_config *cur, struct action *a, char *err, size_t errlen)
{
	bool put = !strcmp(m, "PUT"), patch = !strcmp(m, "PATCH");
	const char *id;

	if (!strcmp(path, "/boot-source") && put)
		return api_boot_source(body, a, err, errlen);
	if (!strcmp(path, "/machine-config") && (put || patch))
		return api_machine_config(body, patch, cur, a, err, errlen);
	if (!strncmp(path, "/drives/", 8) && (put || patch)) {
		id = path + 8;
		return api_drive(body, id, patch, a, err, errlen);
	}
	if (!strncmp(path, "/network-interfaces/", 20) && (put || patch))
		return api_network_interface(body, path + 20, patch, a, err, errlen);
	if (!strcmp(path, "/actions") && put)
		return api_actions(body, a, err, errlen);
	if (!strcmp(path, "/vm") && patch)
		return api_vm_state(body, a, err, errlen);
	if (!strcmp(path, "/logger") && put)
		return api_logger(body, a, err, errlen);
	if (!strcmp(path, "/metrics") && put)
		return api_metrics(body, a, err, errlen);
	if (!strcmp(path, "/vsock") && put)
		return api_vsock(body, a, err, errlen);
	if (!strcmp(path, "/snapshot/create") && put)
		return api_snapshot_create(body, a, err, errlen);
	if (!strcmp(path, "/snapshot/load") && put)
		return api_snapshot_load(body, a, err, errlen);
	return 404;
}

int api_route(const struct http_request *req, const struct vm_config *cur, struct action *a,
	      char *err, size_t errlen)
{
	cJSON *body = NULL;
	int ret;

	memset(a, 0, sizeof(*a));
	if (!strcmp(req->method, "GET")) {
		ret = get_route(req->path, a);
	} else {
		if (!req->body || !req->body_len) {
			snprintf(err, errlen, "%s %s: a JSON body is required", req->method, req->path);
			return 400;
		}
		body = cJSON_ParseWithLength(req->body, req->body_len);
		if (!body || !cJSON_IsObject(body)) {
			snprintf(err, errlen, "%s %s: the body is not a JSON object", req->method,
				 req->path);
			cJSON_Delete(body);
			return 400;
		}
		ret = body_route(req->method, req->path, body, cur, a, err, errlen);
		cJSON_Delete(body);
	}
	if (ret == 404) {
		/* Firecracker answers unknown routes with 400, not 404. */
		snprintf(err, errlen, "Invalid request method and/or path: %s %s", req->method,
			 req->path);
		ret = 400;
	} else if (ret) {
		action_free(a);
	}
	return ret;
}

int api_check_path_id(const char *path_id, const char *body_id, char *err, size_t errlen)
{
	if (strcmp(path_id, body_id)) {
		snprintf(err, errlen, "The id from the path (\"%s\") does not match the id "
			 "from the body (\"%s\")", path_id, body_id);
		return 400;
	}
	return 0;
}

char *api_fault_json(const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(o, "fault_message", msg);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}
