/* Unit tests for femtovm-fanout's pure parts: template expansion, the
 * command line and its cross-checks, the per-clone PUT /snapshot/load body,
 * smaps_rollup parsing, statistics, the JSON report, and the small process
 * helpers (work directory, clone paths, exit descriptions, log tails). The tool is not
 * part of the monitor library the unit binary links, so its sources are
 * compiled into this file. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/fanout_opts.c"
#include "tools/fanout_proc.c"
#include "tools/fanout_report.c"

Test(fanout, expand_templates)
{
	char out[32];

	cr_assert_eq(fanout_expand("tap%d", 7, out, sizeof(out)), 4);
	cr_assert_str_eq(out, "tap7");
	cr_assert_eq(fanout_expand("/run/v%d_%d.sock", 123, out, sizeof(out)), 18);
	cr_assert_str_eq(out, "/run/v123_123.sock");
	cr_assert_eq(fanout_expand("100%%-%d%%", 5, out, sizeof(out)), 7);
	cr_assert_str_eq(out, "100%-5%");
	cr_assert_eq(fanout_expand("%%d", 5, out, sizeof(out)), 2);
	cr_assert_str_eq(out, "%d");
	cr_assert_eq(fanout_expand("", 5, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "");
}

Test(fanout, expand_rejects)
{
	char out[8];

	cr_assert_eq(fanout_expand("tap%s", 1, out, sizeof(out)), -EINVAL);
	cr_assert_eq(fanout_expand("tap%", 1, out, sizeof(out)), -EINVAL);
	cr_assert_eq(fanout_expand("%02d", 1, out, sizeof(out)), -EINVAL);
	cr_assert_eq(fanout_expand("abcdefg", 1, out, sizeof(out)), 7, "exactly fits");
	cr_assert_eq(fanout_expand("abcdefgh", 1, out, sizeof(out)), -ENAMETOOLONG);
	cr_assert_eq(fanout_expand("abcdef%d", 9, out, sizeof(out)), 7);
	cr_assert_eq(fanout_expand("abcdef%d", 10, out, sizeof(out)), -ENAMETOOLONG);
}

Test(fanout, template_has_index)
{
	cr_assert(fanout_tmpl_has_index("tap%d"));
	cr_assert(fanout_tmpl_has_index("%%%d"));
	cr_assert_not(fanout_tmpl_has_index("%%d"));
	cr_assert_not(fanout_tmpl_has_index("tap0"));
	cr_assert_not(fanout_tmpl_has_index("tap%"));
}

/* Parse a NULL-terminated argument list (argv[0] added). */
static int parse(struct fanout_opts *o, char *err, const char *const *args)
{
	char *argv[64];
	int argc = 0;

	argv[argc++] = "femtovm-fanout";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	err[0] = '\0';
	return fanout_parse_args(argc, argv, o, err, 256);
}

#define PARSE_OK(o, ...)                                                             \
	do {                                                                         \
		char e_[256];                                                        \
		const char *const a_[] = { __VA_ARGS__, NULL };                      \
		cr_assert_eq(parse(o, e_, a_), 0, "rejected: %s", e_);               \
	} while (0)

