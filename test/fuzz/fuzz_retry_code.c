/*-------------------------------------------------------------------------
 *
 * fuzz_retry_code.c
 *		libFuzzer target: reducing a raw AWS error code (x-amzn-ErrorType
 *		header or "__type" member, both from the server) to its bare name,
 *		and classifying it.
 *
 * Input: 1 byte output size, 2 bytes HTTP status, then the raw code (up to
 * the first NUL).
 *
 * Properties checked:
 *	- the output fits its buffer (exactly that size, so ASan sees any
 *	  overrun) and is NUL-terminated, and nothing is written for size 0;
 *	- it holds only printable ASCII other than space, ',', ':' and '#';
 *	- it is a piece of the input: the characters kept from the text after
 *	  the last '#' before the first ',' or ':';
 *	- reducing it again gives it again (idempotence);
 *	- classification: 429 or a throttling code is throttling, else 500,
 *	  502, 503, 504 or a transient code is transient, else not retried.
 *
 *-------------------------------------------------------------------------
 */
#include "../../src/retry.c"

#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzReader	 r;
	size_t		 outlen;
	long		 status;
	char		*raw;
	char		*out;
	char		*again;
	char		*expect;
	const char	*start;
	const char	*end;
	const char	*p;
	size_t		 n = 0;
	SmRetryClass cls;
	SmRetryClass want;

	fuzz_reader_init(&r, data, size);
	outlen = fuzz_take_byte(&r);
	status = (fuzz_take_byte(&r) << 8) | fuzz_take_byte(&r);
	raw = fuzz_take_field(&r, '\0');

	/* an exactly-sized buffer; for size 0 a canary that must stay */
	out = malloc(outlen > 0 ? outlen : 1);
	out[0] = 'Z';
	sm_retry_normalize_code(raw, out, outlen);
	if (outlen == 0)
	{
		FUZZ_CHECK(out[0] == 'Z', "wrote into a buffer of size 0");
		free(out);
		free(raw);
		return 0;
	}
	FUZZ_CHECK(memchr(out, '\0', outlen) != NULL, "not NUL-terminated");
	for (p = out; *p; p++)
		FUZZ_CHECK(*p > 0x20 && *p < 0x7f && *p != ',' && *p != ':' &&
					   *p != '#',
				   "character 0x%02x in \"%s\"", (unsigned char) *p, out);

	/* the expected text, computed here */
	end = raw + strcspn(raw, ",:");
	start = raw;
	for (p = raw; p < end; p++)
		if (*p == '#')
			start = p + 1;
	expect = malloc(strlen(raw) + 1);
	for (p = start; p < end; p++)
		if (*p > 0x20 && *p < 0x7f)
			expect[n++] = *p;
	expect[n < outlen - 1 ? n : outlen - 1] = '\0';
	FUZZ_CHECK(strcmp(out, expect) == 0, "\"%s\", expected \"%s\"", out,
			   expect);

	again = malloc(outlen);
	sm_retry_normalize_code(out, again, outlen);
	FUZZ_CHECK(strcmp(again, out) == 0, "not idempotent: \"%s\" then \"%s\"",
			   out, again);

	cls = sm_retry_classify_http(status, out);
	if (status == 429 || sm_retry_is_throttling_code(out))
		want = SM_RETRY_THROTTLING;
	else if (status == 500 || status == 502 || status == 503 ||
			 status == 504 || sm_retry_is_transient_code(out))
		want = SM_RETRY_TRANSIENT;
	else
		want = SM_RETRY_NO;
	FUZZ_CHECK(cls == want, "status %ld code \"%s\": class %d, not %d", status,
			   out, (int) cls, (int) want);
	if (sm_retry_is_throttling_code(out))
		FUZZ_CHECK(sm_retry_classify_http(200, out) == SM_RETRY_THROTTLING,
				   "throttling code not throttling");

	free(again);
	free(expect);
	free(out);
	free(raw);
	return 0;
}
