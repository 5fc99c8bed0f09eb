/*-------------------------------------------------------------------------
 *
 * ratelimit.c
 *		A token bucket and the AWS SDKs' adaptive-mode client rate limiter,
 *		transcribed from botocore (botocore/retries/bucket.py TokenBucket,
 *		throttling.py CubicCalculator, adaptive.py ClientRateLimiter and
 *		RateClocker), with the same constants:
 *
 *		- the limiter is off until the first throttling response;
 *		- on a throttle, CUBIC records the rate we were sending at (the
 *		  measured rate, or the bucket's rate if lower) as w_max and cuts
 *		  the rate to 0.7 * w_max;
 *		- on a success, the rate is 0.4 * (t - K)^3 + w_max, t being the
 *		  time since the last throttle and K = cbrt(w_max * 0.3 / 0.4) the
 *		  time at which w_max is regained;
 *		- the bucket's rate is that, but never more than twice the measured
 *		  rate of responses (smoothed 0.8 over half-second buckets), and
 *		  never less than 0.5 requests per second; its capacity equals its
 *		  rate (at least 1).
 *
 * botocore blocks in acquire(); here the caller asks how long to wait
 * (sm_*_wait, which never takes a token) and takes the token (sm_*_take)
 * only when every bucket it obeys has one, so that it can wait in its own
 * event loop and stay interruptible.
 *
 * No PostgreSQL dependency.
 *
 * IDENTIFICATION
 *		src/ratelimit.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "ratelimit.h"

static inline double
sm_min(double a, double b)
{
	return a < b ? a : b;
}

static inline double
sm_max(double a, double b)
{
	return a > b ? a : b;
}

/* TokenBucket._refill */
static void
sm_bucket_refill(SmTokenBucket *b, double now)
{
	if (b->last_refill < 0)
	{
		b->last_refill = now;
		return;
	}
	/* callers in other processes may read the clock a little earlier */
	if (now > b->last_refill)
	{
		b->capacity =
			sm_min(b->max_capacity,
				   b->capacity + (now - b->last_refill) * b->fill_rate);
		b->last_refill = now;
	}
}

/*
 * sm_bucket_init
 *		A bucket filling at rate, holding up to max_capacity tokens, full.
 */
void
sm_bucket_init(SmTokenBucket *b, double rate, double max_capacity, double now)
{
	b->fill_rate = sm_max(rate, SM_RL_MIN_FILL_RATE);
	b->max_capacity = sm_max(max_capacity, 1.0);
	b->capacity = b->max_capacity;
	b->last_refill = now;
}

/*
 * sm_bucket_set_rate
 *		TokenBucket.max_rate setter: credit the tokens earned at the old rate
 *		first, then change rate and capacity (a shrinking capacity drops the
 *		tokens above it).
 */
void
sm_bucket_set_rate(SmTokenBucket *b, double rate, double max_capacity,
				   double now)
{
	sm_bucket_refill(b, now);
	b->fill_rate = sm_max(rate, SM_RL_MIN_FILL_RATE);
	b->max_capacity = sm_max(max_capacity, 1.0);
	b->capacity = sm_min(b->capacity, b->max_capacity);
}

/*
 * sm_bucket_wait
 *		Seconds until a token is available: 0 when one is available now.
 *		Takes nothing.
 */
double
sm_bucket_wait(SmTokenBucket *b, double now)
{
	sm_bucket_refill(b, now);
	if (b->capacity >= 1.0)
		return 0.0;
	return (1.0 - b->capacity) / b->fill_rate;
}

/* Take a token; sm_bucket_wait() must just have returned 0. */
void
sm_bucket_take(SmTokenBucket *b)
{
	b->capacity -= 1.0;
}

/* CubicCalculator._calculate_zero_point */
static double
sm_cubic_zero_point(const SmCubic *c)
{
	return cbrt(c->w_max * (1.0 - SM_RL_CUBIC_BETA) / SM_RL_CUBIC_SCALE);
}

void
sm_cubic_init(SmCubic *c, double starting_max_rate, double now)
{
	c->w_max = starting_max_rate;
	c->k = sm_cubic_zero_point(c);
	c->last_fail = now;
}

/* CubicCalculator.success_received: the rate CUBIC allows now. */
double
sm_cubic_success(const SmCubic *c, double now)
{
	double d = (now - c->last_fail) - c->k;

	return SM_RL_CUBIC_SCALE * d * d * d + c->w_max;
}

/* CubicCalculator.error_received: a throttle while sending at rate. */
double
sm_cubic_error(SmCubic *c, double current_rate, double now)
{
	c->w_max = current_rate;
	c->k = sm_cubic_zero_point(c);
	c->last_fail = now;
	return current_rate * SM_RL_CUBIC_BETA;
}

void
sm_clocker_init(SmRateClocker *r, double now)
{
	r->measured_rate = 0.0;
	r->last_bucket = floor(now);
	r->count = 0.0;
}

/* RateClocker.record: count one response; returns the measured rate. */
double
sm_clocker_record(SmRateClocker *r, double now)
{
	double bucket = floor(now / SM_RL_TIME_BUCKET) * SM_RL_TIME_BUCKET;

	r->count += 1.0;
	if (bucket > r->last_bucket)
	{
		double current_rate = r->count / (bucket - r->last_bucket);

		r->measured_rate = current_rate * SM_RL_SMOOTHING +
						   r->measured_rate * (1.0 - SM_RL_SMOOTHING);
		r->count = 0.0;
		r->last_bucket = bucket;
	}
	return r->measured_rate;
}

/* register_retry_handler's set-up */
void
sm_adaptive_init(SmAdaptiveLimiter *a, double now)
{
	sm_cubic_init(&a->cubic, 0.0, now);
	/* TokenBucket(max_rate=1): starts empty */
	sm_bucket_init(&a->bucket, 1.0, 1.0, now);
	a->bucket.capacity = 0.0;
	sm_clocker_init(&a->clocker, now);
	a->enabled = false;
	a->last_rate = 0.0;
}

/* ClientRateLimiter.on_sending_request, non-blocking. */
double
sm_adaptive_wait(SmAdaptiveLimiter *a, double now)
{
	if (!a->enabled)
		return 0.0;
	return sm_bucket_wait(&a->bucket, now);
}

void
sm_adaptive_take(SmAdaptiveLimiter *a)
{
	if (a->enabled)
		sm_bucket_take(&a->bucket);
}

/* ClientRateLimiter.on_receiving_response */
void
sm_adaptive_on_response(SmAdaptiveLimiter *a, bool throttled, double now)
{
	double measured = sm_clocker_record(&a->clocker, now);
	double new_rate;
	double rate;

	if (!throttled)
		new_rate = sm_cubic_success(&a->cubic, now);
	else
	{
		double rate_to_use =
			a->enabled ? sm_min(measured, a->bucket.fill_rate) : measured;

		new_rate = sm_cubic_error(&a->cubic, rate_to_use, now);
		a->enabled = true;
	}
	rate = sm_min(new_rate, SM_RL_MAX_RATE_SCALE * measured);
	/* max_rate setter: capacity = rate when rate >= 1, else 1 */
	sm_bucket_set_rate(&a->bucket, rate, rate >= 1.0 ? rate : 1.0, now);
	a->last_rate = rate;
}