/* Rejected, with a message containing want. */
#define PARSE_BAD(want, ...)                                                         \
	do {                                                                         \
		struct fanout_opts o_;                                               \
		char e_[256];                                                        \
		const char *const a_[] = { __VA_ARGS__, NULL };                      \
		cr_assert_eq(parse(&o_, e_, a_), -EINVAL, "accepted: " #__VA_ARGS__); \
		cr_assert(strstr(e_, want), "message '%s' lacks '%s'", e_, want);    \
	} while (0)

Test(fanout, args_minimal_and_defaults)
{
	struct fanout_opts o;

	PARSE_OK(&o, "-n", "20", "-s", "/s", "-m", "/m");
	cr_assert_eq(o.count, 20);
	cr_assert_str_eq(o.snapshot, "/s");
	cr_assert_str_eq(o.mem_file, "/m");
	cr_assert_eq(o.timeout_ms, 30000);
	cr_assert_eq(o.wait_count, 1);
	cr_assert_eq(o.end, FANOUT_STOP);
	cr_assert_null(o.work_dir);
	cr_assert_null(o.femtovm);
	cr_assert_not(o.paused || o.json || o.keep_going || o.clean || o.help);
}

Test(fanout, args_everything)
{
	struct fanout_opts o;

	PARSE_OK(&o, "--count=3", "--snapshot", "/s", "--mem-file", "/m", "-d", "/tmp/w",
		 "--femtovm", "/bin/fvm", "--net-override", "eth0=tap%d", "--net-override",
		 "eth1=tb%d", "--vsock-uds", "/run/v%d.sock", "--paused", "--track-dirty-pages",
		 "--femtovm-arg", "--id", "--femtovm-arg", "fn%d", "--wait-serial", "count: ",
		 "--wait-count", "3", "--settle", "200", "--timeout", "5", "--keep-going",
		 "--hold", "10", "--json", "--clean");
	cr_assert_eq(o.count, 3);
	cr_assert_str_eq(o.work_dir, "/tmp/w");
	cr_assert_str_eq(o.femtovm, "/bin/fvm");
	cr_assert_eq(o.nnet, 2);
	cr_assert_str_eq(o.net[0].iface, "eth0");
	cr_assert_str_eq(o.net[0].tmpl, "tap%d");
	cr_assert_str_eq(o.net[1].iface, "eth1");
	cr_assert_str_eq(o.vsock_tmpl, "/run/v%d.sock");
	cr_assert(o.paused && o.track_dirty && o.keep_going && o.json && o.clean);
	cr_assert_eq(o.nextra, 2);
	cr_assert_str_eq(o.extra[0], "--id");
	cr_assert_str_eq(o.extra[1], "fn%d");
	cr_assert_str_eq(o.wait_text, "count: ");
	cr_assert_eq(o.wait_count, 3);
	cr_assert_eq(o.settle_ms, 200);
	cr_assert_eq(o.timeout_ms, 5000);
	cr_assert_eq(o.end, FANOUT_HOLD);
	cr_assert_eq(o.hold_s, 10);
}

Test(fanout, args_parse_twice)
{
	struct fanout_opts o;

	PARSE_OK(&o, "-n", "1", "-s", "/a", "-m", "/b", "--detach");
	cr_assert_eq(o.end, FANOUT_DETACH);
	PARSE_OK(&o, "-n", "2", "-s", "/c", "-m", "/d");
	cr_assert_eq(o.end, FANOUT_STOP, "options of the first parse leaked");
	cr_assert_str_eq(o.snapshot, "/c");
}

Test(fanout, args_help)
{
	struct fanout_opts o;

	PARSE_OK(&o, "--help");
	cr_assert(o.help);
	PARSE_OK(&o, "-n", "2", "-h");
	cr_assert(o.help, "--help needs none of the required options");
}

Test(fanout, args_required_and_ranges)
{
	PARSE_BAD("--count is required", "-s", "/s", "-m", "/m");
	PARSE_BAD("--snapshot is required", "-n", "2", "-m", "/m");
	PARSE_BAD("--mem-file is required", "-n", "2", "-s", "/s");
	PARSE_BAD("--snapshot is required", "-n", "2", "-s", "", "-m", "/m");
	PARSE_BAD("expected 1-1000", "-n", "0", "-s", "/s", "-m", "/m");
	PARSE_BAD("expected 1-1000", "-n", "1001", "-s", "/s", "-m", "/m");
	PARSE_BAD("expected 1-1000", "-n", "12abc", "-s", "/s", "-m", "/m");
	PARSE_BAD("expected 1-1000", "-n", "-3", "-s", "/s", "-m", "/m");
	PARSE_BAD("expected 1-1000", "-n", "", "-s", "/s", "-m", "/m");
	PARSE_BAD("--timeout", "-n", "2", "-s", "/s", "-m", "/m", "--timeout", "0");
	PARSE_BAD("--hold", "-n", "2", "-s", "/s", "-m", "/m", "--hold", "x");
	PARSE_BAD("--settle", "-n", "2", "-s", "/s", "-m", "/m", "--settle", "1.5");
	PARSE_BAD("--wait-count", "-n", "2", "-s", "/s", "-m", "/m", "--wait-serial", "x",
		  "--wait-count", "0");
}

Test(fanout, args_conflicts_and_junk)
{
	PARSE_BAD("exclude each other", "-n", "2", "-s", "/s", "-m", "/m", "--hold", "1",
		  "--detach");
	PARSE_BAD("exclude each other", "-n", "2", "-s", "/s", "-m", "/m", "--clean",
		  "--detach");
	PARSE_BAD("--wait-count needs --wait-serial", "-n", "2", "-s", "/s", "-m", "/m",
		  "--wait-count", "2");
	PARSE_BAD("--wait-serial", "-n", "2", "-s", "/s", "-m", "/m", "--wait-serial", "");
	PARSE_BAD("unknown option '--bogus'", "-n", "2", "-s", "/s", "-m", "/m", "--bogus");
	PARSE_BAD("needs a value", "-n", "2", "-s", "/s", "-m");
	PARSE_BAD("unexpected argument 'extra'", "-n", "2", "-s", "/s", "-m", "/m", "extra");
}

Test(fanout, args_net_overrides)
{
	struct fanout_opts o;

	PARSE_OK(&o, "-n", "1", "-s", "/s", "-m", "/m", "--net-override", "eth0=tap0");
	cr_assert_str_eq(o.net[0].tmpl, "tap0", "one clone: a fixed name is fine");
	PARSE_BAD("needs %d", "-n", "2", "-s", "/s", "-m", "/m", "--net-override", "eth0=tap0");
	PARSE_BAD("IFACE=TEMPLATE", "-n", "2", "-s", "/s", "-m", "/m", "--net-override", "tap%d");
	PARSE_BAD("IFACE=TEMPLATE", "-n", "2", "-s", "/s", "-m", "/m", "--net-override", "=tap%d");
	PARSE_BAD("IFACE=TEMPLATE", "-n", "2", "-s", "/s", "-m", "/m", "--net-override", "eth0=");
	PARSE_BAD("given twice", "-n", "2", "-s", "/s", "-m", "/m", "--net-override",
		  "eth0=a%d", "--net-override", "eth0=b%d");
	PARSE_BAD("only %d and %%", "-n", "2", "-s", "/s", "-m", "/m", "--net-override",
		  "eth0=tap%d%s");
	/* 15 bytes is the limit: "tapabcdefghij%d" is 13 + digits. */
	PARSE_OK(&o, "-n", "100", "-s", "/s", "-m", "/m", "--net-override", "eth0=tapabcdefghij%d");
	PARSE_BAD("clone 100's value is longer than 15", "-n", "101", "-s", "/s", "-m", "/m",
		  "--net-override", "eth0=tapabcdefghij%d");
}

Test(fanout, args_vsock_and_paths)
{
	struct fanout_opts o;
	char longdir[120];

	PARSE_BAD("needs %d", "-n", "2", "-s", "/s", "-m", "/m", "--vsock-uds", "/run/v.sock");
	PARSE_BAD("empty", "-n", "2", "-s", "/s", "-m", "/m", "--vsock-uds", "");
	memset(longdir, 'd', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	PARSE_BAD("too long", "-n", "2", "-s", "/s", "-m", "/m", "-d", longdir);
	/* A 93-byte directory: "<dir>/clone-99.sock" is 107 bytes, the most a
	 * socket path may have; clone-100 is one too many. */
	longdir[93] = '\0';
	PARSE_OK(&o, "-n", "100", "-s", "/s", "-m", "/m", "-d", longdir);
	PARSE_BAD("too long", "-n", "101", "-s", "/s", "-m", "/m", "-d", longdir);
	PARSE_BAD("--femtovm-arg", "-n", "2", "-s", "/s", "-m", "/m", "--femtovm-arg", "%q");
}

static cJSON *body_of(const struct fanout_opts *o, unsigned idx)
{
	char *t = fanout_load_body(o, idx);
	cJSON *j;

	cr_assert(t);
	j = cJSON_Parse(t);
	free(t);
	cr_assert(j);
	return j;
}

Test(fanout, load_body_plain)
{
	struct fanout_opts o;
	cJSON *j;

	PARSE_OK(&o, "-n", "2", "-s", "/snap \"q\".state", "-m", "/m.mem");
	j = body_of(&o, 1);
	cr_assert_str_eq(cJSON_GetObjectItem(j, "snapshot_path")->valuestring, "/snap \"q\".state");
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "mem_backend"),
					     "backend_type")->valuestring, "File");
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "mem_backend"),
					     "backend_path")->valuestring, "/m.mem");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "resume_vm")));
	cr_assert_null(cJSON_GetObjectItem(j, "track_dirty_pages"));
	cr_assert_null(cJSON_GetObjectItem(j, "network_overrides"));
	cr_assert_null(cJSON_GetObjectItem(j, "vsock_override"));
	cJSON_Delete(j);
}

