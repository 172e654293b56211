/* Unit tests for the jailer's cgroup step against a fake cgroupfs tree in a
 * temp directory, described by /proc/mounts text: mount parsing, version
 * detection, cgroup paths, v1 per-hierarchy cgroups (shared hierarchies,
 * cpuset inheritance) and v2 subtree_control propagation from the mount
 * root down to the parent. Includes the two sources it tests. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/jail/jail_cgroup_mounts.c"
#include "../../src/jail/jail_cgroup.c"

static const char host_mounts[] =
	"/dev/vda / ext4 rw,relatime 0 0\n"
	"tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
	"cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0\n"
	"cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0\n"
	"cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,xattr,name=systemd 0 0\n"
	"cgroup /sys/fs/cgroup/my\\040mem cgroup rw,memory 0 0\n"
	"cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n";

static char fake[64];

static void fake_init(void)
{
	strcpy(fake, "/tmp/jailcg.XXXXXX");
	cr_assert_not_null(mkdtemp(fake));
}

static void fake_fini(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", fake);
	cr_assert_eq(system(cmd), 0);
}

static void put(const char *rel, const char *content)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", fake, rel);
	cr_assert_eq(jail_write_file(AT_FDCWD, p, content, true), 0, "%s", p);
}

static void mkd(const char *rel)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", fake, rel);
	cr_assert_eq(mkdir(p, 0755), 0, "%s", p);
}

/* Contents of fake/rel, or "<missing>". */
static const char *get(const char *rel)
{
	static char buf[4][256];
	static int n;
	char p[256];
	char *b = buf[n++ % 4];

	snprintf(p, sizeof(p), "%s/%s", fake, rel);
	if (jail_read_file(AT_FDCWD, p, b, 256))
		strcpy(b, "<missing>");
	return b;
}

static bool exists(const char *rel)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", fake, rel);
	return lstat(p, &st) == 0;
}

/* args with id, parent and the given "--cgroup" values. */
static void mkargs(struct jail_args *a, const char *parent, const char *const *cg)
{
	memset(a, 0, sizeof(*a));
	a->id = "vm1";
	a->parent_cgroup = parent;
	for (; *cg; cg++)
		cr_assert_eq(jail_parse_cgroup(*cg, &a->cgroups[a->n_cgroups++]), 0, "%s", *cg);
}

/* Mounts text for the fake tree: v1 pids, cpu+cpuacct, cpuset, memory
 * hierarchies and a cgroup2 mount. */
static void fake_mounts(struct jail_cg_mounts *m)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "proc /proc proc rw 0 0\n"
		 "cgroup %1$s/pids cgroup rw,pids 0 0\n"
		 "cgroup %1$s/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n"
		 "cgroup %1$s/cpuset cgroup rw,cpuset 0 0\n"
		 "cgroup %1$s/memory cgroup rw,memory 0 0\n"
		 "cgroup2 %1$s/unified cgroup2 rw,nsdelegate 0 0\n", fake);
	cr_assert_eq(jail_cg_parse_mounts(text, m), 0);
	mkd("pids");
	mkd("cpu,cpuacct");
	mkd("cpuset");
	mkd("memory");
	mkd("unified");
	put("cpuset/cpuset.cpus", "0-3\n");
	put("cpuset/cpuset.mems", "0\n");
	put("unified/cgroup.controllers", "cpuset cpu io memory pids\n");
}

