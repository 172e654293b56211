/* Leveled, timestamped logging for the monitor and a small rate limiter for
 * guest-triggered messages (a guest must not be able to flood the log). */
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static uint64_t start_ns;
static enum log_level cur_level = LOG_INFO;
static int log_fd = STDERR_FILENO;
static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;

static __thread char last_error[256];

const char *log_last_error(void)
{
	return last_error;
}

void log_clear_last_error(void)
{
	last_error[0] = 0;
}

static const char *const level_names[] = { "Error", "Warning", "Info", "Debug" };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void log_init(void)
{
	start_ns = now_ns();
}

uint64_t log_uptime_us(void)
{
	return (now_ns() - start_ns) / 1000;
}

int log_set_path(const char *path)
{
	int fd;

	if (!path) {
		log_fd = STDERR_FILENO;
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	return 0;
}

void log_set_level(enum log_level level)
{
	cur_level = level;
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcasecmp(s, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (!strcasecmp(s, "warn")) {
		*out = LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char buf[1024];
	uint64_t us;
	va_list ap;
	int n, m;

	if (level == LOG_ERROR) {
		va_start(ap, fmt);
		vsnprintf(last_error, sizeof(last_error), fmt, ap);
		va_end(ap);
	}
	if (level > cur_level)
		return;
	us = log_uptime_us();
	n = snprintf(buf, sizeof(buf), "[femtovm %llu.%06llu %s] ",
		     (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000),
		     level_names[level]);
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write per line so lines from different threads never interleave. */
	if (write(log_fd, buf, (size_t)n) < 0) {
		/* Nowhere left to report a logging failure. */
	}
}

int log_ratelimit_ok(struct log_ratelimit *rl, uint32_t *suppressed)
{
	uint64_t now = log_uptime_us();
	int ok = 0;

	pthread_mutex_lock(&rl_lock);
	if (now - rl->last_us >= 1000000) {
		rl->tokens = rl->tokens < 10 ? rl->tokens + 1 : 10;
		rl->last_us = now;
	}
	if (rl->tokens) {
		rl->tokens--;
		ok = 1;
		*suppressed = rl->suppressed;
		rl->suppressed = 0;
	} else {
		rl->suppressed++;
	}
	pthread_mutex_unlock(&rl_lock);
	return ok;
}
