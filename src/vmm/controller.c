/* Action execution with Firecracker's phase rules: configuration before
 * InstanceStart, pause/resume/Ctrl+Alt+Del/drive updates after it. A
 * rejected action leaves everything exactly as it was. */
#include "vmm/controller.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/routes.h"
#include "snapshot/format.h"
#include "vmm/log.h"
#include "vmm/metrics.h"

#define ERR_AFTER_BOOT "The requested operation is not supported after starting the microVM."
#define ERR_BEFORE_BOOT "The requested operation is not supported before starting the microVM."

void ctl_init(struct controller *c, struct event_loop *el, const struct vm_opts *opts,
	      const char *id)
{
	memset(c, 0, sizeof(*c));
	c->el = el;
	c->opts = *opts;
	c->id = id ? id : "anonymous-instance";
	c->metrics_fd = -1;
	config_defaults(&c->cfg);
}

void ctl_destroy(struct controller *c)
{
	if (c->vm) {
		vm_shutdown(c->vm);
		vm_destroy(c->vm);
		free(c->vm);
		c->vm = NULL;
	}
	if (c->metrics_fd >= 0)
		close(c->metrics_fd);
	free(c->metrics_path);
	config_free(&c->cfg);
}

int ctl_start(struct controller *c, char *err, size_t errlen)
{
	int ret;

	if (!c->cfg.has_boot_source) {
		snprintf(err, errlen, "Cannot start microvm without kernel configuration.");
		return -EINVAL;
	}
	ret = config_check_files(&c->cfg, err, errlen);
	if (ret)
		return ret;
	c->vm = calloc(1, sizeof(*c->vm));
	if (!c->vm) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	log_clear_last_error();
	ret = vm_build_for_boot(c->vm, &c->cfg, &c->opts, c->el);
	if (!ret)
		ret = vm_start(c->vm);
	if (ret) {
		snprintf(err, errlen, "Cannot start microvm: %s",
			 log_last_error()[0] ? log_last_error() : strerror(-ret));
		vm_shutdown(c->vm);
		vm_destroy(c->vm);
		free(c->vm);
		c->vm = NULL;
		return ret;
	}
	c->state = CTL_RUNNING;
	return 0;
}

static int fault(char **body, const char *msg)
{
	*body = api_fault_json(msg);
	return 400;
}

/* PUT /snapshot/create: a paused VM's snapshot, Full or Diff. */
static int snapshot_create(struct controller *c, struct action *a, char **body)
{
	struct snapshot_create *sc = &a->u.snap_create;
	char err[API_ERR_LEN];
	char *json;
	int ret;

	if (c->state != CTL_PAUSED)
		return fault(body, "snapshot/create: the microVM must be paused first "
			     "(PATCH /vm {\"state\": \"Paused\"})");
	json = api_vm_config_json(&c->cfg);
	if (!json)
		return fault(body, "snapshot/create: out of memory");
	ret = vm_snapshot_create(c->vm, json, sc->snapshot_path, sc->mem_file_path, sc->diff,
				 err, sizeof(err));
	free(json);
	if (ret)
		return fault(body, err);
	log_info("%s snapshot written to %s (memory %s)", sc->diff ? "Diff" : "Full",
		 sc->snapshot_path, sc->mem_file_path);
	return 204;
}

/* The overrides of PUT /snapshot/load applied to the snapshot's devices:
 * each overridden interface and the vsock must exist in the snapshot, and
 * no two interfaces may end up on one tap. */
static int apply_overrides(struct vm_config *cfg, struct snapshot_load *l, char *err,
			   size_t errlen)
{
	for (unsigned i = 0; i < l->nnet_overrides; i++) {
		struct net_override *o = &l->net_overrides[i];
		unsigned j = 0;

		while (j < cfg->nnets && strcmp(cfg->nets[j].iface_id, o->iface_id))
			j++;
		if (j == cfg->nnets) {
			snprintf(err, errlen, "network_overrides: the snapshot has no network "
				 "interface \"%s\"", o->iface_id);
			return -EINVAL;
		}
		free(cfg->nets[j].host_dev_name);
		cfg->nets[j].host_dev_name = o->host_dev_name;
		o->host_dev_name = NULL;
	}
	for (unsigned i = 0; i < cfg->nnets; i++) {
		for (unsigned j = i + 1; j < cfg->nnets; j++) {
			if (!strcmp(cfg->nets[i].host_dev_name, cfg->nets[j].host_dev_name)) {
				snprintf(err, errlen, "network_overrides: interfaces \"%s\" and "
					 "\"%s\" would share tap %s", cfg->nets[i].iface_id,
					 cfg->nets[j].iface_id, cfg->nets[i].host_dev_name);
				return -EINVAL;
			}
		}
	}
	if (l->vsock_uds_path) {
		if (!cfg->vsock.present) {
			snprintf(err, errlen, "vsock_override: the snapshot has no vsock device");
			return -EINVAL;
		}
		free(cfg->vsock.uds_path);
		cfg->vsock.uds_path = l->vsock_uds_path;
		l->vsock_uds_path = NULL;
	}
	/* As Firecracker: the load decides, whatever the snapshotted VM did. */
	cfg->machine.track_dirty_pages = l->track_dirty_pages;
	return 0;
}

