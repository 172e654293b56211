/* Token buckets: refill is linear, size tokens per refill_time. Debt (a
 * request larger than the bucket) is modelled as a negative budget, kept in
 * `debt` terms by letting budget go to zero and stretching last_ns. */
#include "vmm/rate_limiter.h"

#include <string.h>
#include <time.h>

uint64_t rl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool tb_enabled(const struct token_bucket *b)
{
	return b->cfg.size && b->cfg.refill_time_ms;
}

static void tb_init(struct token_bucket *b, const struct token_bucket_cfg *cfg, uint64_t now)
{
	memset(b, 0, sizeof(*b));
	if (cfg)
		b->cfg = *cfg;
	b->budget = b->cfg.size;
	b->burst = b->cfg.one_time_burst;
	b->last_ns = now;
}

/* Nanoseconds that refill @tokens. */
static uint64_t tb_ns_for(const struct token_bucket *b, uint64_t tokens)
{
	__uint128_t ns = (__uint128_t)tokens * b->cfg.refill_time_ms * 1000000ULL;

	return (uint64_t)((ns + b->cfg.size - 1) / b->cfg.size);
}

static void tb_refill(struct token_bucket *b, uint64_t now)
{
	__uint128_t add;

	if (now <= b->last_ns)
		return;
	add = (__uint128_t)(now - b->last_ns) * b->cfg.size /
	      ((__uint128_t)b->cfg.refill_time_ms * 1000000ULL);
	if (!add)
		return;
	if (add >= b->cfg.size - b->budget) {
		b->budget = b->cfg.size;
		b->last_ns = now;
	} else {
		b->budget += (uint64_t)add;
		/* Advance only by the time those tokens took, keep the rest. */
		b->last_ns += tb_ns_for(b, (uint64_t)add);
	}
}

/* Tokens available now (budget + burst) and whether @n can be taken. */
static bool tb_can(struct token_bucket *b, uint64_t n, uint64_t now)
{
	if (!tb_enabled(b))
		return true;
	tb_refill(b, now);
	if (b->burst + b->budget >= n)
		return true;
	/* Oversized request: allowed when the bucket is full (then in debt). */
	return n > b->cfg.size && b->budget == b->cfg.size;
}

static void tb_take(struct token_bucket *b, uint64_t n, uint64_t now)
{
	uint64_t from_burst;

	if (!tb_enabled(b))
		return;
	from_burst = n < b->burst ? n : b->burst;
	b->burst -= from_burst;
	n -= from_burst;
	if (n <= b->budget) {
		b->budget -= n;
		return;
	}
	/* Debt: empty the bucket and push the refill clock into the future. */
	n -= b->budget;
	b->budget = 0;
	b->last_ns = now + tb_ns_for(b, n);
}

/* Time until @n tokens can be taken. Refill is counted from last_ns (which
 * includes any fractional progress and, in debt, lies in the future). */
static uint64_t tb_wait(struct token_bucket *b, uint64_t n, uint64_t now)
{
	uint64_t have, need, ready;

	if (tb_can(b, n, now))
		return 0;
	have = b->burst + b->budget;
	need = n > b->cfg.size ? b->cfg.size - b->budget : n - have;
	ready = b->last_ns + tb_ns_for(b, need);
	return ready > now ? ready - now : 1;
}

void rl_init(struct rate_limiter *rl, const struct token_bucket_cfg *bw,
	     const struct token_bucket_cfg *ops, uint64_t now_ns)
{
	tb_init(&rl->bw, bw, now_ns);
	tb_init(&rl->ops, ops, now_ns);
}

bool rl_enabled(const struct rate_limiter *rl)
{
	return tb_enabled(&rl->bw) || tb_enabled(&rl->ops);
}

bool rl_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t now_ns)
{
	if (!tb_can(&rl->bw, bytes, now_ns) || !tb_can(&rl->ops, 1, now_ns))
		return false;
	tb_take(&rl->bw, bytes, now_ns);
	tb_take(&rl->ops, 1, now_ns);
	return true;
}

uint64_t rl_wait_ns(struct rate_limiter *rl, uint64_t bytes, uint64_t now_ns)
{
	uint64_t a = tb_wait(&rl->bw, bytes, now_ns), b = tb_wait(&rl->ops, 1, now_ns);

	return a > b ? a : b;
}
