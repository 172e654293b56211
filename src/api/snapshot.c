/* PUT /snapshot/create {"snapshot_path", "mem_file_path", "snapshot_type"}
 * and PUT /snapshot/load {"snapshot_path", "mem_backend": {"backend_type":
 * "File", "backend_path"}, "resume_vm", "track_dirty_pages",
 * "network_overrides": [{"iface_id", "host_dev_name"}], "vsock_override":
 * {"uds_path"}}, as Firecracker's API. Memory backends: File only. */
#include "api/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/jsonv.h"

static const char *const types[] = { "Full", "Diff", NULL };

struct create_body {
	char *snapshot_path, *mem_file_path;
	unsigned snapshot_type;
};

static const struct jv_field create_fields[] = {
	{ .name = "snapshot_path", .type = JV_STRING, .required = true,
	  .offset = offsetof(struct create_body, snapshot_path) },
	{ .name = "mem_file_path", .type = JV_STRING, .required = true,
	  .offset = offsetof(struct create_body, mem_file_path) },
	{ .name = "snapshot_type", .type = JV_ENUM, .choices = types,
	  .offset = offsetof(struct create_body, snapshot_type) },
};

int api_snapshot_create(const cJSON *body, struct action *a, char *err, size_t errlen)
{
	struct create_body b = { 0 };

	a->kind = ACT_SNAPSHOT_CREATE;
	if (jv_parse_object(body, "snapshot", create_fields, ARRAY_SIZE(create_fields), &b, err,
			    errlen))
		goto fail;
	a->u.snap_create.snapshot_path = b.snapshot_path;
	a->u.snap_create.mem_file_path = b.mem_file_path;
	a->u.snap_create.diff = b.snapshot_type == 1;
	return 0;
fail:
	free(b.snapshot_path);
	free(b.mem_file_path);
	return 400;
}

static const char *const backends[] = { "File", NULL };

struct mem_backend {
	unsigned backend_type;
	char *backend_path;
};

struct load_body {
	char *snapshot_path;
	char *mem_file_path;             /* Firecracker's deprecated form */
	struct mem_backend mem;
	bool resume_vm, track_dirty_pages, enable_diff_snapshots;
};

static const struct jv_field backend_fields[] = {
	{ .name = "backend_type", .type = JV_ENUM, .required = true, .choices = backends,
	  .offset = offsetof(struct mem_backend, backend_type) },
	{ .name = "backend_path", .type = JV_STRING, .required = true,
	  .offset = offsetof(struct mem_backend, backend_path) },
};

static const struct jv_field load_fields[] = {
	{ .name = "snapshot_path", .type = JV_STRING, .required = true,
	  .offset = offsetof(struct load_body, snapshot_path) },
	{ .name = "mem_file_path", .type = JV_STRING,
	  .offset = offsetof(struct load_body, mem_file_path) },
	{ .name = "mem_backend", .type = JV_OBJECT, .sub = backend_fields,
	  .nsub = ARRAY_SIZE(backend_fields), .offset = offsetof(struct load_body, mem) },
	{ .name = "resume_vm", .type = JV_BOOL,
	  .offset = offsetof(struct load_body, resume_vm) },
	{ .name = "track_dirty_pages", .type = JV_BOOL,
	  .offset = offsetof(struct load_body, track_dirty_pages) },
	{ .name = "enable_diff_snapshots", .type = JV_BOOL,
	  .offset = offsetof(struct load_body, enable_diff_snapshots) },
	{ .name = "network_overrides", .type = JV_IGNORE },
	{ .name = "vsock_override", .type = JV_IGNORE },
};

static const struct jv_field net_override_fields[] = {
	{ .name = "iface_id", .type = JV_STRING, .required = true,
	  .offset = offsetof(struct net_override, iface_id) },
	{ .name = "host_dev_name", .type = JV_STRING, .required = true,
	  .offset = offsetof(struct net_override, host_dev_name) },
};

