/* libFuzzer harness for API request handling end to end without a VM:
 * bytes -> http_parse (pipelined) -> api_route -> ctl_apply on a pre-boot
 * controller -> response JSON. Requests with host side effects are parsed
 * and routed but not applied: InstanceStart (would boot), PUT /logger and
 * PUT /metrics (would create files at fuzzer-chosen paths). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "vmm/controller.h"
#include "vmm/log.h"

static struct controller ctl;
static struct event_loop el;
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool side_effects(const struct http_request *req)
{
	return (req->body && strstr(req->body, "InstanceStart")) ||
	       !strcmp(req->path, "/logger") || !strcmp(req->path, "/metrics");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_opts opts = { .serial_out = -1, .serial_in = -1 };
	size_t off = 0;

	if (!ready) {
		log_set_path("/dev/null");
		el_init(&el);
		ready = 1;
	}
	ctl_init(&ctl, &el, &opts, "fuzz");
	while (off < size) {
		struct http_request req;
		struct api_response resp = { 0 };
		size_t used = 0;
		bool hdrs = false;
		int r = http_parse((const char *)data + off, size - off, 4096, &req, &used, &hdrs);

		if (r != HTTP_DONE)
			break;
		off += used;
		if (side_effects(&req)) {
			struct action a;
			char err[API_ERR_LEN];

			if (!api_route(&req, &ctl.cfg, &a, err, sizeof(err)))
				action_free(&a);
		} else {
			ctl_handle_request(&ctl, &req, &resp);
		}
		free(resp.body);
		http_request_free(&req);
	}
	ctl_destroy(&ctl);
	return 0;
}
