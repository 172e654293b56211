/* Firecracker-shaped VM configuration: parsing and validation of the config
 * file. Each resource has a field table; the API reuses the same tables. */
#include "vmm/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/jsonv.h"
#include "vmm/util.h"

static const struct jv_field boot_source_fields[] = {
	{ .name = "kernel_image_path", .type = JV_STRING, .required = true,
	  .offset = offsetof(struct boot_source, kernel_image_path) },
	{ .name = "initrd_path", .type = JV_STRING_NULL,
	  .offset = offsetof(struct boot_source, initrd_path) },
	{ .name = "boot_args", .type = JV_STRING_NULL, .allow_empty = true,
	  .offset = offsetof(struct boot_source, boot_args) },
};

static const struct jv_field machine_fields[] = {
	{ .name = "vcpu_count", .type = JV_UINT, .required = true, .min = 1,
	  .max = CONFIG_MAX_VCPUS, .offset = offsetof(struct machine_config, vcpu_count) },
	{ .name = "mem_size_mib", .type = JV_UINT, .required = true, .min = 1,
	  .max = CONFIG_MAX_MEM_MIB, .offset = offsetof(struct machine_config, mem_size_mib) },
	{ .name = "smt", .type = JV_BOOL, .offset = offsetof(struct machine_config, smt) },
	{ .name = "track_dirty_pages", .type = JV_BOOL,
	  .offset = offsetof(struct machine_config, track_dirty_pages) },
};

static const char *const level_choices[] = { "Error", "Warning", "Info", "Debug", NULL };

static const struct jv_field logger_fields[] = {
	{ .name = "log_path", .type = JV_STRING, .required = true,
	  .offset = offsetof(struct logger_config, log_path) },
	{ .name = "level", .type = JV_ENUM, .choices = level_choices,
	  .offset = offsetof(struct logger_config, level) },
	{ .name = "show_level", .type = JV_BOOL, .offset = offsetof(struct logger_config, show_level) },
	{ .name = "show_log_origin", .type = JV_BOOL,
	  .offset = offsetof(struct logger_config, show_log_origin) },
};

#define BUCKET_FIELDS                                                               \
	{ .name = "size", .type = JV_U64, .required = true, .max = JV_MAX_SAFE_INT,  \
	  .offset = offsetof(struct token_bucket_cfg, size) },                        \
	{ .name = "one_time_burst", .type = JV_U64, .max = JV_MAX_SAFE_INT,          \
	  .offset = offsetof(struct token_bucket_cfg, one_time_burst) },              \
	{ .name = "refill_time", .type = JV_U64, .required = true, .max = JV_MAX_SAFE_INT, \
	  .offset = offsetof(struct token_bucket_cfg, refill_time_ms) }

static const struct jv_field bucket_fields[] = { BUCKET_FIELDS };

static const struct jv_field rate_limiter_fields[] = {
	{ .name = "bandwidth", .type = JV_OBJECT, .sub = bucket_fields,
	  .nsub = ARRAY_SIZE(bucket_fields),
	  .offset = offsetof(struct rate_limiter_config, bandwidth) },
	{ .name = "ops", .type = JV_OBJECT, .sub = bucket_fields, .nsub = ARRAY_SIZE(bucket_fields),
	  .offset = offsetof(struct rate_limiter_config, ops) },
};

static const char *const cache_choices[] = { "Writeback", "Unsafe", NULL };
static const char *const engine_choices[] = { "Sync", NULL };

static const struct jv_field drive_fields[] = {
	{ .name = "drive_id", .type = JV_STRING, .required = true,
	  .offset = offsetof(struct drive_config, drive_id) },
	{ .name = "path_on_host", .type = JV_STRING, .required = true,
	  .offset = offsetof(struct drive_config, path_on_host) },
	{ .name = "is_root_device", .type = JV_BOOL, .required = true,
	  .offset = offsetof(struct drive_config, is_root_device) },
	{ .name = "is_read_only", .type = JV_BOOL,
	  .offset = offsetof(struct drive_config, is_read_only) },
	{ .name = "partuuid", .type = JV_STRING_NULL,
	  .offset = offsetof(struct drive_config, partuuid) },
	{ .name = "cache_type", .type = JV_ENUM, .choices = cache_choices,
	  .offset = offsetof(struct drive_config, cache_type) },
	{ .name = "io_engine", .type = JV_ENUM, .choices = engine_choices,
	  .offset = offsetof(struct drive_config, io_engine) },
	{ .name = "rate_limiter", .type = JV_OBJECT, .sub = rate_limiter_fields,
	  .nsub = ARRAY_SIZE(rate_limiter_fields),
	  .offset = offsetof(struct drive_config, rate_limiter) },
};

