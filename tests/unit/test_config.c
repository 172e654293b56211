/* Unit tests for the JSON configuration (Firecracker shape) and the jsonv
 * field-table validator: every field of boot-source, machine-config and
 * logger with wrong types and out-of-range values, unknown/missing/duplicate
 * fields, malformed documents, device sections, and the file helpers.
 * Every rejection must name the offending field in the message. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vmm/jsonv.h"

#define KERNEL "\"boot-source\": {\"kernel_image_path\": \"/k\"}"
#define MACHINE(body) "\"machine-config\": {" body "}"

static struct vm_config cfg;
static char err[CONFIG_ERR_LEN];

static int parse(const char *json)
{
	memset(err, 0, sizeof(err));
	return config_parse(json, strlen(json), &cfg, err, sizeof(err));
}

static void fini(void)
{
	config_free(&cfg);
}

TestSuite(config, .fini = fini);

/* Parse must fail with -EINVAL and a message containing @field. */
static void reject(const char *json, const char *field)
{
	int ret = parse(json);

	cr_assert_eq(ret, -EINVAL, "accepted: %s", json);
	cr_assert_not_null(strstr(err, field), "error \"%s\" does not name \"%s\" (input %s)",
			   err, field, json);
	config_free(&cfg);
}

static void accept(const char *json)
{
	int ret = parse(json);

	cr_assert_eq(ret, 0, "rejected: %s: %s", json, err);
}

Test(config, defaults)
{
	config_defaults(&cfg);
	cr_assert_eq(cfg.machine.vcpu_count, 1);
	cr_assert_eq(cfg.machine.mem_size_mib, 128);
	cr_assert_eq(cfg.machine.smt, false);
	cr_assert_eq(cfg.machine.track_dirty_pages, false);
	cr_assert_eq(cfg.has_boot_source, false);
	cr_assert_eq(cfg.logger.set, false);
}

Test(config, minimal)
{
	accept("{" KERNEL "}");
	cr_assert(cfg.has_boot_source);
	cr_assert_str_eq(cfg.boot.kernel_image_path, "/k");
	cr_assert_null(cfg.boot.initrd_path);
	cr_assert_null(cfg.boot.boot_args);
	cr_assert_eq(cfg.machine.vcpu_count, 1);
	cr_assert_eq(cfg.machine.mem_size_mib, 128);
	cr_assert_eq(cfg.logger.set, false);
}

Test(config, full)
{
	accept("{\"boot-source\": {\"kernel_image_path\": \"/vmlinux\", \"initrd_path\": \"/initrd\","
	       " \"boot_args\": \"console=ttyS0 quiet\"},"
	       " \"machine-config\": {\"vcpu_count\": 32, \"mem_size_mib\": 1048576, \"smt\": true,"
	       " \"track_dirty_pages\": true},"
	       " \"logger\": {\"log_path\": \"/tmp/log\", \"level\": \"Debug\", \"show_level\": true,"
	       " \"show_log_origin\": false},"
	       " \"drives\": [], \"network-interfaces\": [], \"vsock\": null}");
	cr_assert_str_eq(cfg.boot.kernel_image_path, "/vmlinux");
	cr_assert_str_eq(cfg.boot.initrd_path, "/initrd");
	cr_assert_str_eq(cfg.boot.boot_args, "console=ttyS0 quiet");
	cr_assert_eq(cfg.machine.vcpu_count, 32);
	cr_assert_eq(cfg.machine.mem_size_mib, 1048576);
	cr_assert_eq(cfg.machine.smt, true);
	cr_assert_eq(cfg.machine.track_dirty_pages, true);
	cr_assert(cfg.logger.set);
	cr_assert_str_eq(cfg.logger.log_path, "/tmp/log");
	cr_assert_eq(cfg.logger.level, LOG_DEBUG);
	cr_assert_eq(cfg.logger.show_level, true);
	cr_assert_eq(cfg.logger.show_log_origin, false);
}

