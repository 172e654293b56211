/* Unit tests for the token-bucket rate limiter on an explicit clock:
 * disabled buckets, exhaustion and refill (full and proportional), the
 * one-time burst, the ops bucket, oversized requests (debt) and the exact
 * wait rl_wait_ns() reports. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "vmm/rate_limiter.h"

#define MS 1000000ULL /* ns */
#define S 1000000000ULL

/* 1000 tokens per second: one token per millisecond. */
static const struct token_bucket_cfg k1000 = { .size = 1000, .refill_time_ms = 1000 };

/* rl_wait_ns() must name the first instant a request passes: one ns
 * earlier it still fails, at that instant it succeeds (checked on copies). */
static void assert_exact_wait(const struct rate_limiter *rl, uint64_t bytes, uint64_t now,
			      uint64_t expect)
{
	struct rate_limiter a = *rl, b = *rl, w = *rl;
	uint64_t got = rl_wait_ns(&w, bytes, now);

	cr_assert_eq(got, expect, "rl_wait_ns(%llu bytes, now %llu) = %llu, expected %llu",
		     (unsigned long long)bytes, (unsigned long long)now,
		     (unsigned long long)got, (unsigned long long)expect);
	if (expect)
		cr_assert_not(rl_consume(&a, bytes, now + expect - 1),
			      "passes 1 ns before the reported wait");
	cr_assert(rl_consume(&b, bytes, now + expect), "fails at the reported wait");
}

Test(rate_limiter, disabled_buckets_always_pass)
{
	struct rate_limiter rl;
	struct token_bucket_cfg no_size = { .size = 0, .refill_time_ms = 100 };
	struct token_bucket_cfg no_time = { .size = 100, .refill_time_ms = 0 };

	rl_init(&rl, NULL, NULL, 0);
	cr_assert_not(rl_enabled(&rl));
	for (int i = 0; i < 100; i++)
		cr_assert(rl_consume(&rl, UINT64_MAX, 0));
	cr_assert_eq(rl_wait_ns(&rl, UINT64_MAX, 0), 0);

	rl_init(&rl, &no_size, &no_time, 5);
	cr_assert_not(rl_enabled(&rl));
	for (int i = 0; i < 100; i++)
		cr_assert(rl_consume(&rl, 1ULL << 40, 5));
	cr_assert_eq(rl_wait_ns(&rl, 1ULL << 40, 5), 0);
}

Test(rate_limiter, bucket_allows_size_then_refuses_until_refill)
{
	struct rate_limiter rl;

	rl_init(&rl, &k1000, NULL, 0);
	cr_assert(rl_enabled(&rl));
	cr_assert(rl_consume(&rl, 600, 0));
	cr_assert(rl_consume(&rl, 400, 0));
	cr_assert_eq(rl.bw.budget, 0);
	cr_assert_not(rl_consume(&rl, 1, 0));
	cr_assert_not(rl_consume(&rl, 1, MS - 1));
	cr_assert_eq(rl.bw.budget, 0);
	cr_assert(rl_consume(&rl, 1, MS));
	cr_assert_not(rl_consume(&rl, 1, MS));
	/* A full refill_time later the bucket is full again, not fuller. */
	cr_assert(rl_consume(&rl, 1000, 10 * S));
	cr_assert_not(rl_consume(&rl, 1, 10 * S));
}

Test(rate_limiter, refill_is_proportional_to_time)
{
	struct rate_limiter rl;

	rl_init(&rl, &k1000, NULL, 0);
	cr_assert(rl_consume(&rl, 1000, 0));
	/* 250 ms → 250 tokens. */
	cr_assert_not(rl_consume(&rl, 251, 250 * MS));
	cr_assert_eq(rl.bw.budget, 250);
	cr_assert(rl_consume(&rl, 250, 250 * MS));
	cr_assert_not(rl_consume(&rl, 1, 250 * MS));
	/* The partial millisecond is not lost: 0.5 ms + 0.5 ms = one token. */
	cr_assert_not(rl_consume(&rl, 1, 250 * MS + MS / 2));
	cr_assert(rl_consume(&rl, 1, 251 * MS));
}

Test(rate_limiter, one_time_burst_spent_first_never_refilled)
{
	struct token_bucket_cfg c = { .size = 100, .one_time_burst = 500, .refill_time_ms = 1000 };
	struct rate_limiter rl;

	rl_init(&rl, &c, NULL, 0);
	cr_assert(rl_consume(&rl, 100, 0));
	cr_assert_eq(rl.bw.burst, 400, "burst is spent before the budget");
	cr_assert_eq(rl.bw.budget, 100);
	cr_assert(rl_consume(&rl, 450, 0));
	cr_assert_eq(rl.bw.burst, 0);
	cr_assert_eq(rl.bw.budget, 50);
	cr_assert(rl_consume(&rl, 50, 0));
	cr_assert_not(rl_consume(&rl, 1, 0));
	/* Much later: only the regular bucket is back. */
	cr_assert(rl_consume(&rl, 100, 100 * S));
	cr_assert_eq(rl.bw.burst, 0);
	cr_assert_not(rl_consume(&rl, 1, 100 * S));
}

