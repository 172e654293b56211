/* PUT /snapshot/create and PUT /snapshot/load bodies through the router:
 * Full/Diff, Firecracker's two ways to name the memory file, the deprecated
 * enable_diff_snapshots, network_overrides and vsock_override, and every
 * malformed body answered 400 with the offending field named. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "api/routes.h"
#include "vmm/config.h"

static struct vm_config cfg;
static struct action a;
static char err[CONFIG_ERR_LEN];

static int route(const char *path, const char *body)
{
	struct http_request req = { 0 };
	int ret;

	config_defaults(&cfg);
	snprintf(req.method, sizeof(req.method), "PUT");
	snprintf(req.path, sizeof(req.path), "%s", path);
	req.body = (char *)body;
	req.body_len = strlen(body);
	err[0] = 0;
	ret = api_route(&req, &cfg, &a, err, sizeof(err));
	return ret;
}

#define MEM "\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"/m\"}"
#define LOAD(extra) "{\"snapshot_path\": \"/s\", " MEM extra "}"

Test(api_snapshot, create_full_and_diff)
{
	cr_assert_eq(route("/snapshot/create", "{\"snapshot_path\": \"/s\", \"mem_file_path\": "
			   "\"/m\"}"), 0, "%s", err);
	cr_assert_eq(a.kind, ACT_SNAPSHOT_CREATE);
	cr_assert_str_eq(a.u.snap_create.snapshot_path, "/s");
	cr_assert_str_eq(a.u.snap_create.mem_file_path, "/m");
	cr_assert_not(a.u.snap_create.diff, "Full is the default");
	action_free(&a);
	cr_assert_eq(route("/snapshot/create", "{\"snapshot_path\": \"/s\", \"mem_file_path\": "
			   "\"/m\", \"snapshot_type\": \"Diff\"}"), 0, "%s", err);
	cr_assert(a.u.snap_create.diff);
	action_free(&a);
	cr_assert_eq(route("/snapshot/create", "{\"snapshot_path\": \"/s\", \"mem_file_path\": "
			   "\"/m\", \"snapshot_type\": \"diff\"}"), 400);
	cr_assert_not_null(strstr(err, "snapshot_type"), "%s", err);
	action_free(&a);
}

Test(api_snapshot, load_minimal_and_full)
{
	cr_assert_eq(route("/snapshot/load", LOAD("")), 0, "%s", err);
	cr_assert_eq(a.kind, ACT_SNAPSHOT_LOAD);
	cr_assert_str_eq(a.u.snap_load.mem_path, "/m");
	cr_assert_not(a.u.snap_load.resume_vm);
	cr_assert_not(a.u.snap_load.track_dirty_pages);
	cr_assert_eq(a.u.snap_load.nnet_overrides, 0);
	cr_assert_null(a.u.snap_load.vsock_uds_path);
	action_free(&a);

	cr_assert_eq(route("/snapshot/load", LOAD(", \"resume_vm\": true, \"track_dirty_pages\": "
			   "true, \"network_overrides\": [{\"iface_id\": \"eth0\", "
			   "\"host_dev_name\": \"tap9\"}, {\"iface_id\": \"eth1\", "
			   "\"host_dev_name\": \"tap10\"}], \"vsock_override\": "
			   "{\"uds_path\": \"/v2\"}")), 0, "%s", err);
	cr_assert(a.u.snap_load.resume_vm);
	cr_assert(a.u.snap_load.track_dirty_pages);
	cr_assert_eq(a.u.snap_load.nnet_overrides, 2);
	cr_assert_str_eq(a.u.snap_load.net_overrides[0].iface_id, "eth0");
	cr_assert_str_eq(a.u.snap_load.net_overrides[1].host_dev_name, "tap10");
	cr_assert_str_eq(a.u.snap_load.vsock_uds_path, "/v2");
	action_free(&a);
}

Test(api_snapshot, load_deprecated_forms)
{
	cr_assert_eq(route("/snapshot/load", "{\"snapshot_path\": \"/s\", \"mem_file_path\": "
			   "\"/old\", \"enable_diff_snapshots\": true}"), 0, "%s", err);
	cr_assert_str_eq(a.u.snap_load.mem_path, "/old");
	cr_assert(a.u.snap_load.track_dirty_pages);
	action_free(&a);
}

Test(api_snapshot, load_rejected)
{
	static const struct { const char *body, *msg; } bad[] = {
		{ "{\"snapshot_path\": \"/s\"}", "exactly one of mem_backend" },
		{ "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", " MEM "}",
		  "exactly one of mem_backend" },
		{ "{" MEM "}", "snapshot.snapshot_path" },
		{ "{\"snapshot_path\": \"/s\", \"mem_backend\": {\"backend_type\": \"Uffd\", "
		  "\"backend_path\": \"/u\"}}", "backend_type" },
		{ LOAD(", \"network_overrides\": {}"), "network_overrides: must be an array" },
		{ LOAD(", \"network_overrides\": [5]"), "network_overrides[0]" },
		{ LOAD(", \"network_overrides\": [{\"iface_id\": \"a\"}]"),
		  "network_overrides[0].host_dev_name" },
		{ LOAD(", \"network_overrides\": [{\"iface_id\": \"a\", \"host_dev_name\": \"t\", "
		       "\"x\": 1}]"), "\"x\"" },
		{ LOAD(", \"network_overrides\": [{\"iface_id\": \"a\", \"host_dev_name\": \"t\"}, "
		       "{\"iface_id\": \"a\", \"host_dev_name\": \"u\"}]"), "overridden twice" },
		{ LOAD(", \"network_overrides\": [{\"iface_id\": \"a\", \"host_dev_name\": "
		       "\"tap0123456789abc\"}]"), "network_overrides[0].host_dev_name" },
		{ LOAD(", \"network_overrides\": [{\"iface_id\": \"a\", \"host_dev_name\": "
		       "\"../tap\"}]"), "network_overrides[0].host_dev_name" },
		{ LOAD(", \"network_overrides\": [{\"iface_id\": \"a\", \"host_dev_name\": \"t\"}, "
		       "{\"iface_id\": \"b\", \"host_dev_name\": \"t\"}]"), "given twice" },
		{ LOAD(", \"vsock_override\": {}"), "vsock_override.uds_path" },
		{ LOAD(", \"vsock_override\": {\"uds_path\": \"\"}"), "vsock_override.uds_path" },
		{ LOAD(", \"vsock_override\": \"/v\""), "vsock_override" },
		{ LOAD(", \"resume_vm\": 1"), "resume_vm" },
		{ LOAD(", \"track_dirty_pages\": \"yes\""), "track_dirty_pages" },
		{ LOAD(", \"extra\": 1"), "\"extra\"" },
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(route("/snapshot/load", bad[i].body), 400, "%s", bad[i].body);
		cr_assert_not_null(strstr(err, bad[i].msg), "%s: '%s' lacks '%s'", bad[i].body,
				   err, bad[i].msg);
		action_free(&a);
	}
}

Test(api_snapshot, load_override_limits)
{
	char body[4096], uds[200];
	size_t n;

	n = (size_t)snprintf(body, sizeof(body), "{\"snapshot_path\": \"/s\", " MEM
			     ", \"network_overrides\": [");
	for (unsigned i = 0; i <= CONFIG_MAX_NETS; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n,
				      "%s{\"iface_id\": \"e%u\", \"host_dev_name\": \"t%u\"}",
				      i ? ", " : "", i, i);
	snprintf(body + n, sizeof(body) - n, "]}");
	cr_assert_eq(route("/snapshot/load", body), 400);
	cr_assert_not_null(strstr(err, "at most"), "%s", err);
	action_free(&a);

	memset(uds, 'u', CONFIG_VSOCK_PATH_MAX + 1);
	uds[CONFIG_VSOCK_PATH_MAX + 1] = 0;
	snprintf(body, sizeof(body), LOAD(", \"vsock_override\": {\"uds_path\": \"%s\"}"), uds);
	cr_assert_eq(route("/snapshot/load", body), 400);
	cr_assert_not_null(strstr(err, "longer than"), "%s", err);
	action_free(&a);
	uds[CONFIG_VSOCK_PATH_MAX] = 0;
	snprintf(body, sizeof(body), LOAD(", \"vsock_override\": {\"uds_path\": \"%s\"}"), uds);
	cr_assert_eq(route("/snapshot/load", body), 0, "%s", err);
	action_free(&a);
}