/* --- boot-source ------------------------------------------------------- */

Test(config, boot_source_kernel_path)
{
	reject("{\"boot-source\": {}}", "boot-source.kernel_image_path");
	reject("{\"boot-source\": {\"kernel_image_path\": \"\"}}", "boot-source.kernel_image_path");
	reject("{\"boot-source\": {\"kernel_image_path\": null}}", "boot-source.kernel_image_path");
	reject("{\"boot-source\": {\"kernel_image_path\": 5}}", "boot-source.kernel_image_path");
	reject("{\"boot-source\": {\"kernel_image_path\": true}}", "boot-source.kernel_image_path");
	reject("{\"boot-source\": {\"kernel_image_path\": [\"/k\"]}}", "boot-source.kernel_image_path");
	reject("{\"boot-source\": {\"kernel_image_path\": {}}}", "boot-source.kernel_image_path");
	reject("{\"boot-source\": {\"initrd_path\": \"/i\"}}", "boot-source.kernel_image_path");
}

Test(config, boot_source_initrd)
{
	accept("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"initrd_path\": null}}");
	cr_assert_null(cfg.boot.initrd_path);
	config_free(&cfg);
	accept("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"initrd_path\": \"/i\"}}");
	cr_assert_str_eq(cfg.boot.initrd_path, "/i");
	config_free(&cfg);
	reject("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"initrd_path\": \"\"}}",
	       "boot-source.initrd_path");
	reject("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"initrd_path\": 1}}",
	       "boot-source.initrd_path");
	reject("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"initrd_path\": false}}",
	       "boot-source.initrd_path");
}

Test(config, boot_source_boot_args)
{
	accept("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"boot_args\": \"\"}}");
	cr_assert_not_null(cfg.boot.boot_args, "an empty boot_args is given, not absent");
	cr_assert_str_eq(cfg.boot.boot_args, "");
	config_free(&cfg);
	accept("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"boot_args\": null}}");
	cr_assert_null(cfg.boot.boot_args);
	config_free(&cfg);
	reject("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"boot_args\": 3}}",
	       "boot-source.boot_args");
	reject("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"boot_args\": true}}",
	       "boot-source.boot_args");
	reject("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"boot_args\": [\"a\"]}}",
	       "boot-source.boot_args");
}

Test(config, boot_source_shape)
{
	reject("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"kernel\": \"/x\"}}", "kernel");
	reject("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"kernel\": \"/x\"}}", "boot-source");
	reject("{\"boot-source\": [\"/k\"]}", "boot-source");
	reject("{\"boot-source\": \"/k\"}", "boot-source");
	reject("{\"boot-source\": null}", "boot-source");
	reject("{\"boot-source\": {\"kernel_image_path\": \"/a\", \"kernel_image_path\": \"/b\"}}",
	       "boot-source.kernel_image_path");
	reject("{" KERNEL ", " KERNEL "}", "boot-source");
	reject("{" MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 64") "}", "boot-source");
	reject("{}", "boot-source");
}

/* --- machine-config ---------------------------------------------------- */

#define M(body) "{" KERNEL ", " MACHINE(body) "}"

Test(config, machine_vcpu_count)
{
	static const char *const bad[] = { "0", "33", "-1", "1.5", "\"2\"", "true", "null",
					   "[2]", "{}", "4294967297", "1e400", "-0.5", "2.0000001" };

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char json[256];

		snprintf(json, sizeof(json), M("\"vcpu_count\": %s, \"mem_size_mib\": 64"), bad[i]);
		reject(json, "machine-config.vcpu_count");
	}
	reject(M("\"mem_size_mib\": 64"), "machine-config.vcpu_count");
	accept(M("\"vcpu_count\": 32, \"mem_size_mib\": 64"));
	cr_assert_eq(cfg.machine.vcpu_count, 32);
	config_free(&cfg);
	accept(M("\"vcpu_count\": 1, \"mem_size_mib\": 64"));
	cr_assert_eq(cfg.machine.vcpu_count, 1);
	cr_assert_eq(cfg.machine.mem_size_mib, 64);
}