struct vsock_override {
	char *uds_path;
};

static const struct jv_field vsock_override_fields[] = {
	{ .name = "uds_path", .type = JV_STRING, .required = true,
	  .offset = offsetof(struct vsock_override, uds_path) },
};

/* network_overrides: at most one entry per interface a VM can have, each
 * iface_id once. Whether the ids exist is known only once the snapshot is
 * read (the controller checks). */
static int parse_net_overrides(const cJSON *arr, struct snapshot_load *l, char *err,
			       size_t errlen)
{
	const cJSON *item;
	char what[48];

	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "snapshot.network_overrides: must be an array");
		return -1;
	}
	cJSON_ArrayForEach(item, arr) {
		struct net_override *o = &l->net_overrides[l->nnet_overrides];

		if (l->nnet_overrides == CONFIG_MAX_NETS) {
			snprintf(err, errlen, "snapshot.network_overrides: at most %d entries",
				 CONFIG_MAX_NETS);
			return -1;
		}
		snprintf(what, sizeof(what), "snapshot.network_overrides[%u]", l->nnet_overrides);
		l->nnet_overrides++;
		if (jv_parse_object(item, what, net_override_fields,
				    ARRAY_SIZE(net_override_fields), o, err, errlen) ||
		    config_check_host_dev_name(o->host_dev_name, what, err, errlen))
			return -1;
		for (unsigned i = 0; i + 1 < l->nnet_overrides; i++) {
			if (!strcmp(l->net_overrides[i].iface_id, o->iface_id)) {
				snprintf(err, errlen, "%s: iface_id \"%s\" is overridden twice", what,
					 o->iface_id);
				return -1;
			}
			if (!strcmp(l->net_overrides[i].host_dev_name, o->host_dev_name)) {
				snprintf(err, errlen, "%s: host_dev_name \"%s\" is given twice", what,
					 o->host_dev_name);
				return -1;
			}
		}
	}
	return 0;
}

int api_snapshot_load(const cJSON *body, struct action *a, char *err, size_t errlen)
{
	struct snapshot_load *l = &a->u.snap_load;
	struct load_body b = { 0 };
	struct vsock_override vo = { 0 };
	const cJSON *v;

	a->kind = ACT_SNAPSHOT_LOAD;
	if (jv_parse_object(body, "snapshot", load_fields, ARRAY_SIZE(load_fields), &b, err,
			    errlen))
		goto fail;
	if (!b.mem_file_path == !b.mem.backend_path) {
		snprintf(err, errlen, "snapshot: give exactly one of mem_backend and the "
			 "deprecated mem_file_path");
		goto fail;
	}
	l->snapshot_path = b.snapshot_path;
	l->mem_path = b.mem_file_path ? b.mem_file_path : b.mem.backend_path;
	l->resume_vm = b.resume_vm;
	l->track_dirty_pages = b.track_dirty_pages || b.enable_diff_snapshots;
	v = cJSON_GetObjectItemCaseSensitive(body, "network_overrides");
	if (v && parse_net_overrides(v, l, err, errlen))
		return 400;
	v = cJSON_GetObjectItemCaseSensitive(body, "vsock_override");
	if (v) {
		int ret = jv_parse_object(v, "snapshot.vsock_override", vsock_override_fields,
					  ARRAY_SIZE(vsock_override_fields), &vo, err, errlen);

		l->vsock_uds_path = vo.uds_path;
		if (ret)
			return 400;
		if (strlen(vo.uds_path) > CONFIG_VSOCK_PATH_MAX) {
			snprintf(err, errlen, "snapshot.vsock_override.uds_path: longer than %d bytes",
				 CONFIG_VSOCK_PATH_MAX);
			return 400;
		}
	}
	return 0;
fail:
	free(b.snapshot_path);
	free(b.mem_file_path);
	free(b.mem.backend_path);
	return 400;
}
