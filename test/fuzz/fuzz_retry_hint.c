/*-------------------------------------------------------------------------
 *
 * fuzz_retry_hint.c
 *		libFuzzer target: the server's retry hints (x-amz-retry-after,
 *		Retry-After in seconds or as an HTTP date, through curl_getdate) and
 *		the delay arithmetic of the retry policy.
 *
 * Input: 4 bytes moving "now" around 2025-12-01 (+-68 years), 1 byte
 * retry class, 1 byte retry number, 2 bytes of randomness, 2 bytes of
 * backoff, then two lines: the x-amz-retry-after and Retry-After values.
 *
 * Properties checked:
 *	- the hint is -1 (none) or within 0 .. 3600 s;
 *	- a plain decimal x-amz-retry-after up to 3,600,000 is taken as is; a
 *	  larger one is ignored;
 *	- without x-amz-retry-after, a plain decimal Retry-After up to 3600 is
 *	  taken in seconds, and an IMF-fixdate (the HTTP date form, exactly as
 *	  strftime writes it) gives the time until that date, 0 for the past,
 *	  capped at an hour;
 *	- the backoff for retry n is in [0, min(base * 2^(n-1), 20 s)); a hint
 *	  raises it to at most hint, never by more than 5 s, never lowers it.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE /* strptime, timegm */
#include "../../src/retry.c"

#include <time.h>

#include "fuzz_common.h"

/* s is one or more ASCII digits and nothing else; *v its value (capped). */
static int
plain_decimal(const char *s, long long *v)
{
	*v = 0;
	if (*s == '\0')
		return 0;
	for (; *s; s++)
	{
		if (*s < '0' || *s > '9')
			return 0;
		if (*v < 1000000000000LL)
			*v = *v * 10 + (*s - '0');
	}
	return 1;
}

/* The time an exact IMF-fixdate stands for, or -1. */
static time_t
imf_fixdate(const char *s)
{
	struct tm tm;
	char	  again[64];
	char	 *end;
	time_t	  t;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return (time_t) -1;
	t = timegm(&tm);
	if (t == (time_t) -1 || gmtime_r(&t, &tm) == NULL ||
		strftime(again, sizeof(again), "%a, %d %b %Y %H:%M:%S GMT", &tm) ==
			0 ||
		strcmp(again, s) != 0)
		return (time_t) -1;
	/* curl_getdate() is documented for years 1970..2037 on 32-bit too */
	if (tm.tm_year + 1900 < 1970 || tm.tm_year + 1900 > 9999)
		return (time_t) -1;
	return t;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzReader	 r;
	uint32_t	 shift = 0;
	time_t		 now;
	SmRetryClass cls;
	int			 n;
	double		 rand01;
	long		 backoff;
	long		 hint;
	long		 with_hint;
	long		 ceiling;
	long long	 v;
	char		*xamz;
	char		*ra;
	int			 i;

	fuzz_reader_init(&r, data, size);
	for (i = 0; i < 4; i++)
		shift = (shift << 8) | fuzz_take_byte(&r);
	now = (time_t) 1764547200 + (time_t) (int32_t) shift;
	cls = (SmRetryClass) (fuzz_take_byte(&r) % 4);
	n = fuzz_take_byte(&r);
	rand01 = ((fuzz_take_byte(&r) << 8) | fuzz_take_byte(&r)) / 65536.0;
	backoff = (fuzz_take_byte(&r) << 8) | fuzz_take_byte(&r);
	xamz = fuzz_take_field(&r, '\n');
	ra = fuzz_take_field(&r, '\n');

	hint = sm_retry_parse_hint(xamz[0] ? xamz : NULL, ra[0] ? ra : NULL, now);
	FUZZ_CHECK(hint == -1 || (hint >= 0 && hint <= 3600L * 1000),
			   "hint %ld ms out of range", hint);
	FUZZ_CHECK(sm_retry_parse_hint(xamz, ra, now) == hint,
			   "\"\" and NULL differ");

	if (plain_decimal(xamz, &v) && v <= 3600LL * 1000)
		FUZZ_CHECK(hint == v, "x-amz-retry-after %s gave %ld", xamz, hint);
	else if (xamz[0] == '\0' && plain_decimal(ra, &v) && v <= 3600)
		FUZZ_CHECK(hint == v * 1000, "Retry-After %s gave %ld", ra, hint);
	else if (xamz[0] == '\0' && ra[0] == '\0')
		FUZZ_CHECK(hint == -1, "no header gave %ld", hint);
	else if (xamz[0] == '\0')
	{
		time_t t = imf_fixdate(ra);

		if (t != (time_t) -1)
		{
			long long want = t <= now ? 0 : (long long) (t - now) * 1000;

			if (want > 3600LL * 1000)
				want = 3600LL * 1000;
			FUZZ_CHECK(hint == want,
					   "Retry-After \"%s\" at %lld gave %ld, "
					   "not %lld",
					   ra, (long long) now, hint, want);
		}
	}

	/* backoff and hint arithmetic */
	ceiling = cls == SM_RETRY_THROTTLING ? SM_RETRY_BASE_THROTTLING_MS
										 : SM_RETRY_BASE_TRANSIENT_MS;
	for (i = 1; i < n && ceiling < SM_RETRY_MAX_BACKOFF_MS; i++)
		ceiling *= 2;
	if (ceiling > SM_RETRY_MAX_BACKOFF_MS)
		ceiling = SM_RETRY_MAX_BACKOFF_MS;
	{
		long b = sm_retry_backoff_ms(cls, n, rand01);

		FUZZ_CHECK(b >= 0 && b < ceiling, "backoff %ld for retry %d (max %ld)",
				   b, n, ceiling);
	}
	with_hint = sm_retry_apply_hint(backoff, hint);
	if (hint < 0)
		FUZZ_CHECK(with_hint == backoff, "no hint changed %ld to %ld", backoff,
				   with_hint);
	else
	{
		long want = hint < backoff + SM_RETRY_HINT_EXTRA_MS
						? hint
						: backoff + SM_RETRY_HINT_EXTRA_MS;

		if (want < backoff)
			want = backoff;
		FUZZ_CHECK(with_hint == want, "backoff %ld with hint %ld gave %ld",
				   backoff, hint, with_hint);
	}

	free(xamz);
	free(ra);
	return 0;
}