Test(config, machine_mem_size)
{
	static const char *const bad[] = { "0", "-128", "1.5", "\"128\"", "false", "null",
					   "1048577", "18446744073709551616", "[]" };

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char json[256];

		snprintf(json, sizeof(json), M("\"vcpu_count\": 1, \"mem_size_mib\": %s"), bad[i]);
		reject(json, "machine-config.mem_size_mib");
	}
	reject(M("\"vcpu_count\": 1"), "machine-config.mem_size_mib");
	accept(M("\"vcpu_count\": 2, \"mem_size_mib\": 1"));
	cr_assert_eq(cfg.machine.mem_size_mib, 1);
}

Test(config, machine_bools)
{
	reject(M("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"smt\": \"true\""), "machine-config.smt");
	reject(M("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"smt\": 1"), "machine-config.smt");
	reject(M("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"smt\": null"), "machine-config.smt");
	reject(M("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"track_dirty_pages\": \"yes\""),
	       "machine-config.track_dirty_pages");
	reject(M("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"track_dirty_pages\": 0"),
	       "machine-config.track_dirty_pages");
	accept(M("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"smt\": false, \"track_dirty_pages\": true"));
	cr_assert_eq(cfg.machine.smt, false);
	cr_assert_eq(cfg.machine.track_dirty_pages, true);
}

Test(config, machine_smt_needs_even_vcpus)
{
	reject(M("\"vcpu_count\": 3, \"mem_size_mib\": 64, \"smt\": true"), "machine-config.vcpu_count");
	reject(M("\"vcpu_count\": 31, \"mem_size_mib\": 64, \"smt\": true"), "machine-config.vcpu_count");
	accept(M("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"smt\": true"));
	config_free(&cfg);
	accept(M("\"vcpu_count\": 2, \"mem_size_mib\": 64, \"smt\": true"));
	config_free(&cfg);
	accept(M("\"vcpu_count\": 3, \"mem_size_mib\": 64, \"smt\": false"));
	cr_assert_eq(cfg.machine.vcpu_count, 3);
}

Test(config, machine_shape)
{
	reject(M("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"turbo\": true"), "turbo");
	reject(M("\"vcpu_count\": 1, \"mem_size_mib\": 64, \"turbo\": true"), "machine-config");
	reject(M("\"vcpu_count\": 1, \"vcpu_count\": 2, \"mem_size_mib\": 64"),
	       "machine-config.vcpu_count");
	reject("{" KERNEL ", \"machine-config\": [1, 128]}", "machine-config");
	reject("{" KERNEL ", \"machine-config\": 1}", "machine-config");
	reject("{" KERNEL ", " MACHINE("\"vcpu_count\": 1, \"mem_size_mib\": 64") ", "
	       MACHINE("\"vcpu_count\": 2, \"mem_size_mib\": 64") "}", "machine-config");
}

/* --- logger ------------------------------------------------------------ */

#define L(body) "{" KERNEL ", \"logger\": {" body "}}"

