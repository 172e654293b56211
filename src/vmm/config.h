/* VM configuration in Firecracker's JSON shape (the --config-file format and
 * the body of GET /vm/config). Parsing validates every field and names the
 * offending one in the error; nothing is applied until all of it is valid. */
#ifndef FEMTOVM_CONFIG_H
#define FEMTOVM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/rate_limiter.h"

#define CONFIG_MAX_VCPUS 32
#define CONFIG_MAX_MEM_MIB (1024u * 1024u) /* 1 TiB */
#define CONFIG_MAX_FILE (1u << 20)          /* config files above 1 MiB are refused */
#define CONFIG_ERR_LEN 256

struct boot_source {
	char *kernel_image_path;
	char *initrd_path;  /* NULL: none */
	char *boot_args;    /* NULL: not given, femtovm's defaults apply */
};

struct machine_config {
	unsigned vcpu_count;
	unsigned mem_size_mib;
	bool smt;
	bool track_dirty_pages;
};

#define CONFIG_ID_MAX 64
#define CONFIG_MAX_DRIVES LAYOUT_VIRTIO_MAX

struct rate_limiter_config {
	struct token_bucket_cfg bandwidth, ops;
};

enum drive_cache { DRIVE_CACHE_WRITEBACK, DRIVE_CACHE_UNSAFE };

struct drive_config {
	char *drive_id;
	char *path_on_host;
	char *partuuid;          /* NULL: root=/dev/vda */
	bool is_root_device;
	bool is_read_only;
	unsigned cache_type;     /* enum drive_cache */
	unsigned io_engine;      /* only "Sync" (0) */
	struct rate_limiter_config rate_limiter;
};

#define CONFIG_MAX_NETS 8

struct net_config {
	char *iface_id;
	char *host_dev_name;
	char *guest_mac;         /* NULL: the guest chooses */
	struct rate_limiter_config rx_rate_limiter, tx_rate_limiter;
};

/* The vsock device (Firecracker's "vsock" object). */
#define CONFIG_VSOCK_PATH_MAX 96 /* + "_<port>" must fit sockaddr_un.sun_path */
struct vsock_config {
	bool present;
	char *vsock_id;          /* optional; accepted and ignored, as Firecracker */
	uint64_t guest_cid;      /* 3 .. UINT32_MAX */
	char *uds_path;
};

struct logger_config {
	bool set;
	char *log_path;
	enum log_level level;
	bool show_level, show_log_origin;
};

struct vm_config {
	bool has_boot_source;
	struct boot_source boot;
	struct machine_config machine;
	struct logger_config logger;
	struct drive_config drives[CONFIG_MAX_DRIVES];
	unsigned ndrives;        /* the root device, if any, is drives[0] */
	struct net_config nets[CONFIG_MAX_NETS];
	unsigned nnets;
	struct vsock_config vsock;
};

/* Defaults: 1 vCPU, 128 MiB, smt off, no dirty tracking. */
void config_defaults(struct vm_config *cfg);

/* Parse a whole config document. 0, or -EINVAL with @err naming the field. */
int config_parse(const char *json, size_t len, struct vm_config *cfg, char *err, size_t errlen);

/* Read and parse @path (at most CONFIG_MAX_FILE bytes). */
int config_load_file(const char *path, struct vm_config *cfg, char *err, size_t errlen);

/* Resource parsers shared by the config file and the API (@obj is a
 * cJSON object; @what names it in errors). 0 or -EINVAL with @err. */
int config_parse_boot_source(const void *obj, const char *what, struct boot_source *bs,
			     char *err, size_t errlen);
/* @mc holds the current values; with @partial (PATCH) absent fields keep them. */
int config_parse_machine(const void *obj, const char *what, struct machine_config *mc,
			 bool partial, char *err, size_t errlen);
int config_parse_logger(const void *obj, const char *what, struct logger_config *lg,
			char *err, size_t errlen);
int config_parse_rate_limiter(const void *obj, const char *what, struct rate_limiter_config *rl,
			      char *err, size_t errlen);
void config_free_boot_source(struct boot_source *bs);

/* Parse one Firecracker drive object (PUT /drives body, one config-file
 * "drives" entry) into @d. 0 or -EINVAL with @err naming the field. */
int config_parse_drive(const void *json_obj, const char *what, struct drive_config *d,
		       char *err, size_t errlen);
/* Add @d to @cfg (takes ownership of its strings on success): unique id, at
 * most one root device (kept first), at most CONFIG_MAX_DRIVES. */
int config_add_drive(struct vm_config *cfg, struct drive_config *d, char *err, size_t errlen);
void config_free_drive(struct drive_config *d);

/* Parse one network-interfaces entry (PUT /network-interfaces body). */
int config_parse_net(const void *json_obj, const char *what, struct net_config *n,
		     char *err, size_t errlen);
/* Add @n (ownership moves): unique iface_id, host_dev_name and guest_mac,
 * at most CONFIG_MAX_NETS, and the total of virtio devices bounded. */
int config_add_net(struct vm_config *cfg, struct net_config *n, char *err, size_t errlen);
/* A tap name: 1-15 bytes, no '/' ("@what.host_dev_name: ..." in @err). */
int config_check_host_dev_name(const char *name, const char *what, char *err, size_t errlen);
void config_free_net(struct net_config *n);

/* Parse a vsock object (PUT /vsock body, the config file's "vsock") into
 * @v (present set). 0 or -EINVAL with @err naming the field. */
int config_parse_vsock(const void *json_obj, const char *what, struct vsock_config *v,
		       char *err, size_t errlen);
/* Install @v (ownership moves), replacing any earlier one; fails when the
 * virtio slots are all taken. */
int config_set_vsock(struct vm_config *cfg, struct vsock_config *v, char *err, size_t errlen);
void config_free_vsock(struct vsock_config *v);

/* Checks that need the host: the kernel and initrd exist and are readable
 * regular files. 0 or -errno with @err naming the field. */
int config_check_files(const struct vm_config *cfg, char *err, size_t errlen);

void config_free(struct vm_config *cfg);

#endif
