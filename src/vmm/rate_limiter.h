/* Token-bucket rate limiter with Firecracker's semantics: a bandwidth bucket
 * (bytes) and an ops bucket, each with `size`, `refill_time` (ms to refill
 * from empty to full) and an optional `one_time_burst` spent first. A zero
 * size or refill time disables that bucket. Pure arithmetic on a caller-
 * supplied clock, so it is unit-testable. */
#ifndef FEMTOVM_RATE_LIMITER_H
#define FEMTOVM_RATE_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

struct token_bucket_cfg {
	uint64_t size, one_time_burst, refill_time_ms;
};

struct token_bucket {
	struct token_bucket_cfg cfg;
	uint64_t budget;       /* regular tokens available */
	uint64_t burst;        /* one-time-burst tokens left */
	uint64_t last_ns;      /* time of the last refill */
};

struct rate_limiter {
	struct token_bucket bw, ops;
};

/* Configure both buckets (full at @now_ns). */
void rl_init(struct rate_limiter *rl, const struct token_bucket_cfg *bw,
	     const struct token_bucket_cfg *ops, uint64_t now_ns);

/* Take @bytes and one op if both buckets allow it; all-or-nothing. A
 * request bigger than a bucket's size is allowed once the bucket is full
 * (it then waits in debt), so large requests are slowed, not starved. */
bool rl_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t now_ns);

/* Nanoseconds until a request of @bytes could pass (0 if it can now). */
uint64_t rl_wait_ns(struct rate_limiter *rl, uint64_t bytes, uint64_t now_ns);

bool rl_enabled(const struct rate_limiter *rl);

/* Monotonic clock in nanoseconds. */
uint64_t rl_now_ns(void);

#endif