static unsigned virtio_devices(const struct vm_config *cfg)
{
	return cfg->ndrives + cfg->nnets + (cfg->vsock.present ? 1 : 0);
}

/* Firecracker's id rule: 1-64 characters of [A-Za-z0-9_]. */
static bool valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONFIG_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

void config_free_drive(struct drive_config *d)
{
	free(d->drive_id);
	free(d->path_on_host);
	free(d->partuuid);
	memset(d, 0, sizeof(*d));
}

int config_parse_drive(const void *obj, const char *what, struct drive_config *d,
		       char *err, size_t errlen)
{
	int ret;

	memset(d, 0, sizeof(*d));
	ret = jv_parse_object(obj, what, drive_fields, ARRAY_SIZE(drive_fields), d, err, errlen);
	if (ret)
		return ret;
	if (!valid_id(d->drive_id)) {
		snprintf(err, errlen, "%s.drive_id: must be 1-%d characters of [A-Za-z0-9_]",
			 what, CONFIG_ID_MAX);
		return -EINVAL;
	}
	if (d->partuuid && !d->is_root_device) {
		snprintf(err, errlen, "%s.partuuid: only meaningful on the root device", what);
		return -EINVAL;
	}
	return 0;
}

int config_add_drive(struct vm_config *cfg, struct drive_config *d, char *err, size_t errlen)
{
	for (unsigned i = 0; i < cfg->ndrives; i++) {
		if (!strcmp(cfg->drives[i].drive_id, d->drive_id)) {
			snprintf(err, errlen, "drives: drive_id \"%s\" is used twice", d->drive_id);
			return -EINVAL;
		}
		if (d->is_root_device && cfg->drives[i].is_root_device) {
			snprintf(err, errlen, "drives: \"%s\" and \"%s\" are both root devices",
				 cfg->drives[i].drive_id, d->drive_id);
			return -EINVAL;
		}
	}
	if (cfg->ndrives == CONFIG_MAX_DRIVES || virtio_devices(cfg) == LAYOUT_VIRTIO_MAX) {
		snprintf(err, errlen, "drives: at most %d drives", CONFIG_MAX_DRIVES);
		return -EINVAL;
	}
	/* The root device becomes /dev/vda: keep it in slot 0. */
	if (d->is_root_device) {
		memmove(&cfg->drives[1], &cfg->drives[0], cfg->ndrives * sizeof(*d));
		cfg->drives[0] = *d;
	} else {
		cfg->drives[cfg->ndrives] = *d;
	}
	cfg->ndrives++;
	memset(d, 0, sizeof(*d));
	return 0;
}

static int parse_drives(const cJSON *arr, struct vm_config *cfg, char *err, size_t errlen)
{
	const cJSON *v;
	unsigned i = 0;

	if (cJSON_IsNull(arr))
		return 0; /* same as an empty list */
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "drives: must be an array");
		return -EINVAL;
	}
	cJSON_ArrayForEach(v, arr) {
		struct drive_config d;
		char what[32];
		int ret;

		snprintf(what, sizeof(what), "drives[%u]", i++);
		ret = config_parse_drive(v, what, &d, err, errlen);
		if (!ret)
			ret = config_add_drive(cfg, &d, err, errlen);
		if (ret) {
			config_free_drive(&d);
			return ret;
		}
	}
	return 0;
}

static const struct jv_field net_fields[] = {
	{ .name = "iface_id", .type = JV_STRING, .required = true,
	  .offset = offsetof(struct net_config, iface_id) },
	{ .name = "host_dev_name", .type = JV_STRING, .required = true,
	  .offset = offsetof(struct net_config, host_dev_name) },
	{ .name = "guest_mac", .type = JV_STRING_NULL,
	  .offset = offsetof(struct net_config, guest_mac) },
	{ .name = "rx_rate_limiter", .type = JV_OBJECT, .sub = rate_limiter_fields,
	  .nsub = ARRAY_SIZE(rate_limiter_fields),
	  .offset = offsetof(struct net_config, rx_rate_limiter) },
	{ .name = "tx_rate_limiter", .type = JV_OBJECT, .sub = rate_limiter_fields,
	  .nsub = ARRAY_SIZE(rate_limiter_fields),
	  .offset = offsetof(struct net_config, tx_rate_limiter) },
};