Test(config, logger_fields)
{
	accept(L("\"log_path\": \"/tmp/l\""));
	cr_assert(cfg.logger.set);
	cr_assert_str_eq(cfg.logger.log_path, "/tmp/l");
	cr_assert_eq(cfg.logger.level, LOG_INFO);
	config_free(&cfg);
	accept(L("\"log_path\": \"/tmp/l\", \"level\": \"Warning\""));
	cr_assert_eq(cfg.logger.level, LOG_WARN);
	config_free(&cfg);
	accept(L("\"log_path\": \"/tmp/l\", \"level\": \"Error\""));
	cr_assert_eq(cfg.logger.level, LOG_ERROR);
	config_free(&cfg);

	reject(L("\"level\": \"Info\""), "logger.log_path");
	reject(L("\"log_path\": \"\""), "logger.log_path");
	reject(L("\"log_path\": 7"), "logger.log_path");
	reject(L("\"log_path\": null"), "logger.log_path");
	reject(L("\"log_path\": \"/l\", \"level\": \"Verbose\""), "logger.level");
	reject(L("\"log_path\": \"/l\", \"level\": 2"), "logger.level");
	reject(L("\"log_path\": \"/l\", \"level\": null"), "logger.level");
	reject(L("\"log_path\": \"/l\", \"level\": \"\""), "logger.level");
	reject(L("\"log_path\": \"/l\", \"level\": \"Info \""), "logger.level");
	reject(L("\"log_path\": \"/l\", \"show_level\": \"true\""), "logger.show_level");
	reject(L("\"log_path\": \"/l\", \"show_log_origin\": 1"), "logger.show_log_origin");
	reject(L("\"log_path\": \"/l\", \"colour\": true"), "colour");
	reject("{" KERNEL ", \"logger\": \"/tmp/l\"}", "logger");
}

Test(config, logger_level_message_lists_choices)
{
	reject(L("\"log_path\": \"/l\", \"level\": \"Loud\""), "\"Warning\"");
}

/* --- document level ---------------------------------------------------- */

Test(config, unknown_top_level)
{
	reject("{" KERNEL ", \"bogus\": {}}", "bogus");
	reject("{\"bogus\": 1, " KERNEL "}", "bogus");
	reject("{" KERNEL ", \"Boot-Source\": {}}", "Boot-Source");
}

Test(config, invalid_json)
{
	static const char *const docs[] = { "", "{", "}", "{\"boot-source\": {", "{'a': 1}",
					    "{\"boot-source\": {\"kernel_image_path\": \"/k\",}}",
					    "nul", "\x01" };

	for (unsigned i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		cr_assert_eq(parse(docs[i]), -EINVAL, "accepted \"%s\"", docs[i]);
		cr_assert_neq(err[0], 0, "no message for \"%s\"", docs[i]);
		config_free(&cfg);
	}
}

Test(config, trailing_garbage_rejected)
{
	/* Only one JSON value may be in the document. */
	cr_expect_eq(parse("{" KERNEL "} x"), -EINVAL);
	config_free(&cfg);
	cr_expect_eq(parse("{" KERNEL "}}"), -EINVAL);
	config_free(&cfg);
	cr_expect_eq(parse("{" KERNEL "}{\"bogus\": 1}"), -EINVAL);
	config_free(&cfg);
	accept("{" KERNEL "}\n  \t");
}

Test(config, non_object_root)
{
	static const char *const docs[] = { "[]", "[{}]", "\"boot-source\"", "null", "42", "true" };

	for (unsigned i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		cr_assert_eq(parse(docs[i]), -EINVAL, "accepted %s", docs[i]);
		cr_assert_not_null(strstr(err, "object"), "message: %s", err);
		config_free(&cfg);
	}
}