/* The VM configuration of the state file @r with the load's overrides, in
 * @cfg (the caller config_free()s it). The snapshot's own logger section,
 * if a hostile file has one, is dropped: the logger is this process's. */
static int snapshot_config(const struct snap_reader *r, struct snapshot_load *l,
			   struct vm_config *cfg, char *err, size_t errlen)
{
	const void *p;
	uint32_t n;
	int ret = snap_require_section(r, SNAP_SEC_CONFIG, 0, &p, &n, err, errlen);

	if (!ret)
		ret = vm_snapshot_parse_config(p, n, cfg, err, errlen);
	if (ret) {
		config_defaults(cfg); /* parse_config freed it */
		return ret;
	}
	free(cfg->logger.log_path);
	cfg->logger = (struct logger_config){ 0 };
	return apply_overrides(cfg, l, err, errlen);
}

/* PUT /snapshot/load: only in a fresh process with no devices configured
 * (they come from the snapshot). The state file is read and validated
 * whole, then a VM built from it; on any failure the VM is destroyed and
 * the configuration is as it was ("Not started"). */
static int snapshot_load(struct controller *c, struct action *a, char **body)
{
	struct snapshot_load *l = &a->u.snap_load;
	char err[API_ERR_LEN], msg[API_ERR_LEN + 64];
	struct vm_config cfg, old;
	struct snap_reader r;
	uint8_t *buf = NULL;
	size_t len;
	int ret;

	if (c->state != CTL_NOT_STARTED)
		return fault(body, "snapshot/load: only a microVM that was not started can load "
			     "a snapshot");
	if (c->cfg.ndrives || c->cfg.nnets || c->cfg.vsock.present)
		return fault(body, "snapshot/load: drives, network interfaces and vsock come "
			     "from the snapshot; configure none before loading (use "
			     "network_overrides and vsock_override to change their backends)");
	config_defaults(&cfg);
	ret = snap_read_file(l->snapshot_path, &buf, &len, err, sizeof(err));
	if (!ret)
		ret = snap_reader_open(buf, len, &r, err, sizeof(err));
	if (!ret)
		ret = snapshot_config(&r, l, &cfg, err, sizeof(err));
	if (ret)
		goto err_cfg;
	c->vm = calloc(1, sizeof(*c->vm));
	if (!c->vm) {
		snprintf(err, sizeof(err), "out of memory");
		ret = -ENOMEM;
		goto err_cfg;
	}
	/* The VM keeps a pointer to the controller's config: swap the
	 * snapshot's in (with this process's logger), swap back on failure. */
	cfg.logger = c->cfg.logger;
	old = c->cfg;
	c->cfg = cfg;
	log_clear_last_error();
	ret = vm_build_from_snapshot(c->vm, &c->cfg, &c->opts, c->el, &r, l->mem_path, err,
				     sizeof(err));
	if (!ret) {
		/* Paused: the vCPU threads park before their first KVM_RUN. */
		c->vm->paused = !l->resume_vm;
		ret = vm_start(c->vm);
		if (ret)
			snprintf(err, sizeof(err), "cannot start the vCPUs: %s", strerror(-ret));
	}
	if (ret) {
		vm_shutdown(c->vm);
		vm_destroy(c->vm);
		free(c->vm);
		c->vm = NULL;
		cfg = c->cfg;
		c->cfg = old;
		cfg.logger = (struct logger_config){ 0 }; /* c->cfg's again */
		goto err_cfg;
	}
	old.logger = (struct logger_config){ 0 }; /* now c->cfg's */
	config_free(&old);
	free(buf);
	c->state = l->resume_vm ? CTL_RUNNING : CTL_PAUSED;
	log_info("snapshot %s loaded (%s)", l->snapshot_path,
		 l->resume_vm ? "running" : "paused");
	return 204;
err_cfg:
	config_free(&cfg);
	free(buf);
	snprintf(msg, sizeof(msg), "cannot load snapshot %s: %s", l->snapshot_path, err);
	return fault(body, msg);
}

