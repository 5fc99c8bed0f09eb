/*-------------------------------------------------------------------------
 *
 * retry.c
 *		The AWS SDKs' "standard" retry policy, 2026 revision ("retries
 *		2.1"), as described in the AWS SDKs and Tools Reference Guide
 *		("Retry behavior") and implemented by @smithy/core 3.41 and
 *		botocore with AWS_NEW_RETRIES_2026:
 *
 *		- retryable: HTTP 429, 500, 502, 503, 504, the throttling and
 *		  transient error codes, connection failures, timeouts;
 *		- backoff: floor(rand * min(base * 2^(n-1), 20 s)) for the n-th
 *		  retry, base 1 s for throttling and 50 ms otherwise;
 *		- a server hint (x-amz-retry-after in ms, or Retry-After) raises the
 *		  delay to at most hint, capped at the computed delay + 5 s;
 *		- a retry quota of 500 tokens: a retry costs 14 (5 for throttling),
 *		  a success without retry refunds 1, a success after a retry refunds
 *		  what that retry cost.
 *
 * No PostgreSQL dependency.  When to apply it (and the clock-skew and
 * token-refresh retries) is decided in requests.c.
 *
 * IDENTIFICATION
 *		src/retry.c
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "retry.h"

static const char *const throttling_codes[] = {
	"Throttling",
	"ThrottlingException",
	"ThrottledException",
	"RequestThrottledException",
	"TooManyRequestsException",
	"ProvisionedThroughputExceededException",
	"TransactionInProgressException",
	"RequestLimitExceeded",
	"BandwidthLimitExceeded",
	"LimitExceededException",
	"RequestThrottled",
	"SlowDown",
	"PriorRequestNotComplete",
	"EC2ThrottledException",
	NULL};

static const char *const transient_codes[] = {"RequestTimeout",
											  "RequestTimeoutException",
											  "PriorRequestNotComplete",
											  "InternalServerException",
											  "InternalFailure",
											  "ServiceUnavailable",
											  NULL};

static const char *const clock_skew_codes[] = {
	"AuthFailure",			 "InvalidSignatureException",
	"RequestExpired",		 "RequestInTheFuture",
	"RequestTimeTooSkewed",	 "SignatureDoesNotMatch",
	"AccessDeniedException", NULL};

static bool
sm_in_list(const char *const *list, const char *code)
{
	if (code == NULL || code[0] == '\0')
		return false;
	for (; *list; list++)
		if (strcmp(*list, code) == 0)
			return true;
	return false;
}

/* Whether an AWS error code says the request was throttled. */
bool
sm_retry_is_throttling_code(const char *code)
{
	return sm_in_list(throttling_codes, code);
}

/* Whether an AWS error code names a transient server-side failure. */
bool
sm_retry_is_transient_code(const char *code)
{
	return sm_in_list(transient_codes, code);
}

/* Whether an AWS error code may be caused by a skewed client clock. */
bool
sm_retry_is_clock_skew_code(const char *code)
{
	return sm_in_list(clock_skew_codes, code);
}

/*
 * sm_retry_classify_http
 *		Classify an HTTP error response by status and (normalized) AWS error
 *		code.
 */
SmRetryClass
sm_retry_classify_http(long status, const char *code)
{
	if (status == 429 || sm_retry_is_throttling_code(code))
		return SM_RETRY_THROTTLING;
	if (status == 500 || status == 502 || status == 503 || status == 504 ||
		sm_retry_is_transient_code(code))
		return SM_RETRY_TRANSIENT;
	return SM_RETRY_NO;
}

/*
 * sm_retry_backoff_ms
 *		The delay before retry number retry_number (1 for the first retry),
 *		given a uniform random number in [0, 1).
 */
long
sm_retry_backoff_ms(SmRetryClass cls, int retry_number, double rand01)
{
	double base = (cls == SM_RETRY_THROTTLING) ? SM_RETRY_BASE_THROTTLING_MS
											   : SM_RETRY_BASE_TRANSIENT_MS;
	double ceiling = base;
	int	   i;

	for (i = 1; i < retry_number && ceiling < SM_RETRY_MAX_BACKOFF_MS; i++)
		ceiling *= 2;
	if (ceiling > SM_RETRY_MAX_BACKOFF_MS)
		ceiling = SM_RETRY_MAX_BACKOFF_MS;
	if (rand01 < 0)
		rand01 = 0;
	if (rand01 >= 1)
		rand01 = 0.999999;
	return (long) (rand01 * ceiling);
}

/*
 * sm_retry_apply_hint
 *		Combine a computed backoff with a server hint (ms, -1 for none):
 *		max(backoff, min(hint, backoff + 5 s)).
 */
