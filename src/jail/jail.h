/* femtovm-jailer: the steps that turn a root process into a jailed,
 * unprivileged femtovm (DESIGN.md §8, Firecracker docs/jailer.md). One file
 * per step; each step returns 0 or -errno and prints one line
 * "femtovm-jailer: <step>: <reason>" where the failure is known. */
#ifndef FEMTOVM_JAIL_H
#define FEMTOVM_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define JAIL_ID_MAX 64
#define JAIL_MAX_CGROUPS 32
#define JAIL_MAX_RLIMITS 8
#define JAIL_CG_KEY_MAX 96
#define JAIL_CG_VALUE_MAX 256
#define JAIL_PATH_MAX 1024
#define JAIL_DEFAULT_BASE "/srv/jailer"
#define JAIL_DEFAULT_NOFILE 2048 /* Firecracker's default when none is given */

/* Process exit codes (also in --help). */
enum { JAIL_EXIT_SETUP = 1, JAIL_EXIT_USAGE = 2 };

/* One --cgroup <controller>.<file>=<value>. */
struct jail_cgroup_arg {
	char key[JAIL_CG_KEY_MAX];        /* "<controller>.<file>" */
	char controller[JAIL_CG_KEY_MAX]; /* the part before the first '.' */
	char value[JAIL_CG_VALUE_MAX];
};

/* One --resource-limit <name>=<value>. */
struct jail_rlimit_arg {
	int resource; /* RLIMIT_* */
	unsigned long long value;
};

/* The validated command line. Strings point into argv except exec_name. */
struct jail_args {
	const char *id, *exec_file, *chroot_base, *netns, *parent_cgroup;
	char exec_name[256]; /* last component of exec_file */
	uid_t uid;
	gid_t gid;
	int cgroup_version; /* 1, 2, or 0 = detect from /proc/mounts */
	struct jail_cgroup_arg cgroups[JAIL_MAX_CGROUPS];
	unsigned n_cgroups;
	struct jail_rlimit_arg rlimits[JAIL_MAX_RLIMITS];
	unsigned n_rlimits;
	bool daemonize, new_pid_ns;
	char **extra_argv; /* the arguments after "--" for femtovm */
	int extra_argc;
};

/* jail_util.c */
/* Prints "femtovm-jailer: <step>: <message>\n" to stderr; returns -err
 * (err is a positive errno) so callers can `return jail_err(...)`. */