void config_free_net(struct net_config *n)
{
	free(n->iface_id);
	free(n->host_dev_name);
	free(n->guest_mac);
	memset(n, 0, sizeof(*n));
}

/* "aa:bb:cc:dd:ee:ff", hex digits either case. */
static bool valid_mac(const char *s)
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

int config_parse_net(const void *obj, const char *what, struct net_config *n,
		     char *err, size_t errlen)
{
	int ret;

	memset(n, 0, sizeof(*n));
	ret = jv_parse_object(obj, what, net_fields, ARRAY_SIZE(net_fields), n, err, errlen);
	if (ret)
		return ret;
	if (!valid_id(n->iface_id)) {
		snprintf(err, errlen, "%s.iface_id: must be 1-%d characters of [A-Za-z0-9_]",
			 what, CONFIG_ID_MAX);
		return -EINVAL;
	}
	ret = config_check_host_dev_name(n->host_dev_name, what, err, errlen);
	if (ret)
		return ret;
	if (n->guest_mac && !valid_mac(n->guest_mac)) {
		snprintf(err, errlen, "%s.guest_mac: must look like 06:00:ac:10:00:02", what);
		return -EINVAL;
	}
	return 0;
}

int config_check_host_dev_name(const char *name, const char *what, char *err, size_t errlen)
{
	if (strlen(name) >= 16 || strchr(name, '/')) {
		snprintf(err, errlen, "%s.host_dev_name: must be an interface name of at most "
			 "15 characters", what);
		return -EINVAL;
	}
	return 0;
}

int config_add_net(struct vm_config *cfg, struct net_config *n, char *err, size_t errlen)
{
	for (unsigned i = 0; i < cfg->nnets; i++) {
		const struct net_config *o = &cfg->nets[i];

		if (!strcmp(o->iface_id, n->iface_id) ||
		    !strcmp(o->host_dev_name, n->host_dev_name) ||
		    (o->guest_mac && n->guest_mac && !strcasecmp(o->guest_mac, n->guest_mac))) {
			snprintf(err, errlen, "network-interfaces: \"%s\" and \"%s\" share an id, "
				 "a host device or a MAC address", o->iface_id, n->iface_id);
			return -EINVAL;
		}
	}
	if (cfg->nnets == CONFIG_MAX_NETS || virtio_devices(cfg) == LAYOUT_VIRTIO_MAX) {
		snprintf(err, errlen, "network-interfaces: at most %d interfaces and %d virtio "
			 "devices in all", CONFIG_MAX_NETS, LAYOUT_VIRTIO_MAX);
		return -EINVAL;
	}
	cfg->nets[cfg->nnets++] = *n;
	memset(n, 0, sizeof(*n));
	return 0;
}

static int parse_nets(const cJSON *arr, struct vm_config *cfg, char *err, size_t errlen)
{
	const cJSON *v;
	unsigned i = 0;

	if (cJSON_IsNull(arr))
		return 0; /* same as an empty list */
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "network-interfaces: must be an array");
		return -EINVAL;
	}
	cJSON_ArrayForEach(v, arr) {
		struct net_config n;
		char what[40];
		int ret;

		snprintf(what, sizeof(what), "network-interfaces[%u]", i++);
		ret = config_parse_net(v, what, &n, err, errlen);
		if (!ret)
			ret = config_add_net(cfg, &n, err, errlen);
		if (ret) {
			config_free_net(&n);
			return ret;
		}
	}
	return 0;
}

static const struct jv_field vsock_fields[] = {
	{ .name = "vsock_id", .type = JV_STRING_NULL,
	  .offset = offsetof(struct vsock_config, vsock_id) },
	{ .name = "guest_cid", .type = JV_U64, .required = true, .min = 3, .max = UINT32_MAX,
	  .offset = offsetof(struct vsock_config, guest_cid) },
	{ .name = "uds_path", .type = JV_STRING, .required = true,
	  .offset = offsetof(struct vsock_config, uds_path) },
};

void config_free_vsock(struct vsock_config *v)
{
	free(v->vsock_id);
	free(v->uds_path);
	memset(v, 0, sizeof(*v));
}