Test(config, length_bounds_the_parse)
{
	/* Not NUL-terminated: an exact-size heap buffer (ASan catches over-reads). */
	const char *doc = "{" KERNEL "}";
	size_t n = strlen(doc);
	char *buf = malloc(n);

	memcpy(buf, doc, n);
	cr_assert_eq(config_parse(buf, n, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cfg.boot.kernel_image_path, "/k");
	config_free(&cfg);
	/* truncated by len */
	cr_assert_eq(config_parse(buf, n - 1, &cfg, err, sizeof(err)), -EINVAL);
	config_free(&cfg);
	cr_assert_eq(config_parse(buf, 0, &cfg, err, sizeof(err)), -EINVAL);
	free(buf);
}

Test(config, device_sections)
{
	static const char *const keys[] = { "metrics",
					    "balloon", "mmds-config", "entropy", "cpu-config" };

	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char json[256];

		snprintf(json, sizeof(json), "{" KERNEL ", \"%s\": []}", keys[i]);
		accept(json);
		config_free(&cfg);
		snprintf(json, sizeof(json), "{" KERNEL ", \"%s\": null}", keys[i]);
		accept(json);
		config_free(&cfg);
		snprintf(json, sizeof(json), "{" KERNEL ", \"%s\": [{\"id\": \"x\"}]}", keys[i]);
		reject(json, keys[i]);
		snprintf(json, sizeof(json), "{" KERNEL ", \"%s\": {\"guest_cid\": 3}}", keys[i]);
		reject(json, keys[i]);
		snprintf(json, sizeof(json), "{" KERNEL ", \"%s\": 0}", keys[i]);
		reject(json, keys[i]);
	}
	reject("{" KERNEL ", \"drives\": [], \"drives\": []}", "drives");
}

/* --- drives ------------------------------------------------------------ */

#define DRIVE(id, root) "{\"drive_id\": \"" id "\", \"path_on_host\": \"/img\", " \
	"\"is_root_device\": " root "}"
#define D(body) "{" KERNEL ", \"drives\": [" body "]}"

Test(config, drives_valid)
{
	accept(D(""));
	cr_assert_eq(cfg.ndrives, 0);
	config_free(&cfg);
	accept(D(DRIVE("data", "false") ", "
		 "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r.img\", \"is_root_device\": true,"
		 " \"is_read_only\": true, \"partuuid\": null,"
		 " \"rate_limiter\": {\"bandwidth\": {\"size\": 1000, \"refill_time\": 100},"
		 " \"ops\": {\"size\": 10, \"one_time_burst\": 5, \"refill_time\": 1000}}}"));
	cr_assert_eq(cfg.ndrives, 2);
	cr_assert_str_eq(cfg.drives[0].drive_id, "rootfs", "root device kept first");
	cr_assert_eq(cfg.drives[0].is_root_device, true);
	cr_assert_eq(cfg.drives[0].is_read_only, true);
	cr_assert_str_eq(cfg.drives[0].path_on_host, "/r.img");
	cr_assert_eq(cfg.drives[0].rate_limiter.bandwidth.size, 1000);
	cr_assert_eq(cfg.drives[0].rate_limiter.bandwidth.refill_time_ms, 100);
	cr_assert_eq(cfg.drives[0].rate_limiter.ops.one_time_burst, 5);
	cr_assert_str_eq(cfg.drives[1].drive_id, "data");
}

Test(config, drives_rejected)
{
	reject("{" KERNEL ", \"drives\": {}}", "drives");
	reject(D("1"), "drives[0]");
	reject(D("{\"drive_id\": \"a\", \"is_root_device\": false}"), "drives[0].path_on_host");
	reject(D("{\"path_on_host\": \"/a\", \"is_root_device\": false}"), "drives[0].drive_id");
	reject(D("{\"drive_id\": \"a\", \"path_on_host\": \"/a\"}"), "drives[0].is_root_device");
	reject(D(DRIVE("a-b", "false")), "drives[0].drive_id");
	reject(D(DRIVE("", "false")), "drives[0].drive_id");
	reject(D(DRIVE("ok", "false") ", " DRIVE("a b", "false")), "drives[1].drive_id");
	reject(D(DRIVE("a", "false") ", " DRIVE("a", "false")), "drives");
	reject(D(DRIVE("a", "true") ", " DRIVE("b", "true")), "root");
	reject(D(DRIVE("a", "\"yes\"")), "drives[0].is_root_device");
	reject(D("{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": false, "
		 "\"partuuid\": \"1234\"}"), "drives[0].partuuid");
	reject(D("{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": false, "
		 "\"cache_type\": \"Bogus\"}"), "drives[0].cache_type");
	reject(D("{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": false, "
		 "\"rate_limiter\": {\"bandwidth\": {\"size\": 1}}}"),
	       "drives[0].rate_limiter.bandwidth.refill_time");
	reject(D("{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": false, "
		 "\"rate_limiter\": {\"ops\": {\"size\": -1, \"refill_time\": 1}}}"),
	       "drives[0].rate_limiter.ops.size");
	reject(D("{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": false, "
		 "\"rate_limiter\": {\"ops\": {\"size\": 9007199254740994, \"refill_time\": 1}}}"),
	       "drives[0].rate_limiter.ops.size");
	reject(D("{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": false, "
		 "\"rate_limiter\": {\"iops\": {}}}"), "iops");
}

