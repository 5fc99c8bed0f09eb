/*-------------------------------------------------------------------------
 *
 * retry.h
 *		The AWS SDKs' "standard" retry policy (2026 revision): which
 *		failures are retried, how long to wait, and the retry quota.
 *
 * Pure C with no PostgreSQL dependency, so that it can be unit-tested by
 * a small program.
 *
 * IDENTIFICATION
 *		src/retry.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_RETRY_H
#define SM_RETRY_H

#include <stdbool.h>
#include <time.h>

/* How a failed attempt is classified. */
typedef enum SmRetryClass
{
	SM_RETRY_NO,		/* not retryable: a client error */
	SM_RETRY_TRANSIENT, /* 5xx, connection failure, broken reply */
	SM_RETRY_TIMEOUT,	/* the attempt timed out (transient) */
	SM_RETRY_THROTTLING /* 429 or a throttling error code */
} SmRetryClass;

/* Constants of the 2026 standard mode. */
#define SM_RETRY_BASE_TRANSIENT_MS	50
#define SM_RETRY_BASE_THROTTLING_MS 1000
#define SM_RETRY_MAX_BACKOFF_MS		20000
#define SM_RETRY_HINT_EXTRA_MS		5000
#define SM_RETRY_QUOTA_CAPACITY		500
#define SM_RETRY_COST_TRANSIENT		14
#define SM_RETRY_COST_THROTTLING	5
#define SM_RETRY_SUCCESS_REFUND		1
#define SM_CLOCK_SKEW_THRESHOLD_S	240

/* The per-client retry quota (a token bucket). */
typedef struct SmRetryQuota
{
	int available;
} SmRetryQuota;

/*
 * What the retry decision looks at: the facts of one failed attempt and of
 * its request so far.  Gathered by requests.c; sm_retry_decide() is a
 * pure function of them.
 */
typedef struct SmRetryFacts
{
	SmRetryClass cls;				/* the failed attempt, classified */
	int			 attempts;			/* attempts made, this one included */
	int			 max_attempts;		/* segment_membership.max_attempts */
	bool		 skew_retry_used;	/* the clock-skew retry was spent */
	bool		 token_retry_used;	/* the token-refresh retry was spent */
	bool		 clock_corrected;	/* this reply corrected the clock */
	bool		 signed_before_fix; /* a clock-skew rejection of an attempt
									  * signed before another correction */
	bool		 token_rejected;	/* 403 for an expired/unknown token */
	bool		 can_refresh;		/* the caller can refresh credentials */
} SmRetryFacts;

typedef enum SmRetryAction
{
	SM_RETRY_GIVE_UP,		/* the request failed for good */
	SM_RETRY_NOW_RESIGNED,	/* once more at once, with the new clock */
	SM_RETRY_NOW_REFRESHED, /* refresh credentials, then once more */
	SM_RETRY_AFTER_BACKOFF	/* a policy retry, if the quota allows */
} SmRetryAction;

extern bool			sm_retry_is_throttling_code(const char *code);
extern bool			sm_retry_is_transient_code(const char *code);
extern bool			sm_retry_is_clock_skew_code(const char *code);
extern SmRetryClass sm_retry_classify_http(long status, const char *code);
extern long			sm_retry_backoff_ms(SmRetryClass cls, int retry_number,
										double rand01);
extern long			sm_retry_apply_hint(long backoff_ms, long hint_ms);
extern long			sm_retry_parse_hint(const char *x_amz_retry_after,
										const char *retry_after, time_t now);

extern void sm_retry_quota_init(SmRetryQuota *quota);
extern int	sm_retry_quota_acquire(SmRetryQuota *quota, SmRetryClass cls);
extern void sm_retry_quota_release(SmRetryQuota *quota, int cost);

extern void sm_retry_normalize_code(const char *raw, char *out, size_t outlen);

extern SmRetryAction sm_retry_decide(const SmRetryFacts *facts);

#endif /* SM_RETRY_H */