Test(fanout, load_body_overrides_per_clone)
{
	struct fanout_opts o;
	cJSON *j, *net;

	PARSE_OK(&o, "-n", "20", "-s", "/s", "-m", "/m", "--paused", "--track-dirty-pages",
		 "--net-override", "eth0=tap%d", "--net-override", "eth1=tb%d_x",
		 "--vsock-uds", "/run/x/v%d.sock");
	j = body_of(&o, 17);
	cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "resume_vm")));
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "track_dirty_pages")));
	net = cJSON_GetObjectItem(j, "network_overrides");
	cr_assert_eq(cJSON_GetArraySize(net), 2);
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(net, 0), "iface_id")->valuestring,
			 "eth0");
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(net, 0),
					     "host_dev_name")->valuestring, "tap17");
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(net, 1),
					     "host_dev_name")->valuestring, "tb17_x");
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "vsock_override"),
					     "uds_path")->valuestring, "/run/x/v17.sock");
	cJSON_Delete(j);
}

static const char smaps_sample[] =
	"55d0c0a00000-7ffc3a9ff000 ---p 00000000 00:00 0                          [rollup]\n"
	"Rss:                3932 kB\n"
	"Pss:                 410 kB\n"
	"Pss_Dirty:           236 kB\n"
	"Pss_Anon:            236 kB\n"
	"Pss_File:            174 kB\n"
	"Pss_Shmem:             0 kB\n"
	"Shared_Clean:       3692 kB\n"
	"Shared_Dirty:          4 kB\n"
	"Private_Clean:        12 kB\n"
	"Private_Dirty:       224 kB\n"
	"Referenced:         3932 kB\n"
	"Anonymous:           236 kB\n"
	"LazyFree:              0 kB\n"
	"AnonHugePages:         0 kB\n"
	"Swap:                  0 kB\n"
	"SwapPss:               0 kB\n"
	"Locked:                0 kB\n";