long
sm_retry_apply_hint(long backoff_ms, long hint_ms)
{
	long capped;

	if (hint_ms < 0)
		return backoff_ms;
	capped = hint_ms;
	if (capped > backoff_ms + SM_RETRY_HINT_EXTRA_MS)
		capped = backoff_ms + SM_RETRY_HINT_EXTRA_MS;
	return capped > backoff_ms ? capped : backoff_ms;
}

/*
 * sm_retry_parse_hint
 *		The server's retry hint in milliseconds, or -1: x-amz-retry-after
 *		holds milliseconds; Retry-After holds seconds or an HTTP date.
 */
long
sm_retry_parse_hint(const char *x_amz_retry_after, const char *retry_after,
					time_t now)
{
	char *end;
	long  v;

	if (x_amz_retry_after != NULL && x_amz_retry_after[0] != '\0')
	{
		v = strtol(x_amz_retry_after, &end, 10);
		if (end != x_amz_retry_after && *end == '\0' && v >= 0 &&
			v <= 3600L * 1000)
			return v;
	}
	if (retry_after != NULL && retry_after[0] != '\0')
	{
		if (isdigit((unsigned char) retry_after[0]))
		{
			v = strtol(retry_after, &end, 10);
			if (*end == '\0' && v >= 0 && v <= 3600)
				return v * 1000;
		}
		else
		{
			time_t t = curl_getdate(retry_after, NULL);

			if (t != (time_t) -1)
				return (t <= now)
						   ? 0
						   : ((t - now) > 3600 ? 3600L * 1000
											   : (long) (t - now) * 1000);
		}
	}
	return -1;
}

/* A full quota. */
void
sm_retry_quota_init(SmRetryQuota *quota)
{
	quota->available = SM_RETRY_QUOTA_CAPACITY;
}

/*
 * sm_retry_quota_acquire
 *		Take the cost of one retry from the quota.  Returns the cost taken,
 *		or 0 when the quota cannot pay (then the retry must not happen).
 */
int
sm_retry_quota_acquire(SmRetryQuota *quota, SmRetryClass cls)
{
	int cost = (cls == SM_RETRY_THROTTLING) ? SM_RETRY_COST_THROTTLING
											: SM_RETRY_COST_TRANSIENT;

	if (quota->available < cost)
		return 0;
	quota->available -= cost;
	return cost;
}

/*
 * sm_retry_quota_release
 *		Refund after a success: what the request's last retry cost, or
 *		SM_RETRY_SUCCESS_REFUND when it needed no retry (cost 0).
 */
void
sm_retry_quota_release(SmRetryQuota *quota, int cost)
{
	quota->available += (cost > 0) ? cost : SM_RETRY_SUCCESS_REFUND;
	if (quota->available > SM_RETRY_QUOTA_CAPACITY)
		quota->available = SM_RETRY_QUOTA_CAPACITY;
}

/*
 * sm_retry_normalize_code
 *		Reduce a raw error code as found in x-amzn-ErrorType or __type to its
 *		bare name, as botocore and the JS SDK do: cut at the first ',' and
 *		':' and keep what follows the last '#'.  Only printable ASCII is
 *		kept; the result is truncated to fit outlen.
 */
void
sm_retry_normalize_code(const char *raw, char *out, size_t outlen)
{
	const char *start = raw;
	const char *end;
	const char *p;
	size_t		n = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (raw == NULL)
		return;
	end = raw + strcspn(raw, ",:");
	for (p = raw; p < end; p++)
		if (*p == '#')
			start = p + 1;
	while (start < end && isspace((unsigned char) *start))
		start++;
	while (end > start && isspace((unsigned char) end[-1]))
		end--;
	for (p = start; p < end && n + 1 < outlen; p++)
		if (*p > 0x20 && *p < 0x7f)
			out[n++] = *p;
	out[n] = '\0';
}

/*
 * sm_retry_decide
 *		The retry decision for a failed attempt, from its facts alone.  A
 *		non-retryable failure still gets one more attempt, at once, when a
 *		clock-skew rejection taught us the service's clock (or another
 *		attempt's did after this one was signed), or when the session token
 *		was refused and fresh credentials can be fetched.  A retryable one is
 *		retried after backoff while attempts remain.
 */
SmRetryAction
sm_retry_decide(const SmRetryFacts *facts)
{
	if (facts->cls == SM_RETRY_NO)
	{
		if (!facts->skew_retry_used &&
			(facts->clock_corrected || facts->signed_before_fix))
			return SM_RETRY_NOW_RESIGNED;
		if (!facts->token_retry_used && facts->token_rejected &&
			facts->can_refresh)
			return SM_RETRY_NOW_REFRESHED;
		return SM_RETRY_GIVE_UP;
	}
	if (facts->attempts < facts->max_attempts)
		return SM_RETRY_AFTER_BACKOFF;
	return SM_RETRY_GIVE_UP;
}
