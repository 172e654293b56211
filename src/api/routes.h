/* Request routing: method + path -> a resource handler that validates the
 * body and builds an action. Nothing here touches the VM. */
#ifndef FEMTOVM_ROUTES_H
#define FEMTOVM_ROUTES_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "api/action.h"
#include "api/http.h"
#include "vmm/util.h"

#define API_ERR_LEN 256

/* Build @a from @req. @cur is the current configuration (PATCH merges onto
 * it). Returns 0, or an HTTP error status (400, 404, 405) with @err set. */
int api_route(const struct http_request *req, const struct vm_config *cur, struct action *a,
	      char *err, size_t errlen);

/* Resource handlers (one file each). @body is the parsed JSON body (NULL if
 * the request had none); @id is the path parameter, if any. 0 or 400. */
int api_boot_source(const cJSON *body, struct action *a, char *err, size_t errlen);
int api_machine_config(const cJSON *body, bool patch, const struct vm_config *cur,
		       struct action *a, char *err, size_t errlen);
int api_drive(const cJSON *body, const char *id, bool patch, struct action *a, char *err,
	      size_t errlen);
int api_network_interface(const cJSON *body, const char *id, bool patch, struct action *a,
			  char *err, size_t errlen);
int api_actions(const cJSON *body, struct action *a, char *err, size_t errlen);
int api_vm_state(const cJSON *body, struct action *a, char *err, size_t errlen);
int api_logger(const cJSON *body, struct action *a, char *err, size_t errlen);
int api_metrics(const cJSON *body, struct action *a, char *err, size_t errlen);
int api_vsock(const cJSON *body, struct action *a, char *err, size_t errlen);
int api_snapshot_create(const cJSON *body, struct action *a, char *err, size_t errlen);
int api_snapshot_load(const cJSON *body, struct action *a, char *err, size_t errlen);
cJSON *api_vsock_json(const struct vsock_config *v);

/* 0 if the id in the path equals the body's, else 400 with @err set. */
int api_check_path_id(const char *path_id, const char *body_id, char *err, size_t errlen);

/* JSON for GET /machine-config and GET /vm/config (malloc'd). */
char *api_machine_config_json(const struct machine_config *mc);
char *api_vm_config_json(const struct vm_config *cfg);
/* {"fault_message": msg} (malloc'd). */
char *api_fault_json(const char *msg);

#endif
