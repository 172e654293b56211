/* Unit tests for femtovm-jailer's pure steps: argument validation (id,
 * uid/gid, required flags, paths, --cgroup and --resource-limit forms), the
 * chroot path and the jail directory + binary copy in a temp directory.
 * The jailer is not in VMM_LIB_SRCS, so the sources under test are
 * included here (and only here; test_jail_cgroup.c includes the rest). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/jail/jail_util.c"
#include "../../src/jail/jail_args.c"
#include "../../src/jail/jail_rlimit.c"
#include "../../src/jail/jail_chroot.c"

static char tdir[64], exe[128], noexec[128], nsfile[128];

static void make_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	cr_assert(fd >= 0, "create %s", path);
	cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	cr_assert_eq(chmod(path, mode), 0);
}

static void setup_files(void)
{
	strcpy(tdir, "/tmp/jailtest.XXXXXX");
	cr_assert_not_null(mkdtemp(tdir));
	snprintf(exe, sizeof(exe), "%s/femtovm", tdir);
	snprintf(noexec, sizeof(noexec), "%s/plain", tdir);
	snprintf(nsfile, sizeof(nsfile), "%s/ns", tdir);
	make_file(exe, "#!/bin/true\nbinary bytes\n", 0755);
	make_file(noexec, "x", 0644);
	make_file(nsfile, "", 0644);
}

static void teardown_files(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tdir);
	cr_assert_eq(system(cmd), 0);
}

/* Runs jail_args_parse on the NULL-terminated arguments (argv[0] added),
 * capturing stderr into msg. */
static int parse_v(struct jail_args *a, char *msg, size_t mlen, const char *first, ...)
{
	char *argv[64];
	int argc = 0, ret, saved, fd;
	va_list ap;
	ssize_t n;

	argv[argc++] = (char *)"femtovm-jailer";
	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		argv[argc++] = (char *)s;
	va_end(ap);
	argv[argc] = NULL;
	fd = open(tdir, O_TMPFILE | O_RDWR, 0600);
	cr_assert(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	ret = jail_args_parse(argc, argv, a);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, msg, mlen - 1, 0);
	msg[n > 0 ? n : 0] = 0;
	close(fd);
	return ret;
}

#define PARSE(a, msg, ...) parse_v(a, msg, sizeof(msg), __VA_ARGS__, (const char *)NULL)
#define REQ "--exec-file", exe, "--uid", "123", "--gid", "456"

TestSuite(jail_args, .init = setup_files, .fini = teardown_files);

Test(jail_args, minimal_valid_and_defaults)
{
	struct jail_args a;
	char msg[512];

	cr_assert_eq(PARSE(&a, msg, "--id", "vm-1", REQ, "--", "--no-api", "--config-file",
			   "/c.json"), 0, "%s", msg);
	cr_assert_str_eq(a.id, "vm-1");
	cr_assert_str_eq(a.exec_name, "femtovm");
	cr_assert_eq(a.uid, 123);
	cr_assert_eq(a.gid, 456);
	cr_assert_str_eq(a.chroot_base, "/srv/jailer");
	cr_assert_str_eq(a.parent_cgroup, "femtovm", "parent cgroup defaults to the exec name");
	cr_assert_eq(a.cgroup_version, 0);
	cr_assert_not(a.daemonize || a.new_pid_ns);
	cr_assert_eq(a.extra_argc, 3);
	cr_assert_str_eq(a.extra_argv[0], "--no-api");
	cr_assert_str_eq(a.extra_argv[2], "/c.json");
	cr_assert_str_empty(msg);
}

