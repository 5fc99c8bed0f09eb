/*-------------------------------------------------------------------------
 *
 * ratelimit.h
 *		Client-side request rate limiting: a token bucket, and the AWS SDKs'
 *		"adaptive" retry mode client rate limiter (a token bucket whose fill
 *		rate follows CUBIC, fed by the measured send rate).
 *
 * Pure C with no PostgreSQL dependency, so that it can be unit-tested by
 * a small program (test/ratelimit_check.c).  Every function takes the
 * current time as seconds on a monotonic clock; the structs hold no
 * pointers, so they can live in shared memory (the caller locks).
 *
 * IDENTIFICATION
 *		src/ratelimit.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_RATELIMIT_H
#define SM_RATELIMIT_H

#include <stdbool.h>

/* botocore's constants (bucket.py, throttling.py, adaptive.py) */
#define SM_RL_MIN_FILL_RATE	 0.5 /* TokenBucket._MIN_RATE */
#define SM_RL_CUBIC_SCALE	 0.4 /* CubicCalculator._SCALE_CONSTANT */
#define SM_RL_CUBIC_BETA	 0.7 /* CubicCalculator._BETA */
#define SM_RL_SMOOTHING		 0.8 /* RateClocker._DEFAULT_SMOOTHING */
#define SM_RL_TIME_BUCKET	 0.5 /* RateClocker._TIME_BUCKET_RANGE */
#define SM_RL_MAX_RATE_SCALE 2.0 /* _MAX_RATE_ADJUST_SCALE */

/*
 * A token bucket.  fill_rate tokens per second accumulate up to
 * max_capacity; a request takes one.
 */
typedef struct SmTokenBucket
{
	double fill_rate;	 /* tokens per second (> 0 once set) */
	double max_capacity; /* at least 1 */
	double capacity;	 /* tokens available now */
	double last_refill;	 /* time of the last refill; < 0: never */
} SmTokenBucket;

/* CUBIC rate calculator (botocore CubicCalculator). */
typedef struct SmCubic
{
	double w_max;	  /* rate when the last throttle arrived */
	double k;		  /* time after last_fail at which w_max is regained */
	double last_fail; /* time of the last throttle */
} SmCubic;

/* Measured rate of responses (botocore RateClocker). */
typedef struct SmRateClocker
{
	double measured_rate;
	double last_bucket;
	double count;
} SmRateClocker;

/*
 * The adaptive-mode client rate limiter (botocore ClientRateLimiter).
 * It lets everything through until the first throttling response; from
 * then on every request takes a token from the bucket, whose fill rate
 * CUBIC lowers on throttles and raises on successes.
 */
typedef struct SmAdaptiveLimiter
{
	SmTokenBucket bucket;
	SmCubic		  cubic;
	SmRateClocker clocker;
	bool		  enabled;
	double		  last_rate; /* rate the last response set */
} SmAdaptiveLimiter;

/* token bucket */
extern void sm_bucket_init(SmTokenBucket *b, double rate, double max_capacity,
						   double now);
extern void sm_bucket_set_rate(SmTokenBucket *b, double rate,
							   double max_capacity, double now);
extern double sm_bucket_wait(SmTokenBucket *b, double now);
extern void	  sm_bucket_take(SmTokenBucket *b);

/* CUBIC */
extern void	  sm_cubic_init(SmCubic *c, double starting_max_rate, double now);
extern double sm_cubic_success(const SmCubic *c, double now);
extern double sm_cubic_error(SmCubic *c, double current_rate, double now);

/* measured rate */
extern void	  sm_clocker_init(SmRateClocker *r, double now);
extern double sm_clocker_record(SmRateClocker *r, double now);

/* adaptive limiter */
extern void	  sm_adaptive_init(SmAdaptiveLimiter *a, double now);
extern double sm_adaptive_wait(SmAdaptiveLimiter *a, double now);
extern void	  sm_adaptive_take(SmAdaptiveLimiter *a);
extern void	  sm_adaptive_on_response(SmAdaptiveLimiter *a, bool throttled,
									  double now);

#endif /* SM_RATELIMIT_H */