Test(config, drives_limit)
{
	char json[4096];
	size_t n;

	n = (size_t)snprintf(json, sizeof(json), "{" KERNEL ", \"drives\": [");
	for (unsigned i = 0; i <= CONFIG_MAX_DRIVES; i++)
		n += (size_t)snprintf(json + n, sizeof(json) - n,
				      "%s{\"drive_id\": \"d%u\", \"path_on_host\": \"/x\", "
				      "\"is_root_device\": false}", i ? ", " : "", i);
	snprintf(json + n, sizeof(json) - n, "]}");
	reject(json, "drives");
	/* exactly the maximum is fine */
	n = (size_t)snprintf(json, sizeof(json), "{" KERNEL ", \"drives\": [");
	for (unsigned i = 0; i < CONFIG_MAX_DRIVES; i++)
		n += (size_t)snprintf(json + n, sizeof(json) - n,
				      "%s{\"drive_id\": \"d%u\", \"path_on_host\": \"/x\", "
				      "\"is_root_device\": false}", i ? ", " : "", i);
	snprintf(json + n, sizeof(json) - n, "]}");
	accept(json);
	cr_assert_eq(cfg.ndrives, CONFIG_MAX_DRIVES);
}

Test(config, error_buffer_small_is_safe)
{
	char small[8];

	memset(small, 'x', sizeof(small));
	cr_assert_eq(config_parse("{}", 2, &cfg, small, sizeof(small)), -EINVAL);
	cr_assert_eq(small[7], 0, "message truncated and terminated");
}

/* --- files ------------------------------------------------------------- */

static char tmpdir[64];

static void write_file(const char *path, const char *data, size_t n)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, n, f), n);
	fclose(f);
}