Test(jail_args, all_options)
{
	struct jail_args a;
	char msg[512];

	cr_assert_eq(PARSE(&a, msg, "--id", "x", REQ, "--chroot-base-dir", tdir, "--netns", nsfile,
			   "--cgroup-version", "2", "--cgroup", "pids.max=10", "--cgroup",
			   "cpu.max=50000 100000", "--parent-cgroup", "vms/prod",
			   "--resource-limit", "fsize=1000", "--resource-limit", "no-file=64",
			   "--daemonize", "--new-pid-ns"), 0, "%s", msg);
	cr_assert_eq(a.cgroup_version, 2);
	cr_assert_eq(a.n_cgroups, 2);
	cr_assert_str_eq(a.cgroups[1].key, "cpu.max");
	cr_assert_str_eq(a.cgroups[1].controller, "cpu");
	cr_assert_str_eq(a.cgroups[1].value, "50000 100000");
	cr_assert_str_eq(a.parent_cgroup, "vms/prod");
	cr_assert_eq(a.n_rlimits, 2);
	cr_assert_eq(a.rlimits[0].resource, RLIMIT_FSIZE);
	cr_assert_eq(a.rlimits[1].value, 64);
	cr_assert(a.daemonize && a.new_pid_ns);
	cr_assert_eq(a.extra_argc, 0);
}

