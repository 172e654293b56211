/* Monitor logging: leveled lines to stderr or a file, each stamped with
 * microseconds since process start, plus a rate limiter for anything a guest
 * can trigger at will. */
#ifndef FEMTOVM_LOG_H
#define FEMTOVM_LOG_H

#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Record the process start time; call first thing in main(). */
void log_init(void);
/* Send log lines to @path (appending); NULL means stderr. 0 or -errno. */
int log_set_path(const char *path);
void log_set_level(enum log_level level);
/* Parse "Error"/"Warning"/"Info"/"Debug" (any case); -EINVAL otherwise. */
int log_parse_level(const char *s, enum log_level *out);
/* The text of the last Error-level message logged by this thread (empty
 * if none), so a caller can report why an operation failed. */
const char *log_last_error(void);
void log_clear_last_error(void);

/* Microseconds since log_init(). */
uint64_t log_uptime_us(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Per call-site token bucket: at most @burst messages, then one per second;
 * suppressed messages are counted and reported with the next one. */
struct log_ratelimit {
	uint64_t last_us;
	uint32_t tokens;
	uint32_t suppressed;
};
int log_ratelimit_ok(struct log_ratelimit *rl, uint32_t *suppressed);

#define log_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Log at most a few lines per second from this call site (guest-triggered). */
#define log_ratelimited(level, fmt, ...)                                        \
	do {                                                                    \
		static struct log_ratelimit rl_ = { 0, 10, 0 };                 \
		uint32_t sup_;                                                  \
		if (log_ratelimit_ok(&rl_, &sup_)) {                            \
			if (sup_)                                               \
				log_msg(level, "(%u similar messages suppressed)", sup_); \
			log_msg(level, fmt, ##__VA_ARGS__);                     \
		}                                                               \
	} while (0)

#endif
