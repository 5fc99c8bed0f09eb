/*-------------------------------------------------------------------------
 *
 * retry_check.c
 *		Unit tests of the retry policy (src/retry.c), which has no
 *		PostgreSQL dependency.  Prints "N passed, M failed".
 *
 * IDENTIFICATION
 *		test/retry_check.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "retry.h"

static int passed = 0;
static int failed = 0;

#define CHECK(cond)                                                           \
	do                                                                        \
	{                                                                         \
		if (cond)                                                             \
			passed++;                                                         \
		else                                                                  \
		{                                                                     \
			failed++;                                                         \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
					#cond);                                                   \
		}                                                                     \
	} while (0)

static void
check_code(const char *raw, const char *want)
{
	char out[128];

	sm_retry_normalize_code(raw, out, sizeof(out));
	if (strcmp(out, want) == 0)
		passed++;
	else
	{
		failed++;
		fprintf(stderr, "normalize(\"%s\") = \"%s\", want \"%s\"\n", raw, out,
				want);
	}
}

int
main(void)
{
	SmRetryQuota q;
	int			 i;
	int			 cost;
	time_t		 now = 1764331200; /* 2025-11-28 12:00:00 UTC */

	/* classification */
	CHECK(sm_retry_classify_http(429, "") == SM_RETRY_THROTTLING);
	CHECK(sm_retry_classify_http(400, "ThrottlingException") ==
		  SM_RETRY_THROTTLING);
	CHECK(sm_retry_classify_http(400, "TooManyRequestsException") ==
		  SM_RETRY_THROTTLING);
	CHECK(sm_retry_classify_http(500, "InternalServerException") ==
		  SM_RETRY_TRANSIENT);
	CHECK(sm_retry_classify_http(502, "") == SM_RETRY_TRANSIENT);
	CHECK(sm_retry_classify_http(503, "") == SM_RETRY_TRANSIENT);
	CHECK(sm_retry_classify_http(504, "") == SM_RETRY_TRANSIENT);
	CHECK(sm_retry_classify_http(400, "RequestTimeout") == SM_RETRY_TRANSIENT);
	CHECK(sm_retry_classify_http(400, "BadRequestException") == SM_RETRY_NO);
	CHECK(sm_retry_classify_http(403, "AccessDeniedException") == SM_RETRY_NO);
	CHECK(sm_retry_classify_http(404, "ResourceNotFoundException") ==
		  SM_RETRY_NO);
	CHECK(sm_retry_classify_http(501, "") == SM_RETRY_NO);
	CHECK(sm_retry_is_clock_skew_code("InvalidSignatureException"));
	CHECK(!sm_retry_is_clock_skew_code("ResourceNotFoundException"));

	/* error code clean-up, as botocore and the JS SDK do it */
	check_code("ThrottlingException:http://internal.amazon.com/coral/"
			   "com.amazonaws.profile/",
			   "ThrottlingException");
	check_code("com.amazonaws.profile#BadRequestException",
			   "BadRequestException");
	check_code("aws.protocoltests#FooError:http://x,y", "FooError");
	check_code("  Plain  ", "Plain");
	check_code("", "");

	/* backoff: full jitter under min(base * 2^(n-1), 20 s) */
	CHECK(sm_retry_backoff_ms(SM_RETRY_TRANSIENT, 1, 0.0) == 0);
	CHECK(sm_retry_backoff_ms(SM_RETRY_TRANSIENT, 1, 0.999) <= 50);
	CHECK(sm_retry_backoff_ms(SM_RETRY_TRANSIENT, 2, 0.999) <= 100);
	CHECK(sm_retry_backoff_ms(SM_RETRY_TRANSIENT, 2, 0.999) > 90);
	CHECK(sm_retry_backoff_ms(SM_RETRY_THROTTLING, 1, 0.5) == 500);
	CHECK(sm_retry_backoff_ms(SM_RETRY_THROTTLING, 2, 0.5) == 1000);
	CHECK(sm_retry_backoff_ms(SM_RETRY_THROTTLING, 10, 0.999) <= 20000);
	CHECK(sm_retry_backoff_ms(SM_RETRY_THROTTLING, 10, 0.999) > 19900);
	CHECK(sm_retry_backoff_ms(SM_RETRY_THROTTLING, 1000, 0.5) == 10000);
	for (i = 1; i < 40; i++)
		CHECK(sm_retry_backoff_ms(SM_RETRY_TRANSIENT, i, 0.75) <= 20000);

	/* server hints */
	CHECK(sm_retry_parse_hint("200", NULL, now) == 200);
	CHECK(sm_retry_parse_hint(NULL, "2", now) == 2000);
	CHECK(sm_retry_parse_hint(NULL, "Fri, 28 Nov 2025 12:00:03 GMT", now) ==
		  3000);
	CHECK(sm_retry_parse_hint(NULL, "Fri, 28 Nov 2025 11:00:00 GMT", now) ==
		  0);
	CHECK(sm_retry_parse_hint("abc", NULL, now) == -1);
	CHECK(sm_retry_parse_hint(NULL, NULL, now) == -1);
	CHECK(sm_retry_apply_hint(100, -1) == 100);
	CHECK(sm_retry_apply_hint(100, 50) == 100);
	CHECK(sm_retry_apply_hint(100, 2000) == 2000);
	CHECK(sm_retry_apply_hint(100, 60000) == 5100);

	/* quota: 500 tokens, 14 per transient retry, 5 per throttling retry */
	sm_retry_quota_init(&q);
	CHECK(q.available == 500);
	cost = sm_retry_quota_acquire(&q, SM_RETRY_TRANSIENT);
	CHECK(cost == 14 && q.available == 486);
	sm_retry_quota_release(&q, cost);
	CHECK(q.available == 500);
	cost = sm_retry_quota_acquire(&q, SM_RETRY_THROTTLING);
	CHECK(cost == 5 && q.available == 495);
	sm_retry_quota_release(&q, 0);
	CHECK(q.available == 496);
	for (i = 0; i < 1000; i++)
		(void) sm_retry_quota_acquire(&q, SM_RETRY_TRANSIENT);
	CHECK(q.available < 14);
	CHECK(sm_retry_quota_acquire(&q, SM_RETRY_TRANSIENT) == 0);
	for (i = 0; i < 1000; i++)
		sm_retry_quota_release(&q, 0);
	CHECK(q.available == 500);

	/* the retry decision */
	{
		SmRetryFacts f;

		memset(&f, 0, sizeof(f));
		f.cls = SM_RETRY_TRANSIENT;
		f.attempts = 1;
		f.max_attempts = 3;
		CHECK(sm_retry_decide(&f) == SM_RETRY_AFTER_BACKOFF);
		f.attempts = 3;
		CHECK(sm_retry_decide(&f) == SM_RETRY_GIVE_UP);
		/* skew and token retries only for otherwise final failures */
		f.attempts = 1;
		f.clock_corrected = f.token_rejected = f.can_refresh = true;
		CHECK(sm_retry_decide(&f) == SM_RETRY_AFTER_BACKOFF);
		f.cls = SM_RETRY_NO;
		CHECK(sm_retry_decide(&f) == SM_RETRY_NOW_RESIGNED);
		f.skew_retry_used = true;
		CHECK(sm_retry_decide(&f) == SM_RETRY_NOW_REFRESHED);
		f.token_retry_used = true;
		CHECK(sm_retry_decide(&f) == SM_RETRY_GIVE_UP);
		f.skew_retry_used = f.token_retry_used = false;
		f.clock_corrected = false;
		f.signed_before_fix = true;
		CHECK(sm_retry_decide(&f) == SM_RETRY_NOW_RESIGNED);
		f.signed_before_fix = false;
		f.can_refresh = false;
		CHECK(sm_retry_decide(&f) == SM_RETRY_GIVE_UP);
		f.can_refresh = true;
		f.token_rejected = false;
		CHECK(sm_retry_decide(&f) == SM_RETRY_GIVE_UP);
		/* max_attempts bounds policy retries, not the two one-offs */
		f.cls = SM_RETRY_NO;
		f.attempts = f.max_attempts = 1;
		f.token_rejected = true;
		CHECK(sm_retry_decide(&f) == SM_RETRY_NOW_REFRESHED);
		f.cls = SM_RETRY_THROTTLING;
		CHECK(sm_retry_decide(&f) == SM_RETRY_GIVE_UP);
	}

	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
