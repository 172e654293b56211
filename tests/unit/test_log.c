/* Unit tests for logging: level names, the line format written to a log
 * file, level filtering, truncation of long lines, and the rate limiter
 * (a burst passes, the rest is suppressed and reported later). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmm/log.h"

Test(log, parse_level)
{
	static const struct { const char *s; enum log_level l; } ok[] = {
		{ "Error", LOG_ERROR }, { "error", LOG_ERROR }, { "ERROR", LOG_ERROR },
		{ "Warning", LOG_WARN }, { "warning", LOG_WARN }, { "warn", LOG_WARN },
		{ "Info", LOG_INFO }, { "INFO", LOG_INFO }, { "Debug", LOG_DEBUG },
		{ "debug", LOG_DEBUG },
	};
	static const char *const bad[] = { "", "Trace", "Inf", "Infos", "Off", " Info", "4" };
	enum log_level l;

	for (unsigned i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		l = (enum log_level)99;
		cr_assert_eq(log_parse_level(ok[i].s, &l), 0, "%s", ok[i].s);
		cr_assert_eq(l, ok[i].l, "%s", ok[i].s);
	}
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		l = (enum log_level)99;
		cr_assert_eq(log_parse_level(bad[i], &l), -EINVAL, "\"%s\"", bad[i]);
		cr_assert_eq(l, (enum log_level)99, "output untouched");
	}
}

static char path[64];

static char *read_log(size_t *n)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY);
	ssize_t r;

	cr_assert_geq(fd, 0);
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	cr_assert_geq(r, 0);
	buf[r] = 0;
	*n = (size_t)r;
	return buf;
}

Test(log, file_format_and_level_filter)
{
	size_t n;
	char *s;
	int fd;

	strcpy(path, "/tmp/femtovm-unit-log-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(log_set_path(path), 0);
	log_set_level(LOG_WARN);
	log_info("not shown %d", 1);
	log_debug("not shown %d", 2);
	log_warn("shown %d", 3);
	log_err("also %s", "shown");
	s = read_log(&n);
	cr_assert_null(strstr(s, "not shown"));
	cr_assert_not_null(strstr(s, "Warning] shown 3\n"), "log: %s", s);
	cr_assert_not_null(strstr(s, "Error] also shown\n"), "log: %s", s);
	cr_assert_eq(strncmp(s, "[femtovm ", 9), 0);
	cr_assert_eq(log_set_path("/nonexistent-dir/x.log"), -ENOENT);
	cr_assert_eq(log_set_path(NULL), 0);
	unlink(path);
}

Test(log, long_line_truncated_with_newline)
{
	char *big = malloc(5000);
	size_t n;
	char *s;
	int fd;

	memset(big, 'x', 4999);
	big[4999] = 0;
	strcpy(path, "/tmp/femtovm-unit-log-XXXXXX");
	fd = mkstemp(path);
	close(fd);
	cr_assert_eq(log_set_path(path), 0);
	log_set_level(LOG_DEBUG);
	log_err("%s", big);
	s = read_log(&n);
	cr_assert_leq(n, 1024);
	cr_assert_gt(n, 900);
	cr_assert_eq(s[n - 1], '\n');
	cr_assert_eq(memchr(s, '\n', n), s + n - 1, "exactly one line");
	free(big);
	log_set_path(NULL);
	unlink(path);
}

Test(log, ratelimit_burst_then_suppress_then_report)
{
	struct log_ratelimit rl = { 0, 10, 0 };
	uint32_t sup = 77;

	rl.last_us = log_uptime_us(); /* no refill during the burst */
	for (unsigned i = 0; i < 10; i++) {
		cr_assert_eq(log_ratelimit_ok(&rl, &sup), 1, "message %u of the burst", i);
		cr_assert_eq(sup, 0);
	}
	cr_assert_eq(log_ratelimit_ok(&rl, &sup), 0);
	cr_assert_eq(log_ratelimit_ok(&rl, &sup), 0);
	cr_assert_eq(log_ratelimit_ok(&rl, &sup), 0);
	cr_assert_eq(rl.suppressed, 3);
	/* one second later: one token, and the 3 suppressed are reported */
	rl.last_us -= 1000000;
	cr_assert_eq(log_ratelimit_ok(&rl, &sup), 1);
	cr_assert_eq(sup, 3);
	cr_assert_eq(rl.suppressed, 0);
	cr_assert_eq(log_ratelimit_ok(&rl, &sup), 0, "only one token per second");
	/* a long pause refills one token per elapsed check, never above 10 */
	rl.last_us -= 1000000;
	cr_assert_eq(log_ratelimit_ok(&rl, &sup), 1);
	cr_assert_eq(sup, 1);
	cr_assert_leq(rl.tokens, 10);
}