/* Configuration actions: only before boot. */
static int apply_config(struct controller *c, struct action *a, char **body)
{
	char err[API_ERR_LEN];
	int ret;

	if (c->state != CTL_NOT_STARTED)
		return fault(body, ERR_AFTER_BOOT);
	switch (a->kind) {
	case ACT_SET_BOOT_SOURCE:
		config_free_boot_source(&c->cfg.boot);
		c->cfg.boot = a->u.boot;
		c->cfg.has_boot_source = true;
		memset(&a->u.boot, 0, sizeof(a->u.boot));
		return 204;
	case ACT_SET_MACHINE_CONFIG:
		c->cfg.machine = a->u.machine;
		return 204;
	case ACT_PUT_DRIVE:
		/* PUT on an existing id replaces that drive. */
		for (unsigned i = 0; i < c->cfg.ndrives; i++) {
			if (!strcmp(c->cfg.drives[i].drive_id, a->u.drive.drive_id)) {
				struct drive_config old = c->cfg.drives[i];

				memmove(&c->cfg.drives[i], &c->cfg.drives[i + 1],
					(c->cfg.ndrives - i - 1) * sizeof(old));
				c->cfg.ndrives--;
				ret = config_add_drive(&c->cfg, &a->u.drive, err, sizeof(err));
				if (ret) { /* put the old one back as it was */
					config_add_drive(&c->cfg, &old, err, sizeof(err));
					return fault(body, err);
				}
				config_free_drive(&old);
				return 204;
			}
		}
		ret = config_add_drive(&c->cfg, &a->u.drive, err, sizeof(err));
		return ret ? fault(body, err) : 204;
	case ACT_PUT_NET:
		/* PUT on an existing id replaces that interface. */
		for (unsigned i = 0; i < c->cfg.nnets; i++) {
			if (strcmp(c->cfg.nets[i].iface_id, a->u.net.iface_id))
				continue;
			struct net_config old = c->cfg.nets[i];

			memmove(&c->cfg.nets[i], &c->cfg.nets[i + 1],
				(c->cfg.nnets - i - 1) * sizeof(old));
			c->cfg.nnets--;
			ret = config_add_net(&c->cfg, &a->u.net, err, sizeof(err));
			if (ret) {
				c->cfg.nets[c->cfg.nnets++] = old;
				return fault(body, err);
			}
			config_free_net(&old);
			return 204;
		}
		ret = config_add_net(&c->cfg, &a->u.net, err, sizeof(err));
		return ret ? fault(body, err) : 204;
	case ACT_SET_VSOCK:
		ret = config_set_vsock(&c->cfg, &a->u.vsock, err, sizeof(err));
		return ret ? fault(body, err) : 204;
	case ACT_SET_LOGGER:
		ret = log_set_path(a->u.logger.log_path);
		if (ret) {
			snprintf(err, sizeof(err), "logger.log_path: %s: %s", a->u.logger.log_path,
				 strerror(-ret));
			return fault(body, err);
		}
		log_set_level(a->u.logger.level);
		return 204;
	case ACT_SET_METRICS: {
		int fd = open(a->u.metrics_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

		if (fd < 0) {
			snprintf(err, sizeof(err), "metrics.metrics_path: %s: %s", a->u.metrics_path,
				 strerror(errno));
			return fault(body, err);
		}
		if (c->metrics_fd >= 0)
			close(c->metrics_fd);
		c->metrics_fd = fd;
		free(c->metrics_path);
		c->metrics_path = a->u.metrics_path;
		a->u.metrics_path = NULL;
		return 204;
	}
	default:
		return fault(body, "internal error: not a configuration action");
	}
}

static int patch_drive(struct controller *c, struct action *a, char **body)
{
	struct drive_patch *p = &a->u.drive_patch;
	char err[API_ERR_LEN];

	for (unsigned i = 0; i < c->cfg.ndrives; i++) {
		if (strcmp(c->cfg.drives[i].drive_id, p->drive_id))
			continue;
		if (vm_update_drive(c->vm, i, p->path_on_host,
				    p->has_rate_limiter ? &p->rate_limiter : NULL, err, sizeof(err)))
			return fault(body, err);
		if (p->path_on_host) {
			free(c->cfg.drives[i].path_on_host);
			c->cfg.drives[i].path_on_host = p->path_on_host;
			p->path_on_host = NULL;
		}
		if (p->has_rate_limiter)
			c->cfg.drives[i].rate_limiter = p->rate_limiter;
		return 204;
	}
	snprintf(err, sizeof(err), "drive \"%s\" does not exist", p->drive_id);
	return fault(body, err);
}

static int patch_net(struct controller *c, struct action *a, char **body)
{
	struct net_patch *p = &a->u.net_patch;
	char err[API_ERR_LEN];

	for (unsigned i = 0; i < c->cfg.nnets; i++) {
		if (strcmp(c->cfg.nets[i].iface_id, p->iface_id))
			continue;
		vm_update_net(c->vm, i, p->has_rx ? &p->rx : NULL, p->has_tx ? &p->tx : NULL);
		if (p->has_rx)
			c->cfg.nets[i].rx_rate_limiter = p->rx;
		if (p->has_tx)
			c->cfg.nets[i].tx_rate_limiter = p->tx;
		return 204;
	}
	snprintf(err, sizeof(err), "network interface \"%s\" does not exist", p->iface_id);
	return fault(body, err);
}

/* Actions on a running (or paused) VM. */
static int apply_runtime(struct controller *c, struct action *a, char **body)
{
	if (c->state == CTL_NOT_STARTED)
		return fault(body, ERR_BEFORE_BOOT);
	switch (a->kind) {
	case ACT_PAUSE:
		if (c->state == CTL_RUNNING)
			vm_pause(c->vm);
		c->state = CTL_PAUSED;
		log_info("VM paused");
		return 204;
	case ACT_RESUME:
		if (c->state == CTL_PAUSED)
			vm_resume(c->vm);
		c->state = CTL_RUNNING;
		log_info("VM resumed");
		return 204;
	case ACT_SEND_CTRL_ALT_DEL:
		if (i8042_send_ctrl_alt_del(&c->vm->i8042))
			return fault(body, "the i8042 output buffer is full; try again");
		return 204;
	case ACT_PATCH_DRIVE:
		return patch_drive(c, a, body);
	case ACT_PATCH_NET:
		return patch_net(c, a, body);
	default:
		return fault(body, "internal error: not a runtime action");
	}
}

static const char *const state_names[] = { "Not started", "Running", "Paused" };

static char *info_json(const struct controller *c)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(o, "id", c->id);
	cJSON_AddStringToObject(o, "state", state_names[c->state]);
	cJSON_AddStringToObject(o, "vmm_version", FEMTOVM_VERSION);
	cJSON_AddStringToObject(o, "app_name", "femtovm");
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

int ctl_apply(struct controller *c, struct action *a, char **body)
{
	char err[API_ERR_LEN];

	*body = NULL;
	switch (a->kind) {
	case ACT_GET_INFO:
		*body = info_json(c);
		return 200;
	case ACT_GET_VERSION:
		*body = strdup("{\"firecracker_version\":\"" FEMTOVM_VERSION "\"}");
		return 200;
	case ACT_GET_MACHINE_CONFIG:
		*body = api_machine_config_json(&c->cfg.machine);
		return 200;
	case ACT_GET_VM_CONFIG:
		*body = api_vm_config_json(&c->cfg);
		return 200;
	case ACT_INSTANCE_START:
		if (c->state != CTL_NOT_STARTED)
			return fault(body, ERR_AFTER_BOOT);
		if (ctl_start(c, err, sizeof(err)))
			return fault(body, err);
		return 204;
	case ACT_FLUSH_METRICS:
		if (c->metrics_fd < 0)
			return fault(body, "FlushMetrics: metrics are not configured (PUT /metrics)");
		if (metrics_flush(c, c->metrics_fd, err, sizeof(err)))
			return fault(body, err);
		return 204;
	case ACT_SNAPSHOT_CREATE:
		return snapshot_create(c, a, body);
	case ACT_SNAPSHOT_LOAD:
		return snapshot_load(c, a, body);
	case ACT_PAUSE:
	case ACT_RESUME:
	case ACT_SEND_CTRL_ALT_DEL:
	case ACT_PATCH_DRIVE:
	case ACT_PATCH_NET:
		return apply_runtime(c, a, body);
	default:
		return apply_config(c, a, body);
	}
}

void ctl_handle_request(void *opaque, const struct http_request *req, struct api_response *resp)
{
	struct controller *c = opaque;
	char err[API_ERR_LEN];
	struct action a;
	int st;

	c->api_requests++;
	st = api_route(req, &c->cfg, &a, err, sizeof(err));
	if (st) {
		resp->status = st;
		resp->body = api_fault_json(err);
	} else {
		resp->status = ctl_apply(c, &a, &resp->body);
		action_free(&a);
	}
	if (resp->status >= 400) {
		c->api_errors++;
		log_warn("API %s %s: %d %s", req->method, req->path, resp->status,
			 resp->body ? resp->body : "");
	}
}

int ctl_finish(struct controller *c)
{
	int code = VM_EXIT_OK;

	if (c->vm) {
		vm_shutdown(c->vm);
		code = c->vm->exit_code;
	}
	return code;
}