int config_parse_vsock(const void *obj, const char *what, struct vsock_config *v,
		       char *err, size_t errlen)
{
	int ret;

	memset(v, 0, sizeof(*v));
	ret = jv_parse_object(obj, what, vsock_fields, ARRAY_SIZE(vsock_fields), v, err, errlen);
	if (ret)
		return ret;
	if (strlen(v->uds_path) > CONFIG_VSOCK_PATH_MAX) {
		snprintf(err, errlen, "%s.uds_path: at most %d characters (a Unix socket path "
			 "plus \"_<port>\")", what, CONFIG_VSOCK_PATH_MAX);
		return -EINVAL;
	}
	v->present = true;
	return 0;
}

int config_set_vsock(struct vm_config *cfg, struct vsock_config *v, char *err, size_t errlen)
{
	if (!cfg->vsock.present && virtio_devices(cfg) == LAYOUT_VIRTIO_MAX) {
		snprintf(err, errlen, "vsock: no virtio slot left (%d devices in all)",
			 LAYOUT_VIRTIO_MAX);
		return -EINVAL;
	}
	config_free_vsock(&cfg->vsock);
	cfg->vsock = *v;
	memset(v, 0, sizeof(*v));
	return 0;
}

static int parse_vsock(const cJSON *obj, struct vm_config *cfg, char *err, size_t errlen)
{
	struct vsock_config v;
	int ret;

	if (cJSON_IsNull(obj))
		return 0;
	ret = config_parse_vsock(obj, "vsock", &v, err, errlen);
	if (!ret)
		ret = config_set_vsock(cfg, &v, err, errlen);
	config_free_vsock(&v);
	return ret;
}

/* Device sections whose devices this build does not provide: accepted only
 * when empty, so a config that asks for them fails loudly. */
static const struct {
	const char *key;
	const char *what;
} absent_devices[] = {
	{ "metrics", "metrics output" },
	{ "balloon", "a balloon device" },
	{ "mmds-config", "MMDS" },
	{ "entropy", "an entropy device" },
	{ "cpu-config", "custom CPU templates" },
};

void config_defaults(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->machine.vcpu_count = 1;
	cfg->machine.mem_size_mib = 128;
	cfg->logger.level = LOG_INFO;
}

int config_parse_boot_source(const void *obj, const char *what, struct boot_source *bs,
			     char *err, size_t errlen)
{
	memset(bs, 0, sizeof(*bs));
	return jv_parse_object(obj, what, boot_source_fields, ARRAY_SIZE(boot_source_fields), bs,
			       err, errlen);
}

void config_free_boot_source(struct boot_source *bs)
{
	free(bs->kernel_image_path);
	free(bs->initrd_path);
	free(bs->boot_args);
	memset(bs, 0, sizeof(*bs));
}

int config_parse_machine(const void *obj, const char *what, struct machine_config *mc,
			 bool partial, char *err, size_t errlen)
{
	int ret = jv_parse_object_opt(obj, what, machine_fields, ARRAY_SIZE(machine_fields), mc,
				      partial, err, errlen);

	if (!ret && mc->smt && mc->vcpu_count > 1 && mc->vcpu_count % 2) {
		/* Two threads per core: an odd count cannot be laid out. */
		snprintf(err, errlen, "%s.vcpu_count: must be 1 or even when smt is true", what);
		ret = -EINVAL;
	}
	return ret;
}

int config_parse_logger(const void *obj, const char *what, struct logger_config *lg,
			char *err, size_t errlen)
{
	memset(lg, 0, sizeof(*lg));
	lg->level = LOG_INFO;
	lg->set = true;
	return jv_parse_object(obj, what, logger_fields, ARRAY_SIZE(logger_fields), lg, err, errlen);
}

int config_parse_rate_limiter(const void *obj, const char *what, struct rate_limiter_config *rl,
			      char *err, size_t errlen)
{
	memset(rl, 0, sizeof(*rl));
	return jv_parse_object(obj, what, rate_limiter_fields, ARRAY_SIZE(rate_limiter_fields), rl,
			       err, errlen);
}

static int is_empty_section(const cJSON *v)
{
	return cJSON_IsNull(v) || (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 0);
}

