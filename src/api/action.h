/* Validated actions: what an API request (or the config file) asks the
 * controller to do. Route handlers build them from HTTP requests without
 * touching the VM; the controller applies them, checking the VM's phase. */
#ifndef FEMTOVM_ACTION_H
#define FEMTOVM_ACTION_H

#include <stdbool.h>

#include "vmm/config.h"

enum action_kind {
	ACT_GET_INFO,            /* GET / */
	ACT_GET_VERSION,         /* GET /version */
	ACT_GET_MACHINE_CONFIG,  /* GET /machine-config */
	ACT_GET_VM_CONFIG,       /* GET /vm/config */
	ACT_SET_BOOT_SOURCE,     /* PUT /boot-source */
	ACT_SET_MACHINE_CONFIG,  /* PUT or PATCH /machine-config (merged) */
	ACT_PUT_DRIVE,           /* PUT /drives/{id} */
	ACT_PATCH_DRIVE,         /* PATCH /drives/{id} */
	ACT_PUT_NET,             /* PUT /network-interfaces/{id} */
	ACT_PATCH_NET,           /* PATCH /network-interfaces/{id} */
	ACT_SET_LOGGER,          /* PUT /logger */
	ACT_SET_METRICS,         /* PUT /metrics */
	ACT_SET_VSOCK,           /* PUT /vsock */
	ACT_INSTANCE_START,      /* PUT /actions InstanceStart */
	ACT_SEND_CTRL_ALT_DEL,   /* PUT /actions SendCtrlAltDel */
	ACT_FLUSH_METRICS,       /* PUT /actions FlushMetrics */
	ACT_PAUSE,               /* PATCH /vm Paused */
	ACT_RESUME,              /* PATCH /vm Resumed */
	ACT_SNAPSHOT_CREATE,     /* PUT /snapshot/create */
	ACT_SNAPSHOT_LOAD,       /* PUT /snapshot/load */
};

struct drive_patch {
	char *drive_id;
	char *path_on_host;              /* NULL: unchanged */
	bool has_rate_limiter;
	struct rate_limiter_config rate_limiter;
};

struct net_patch {
	char *iface_id;
	bool has_rx, has_tx;
	struct rate_limiter_config rx, tx;
};

struct snapshot_create {
	char *snapshot_path, *mem_file_path;
	bool diff;                       /* snapshot_type "Diff" */
};

/* One entry of PUT /snapshot/load's network_overrides. */
struct net_override {
	char *iface_id;
	char *host_dev_name;
};

struct snapshot_load {
	char *snapshot_path;
	char *mem_path;                  /* mem_backend.backend_path (File) */
	bool resume_vm;
	bool track_dirty_pages;          /* also its deprecated name enable_diff_snapshots */
	struct net_override net_overrides[CONFIG_MAX_NETS];
	unsigned nnet_overrides;
	char *vsock_uds_path;            /* vsock_override.uds_path, NULL: none */
};

struct action {
	enum action_kind kind;
	union {
		struct boot_source boot;
		struct machine_config machine;
		struct drive_config drive;
		struct drive_patch drive_patch;
		struct net_config net;
		struct net_patch net_patch;
		struct logger_config logger;
		char *metrics_path;
		struct vsock_config vsock;
		struct snapshot_create snap_create;
		struct snapshot_load snap_load;
	} u;
};

/* Free whatever strings the action owns. */
void action_free(struct action *a);

#endif
