/* PUT/PATCH /machine-config: vCPUs, memory, SMT, dirty-page tracking
 * (pre-boot). PUT needs every required field; PATCH merges onto the
 * current values. Also the JSON for GET /machine-config. */
#include "api/routes.h"

int api_machine_config(const cJSON *body, bool patch, const struct vm_config *cur,
		       struct action *a, char *err, size_t errlen)
{
	a->kind = ACT_SET_MACHINE_CONFIG;
	if (patch) {
		a->u.machine = cur->machine;
	} else {
		/* PUT replaces the whole object: unset optional fields default. */
		a->u.machine = (struct machine_config){ 0 };
	}
	return config_parse_machine(body, "machine-config", &a->u.machine, patch, err, errlen)
		       ? 400 : 0;
}

static cJSON *machine_json(const struct machine_config *mc)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "vcpu_count", mc->vcpu_count);
	cJSON_AddNumberToObject(o, "mem_size_mib", mc->mem_size_mib);
	cJSON_AddBoolToObject(o, "smt", mc->smt);
	cJSON_AddBoolToObject(o, "track_dirty_pages", mc->track_dirty_pages);
	return o;
}

char *api_machine_config_json(const struct machine_config *mc)
{
	cJSON *o = machine_json(mc);
	char *s = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	return s;
}

static void add_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static cJSON *bucket_json(const struct token_bucket_cfg *b)
{
	cJSON *o;

	if (!b->size && !b->refill_time_ms)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "size", (double)b->size);
	cJSON_AddNumberToObject(o, "one_time_burst", (double)b->one_time_burst);
	cJSON_AddNumberToObject(o, "refill_time", (double)b->refill_time_ms);
	return o;
}

static cJSON *limiter_json(const struct rate_limiter_config *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "bandwidth", bucket_json(&r->bandwidth));
	cJSON_AddItemToObject(o, "ops", bucket_json(&r->ops));
	return o;
}

static cJSON *drive_json(const struct drive_config *d)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "drive_id", d->drive_id);
	cJSON_AddStringToObject(o, "path_on_host", d->path_on_host);
	cJSON_AddBoolToObject(o, "is_root_device", d->is_root_device);
	cJSON_AddBoolToObject(o, "is_read_only", d->is_read_only);
	add_str_or_null(o, "partuuid", d->partuuid);
	cJSON_AddStringToObject(o, "cache_type",
				d->cache_type == DRIVE_CACHE_UNSAFE ? "Unsafe" : "Writeback");
	cJSON_AddStringToObject(o, "io_engine", "Sync");
	cJSON_AddItemToObject(o, "rate_limiter", limiter_json(&d->rate_limiter));
	return o;
}

static cJSON *net_json(const struct net_config *n)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "iface_id", n->iface_id);
	cJSON_AddStringToObject(o, "host_dev_name", n->host_dev_name);
	add_str_or_null(o, "guest_mac", n->guest_mac);
	cJSON_AddItemToObject(o, "rx_rate_limiter", limiter_json(&n->rx_rate_limiter));
	cJSON_AddItemToObject(o, "tx_rate_limiter", limiter_json(&n->tx_rate_limiter));
	return o;
}

/* The same shape as the --config-file document. */
char *api_vm_config_json(const struct vm_config *cfg)
{
	cJSON *o = cJSON_CreateObject(), *bs = cJSON_CreateObject(), *drives, *nets;
	char *s;

	if (cfg->has_boot_source) {
		add_str_or_null(bs, "kernel_image_path", cfg->boot.kernel_image_path);
		add_str_or_null(bs, "initrd_path", cfg->boot.initrd_path);
		add_str_or_null(bs, "boot_args", cfg->boot.boot_args);
	}
	cJSON_AddItemToObject(o, "boot-source", bs);
	cJSON_AddItemToObject(o, "machine-config", machine_json(&cfg->machine));
	drives = cJSON_AddArrayToObject(o, "drives");
	for (unsigned i = 0; i < cfg->ndrives; i++)
		cJSON_AddItemToArray(drives, drive_json(&cfg->drives[i]));
	nets = cJSON_AddArrayToObject(o, "network-interfaces");
	for (unsigned i = 0; i < cfg->nnets; i++)
		cJSON_AddItemToArray(nets, net_json(&cfg->nets[i]));
	cJSON_AddItemToObject(o, "vsock", api_vsock_json(&cfg->vsock));
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}
