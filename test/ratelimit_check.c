/*-------------------------------------------------------------------------
 *
 * ratelimit_check.c
 *		Unit tests of the rate limiters (src/ratelimit.c), which have no
 *		PostgreSQL dependency.  Prints "N passed, M failed".
 *
 *		ratelimit_check            hand-computed checks
 *		ratelimit_check --trace    read events from stdin, print the
 *		                           limiter's state after each (compared with
 *		                           botocore's by test/ratelimit_botocore.py)
 *
 * Trace input, one event a line: "r <time> <0|1>" (a response, throttled
 * or not) or "a <time>" (try to take a token).  Output: one line per event,
 * "<fill_rate> <capacity> <enabled> <measured_rate> [<acquired>]".
 *
 * IDENTIFICATION
 *		test/ratelimit_check.c
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

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

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9 * (1.0 + fabs(b)))

static int
trace(void)
{
	SmAdaptiveLimiter a;
	char			  line[256];
	int				  started = 0;

	while (fgets(line, sizeof(line), stdin) != NULL)
	{
		char   kind;
		double t;
		int	   thr = 0;

		if (sscanf(line, " %c %lf %d", &kind, &t, &thr) < 2)
			continue;
		if (!started)
		{
			sm_adaptive_init(&a, t);
			started = 1;
		}
		if (kind == 'r')
		{
			sm_adaptive_on_response(&a, thr != 0, t);
			printf("%.9g %.9g %d %.9g\n", a.bucket.fill_rate,
				   a.bucket.capacity, a.enabled, a.clocker.measured_rate);
		}
		else if (kind == 'a')
		{
			int got = 0;

			if (sm_adaptive_wait(&a, t) == 0.0)
			{
				sm_adaptive_take(&a);
				got = 1;
			}
			printf("%.9g %.9g %d %.9g %d\n", a.bucket.fill_rate,
				   a.bucket.capacity, a.enabled, a.clocker.measured_rate, got);
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	SmTokenBucket	  b;
	SmCubic			  c;
	SmRateClocker	  r;
	SmAdaptiveLimiter a;
	double			  t;
	int				  n;
	int				  i;

	if (argc > 1 && strcmp(argv[1], "--trace") == 0)
		return trace();

	/* a full bucket of 5 at 10/s: five at once, then one per 0.1 s */
	sm_bucket_init(&b, 10.0, 5.0, 100.0);
	for (n = 0; sm_bucket_wait(&b, 100.0) == 0.0; n++)
		sm_bucket_take(&b);
	CHECK(n == 5);
	CHECK(NEAR(sm_bucket_wait(&b, 100.0), 0.1));
	CHECK(NEAR(sm_bucket_wait(&b, 100.05), 0.05));
	CHECK(sm_bucket_wait(&b, 100.1001) == 0.0);
	/* a clock read a little earlier in another process changes nothing */
	sm_bucket_take(&b);
	CHECK(NEAR(sm_bucket_wait(&b, 100.09), 0.1 - 0.0001));
	/* over 10 s at most 10 * 10 + 5 tokens */
	sm_bucket_init(&b, 10.0, 5.0, 0.0);
	n = 0;
	for (t = 0.0; t <= 10.0; t += 0.001)
		while (sm_bucket_wait(&b, t) == 0.0)
		{
			sm_bucket_take(&b);
			n++;
		}
	CHECK(n >= 104 && n <= 105);
	/* the rate never goes below 0.5/s; capacity never below 1 */
	sm_bucket_set_rate(&b, 0.01, 0.01, 11.0);
	CHECK(NEAR(b.fill_rate, SM_RL_MIN_FILL_RATE));
	CHECK(NEAR(b.max_capacity, 1.0));
	/* lowering the capacity drops the excess tokens */
	sm_bucket_init(&b, 50.0, 50.0, 0.0);
	sm_bucket_set_rate(&b, 5.0, 5.0, 0.0);
	CHECK(NEAR(b.capacity, 5.0));
	/* raising the rate credits the time before at the old rate */
	sm_bucket_init(&b, 1.0, 10.0, 0.0);
	b.capacity = 0.0;
	sm_bucket_set_rate(&b, 100.0, 10.0, 2.0);
	CHECK(NEAR(b.capacity, 2.0));

	/* CUBIC: cut to 0.7 * w_max, back at w_max after K seconds, above then */
	sm_cubic_init(&c, 0.0, 0.0);
	CHECK(NEAR(sm_cubic_error(&c, 40.0, 10.0), 28.0));
	CHECK(NEAR(c.k, cbrt(40.0 * 0.3 / 0.4)));
	CHECK(NEAR(sm_cubic_success(&c, 10.0), 28.0));
	CHECK(NEAR(sm_cubic_success(&c, 10.0 + c.k), 40.0));
	CHECK(sm_cubic_success(&c, 10.0 + c.k + 1.0) > 40.0);
	CHECK(NEAR(sm_cubic_success(&c, 10.0 + c.k + 1.0), 40.4));

	/* measured rate: 20 responses per half second, smoothed 0.8 */
	sm_clocker_init(&r, 0.0);
	for (i = 0; i < 20; i++)
		sm_clocker_record(&r, 0.1 + i * 0.02);
	CHECK(r.measured_rate == 0.0); /* still in the first bucket */
	CHECK(NEAR(sm_clocker_record(&r, 0.5), 21.0 / 0.5 * 0.8));

	/* adaptive: nothing waits until the first throttle */
	sm_adaptive_init(&a, 0.0);
	for (n = 0, i = 0; i < 1000; i++)
		n += (sm_adaptive_wait(&a, 0.001 * i) == 0.0);
	CHECK(n == 1000);
	for (i = 0; i < 200; i++)
		sm_adaptive_on_response(&a, false, 0.01 * i);
	CHECK(!a.enabled);
	sm_adaptive_on_response(&a, true, 2.0);
	CHECK(a.enabled);
	/* sending at ~100/s: the rate drops to 0.7 of what was measured */
	CHECK(a.bucket.fill_rate < 0.75 * a.clocker.measured_rate);
	CHECK(a.bucket.fill_rate > 0.65 * a.clocker.measured_rate);
	{
		double after_throttle = a.bucket.fill_rate;
		double later;

		/* successes bring it back up, past the old maximum eventually */
		for (i = 0; i < 1000; i++)
		{
			t = 2.0 + 0.01 * (i + 1);
			while (sm_adaptive_wait(&a, t) == 0.0)
				sm_adaptive_take(&a);
			sm_adaptive_on_response(&a, false, t);
		}
		later = a.bucket.fill_rate;
		CHECK(later > after_throttle);
		/* but never above twice the measured rate (here 100/s) */
		CHECK(later <= 2.0 * a.clocker.measured_rate + 1e-9);
	}
	/* a storm of throttles brings the rate down to the floor */
	for (i = 0; i < 50; i++)
		sm_adaptive_on_response(&a, true, 13.0 + 0.001 * i);
	CHECK(NEAR(a.bucket.fill_rate, SM_RL_MIN_FILL_RATE));
	if (sm_adaptive_wait(&a, 13.05) == 0.0)
		sm_adaptive_take(&a);
	CHECK(NEAR(sm_adaptive_wait(&a, 13.05), 1.0 / SM_RL_MIN_FILL_RATE) ||
		  sm_adaptive_wait(&a, 13.05) > 1.0);

	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