Test(fanout, smaps_rollup)
{
	struct fanout_mem m;

	cr_assert_eq(fanout_parse_smaps(smaps_sample, &m), 0);
	cr_assert_eq(m.rss, 3932);
	cr_assert_eq(m.pss, 410);
	cr_assert_eq(m.shared, 3696);
	cr_assert_eq(m.private_, 236);
	cr_assert_eq(m.anon, 236);
}

Test(fanout, smaps_rollup_bad)
{
	struct fanout_mem m;

	cr_assert_eq(fanout_parse_smaps("Rss: 10 kB\n", &m), -EINVAL, "no Pss");
	cr_assert_eq(fanout_parse_smaps("Pss: 10 kB\n", &m), -EINVAL, "no Rss");
	cr_assert_eq(fanout_parse_smaps("", &m), -EINVAL);
	cr_assert_eq(fanout_parse_smaps("Rss: x kB\nPss: 1 kB\n", &m), -EINVAL);
	cr_assert_eq(fanout_parse_smaps("Rss: 1 MB\nPss: 1 kB\n", &m), -EINVAL);
	cr_assert_eq(fanout_parse_smaps("Rss: 1 kB\nPss: 1 kB\nRss: 2 kB\n", &m), -EINVAL);
	cr_assert_eq(fanout_parse_smaps("Rss: 99999999999999999999999 kB\nPss: 1 kB\n", &m),
		     -EINVAL);
	cr_assert_eq(fanout_parse_smaps("Rss:\t5 kB\nPss: 1 kB", &m), 0, "no final newline");
	cr_assert_eq(m.rss, 5);
}

Test(fanout, stats)
{
	double v[] = { 5, 1, 4, 2 }, med, lo, hi;
	double w[] = { 3, 9, 1 };

	fanout_stats(v, 4, &med, &lo, &hi);
	cr_assert_float_eq(med, 3.0, 1e-9);
	cr_assert_float_eq(lo, 1.0, 1e-9);
	cr_assert_float_eq(hi, 5.0, 1e-9);
	fanout_stats(w, 3, &med, &lo, &hi);
	cr_assert_float_eq(med, 3.0, 1e-9);
	fanout_stats(w, 0, &med, &lo, &hi);
	cr_assert_float_eq(med + lo + hi, 0.0, 1e-9);
}