static int parse_section(const cJSON *item, struct vm_config *cfg, char *err, size_t errlen)
{
	const char *k = item->string;

	if (!strcmp(k, "boot-source")) {
		cfg->has_boot_source = true;
		return config_parse_boot_source(item, k, &cfg->boot, err, errlen);
	}
	if (!strcmp(k, "machine-config"))
		return config_parse_machine(item, k, &cfg->machine, false, err, errlen);
	if (!strcmp(k, "drives"))
		return parse_drives(item, cfg, err, errlen);
	if (!strcmp(k, "network-interfaces"))
		return parse_nets(item, cfg, err, errlen);
	if (!strcmp(k, "vsock"))
		return parse_vsock(item, cfg, err, errlen);
	if (!strcmp(k, "logger"))
		return config_parse_logger(item, k, &cfg->logger, err, errlen);
	for (unsigned i = 0; i < ARRAY_SIZE(absent_devices); i++) {
		if (strcmp(k, absent_devices[i].key))
			continue;
		if (is_empty_section(item))
			return 0;
		snprintf(err, errlen, "%s: this femtovm build does not provide %s", k,
			 absent_devices[i].what);
		return -EINVAL;
	}
	snprintf(err, errlen, "unknown top-level field \"%s\"", k);
	return -EINVAL;
}

int config_parse(const char *json, size_t len, struct vm_config *cfg, char *err, size_t errlen)
{
	const char *end = NULL;
	cJSON *root, *item;
	int ret = 0;

	config_defaults(cfg);
	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (root && end) {
		/* Only whitespace may follow the document. */
		const char *p = end;

		while (p < json + len && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
		if (p < json + len && *p) {
			snprintf(err, errlen, "unexpected text after the JSON document at byte %zu",
				 (size_t)(p - json));
			cJSON_Delete(root);
			return -EINVAL;
		}
	}
	if (!root) {
		snprintf(err, errlen, "invalid JSON near byte %zu",
			 end ? (size_t)(end - json) : (size_t)0);
		return -EINVAL;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "the configuration must be a JSON object");
		ret = -EINVAL;
		goto out;
	}
	cJSON_ArrayForEach(item, root) {
		for (cJSON *w = item->next; w; w = w->next) {
			if (!strcmp(w->string, item->string)) {
				snprintf(err, errlen, "%s: given more than once", item->string);
				ret = -EINVAL;
				goto out;
			}
		}
		ret = parse_section(item, cfg, err, errlen);
		if (ret)
			goto out;
	}
	if (!cfg->has_boot_source) {
		snprintf(err, errlen, "boot-source: missing (kernel_image_path is required)");
		ret = -EINVAL;
	}
out:
	cJSON_Delete(root);
	return ret;
}

int config_load_file(const char *path, struct vm_config *cfg, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd, ret;

	config_defaults(cfg);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_FILE) {
		snprintf(err, errlen, "config file %s: not a regular file of at most %u bytes",
			 path, CONFIG_MAX_FILE);
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		snprintf(err, errlen, "config file %s: short read", path);
		free(buf);
		return -EIO;
	}
	ret = config_parse(buf, (size_t)n, cfg, err, errlen);
	free(buf);
	return ret;
}

static int check_readable(const char *field, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s: %s", field, path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s is not a regular file", field, path);
		return -EINVAL;
	}
	if (access(path, R_OK) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s: %s", field, path, strerror(e));
		return -e;
	}
	return 0;
}

int config_check_files(const struct vm_config *cfg, char *err, size_t errlen)
{
	int ret = check_readable("boot-source.kernel_image_path", cfg->boot.kernel_image_path,
				 err, errlen);

	if (!ret && cfg->boot.initrd_path)
		ret = check_readable("boot-source.initrd_path", cfg->boot.initrd_path, err, errlen);
	for (unsigned i = 0; !ret && i < cfg->ndrives; i++) {
		const struct drive_config *d = &cfg->drives[i];
		char what[96];
		struct stat st;

		snprintf(what, sizeof(what), "drives[%s].path_on_host", d->drive_id);
		ret = check_readable(what, d->path_on_host, err, errlen);
		if (!ret && stat(d->path_on_host, &st) == 0 &&
		    (st.st_size == 0 || st.st_size % 512)) {
			snprintf(err, errlen, "%s: %s is %lld bytes; a drive must be a non-zero "
				 "multiple of 512 bytes", what, d->path_on_host, (long long)st.st_size);
			ret = -EINVAL;
		}
	}
	return ret;
}

void config_free(struct vm_config *cfg)
{
	config_free_boot_source(&cfg->boot);
	free(cfg->logger.log_path);
	for (unsigned i = 0; i < cfg->ndrives; i++)
		config_free_drive(&cfg->drives[i]);
	cfg->ndrives = 0;
	for (unsigned i = 0; i < cfg->nnets; i++)
		config_free_net(&cfg->nets[i]);
	cfg->nnets = 0;
	config_free_vsock(&cfg->vsock);
	cfg->logger.log_path = NULL;
}