Test(jail_args, id_charset_and_length)
{
	char id64[65], id65[66];

	memset(id64, 'a', 64);
	id64[64] = 0;
	memset(id65, 'b', 65);
	id65[65] = 0;
	cr_assert_eq(jail_valid_id(id64), 0);
	cr_assert_eq(jail_valid_id("A-z-09"), 0);
	cr_assert_eq(jail_valid_id(""), -EINVAL);
	cr_assert_eq(jail_valid_id(id65), -EINVAL);
	const char *bad[] = { "a_b", "a b", "a/b", "a.b", "..", "é", "a\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(jail_valid_id(bad[i]), -EINVAL, "%s", bad[i]);
}

Test(jail_args, id_through_parse)
{
	struct jail_args a;
	char msg[512], id64[65], id65[66];

	memset(id64, '7', 64);
	id64[64] = 0;
	memset(id65, '7', 65);
	id65[65] = 0;
	cr_assert_eq(PARSE(&a, msg, "--id", id64, REQ), 0);
	cr_assert_eq(PARSE(&a, msg, "--id", id65, REQ), -EINVAL);
	cr_assert(strstr(msg, "femtovm-jailer: id: "), "%s", msg);
	cr_assert_eq(PARSE(&a, msg, "--id", "", REQ), -EINVAL);
	cr_assert(strstr(msg, "femtovm-jailer: id: "), "%s", msg);
	cr_assert_eq(PARSE(&a, msg, "--id", "a:b", REQ), -EINVAL);
}

Test(jail_args, uid_gid_numbers)
{
	struct jail_args a;
	unsigned v;
	char msg[512];

	cr_assert_eq(jail_parse_id_number("0", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(jail_parse_id_number("4294967294", &v), 0);
	cr_assert_eq(v, 4294967294u);
	const char *bad[] = { "", "-1", "+1", " 1", "1 ", "12a", "0x10", "4294967295",
			      "99999999999", "1e3" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(jail_parse_id_number(bad[i], &v), -EINVAL, "'%s'", bad[i]);
	cr_assert_eq(PARSE(&a, msg, "--id", "x", "--exec-file", exe, "--uid", "-5", "--gid", "1"),
		     -EINVAL);
	cr_assert(strstr(msg, "femtovm-jailer: uid: "), "%s", msg);
	cr_assert_eq(PARSE(&a, msg, "--id", "x", "--exec-file", exe, "--uid", "1", "--gid", "abc"),
		     -EINVAL);
	cr_assert(strstr(msg, "femtovm-jailer: gid: "), "%s", msg);
}

Test(jail_args, missing_required_flags)
{
	struct jail_args a;
	char msg[512];

	cr_assert_eq(PARSE(&a, msg, REQ), -EINVAL);
	cr_assert(strstr(msg, "id: --id is required"), "%s", msg);
	cr_assert_eq(PARSE(&a, msg, "--id", "x", "--uid", "1", "--gid", "1"), -EINVAL);
	cr_assert(strstr(msg, "exec-file: --exec-file is required"), "%s", msg);
	cr_assert_eq(PARSE(&a, msg, "--id", "x", "--exec-file", exe, "--gid", "1"), -EINVAL);
	cr_assert(strstr(msg, "uid: --uid is required"), "%s", msg);
	cr_assert_eq(PARSE(&a, msg, "--id", "x", "--exec-file", exe, "--uid", "1"), -EINVAL);
	cr_assert(strstr(msg, "gid: --gid is required"), "%s", msg);
	cr_assert_eq(PARSE(&a, msg, "--id"), -EINVAL);
	cr_assert(strstr(msg, "args: missing value for option '--id'"), "%s", msg);
}

Test(jail_args, bad_command_line)
{
	struct jail_args a;
	char msg[512];

	cr_assert_eq(PARSE(&a, msg, "--id", "x", REQ, "--bogus"), -EINVAL);
	cr_assert(strstr(msg, "args: unknown option '--bogus'"), "%s", msg);
	cr_assert_eq(PARSE(&a, msg, "--id", "x", REQ, "stray"), -EINVAL);
	cr_assert(strstr(msg, "unexpected argument 'stray'"), "%s", msg);
	cr_assert_eq(PARSE(&a, msg, "--id", "x", REQ, "--cgroup-version", "3"), -EINVAL);
	cr_assert(strstr(msg, "cgroup-version: "), "%s", msg);
	cr_redirect_stdout();
	cr_assert_eq(PARSE(&a, msg, "--help"), 1);
	fflush(stdout);
	cr_assert_stdout_neq_str("");
}

Test(jail_args, exec_file_checks)
{
	struct jail_args a;
	char msg[512], missing[160];

	snprintf(missing, sizeof(missing), "%s/nope", tdir);
	cr_assert_eq(PARSE(&a, msg, "--id", "x", "--exec-file", missing, "--uid", "1", "--gid",
			   "1"), -EINVAL);
	cr_assert(strstr(msg, "femtovm-jailer: exec-file: ") && strstr(msg, "No such file"),
		  "%s", msg);
	cr_assert_eq(PARSE(&a, msg, "--id", "x", "--exec-file", tdir, "--uid", "1", "--gid", "1"),
		     -EINVAL);
	cr_assert(strstr(msg, "exec-file: ") && strstr(msg, "not a regular file"), "%s", msg);
	cr_assert_eq(PARSE(&a, msg, "--id", "x", "--exec-file", noexec, "--uid", "1", "--gid",
			   "1"), -EINVAL);
	cr_assert(strstr(msg, "exec-file: ") && strstr(msg, "not executable"), "%s", msg);
}

Test(jail_args, base_dir_and_netns)
{
	struct jail_args a;
	char msg[512], missing[160];

	cr_assert_eq(PARSE(&a, msg, "--id", "x", REQ, "--chroot-base-dir", "srv/jail"), -EINVAL);
	cr_assert(strstr(msg, "chroot-base-dir: "), "%s", msg);
	cr_assert_eq(PARSE(&a, msg, "--id", "x", REQ, "--chroot-base-dir", "/srv/../etc"),
		     -EINVAL);
	cr_assert_eq(PARSE(&a, msg, "--id", "x", REQ, "--chroot-base-dir", "/srv/a..b"), 0);
	snprintf(missing, sizeof(missing), "%s/no-netns", tdir);
	cr_assert_eq(PARSE(&a, msg, "--id", "x", REQ, "--netns", missing), -EINVAL);
	cr_assert(strstr(msg, "femtovm-jailer: netns: "), "%s", msg);
}

Test(jail_args, cgroup_forms)
{
	struct jail_cgroup_arg c;
	const char *bad[] = {
		"pids.max",          /* no '=' */
		"pids/x.max=1",      /* '/' in the controller */
		"pids.max/x=1",      /* '/' in the file */
		"pids.a..b=1",       /* '..' */
		"pids...=1", "pids.=1", ".max=1", "pidsmax=1", "=5", /* not <ctrl>.<file> */
		"PIDS.max=1", "pi-ds.max=1",                         /* controller charset */
		"pids.max=", "pids.max=1\n2", "pids.max=\t1",        /* value */
		"cgroup.procs=1", "cgroup.subtree_control=+pids",    /* ours to write */
	};

	cr_assert_eq(jail_parse_cgroup("pids.max=10", &c), 0);
	cr_assert_str_eq(c.controller, "pids");
	cr_assert_str_eq(c.key, "pids.max");
	cr_assert_str_eq(c.value, "10");
	cr_assert_eq(jail_parse_cgroup("io.max=8:0 rbps=1048576", &c), 0);
	cr_assert_str_eq(c.value, "8:0 rbps=1048576");
	cr_assert_eq(jail_parse_cgroup("cpuset.cpus=0-1,3", &c), 0);
	cr_assert_eq(jail_parse_cgroup("memory.limit_in_bytes=1=2", &c), 0);
	cr_assert_str_eq(c.value, "1=2", "split at the first '='");
	cr_assert_eq(jail_parse_cgroup("cgroup.max.descendants=0", &c), 0);
	cr_assert_str_eq(c.controller, "cgroup");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(jail_parse_cgroup(bad[i], &c), -EINVAL, "'%s'", bad[i]);
}

Test(jail_args, cgroup_through_parse)
{
	struct jail_args a;
	char msg[512];

	cr_assert_eq(PARSE(&a, msg, "--id", "x", REQ, "--cgroup", "pids.max"), -EINVAL);
	cr_assert(strstr(msg, "femtovm-jailer: cgroup: 'pids.max'"), "%s", msg);
	cr_assert_eq(PARSE(&a, msg, "--id", "x", REQ, "--cgroup", "../pids.max=1"), -EINVAL);
	cr_assert(strstr(msg, "cgroup: "), "%s", msg);
}

Test(jail_args, parent_cgroup)
{
	cr_assert_eq(jail_valid_parent_cgroup("femtovm"), 0);
	cr_assert_eq(jail_valid_parent_cgroup("all_uvms/external-uvms"), 0);
	const char *bad[] = { "", "/abs", "trail/", "a//b", "..", ".", "a/../b", "./a",
			      "a/..", "sp ace", "a\nb" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(jail_valid_parent_cgroup(bad[i]), -EINVAL, "'%s'", bad[i]);
}

Test(jail_args, resource_limits)
{
	struct jail_args a;
	struct jail_rlimit_arg r;
	char msg[512];

	cr_assert_eq(jail_parse_rlimit("fsize=250000000", &r), 0);
	cr_assert_eq(r.resource, RLIMIT_FSIZE);
	cr_assert_eq(r.value, 250000000);
	cr_assert_eq(jail_parse_rlimit("no-file=1024", &r), 0);
	cr_assert_eq(r.resource, RLIMIT_NOFILE);
	cr_assert_eq(jail_parse_rlimit("no-file=0", &r), 0);
	const char *bad[] = { "nofile=1", "no-file", "no-file=", "no-file=-1", "no-file=1k",
			      "cpu=1", "fsize=18446744073709551615", "fsize=99999999999999999999",
			      "=5", "no-file= 1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(jail_parse_rlimit(bad[i], &r), -EINVAL, "'%s'", bad[i]);
	cr_assert_eq(PARSE(&a, msg, "--id", "x", REQ, "--resource-limit", "stack=1"), -EINVAL);
	cr_assert(strstr(msg, "femtovm-jailer: resource-limit: 'stack=1'"), "%s", msg);
}

TestSuite(jail_chroot, .init = setup_files, .fini = teardown_files);

Test(jail_chroot, path)
{
	char buf[256];

	cr_assert_eq(jail_chroot_path("/srv/jailer", "femtovm", "vm1", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "/srv/jailer/femtovm/vm1/root");
	cr_assert_eq(jail_chroot_path("/srv/jailer//", "femtovm", "vm1", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "/srv/jailer/femtovm/vm1/root");
	cr_assert_eq(jail_chroot_path("/", "fvm", "a-b", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "/fvm/a-b/root");
	cr_assert_eq(jail_chroot_path("/srv", "femtovm", "vm1", buf, 21), -ENAMETOOLONG);
	cr_assert_eq(jail_chroot_path("/srv", "femtovm", "vm1", buf, 22), 0);
}

Test(jail_chroot, create_and_copy)
{
	struct jail_args a;
	char msg[512], base[128], root[JAIL_PATH_MAX], path[JAIL_PATH_MAX + 16];
	struct stat st, src;

	if (geteuid() != 0)
		cr_skip_test("needs root (chown to the jail uid)");
	snprintf(base, sizeof(base), "%s/base/deeper", tdir);
	cr_assert_eq(PARSE(&a, msg, "--id", "vm1", "--exec-file", exe, "--uid", "12345",
			   "--gid", "23456", "--chroot-base-dir", base), 0, "%s", msg);
	cr_assert_eq(jail_chroot_create(&a, root, sizeof(root)), 0);
	snprintf(path, sizeof(path), "%s/femtovm/vm1/root", base);
	cr_assert_str_eq(root, path);
	cr_assert_eq(lstat(root, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0700);
	cr_assert_eq(st.st_uid, 12345);
	cr_assert_eq(st.st_gid, 23456);
	snprintf(path, sizeof(path), "%s/femtovm/vm1", base);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert_eq(st.st_uid, 0, "the directories above the root stay root's");
	snprintf(path, sizeof(path), "%s/femtovm", root);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert_eq(stat(exe, &src), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0755);
	cr_assert_eq(st.st_uid, 0);
	cr_assert_neq(st.st_ino, src.st_ino, "a copy, not a hard link");
	cr_assert_eq(st.st_size, src.st_size);
	cr_assert_eq(st.st_nlink, 1);
}

Test(jail_chroot, planted_symlink_is_replaced_not_followed)
{
	struct jail_args a;
	char msg[512], base[128], root[JAIL_PATH_MAX], path[JAIL_PATH_MAX + 16], buf[8];
	struct stat st;

	if (geteuid() != 0)
		cr_skip_test("needs root (chown to the jail uid)");
	snprintf(base, sizeof(base), "%s/b", tdir);
	cr_assert_eq(PARSE(&a, msg, "--id", "vm1", "--exec-file", exe, "--uid", "1", "--gid",
			   "1", "--chroot-base-dir", base), 0);
	cr_assert_eq(jail_chroot_create(&a, root, sizeof(root)), 0);
	/* The jailed uid owns root/: it could leave a link to a host file. */
	snprintf(path, sizeof(path), "%s/femtovm", root);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(symlink(noexec, path), 0);
	cr_assert_eq(jail_chroot_create(&a, root, sizeof(root)), 0);
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(jail_read_file(AT_FDCWD, noexec, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "x", "the link target was written through");
}

Test(jail_util, mkdir_at_refuses_symlinks)
{
	char link[160];
	int dfd, fd;

	setup_files();
	dfd = open(tdir, O_RDONLY | O_DIRECTORY);
	fd = jail_mkdir_at(dfd, "a/b/c", 0755);
	cr_assert(fd >= 0);
	close(fd);
	snprintf(link, sizeof(link), "%s/l", tdir);
	cr_assert_eq(symlink("/tmp", link), 0);
	cr_assert_eq(jail_mkdir_at(dfd, "l/x", 0755), -ENOTDIR);
	cr_assert_eq(jail_mkdir_at(dfd, "a//b", 0755), -EINVAL);
	close(dfd);
	teardown_files();
}
