/* The controller: the one place that changes the VM. It owns the pre-boot
 * configuration and, after InstanceStart, the running VM, and applies
 * validated actions (from the API or the config file) only in the phases
 * where Firecracker allows them. */
#ifndef FEMTOVM_CONTROLLER_H
#define FEMTOVM_CONTROLLER_H

#include <stdbool.h>

#include "api/action.h"
#include "api/server.h"
#include "vmm/config.h"
#include "vmm/vm.h"

enum ctl_state { CTL_NOT_STARTED, CTL_RUNNING, CTL_PAUSED };

struct controller {
	struct event_loop *el;
	struct vm_config cfg;      /* pre-boot configuration, then what booted */
	struct vm *vm;             /* NULL until InstanceStart succeeds */
	enum ctl_state state;
	struct vm_opts opts;
	const char *id;
	char *metrics_path;
	int metrics_fd;
	uint64_t api_requests, api_errors;
	struct api_server *api;    /* for request counters, may be NULL */
};

void ctl_init(struct controller *c, struct event_loop *el, const struct vm_opts *opts,
	      const char *id);
void ctl_destroy(struct controller *c);

/* Apply @a. Returns an HTTP status (200/204 on success, 400 otherwise) and
 * sets *body to a malloc'd JSON body or NULL. */
int ctl_apply(struct controller *c, struct action *a, char **body);

/* Build and start the VM from c->cfg (InstanceStart). 0 or -errno with
 * @err describing why. */
int ctl_start(struct controller *c, char *err, size_t errlen);

/* API handler: route + apply. */
void ctl_handle_request(void *opaque, const struct http_request *req, struct api_response *resp);

/* The process exit code once the event loop has ended. */
int ctl_finish(struct controller *c);

#endif