static void files_init(void)
{
	strcpy(tmpdir, "/tmp/femtovm-unit-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void files_fini(void)
{
	char cmd[128];

	config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(config_files, .init = files_init, .fini = files_fini);

Test(config_files, load_file)
{
	char path[128];
	const char *doc = "{" KERNEL "}";

	snprintf(path, sizeof(path), "%s/cfg.json", tmpdir);
	write_file(path, doc, strlen(doc));
	cr_assert_eq(config_load_file(path, &cfg, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cfg.boot.kernel_image_path, "/k");
	config_free(&cfg);

	cr_assert_eq(config_load_file(tmpdir, &cfg, err, sizeof(err)), -EINVAL, "a directory");
	snprintf(path, sizeof(path), "%s/missing.json", tmpdir);
	cr_assert_eq(config_load_file(path, &cfg, err, sizeof(err)), -ENOENT);
	cr_assert_not_null(strstr(err, "missing.json"));
}

Test(config_files, load_file_size_cap)
{
	char path[128];
	size_t n = CONFIG_MAX_FILE + 1;
	char *big = malloc(n);

	/* valid JSON padded with whitespace to just over the cap */
	memset(big, ' ', n);
	memcpy(big, "{" KERNEL "}", strlen("{" KERNEL "}"));
	snprintf(path, sizeof(path), "%s/big.json", tmpdir);
	write_file(path, big, n);
	cr_assert_eq(config_load_file(path, &cfg, err, sizeof(err)), -EINVAL);
	config_free(&cfg);
	write_file(path, big, n - 1);
	cr_assert_eq(config_load_file(path, &cfg, err, sizeof(err)), 0, "%s", err);
	free(big);
}

Test(config_files, check_files)
{
	char kpath[128], ipath[128];

	snprintf(kpath, sizeof(kpath), "%s/vmlinux", tmpdir);
	snprintf(ipath, sizeof(ipath), "%s/initrd", tmpdir);
	config_defaults(&cfg);
	cfg.boot.kernel_image_path = strdup(kpath);
	cr_assert_eq(config_check_files(&cfg, err, sizeof(err)), -ENOENT);
	cr_assert_not_null(strstr(err, "boot-source.kernel_image_path"));
	write_file(kpath, "x", 1);
	cr_assert_eq(config_check_files(&cfg, err, sizeof(err)), 0);
	cfg.boot.initrd_path = strdup(ipath);
	cr_assert_eq(config_check_files(&cfg, err, sizeof(err)), -ENOENT);
	cr_assert_not_null(strstr(err, "boot-source.initrd_path"));
	free(cfg.boot.initrd_path);
	cfg.boot.initrd_path = strdup(tmpdir);
	cr_assert_eq(config_check_files(&cfg, err, sizeof(err)), -EINVAL, "a directory");
	cr_assert_not_null(strstr(err, "boot-source.initrd_path"));
}

/* --- jsonv directly ---------------------------------------------------- */

struct jv_sub {
	uint64_t x;
	bool y;
};

struct jv_dst {
	char *s;
	unsigned u, e;
	bool b;
	struct jv_sub n;
};

static const char *const colours[] = { "red", "green", NULL };

static const struct jv_field jv_sub_fields[] = {
	{ .name = "x", .type = JV_U64, .required = true, .max = JV_MAX_SAFE_INT,
	  .offset = offsetof(struct jv_sub, x) },
	{ .name = "y", .type = JV_BOOL, .offset = offsetof(struct jv_sub, y) },
};

static const struct jv_field jv_fields[] = {
	{ .name = "s", .type = JV_STRING, .allow_empty = true, .offset = offsetof(struct jv_dst, s) },
	{ .name = "u", .type = JV_UINT, .min = 10, .max = 20, .offset = offsetof(struct jv_dst, u) },
	{ .name = "e", .type = JV_ENUM, .choices = colours, .offset = offsetof(struct jv_dst, e) },
	{ .name = "b", .type = JV_BOOL, .required = true, .offset = offsetof(struct jv_dst, b) },
	{ .name = "n", .type = JV_OBJECT, .sub = jv_sub_fields, .nsub = 2,
	  .offset = offsetof(struct jv_dst, n) },
};

static int jv(const char *json, struct jv_dst *d)
{
	cJSON *o = cJSON_Parse(json);
	int ret;

	cr_assert_not_null(o, "test JSON invalid: %s", json);
	memset(d, 0, sizeof(*d));
	ret = jv_parse_object(o, "obj", jv_fields, 5, d, err, sizeof(err));
	cJSON_Delete(o);
	return ret;
}

Test(jsonv, table_types)
{
	struct jv_dst d;

	cr_assert_eq(jv("{\"s\": \"\", \"u\": 10, \"e\": \"green\", \"b\": true}", &d), 0, "%s", err);
	cr_assert_str_eq(d.s, "");
	cr_assert_eq(d.u, 10);
	cr_assert_eq(d.e, 1);
	cr_assert_eq(d.b, true);
	free(d.s);
	cr_assert_eq(jv("{\"u\": 20, \"b\": false}", &d), 0);
	cr_assert_eq(d.u, 20);
	cr_assert_eq(jv("{\"u\": 9, \"b\": false}", &d), -EINVAL);
	cr_assert_not_null(strstr(err, "obj.u"));
	cr_assert_not_null(strstr(err, "10"));
	cr_assert_not_null(strstr(err, "20"));
	cr_assert_eq(jv("{\"u\": 21, \"b\": false}", &d), -EINVAL);
	cr_assert_eq(jv("{\"e\": \"Green\", \"b\": false}", &d), -EINVAL);
	cr_assert_not_null(strstr(err, "obj.e"));
	cr_assert_eq(jv("{\"u\": 15}", &d), -EINVAL);
	cr_assert_not_null(strstr(err, "obj.b"));
	cr_assert_eq(jv("{\"b\": true, \"x\": 1}", &d), -EINVAL);
	cr_assert_not_null(strstr(err, "obj"));
	cr_assert_not_null(strstr(err, "\"x\""));
	cr_assert_eq(jv("{\"b\": true, \"b\": true}", &d), -EINVAL);
	cr_assert_not_null(strstr(err, "obj.b"));
}

Test(jsonv, nested_object_and_u64)
{
	struct jv_dst d;

	cr_assert_eq(jv("{\"b\": true, \"n\": {\"x\": 9007199254740992, \"y\": true}}", &d), 0,
		     "%s", err);
	cr_assert_eq(d.n.x, 1ULL << 53);
	cr_assert_eq(d.n.y, true);
	cr_assert_eq(jv("{\"b\": true, \"n\": {\"x\": 0}}", &d), 0);
	cr_assert_eq(d.n.x, 0);
	cr_assert_eq(jv("{\"b\": true, \"n\": {\"x\": 9007199254740994}}", &d), -EINVAL);
	cr_assert_not_null(strstr(err, "obj.n.x"), "%s", err);
	cr_assert_eq(jv("{\"b\": true, \"n\": {\"x\": -1}}", &d), -EINVAL);
	cr_assert_not_null(strstr(err, "obj.n.x"), "%s", err);
	cr_assert_eq(jv("{\"b\": true, \"n\": {\"x\": 1.5}}", &d), -EINVAL);
	cr_assert_eq(jv("{\"b\": true, \"n\": {\"x\": \"1\"}}", &d), -EINVAL);
	cr_assert_eq(jv("{\"b\": true, \"n\": {}}", &d), -EINVAL);
	cr_assert_not_null(strstr(err, "obj.n.x"), "%s", err);
	cr_assert_eq(jv("{\"b\": true, \"n\": {\"x\": 1, \"z\": 1}}", &d), -EINVAL);
	cr_assert_not_null(strstr(err, "obj.n"), "%s", err);
	cr_assert_not_null(strstr(err, "\"z\""), "%s", err);
	cr_assert_eq(jv("{\"b\": true, \"n\": [1]}", &d), -EINVAL);
	cr_assert_not_null(strstr(err, "obj.n"), "%s", err);
	/* An optional object given as null is absent, as GET /vm/config writes
	 * unset token buckets; a required one is still missing. */
	cr_assert_eq(jv("{\"b\": true, \"n\": null}", &d), 0, "%s", err);
	cr_assert_eq(d.n.x, 0);
	cr_assert_eq(jv("{\"b\": null}", &d), -EINVAL);
}

Test(jsonv, required_object_null_rejected)
{
	static const struct jv_field req[] = {
		{ .name = "n", .type = JV_OBJECT, .required = true, .sub = jv_sub_fields,
		  .nsub = 2, .offset = offsetof(struct jv_dst, n) },
	};
	struct jv_dst d = { 0 };
	cJSON *o = cJSON_Parse("{\"n\": null}");

	cr_assert_eq(jv_parse_object(o, "obj", req, 1, &d, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "obj.n"), "%s", err);
	cJSON_Delete(o);
}

Test(jsonv, strings_kept_on_error)
{
	struct jv_dst d;

	/* the first value stored, then an error: the caller owns d.s */
	cr_assert_eq(jv("{\"s\": \"abc\", \"u\": 1, \"b\": true}", &d), -EINVAL);
	cr_assert_str_eq(d.s, "abc");
	free(d.s);
}