int jail_err(int err, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Writes the whole string to dirfd/name (O_WRONLY, plus O_CREAT|O_TRUNC when
 * create is true). 0 or -errno. */
int jail_write_file(int dirfd, const char *name, const char *s, bool create);
/* Reads up to len-1 bytes of dirfd/name into buf, NUL-terminated. */
int jail_read_file(int dirfd, const char *name, char *buf, size_t len);
/* mkdir -p for a relative path below dirfd without following symlinks;
 * returns an O_DIRECTORY fd of the last component or -errno. */
int jail_mkdir_at(int dirfd, const char *rel, mode_t mode);

/* jail_args.c */
/* Parses and validates argv (every check of the Behaviour list, including
 * that exec_file is a regular executable and netns exists). Returns 0 to
 * go on, 1 when --help/--version was printed, -EINVAL after printing the
 * reason. Resets getopt state so it may be called repeatedly. */
int jail_args_parse(int argc, char **argv, struct jail_args *a);
/* The individual checks, for tests and reuse: 0 or -EINVAL (no output). */
int jail_valid_id(const char *id);
int jail_parse_id_number(const char *s, unsigned *out);
int jail_parse_cgroup(const char *arg, struct jail_cgroup_arg *out);
int jail_valid_parent_cgroup(const char *p);
extern const char jail_usage_text[];

/* jail_rlimit.c */
/* Parses "fsize=N" / "no-file=N". 0 or -EINVAL. */
int jail_parse_rlimit(const char *arg, struct jail_rlimit_arg *out);
/* Applies every limit (soft = hard = value); no-file defaults to 2048. */
int jail_rlimits_apply(const struct jail_args *a);

/* jail_sanitize.c: close every fd above 2 and empty the environment. */
int jail_sanitize(void);

/* jail_chroot.c */
/* "<base>/<exec_name>/<id>/root" (a trailing '/' of base is dropped). */
int jail_chroot_path(const char *base, const char *exec_name, const char *id,
		     char *buf, size_t len);
/* Creates the jail root (0700, owned by uid:gid; the directories above it
 * root-owned 0755) and copies exec_file to <root>/<exec_name> (root-owned,
 * 0755, a real copy). Writes the root path to root/len. */
int jail_chroot_create(const struct jail_args *a, char *root, size_t len);

/* jail_netns.c: setns(CLONE_NEWNET) into a->netns when given. */
int jail_netns_join(const struct jail_args *a);

/* jail_cgroup_mounts.c: which cgroup hierarchies are mounted where. */
#define JAIL_CG_MAX_MOUNTS 32
#define JAIL_CG_PATH_MAX 512
struct jail_cg_mount {
	char path[JAIL_CG_PATH_MAX];
	char opts[256];
	int version; /* 1 = "cgroup", 2 = "cgroup2" */
};
struct jail_cg_mounts {
	struct jail_cg_mount m[JAIL_CG_MAX_MOUNTS];
	unsigned n;
};
/* Parses /proc/mounts-format text, keeping cgroup and cgroup2 lines. */
int jail_cg_parse_mounts(const char *text, struct jail_cg_mounts *out);
int jail_cg_read_mounts(const char *proc_mounts, struct jail_cg_mounts *out);
/* Mount point of the v1 hierarchy carrying controller, or NULL. */
const char *jail_cg_v1_mount(const struct jail_cg_mounts *m, const char *controller);
/* Mount point of the (first) cgroup2 hierarchy, or NULL. */
const char *jail_cg_v2_mount(const struct jail_cg_mounts *m);
/* Version to use when --cgroup-version is not given: 1 when every
 * controller named in --cgroup has a v1 hierarchy, else 2 when cgroup2 is
 * mounted; -ENOENT when neither. */
int jail_cg_detect(const struct jail_cg_mounts *m, const struct jail_args *a);
/* "<mount>/<parent>/<id>" (parent defaults to the exec name). */
int jail_cg_dir(const char *mount, const char *parent, const char *id,
		char *buf, size_t len);

/* jail_cgroup.c */
#define JAIL_CG_FAKE_FS 1u /* tests: create control files a cgroupfs would provide */
/* Creates the cgroup(s) for a, writes every --cgroup value, then moves pid
 * in (cgroup.procs). version is 1 or 2. v2 first enables the needed
 * controllers in cgroup.subtree_control from the mount root down to the
 * parent. Nothing to do without --cgroup. */
int jail_cg_setup(const struct jail_cg_mounts *m, const struct jail_args *a,
		  int version, pid_t pid, unsigned flags);

/* jail_dev.c: device nodes inside the jail. */
struct jail_dev {
	const char *path; /* inside the jail */
	const char *host; /* where to read major/minor from */
	unsigned major, minor; /* filled by jail_dev_probe (fallback: fixed) */
};
#define JAIL_NDEVS 3
/* Reads major/minor of the host nodes (before pivot_root). */
void jail_dev_probe(struct jail_dev devs[JAIL_NDEVS]);
/* After pivot_root: mknod each node (0600, uid:gid), create /run, and give
 * the jail root "/" to uid:gid. */
int jail_dev_create(const struct jail_dev devs[JAIL_NDEVS], uid_t uid, gid_t gid);

/* jail_mntns.c: new mount namespace, pivot_root into root, old root gone. */
int jail_pivot(const char *root);

/* jail_pidns.c: with --new-pid-ns, fork into a new PID namespace. Returns
 * 0 in the child (pid 1 there); the parent writes /<exec_name>.pid and
 * exits 0 without returning. */
int jail_pidns_enter(const struct jail_args *a);

/* jail_daemon.c: setsid() and stdio to devnull_fd (opened before the
 * jail); closes devnull_fd. */
int jail_daemonize(int devnull_fd);

/* jail_privs.c: setgroups(0), setresgid, setresuid, every capability set
 * (incl. bounding and ambient) emptied and verified, no_new_privs. */
int jail_drop_privs(uid_t uid, gid_t gid);

#endif