Test(fanout, json_report)
{
	struct fanout_opts o;
	struct fanout_clone c[2];
	struct fanout_run r = { .o = &o, .c = c, .t0 = 100, .t_ready = 110,
				.t_first_sent = 111, .t_last_done = 120, .t_measured = 130,
				.outcome = "stopped" };
	cJSON *j, *arr;
	char *t;

	PARSE_OK(&o, "-n", "2", "-s", "/s", "-m", "/m");
	memset(c, 0, sizeof(c));
	strcpy(r.work_dir, "/w");
	c[0] = (struct fanout_clone){ .idx = 0, .pid = 41, .state = CLONE_OK, .t_sent = 111,
				      .t_done = 115, .have_mem = true,
				      .mem = { .rss = 4000, .pss = 400, .shared = 3700,
					       .private_ = 300, .anon = 250 } };
	c[1] = (struct fanout_clone){ .idx = 1, .pid = 42, .state = CLONE_FAILED };
	strcpy(c[1].err, "PUT /snapshot/load: HTTP 400: nope");
	t = fanout_report_json(&r);
	cr_assert(t);
	j = cJSON_Parse(t);
	free(t);
	cr_assert(j);
	cr_assert_eq(cJSON_GetObjectItem(j, "count")->valueint, 2);
	cr_assert_eq(cJSON_GetObjectItem(j, "loaded")->valueint, 1);
	cr_assert_eq(cJSON_GetObjectItem(j, "failed")->valueint, 1);
	cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "memory_kib"), "pss")->valueint,
		     400);
	cr_assert_float_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "timing_ms"),
					       "fanout")->valuedouble, 9.0, 1e-9);
	arr = cJSON_GetObjectItem(j, "clones");
	cr_assert_eq(cJSON_GetArraySize(arr), 2);
	cr_assert_float_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "load_ms")->valuedouble,
			   4.0, 1e-9);
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1), "error")->valuestring,
			 "PUT /snapshot/load: HTTP 400: nope");
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1), "state")->valuestring,
			 "failed");
	cr_assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1), "memory_kib"));
	cJSON_Delete(j);
}

Test(fanout, clone_paths_and_work_dir)
{
	struct fanout_clone c;
	char dir[64], want[80], made[80];
	bool created;

	fanout_clone_paths(&c, "/w", 12);
	cr_assert_str_eq(c.sock, "/w/clone-12.sock");
	cr_assert_str_eq(c.serial, "/w/clone-12.serial");
	cr_assert_str_eq(c.log, "/w/clone-12.log");
	cr_assert_eq(c.fd, -1);
	cr_assert_eq(fanout_work_dir(NULL, dir, sizeof(dir), &created), 0);
	cr_assert(created);
	cr_assert_eq(strncmp(dir, "/tmp/femtovm-fanout.", 20), 0);
	snprintf(want, sizeof(want), "%s/sub", dir);
	cr_assert_eq(fanout_work_dir(want, made, sizeof(made), &created), 0);
	cr_assert_str_eq(made, want);
	cr_assert(created);
	cr_assert_eq(fanout_work_dir(want, made, sizeof(made), &created), 0);
	cr_assert_not(created, "an existing directory is used as it is");
	cr_assert_eq(rmdir(made), 0);
	cr_assert_eq(rmdir(dir), 0);
	cr_assert_eq(fanout_work_dir("/proc/self/status", made, sizeof(made), &created),
		     -ENOTDIR);
}

Test(fanout, exit_descriptions_and_log_tail)
{
	char out[128], path[] = "/tmp/femtovm-unit-log.XXXXXX";
	int fd = mkstemp(path);

	fanout_describe_exit(2 << 8, out, sizeof(out));
	cr_assert_str_eq(out, "exited with status 2");
	fanout_describe_exit(9, out, sizeof(out));
	cr_assert_str_eq(out, "was killed by signal 9");
	cr_assert_geq(fd, 0);
	fanout_last_log_line(path, out, sizeof(out));
	cr_assert_str_eq(out, "", "empty log");
	cr_assert_eq(write(fd, "one\n", 4), 4);
	fanout_last_log_line(path, out, sizeof(out));
	cr_assert_str_eq(out, "one");
	cr_assert_eq(write(fd, "bad option\nTry --help\n\n", 23), 23);
	fanout_last_log_line(path, out, sizeof(out));
	cr_assert_str_eq(out, "bad option Try --help");
	close(fd);
	unlink(path);
	fanout_last_log_line("/nonexistent/log", out, sizeof(out));
	cr_assert_str_eq(out, "");
}
