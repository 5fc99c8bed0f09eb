/*
 * fuzz_iso8601.c -- libFuzzer target for sm_parse_iso8601() (src/parse_util.c),
 * the parser of the Expiration times of the credential sources.
 *
 * Input: the bytes, up to the first NUL, are the time text (an exact-size
 * copy, so ASan catches any read past its end).
 *
 * Properties, against an independent reference written here (a position-
 * by-position grammar check and glibc's timegm()/gmtime_r()):
 *  - the parser accepts exactly what the reference accepts:
 *    YYYY-MM-DDTHH:MM:SS[.digits](Z|+HH:MM|-HH:MM), year >= 1970, the day
 *    valid in its month (timegm round trip), hours < 24, minutes and
 *    seconds < 60, offset at most 18:00;
 *  - an accepted text gives timegm(fields) minus the offset, to the second.
 */
#include "../../src/parse_util.c"

#include <time.h>

#include "fuzz_common.h"

static int
num(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int
digits_at(const char *s, size_t len, size_t pos, size_t n)
{
	if (pos + n > len)
		return 0;
	for (size_t i = pos; i < pos + n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* The reference: 1 and *out when s is a valid time, else 0. */
static int
reference(const char *s, int64_t *out)
{
	size_t	  len = strlen(s);
	size_t	  p = 19;
	struct tm tm;
	struct tm back;
	time_t	  t;
	int		  off = 0;

	if (len < 20 || !digits_at(s, len, 0, 4) || s[4] != '-' ||
		!digits_at(s, len, 5, 2) || s[7] != '-' || !digits_at(s, len, 8, 2) ||
		s[10] != 'T' || !digits_at(s, len, 11, 2) || s[13] != ':' ||
		!digits_at(s, len, 14, 2) || s[16] != ':' || !digits_at(s, len, 17, 2))
		return 0;
	if (s[p] == '.')
	{
		p++;
		if (!digits_at(s, len, p, 1))
			return 0;
		while (p < len && s[p] >= '0' && s[p] <= '9')
			p++;
	}
	if (p < len && s[p] == 'Z' && p + 1 == len)
		off = 0;
	else if (p < len && (s[p] == '+' || s[p] == '-') && p + 6 == len &&
			 digits_at(s, len, p + 1, 2) && s[p + 3] == ':' &&
			 digits_at(s, len, p + 4, 2))
	{
		int oh = num(s + p + 1, 2), om = num(s + p + 4, 2);

		if (om > 59 || oh * 60 + om > 18 * 60)
			return 0;
		off = (s[p] == '+' ? 1 : -1) * (oh * 60 + om) * 60;
	}
	else
		return 0;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = num(s, 4) - 1900;
	tm.tm_mon = num(s + 5, 2) - 1;
	tm.tm_mday = num(s + 8, 2);
	tm.tm_hour = num(s + 11, 2);
	tm.tm_min = num(s + 14, 2);
	tm.tm_sec = num(s + 17, 2);
	if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
		tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
		return 0;
	back = tm;
	t = timegm(&back);
	/* timegm normalises: a day that does not exist moves to another month */
	if (back.tm_mon != tm.tm_mon || back.tm_mday != tm.tm_mday)
		return 0;
	*out = (int64_t) t - off;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzReader r;
	char	  *text;
	int64_t	   got = 0;
	int64_t	   want = 0;
	bool	   ok;
	int		   ref;

	fuzz_reader_init(&r, data, size);
	text = fuzz_take_field(&r, '\0');
	ok = sm_parse_iso8601(text, &got);
	ref = reference(text, &want);
	FUZZ_CHECK(ok == (ref == 1), "\"%s\": parser %d, reference %d", text, ok,
			   ref);
	if (ok)
		FUZZ_CHECK(got == want, "\"%s\": %lld, reference %lld", text,
				   (long long) got, (long long) want);
	free(text);
	return 0;
}