Test(rate_limiter, ops_bucket_independent_of_bytes)
{
	struct token_bucket_cfg ops = { .size = 2, .refill_time_ms = 1000 };
	struct rate_limiter rl;

	rl_init(&rl, NULL, &ops, 0);
	cr_assert(rl_enabled(&rl));
	cr_assert(rl_consume(&rl, 1ULL << 30, 0));
	cr_assert(rl_consume(&rl, 0, 0));
	cr_assert_not(rl_consume(&rl, 0, 0));
	/* one op per 500 ms */
	assert_exact_wait(&rl, 12345, 0, 500 * MS);
	cr_assert(rl_consume(&rl, 1ULL << 40, 500 * MS));
}

Test(rate_limiter, consume_is_all_or_nothing)
{
	struct token_bucket_cfg ops = { .size = 10, .refill_time_ms = 1000 };
	struct token_bucket_cfg ops1 = { .size = 1, .refill_time_ms = 1000 };
	struct rate_limiter rl;

	/* bytes refused: no op taken */
	rl_init(&rl, &k1000, &ops, 0);
	cr_assert(rl_consume(&rl, 1000, 0));
	cr_assert_eq(rl.ops.budget, 9);
	cr_assert_not(rl_consume(&rl, 10, 0));
	cr_assert_eq(rl.ops.budget, 9);
	cr_assert_eq(rl.bw.budget, 0);

	/* op refused: no bytes taken */
	rl_init(&rl, &k1000, &ops1, 0);
	cr_assert(rl_consume(&rl, 10, 0));
	cr_assert_not(rl_consume(&rl, 10, 0));
	cr_assert_eq(rl.bw.budget, 990);
	cr_assert_eq(rl.ops.budget, 0);
}

Test(rate_limiter, oversized_request_only_when_full_then_debt)
{
	struct rate_limiter rl;

	rl_init(&rl, &k1000, NULL, 0);
	/* not full: an oversized request waits until the bucket is full */
	cr_assert(rl_consume(&rl, 500, 0));
	cr_assert_not(rl_consume(&rl, 3000, 0));
	cr_assert_eq(rl.bw.budget, 500);
	assert_exact_wait(&rl, 3000, 0, 500 * MS);
	/* full: allowed, leaving a debt of 2000 tokens (2 s) */
	cr_assert(rl_consume(&rl, 3000, 500 * MS));
	cr_assert_eq(rl.bw.budget, 0);
	cr_assert_not(rl_consume(&rl, 1, 500 * MS));
	cr_assert_not(rl_consume(&rl, 1, 2500 * MS));
	/* the debt is paid at 2.5 s; one more token needs 1 ms more */
	assert_exact_wait(&rl, 1, 500 * MS, 2001 * MS);
	/* and another oversized request needs the bucket full again */
	assert_exact_wait(&rl, 3000, 500 * MS, 3000 * MS);
	cr_assert(rl_consume(&rl, 1, 2501 * MS));
}

Test(rate_limiter, wait_is_zero_when_it_can_pass)
{
	struct rate_limiter rl;

	rl_init(&rl, &k1000, NULL, 7);
	cr_assert_eq(rl_wait_ns(&rl, 1000, 7), 0);
	cr_assert_eq(rl_wait_ns(&rl, 5000, 7), 0, "oversized on a full bucket passes");
	cr_assert(rl_consume(&rl, 1000, 7));
	assert_exact_wait(&rl, 1, 7, MS);
	assert_exact_wait(&rl, 1000, 7, 1000 * MS);
}

/* The wait must count the time already accrued toward the next token:
 * emptied at t=0, at t=0.5 ms the next token arrives 0.5 ms later. */
Test(rate_limiter, wait_counts_partial_refill)
{
	struct rate_limiter rl;

	rl_init(&rl, &k1000, NULL, 0);
	cr_assert(rl_consume(&rl, 1000, 0));
	assert_exact_wait(&rl, 1, MS / 2, MS / 2);
	assert_exact_wait(&rl, 10, 3 * MS + MS / 4, 7 * MS - MS / 4);
}

Test(rate_limiter, wait_is_max_of_both_buckets)
{
	struct token_bucket_cfg ops = { .size = 1, .refill_time_ms = 100 };
	struct rate_limiter rl;

	rl_init(&rl, &k1000, &ops, 0);
	cr_assert(rl_consume(&rl, 1000, 0));
	/* bytes need 20 ms, the op 100 ms */
	assert_exact_wait(&rl, 20, 0, 100 * MS);
	/* bytes need 500 ms, the op 100 ms */
	assert_exact_wait(&rl, 500, 0, 500 * MS);
}

Test(rate_limiter, clock_going_backwards_is_harmless)
{
	struct rate_limiter rl;

	rl_init(&rl, &k1000, NULL, 10 * S);
	cr_assert(rl_consume(&rl, 1000, 10 * S));
	cr_assert_not(rl_consume(&rl, 1, 5 * S));
	cr_assert_eq(rl.bw.budget, 0);
	cr_assert(rl_consume(&rl, 1, 10 * S + MS));
}