Test(jail_cg, parse_host_mounts)
{
	struct jail_cg_mounts m;

	cr_assert_eq(jail_cg_parse_mounts(host_mounts, &m), 0);
	cr_assert_eq(m.n, 5, "only cgroup and cgroup2 lines are kept");
	cr_assert_str_eq(jail_cg_v1_mount(&m, "pids"), "/sys/fs/cgroup/pids");
	cr_assert_str_eq(jail_cg_v1_mount(&m, "cpu"), "/sys/fs/cgroup/cpu,cpuacct");
	cr_assert_str_eq(jail_cg_v1_mount(&m, "cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
	cr_assert_str_eq(jail_cg_v1_mount(&m, "memory"), "/sys/fs/cgroup/my mem", "\\040 decoded");
	cr_assert_null(jail_cg_v1_mount(&m, "systemd"), "name=systemd is not a controller");
	cr_assert_null(jail_cg_v1_mount(&m, "cpuset"));
	cr_assert_null(jail_cg_v1_mount(&m, "cpu,cpuacct"), "options match one by one");
	cr_assert_null(jail_cg_v1_mount(&m, "pid"), "whole options only");
	cr_assert_str_eq(jail_cg_v2_mount(&m), "/sys/fs/cgroup/unified");
	cr_assert_eq(jail_cg_parse_mounts("", &m), 0);
	cr_assert_eq(m.n, 0);
	cr_assert_null(jail_cg_v2_mount(&m));
}

Test(jail_cg, detect_version)
{
	struct jail_cg_mounts m;
	struct jail_args a;

	cr_assert_eq(jail_cg_parse_mounts(host_mounts, &m), 0);
	mkargs(&a, "femtovm", (const char *[]){ "pids.max=1", "cpu.shares=512", NULL });
	cr_assert_eq(jail_cg_detect(&m, &a), 1, "hybrid host, v1 controllers");
	mkargs(&a, "femtovm", (const char *[]){ "cgroup.max.descendants=0", NULL });
	cr_assert_eq(jail_cg_detect(&m, &a), 2, "core files only exist in v2");
	mkargs(&a, "femtovm", (const char *[]){ "pids.max=1", "io.max=8:0 rbps=1", NULL });
	cr_assert_eq(jail_cg_detect(&m, &a), 2, "io has no v1 hierarchy here");
	cr_assert_eq(jail_cg_parse_mounts("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", &m), 0);
	mkargs(&a, "femtovm", (const char *[]){ "pids.max=1", NULL });
	cr_assert_eq(jail_cg_detect(&m, &a), 2, "pure v2 host");
	cr_assert_eq(jail_cg_parse_mounts("cgroup /c/pids cgroup rw,pids 0 0\n", &m), 0);
	mkargs(&a, "femtovm", (const char *[]){ "memory.max=1", NULL });
	cr_assert_eq(jail_cg_detect(&m, &a), 1, "v1 only: setup reports the controller");
	cr_assert_eq(jail_cg_parse_mounts("proc /proc proc rw 0 0\n", &m), 0);
	cr_assert_eq(jail_cg_detect(&m, &a), -ENOENT);
}

Test(jail_cg, dir_paths)
{
	char buf[64];

	cr_assert_eq(jail_cg_dir("/sys/fs/cgroup/pids", "femtovm", "vm1", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "/sys/fs/cgroup/pids/femtovm/vm1");
	cr_assert_eq(jail_cg_dir("/sys/fs/cgroup/unified/", "a/b", "vm1", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "/sys/fs/cgroup/unified/a/b/vm1");
	cr_assert_eq(jail_cg_dir("/", "p", "id", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "/p/id");
	cr_assert_eq(jail_cg_dir("/sys/fs/cgroup/pids", "femtovm", "vm1", buf, 31),
		     -ENAMETOOLONG);
}

TestSuite(jail_cg_fake, .init = fake_init, .fini = fake_fini);

Test(jail_cg_fake, v1_hierarchies)
{
	struct jail_cg_mounts m;
	struct jail_args a;

	fake_mounts(&m);
	mkargs(&a, "femtovm", (const char *[]){ "pids.max=5", "cpu.shares=512",
					       "cpuacct.usage=0", "cpuset.mems=0", NULL });
	cr_assert_eq(jail_cg_setup(&m, &a, 1, 4242, JAIL_CG_FAKE_FS), 0);
	cr_assert_str_eq(get("pids/femtovm/vm1/pids.max"), "5");
	cr_assert_str_eq(get("pids/femtovm/vm1/cgroup.procs"), "4242");
	/* cpu and cpuacct share a hierarchy: one cgroup with both values. */
	cr_assert_str_eq(get("cpu,cpuacct/femtovm/vm1/cpu.shares"), "512");
	cr_assert_str_eq(get("cpu,cpuacct/femtovm/vm1/cpuacct.usage"), "0");
	cr_assert_str_eq(get("cpu,cpuacct/femtovm/vm1/cgroup.procs"), "4242");
	/* cpuset: every new level inherits cpus/mems from its parent. */
	cr_assert_str_eq(get("cpuset/femtovm/cpuset.cpus"), "0-3\n");
	cr_assert_str_eq(get("cpuset/femtovm/cpuset.mems"), "0\n");
	cr_assert_str_eq(get("cpuset/femtovm/vm1/cpuset.cpus"), "0-3\n");
	cr_assert_str_eq(get("cpuset/femtovm/vm1/cpuset.mems"), "0");
	cr_assert_str_eq(get("cpuset/femtovm/vm1/cgroup.procs"), "4242");
	cr_assert_not(exists("cpuset/femtovm/cgroup.procs"), "the parent gets no task");
	cr_assert_not(exists("memory/femtovm"), "a hierarchy not named is not touched");
	cr_assert_not(exists("unified/femtovm"));
	cr_assert_not(exists("pids/femtovm/vm1/cgroup.subtree_control"));
}

Test(jail_cg_fake, v1_nested_parent_and_missing_controller)
{
	struct jail_cg_mounts m;
	struct jail_args a;

	fake_mounts(&m);
	mkargs(&a, "all/external", (const char *[]){ "pids.max=7", NULL });
	cr_assert_eq(jail_cg_setup(&m, &a, 1, 99, JAIL_CG_FAKE_FS), 0);
	cr_assert_str_eq(get("pids/all/external/vm1/pids.max"), "7");
	cr_assert_str_eq(get("pids/all/external/vm1/cgroup.procs"), "99");
	mkargs(&a, "other", (const char *[]){ "pids.max=7", "blkio.weight=100", NULL });
	cr_assert_eq(jail_cg_setup(&m, &a, 1, 99, JAIL_CG_FAKE_FS), -ENOENT);
	cr_assert_not(exists("pids/other"), "checked before anything is created");
}

Test(jail_cg_fake, v2_subtree_control_propagation)
{
	struct jail_cg_mounts m;
	struct jail_args a;

	fake_mounts(&m);
	mkargs(&a, "a/b", (const char *[]){ "cpu.max=50000 100000", "pids.max=10",
					   "memory.max=268435456", "cpu.weight=50",
					   "cgroup.max.descendants=0", NULL });
	cr_assert_eq(jail_cg_setup(&m, &a, 2, 1234, JAIL_CG_FAKE_FS), 0);
	/* Enabled from the mount root down to the parent, each controller once. */
	cr_assert_str_eq(get("unified/cgroup.subtree_control"), "+cpu +pids +memory");
	cr_assert_str_eq(get("unified/a/cgroup.subtree_control"), "+cpu +pids +memory");
	cr_assert_str_eq(get("unified/a/b/cgroup.subtree_control"), "+cpu +pids +memory");
	cr_assert_not(exists("unified/a/b/vm1/cgroup.subtree_control"),
		      "the VM's own cgroup holds a process: no controllers below it");
	cr_assert_str_eq(get("unified/a/b/vm1/cpu.max"), "50000 100000");
	cr_assert_str_eq(get("unified/a/b/vm1/pids.max"), "10");
	cr_assert_str_eq(get("unified/a/b/vm1/memory.max"), "268435456");
	cr_assert_str_eq(get("unified/a/b/vm1/cgroup.max.descendants"), "0");
	cr_assert_str_eq(get("unified/a/b/vm1/cgroup.procs"), "1234");
	cr_assert_not(exists("pids/a"), "v2 leaves the v1 hierarchies alone");
}

Test(jail_cg_fake, v2_core_files_need_no_controller)
{
	struct jail_cg_mounts m;
	struct jail_args a;

	fake_mounts(&m);
	mkargs(&a, "femtovm", (const char *[]){ "cgroup.max.descendants=0", NULL });
	cr_assert_eq(jail_cg_setup(&m, &a, 2, 77, JAIL_CG_FAKE_FS), 0);
	cr_assert_not(exists("unified/cgroup.subtree_control"), "root cgroup not written");
	cr_assert_not(exists("unified/femtovm/cgroup.subtree_control"));
	cr_assert_str_eq(get("unified/femtovm/vm1/cgroup.procs"), "77");
}

Test(jail_cg_fake, v2_unavailable_controller)
{
	struct jail_cg_mounts m;
	struct jail_args a;

	fake_mounts(&m);
	put("unified/cgroup.controllers", "hugetlb\n"); /* like this host: all on v1 */
	mkargs(&a, "femtovm", (const char *[]){ "pids.max=10", NULL });
	cr_assert_eq(jail_cg_setup(&m, &a, 2, 77, JAIL_CG_FAKE_FS), -ENOENT);
	cr_assert_not(exists("unified/femtovm"));
	cr_assert_not(exists("unified/cgroup.subtree_control"));
}

Test(jail_cg_fake, nothing_without_cgroup_args)
{
	struct jail_cg_mounts m;
	struct jail_args a;

	fake_mounts(&m);
	mkargs(&a, "femtovm", (const char *[]){ NULL });
	cr_assert_eq(jail_cg_setup(&m, &a, 1, 1, JAIL_CG_FAKE_FS), 0);
	cr_assert_eq(jail_cg_setup(&m, &a, 2, 1, JAIL_CG_FAKE_FS), 0);
	cr_assert_not(exists("pids/femtovm"));
	cr_assert_not(exists("unified/femtovm"));
	cr_assert_eq(jail_cg_setup(&m, &a, 3, 1, JAIL_CG_FAKE_FS), 0, "no-op before version");
}
