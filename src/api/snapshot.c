/* PUT /snapshot/create {"snapshot_path", "mem_file_path", "snapshot_type"}
 * and PUT /snapshot/load {"snapshot_path", "mem_backend": {"backend_type":
 * "File", "backend_path"}, "resume_vm"}, as Firecracker's API. Only Full
 * snapshots and File memory backends so far. */
#include "api/routes.h"

#include <stdio.h>
#include <stdlib.h>

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
	if (b.snapshot_type == 1) {
		snprintf(err, errlen, "snapshot.snapshot_type: Diff snapshots are not supported yet");
		goto fail;
	}
	a->u.snap_create.snapshot_path = b.snapshot_path;
	a->u.snap_create.mem_file_path = b.mem_file_path;
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
	struct mem_backend mem;
	bool resume_vm;
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
	{ .name = "mem_backend", .type = JV_OBJECT, .required = true, .sub = backend_fields,
	  .nsub = ARRAY_SIZE(backend_fields), .offset = offsetof(struct load_body, mem) },
	{ .name = "resume_vm", .type = JV_BOOL,
	  .offset = offsetof(struct load_body, resume_vm) },
};

int api_snapshot_load(const cJSON *body, struct action *a, char *err, size_t errlen)
{
	struct load_body b = { 0 };

	a->kind = ACT_SNAPSHOT_LOAD;
	if (jv_parse_object(body, "snapshot", load_fields, ARRAY_SIZE(load_fields), &b, err,
			    errlen)) {
		free(b.snapshot_path);
		free(b.mem.backend_path);
		return 400;
	}
	a->u.snap_load.snapshot_path = b.snapshot_path;
	a->u.snap_load.mem_path = b.mem.backend_path;
	a->u.snap_load.resume_vm = b.resume_vm;
	return 0;
}
