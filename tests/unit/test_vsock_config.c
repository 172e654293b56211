/* Unit tests for the vsock configuration: the config file's "vsock"
 * object (guest_cid 3..2^32-1, uds_path required and bounded, vsock_id
 * optional), PUT /vsock routing and GET /vm/config output. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "vmm/config.h"

#define KERNEL "\"boot-source\": {\"kernel_image_path\": \"/k\"}"

static struct vm_config cfg;
static char err[CONFIG_ERR_LEN];

static int parse(const char *vsock)
{
	char json[512];

	snprintf(json, sizeof(json), "{" KERNEL ", \"vsock\": %s}", vsock);
	err[0] = 0;
	return config_parse(json, strlen(json), &cfg, err, sizeof(err));
}

Test(vsock_config, accepted)
{
	cr_assert_eq(parse("{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}"), 0, "%s", err);
	cr_assert(cfg.vsock.present);
	cr_assert_eq(cfg.vsock.guest_cid, 3);
	cr_assert_str_eq(cfg.vsock.uds_path, "/tmp/v.sock");
	cr_assert_null(cfg.vsock.vsock_id);
	config_free(&cfg);
	cr_assert_eq(parse("{\"vsock_id\": \"vsock0\", \"guest_cid\": 4294967295, "
			   "\"uds_path\": \"v\"}"), 0, "%s", err);
	cr_assert_eq(cfg.vsock.guest_cid, 4294967295u);
	cr_assert_str_eq(cfg.vsock.vsock_id, "vsock0");
	config_free(&cfg);
	cr_assert_eq(parse("null"), 0);
	cr_assert_not(cfg.vsock.present);
	config_free(&cfg);
}

Test(vsock_config, rejected)
{
	static const struct { const char *json, *msg; } bad[] = {
		{ "{\"guest_cid\": 2, \"uds_path\": \"/v\"}", "vsock.guest_cid" },
		{ "{\"guest_cid\": 0, \"uds_path\": \"/v\"}", "vsock.guest_cid" },
		{ "{\"guest_cid\": 4294967296, \"uds_path\": \"/v\"}", "vsock.guest_cid" },
		{ "{\"guest_cid\": 3.5, \"uds_path\": \"/v\"}", "vsock.guest_cid" },
		{ "{\"guest_cid\": \"3\", \"uds_path\": \"/v\"}", "vsock.guest_cid" },
		{ "{\"uds_path\": \"/v\"}", "vsock.guest_cid" },
		{ "{\"guest_cid\": 3}", "vsock.uds_path" },
		{ "{\"guest_cid\": 3, \"uds_path\": \"\"}", "vsock.uds_path" },
		{ "{\"guest_cid\": 3, \"uds_path\": 5}", "vsock.uds_path" },
		{ "{\"guest_cid\": 3, \"uds_path\": \"/v\", \"x\": 1}", "x" },
		{ "[]", "vsock" },
		{ "5", "vsock" },
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(bad[i].json), -EINVAL, "%s accepted", bad[i].json);
		cr_assert_not_null(strstr(err, bad[i].msg), "%s: '%s'", bad[i].json, err);
		config_free(&cfg);
	}
	/* a path that leaves no room for "_<port>" in sun_path */
	char json[256], path[CONFIG_VSOCK_PATH_MAX + 2];
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = 0;
	snprintf(json, sizeof(json), "{\"guest_cid\": 3, \"uds_path\": \"%s\"}", path);
	cr_assert_eq(parse(json), -EINVAL);
	cr_assert_not_null(strstr(err, "uds_path"), "%s", err);
	config_free(&cfg);
	path[sizeof(path) - 2] = 0; /* exactly the maximum */
	snprintf(json, sizeof(json), "{\"guest_cid\": 3, \"uds_path\": \"%s\"}", path);
	cr_assert_eq(parse(json), 0, "%s", err);
	config_free(&cfg);
}

Test(vsock_config, api_put_and_vm_config)
{
	static const char body[] = "{\"vsock_id\": \"v\", \"guest_cid\": 9, \"uds_path\": \"/u\"}";
	struct http_request req = { 0 };
	struct action a;
	char *s;

	config_defaults(&cfg);
	snprintf(req.method, sizeof(req.method), "PUT");
	snprintf(req.path, sizeof(req.path), "/vsock");
	req.body = (char *)body;
	req.body_len = strlen(body);
	cr_assert_eq(api_route(&req, &cfg, &a, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(a.kind, ACT_SET_VSOCK);
	cr_assert_eq(config_set_vsock(&cfg, &a.u.vsock, err, sizeof(err)), 0);
	action_free(&a);
	s = api_vm_config_json(&cfg);
	cr_assert_not_null(strstr(s, "\"vsock\":{\"vsock_id\":\"v\",\"guest_cid\":9,"
				     "\"uds_path\":\"/u\"}"), "%s", s);
	free(s);
	/* PATCH is not a route for vsock */
	snprintf(req.method, sizeof(req.method), "PATCH");
	cr_assert_eq(api_route(&req, &cfg, &a, err, sizeof(err)), 400);
	config_free(&cfg);
	s = api_vm_config_json(&cfg);
	cr_assert_not_null(strstr(s, "\"vsock\":null"), "%s", s);
	free(s);
}
