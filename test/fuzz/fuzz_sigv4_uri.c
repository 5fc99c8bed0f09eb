/*-------------------------------------------------------------------------
 *
 * fuzz_sigv4_uri.c
 *		libFuzzer target: SigV4 canonical URI (path normalisation and URI
 *		encoding) and the public sigv4_uri_encode().
 *
 * Input: one flag byte (bit 0: normalise, bit 1: keep '/' in
 * sigv4_uri_encode), one byte giving a destination size for
 * sigv4_uri_encode, then the path (up to the first NUL).
 *
 * Properties checked:
 *	- the canonical URI is never empty and is a well-formed encoding:
 *	  unreserved characters, '/', and %XX escapes (upper-case hex) only of
 *	  bytes that need one;
 *	- without normalisation it decodes back to the path exactly and equals
 *	  sigv4_uri_encode(path, keep '/');
 *	- with normalisation it is idempotent (canonicalising its decoding gives
 *	  it again), has no empty, "." or ".." segment, and keeps a leading '/';
 *	- sigv4_uri_encode() returns the full encoded length whatever the
 *	  destination size, writes only within it (the buffer is exactly that
 *	  size, so ASan sees any overrun), always NUL-terminates, never splits
 *	  an escape, and writes a prefix of the full encoding.
 *
 *-------------------------------------------------------------------------
 */
#include "../../src/sigv4.c"

#include "fuzz_common.h"

/* Canonical URI of path; a malloc'd string. */
static char *
canonical_uri(const char *path, bool normalize)
{
	SigV4Buf buf;
	int		 rc;
	char	*s;

	sigv4_buf_init(&buf);
	rc = sigv4_append_canonical_uri(&buf, path, normalize);
	FUZZ_CHECK(rc == 0, "canonical URI failed with %d", rc);
	s = sigv4_buf_steal(&buf);
	FUZZ_CHECK(s != NULL, "no result");
	return s;
}

static void
check_no_dot_segments(const char *d)
{
	const char *p = d;

	if (*p == '/')
		p++;
	while (*p != '\0')
	{
		size_t len = strcspn(p, "/");

		/* the only empty segment allowed is after a trailing '/' */
		FUZZ_CHECK(len > 0 || p[len] == '\0', "empty segment in \"%s\"", d);
		FUZZ_CHECK(!(len == 1 && p[0] == '.'), "\".\" segment in \"%s\"", d);
		FUZZ_CHECK(!(len == 2 && p[0] == '.' && p[1] == '.'),
				   "\"..\" segment in \"%s\"", d);
		p += len;
		if (*p == '/')
			p++;
	}
}

static void
check_uri_encode(const char *path, size_t plen, bool keep_slash, size_t dstlen)
{
	size_t need = sigv4_uri_encode(path, plen, keep_slash, NULL, 0);
	char  *full = malloc(need + 1);
	char  *dst = dstlen > 0 ? malloc(dstlen) : NULL;
	size_t got;
	size_t n;

	FUZZ_CHECK(full != NULL, "out of memory");
	got = sigv4_uri_encode(path, plen, keep_slash, full, need + 1);
	FUZZ_CHECK(got == need, "length %zu, then %zu", need, got);
	FUZZ_CHECK(strlen(full) == need, "wrote %zu of %zu", strlen(full), need);
	FUZZ_CHECK(fuzz_is_sigv4_encoded(full, need, keep_slash, NULL),
			   "bad encoding \"%s\"", full);
	FUZZ_CHECK(need <= 3 * plen, "encoding of %zu bytes is %zu long", plen,
			   need);

	if (dst != NULL)
	{
		got = sigv4_uri_encode(path, plen, keep_slash, dst, dstlen);
		FUZZ_CHECK(got == need, "with %zu bytes: length %zu, not %zu", dstlen,
				   got, need);
		n = strnlen(dst, dstlen);
		FUZZ_CHECK(n < dstlen, "not NUL-terminated within %zu bytes", dstlen);
		FUZZ_CHECK(memcmp(dst, full, n) == 0, "not a prefix of the encoding");
		FUZZ_CHECK(fuzz_is_sigv4_encoded(dst, n, keep_slash, NULL),
				   "split escape in \"%s\"", dst);
		FUZZ_CHECK(n == need || n + 3 > dstlen - 1,
				   "stopped at %zu of %zu with room left (%zu)", n, need,
				   dstlen);
		if (need < dstlen)
			FUZZ_CHECK(n == need, "truncated although it fits");
		free(dst);
	}
	free(full);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzReader r;
	uint8_t	   flags;
	size_t	   dstlen;
	char	  *path;
	size_t	   plen;
	char	  *out;
	char	  *dec;
	size_t	   dlen;
	char	  *again;

	fuzz_reader_init(&r, data, size);
	flags = fuzz_take_byte(&r);
	dstlen = fuzz_take_byte(&r);
	path = fuzz_take_field(&r, '\0');
	plen = strlen(path);

	out = canonical_uri(path, (flags & 1) != 0);
	FUZZ_CHECK(out[0] != '\0', "empty canonical URI");
	FUZZ_CHECK(fuzz_is_sigv4_encoded(out, strlen(out), 1, NULL),
			   "bad canonical URI \"%s\"", out);
	dec = fuzz_percent_decode(out, strlen(out), &dlen);

	if (!(flags & 1))
	{
		if (plen == 0)
			FUZZ_CHECK(strcmp(out, "/") == 0, "empty path gave \"%s\"", out);
		else
		{
			char *enc = malloc(3 * plen + 1);

			FUZZ_CHECK(dlen == plen && memcmp(dec, path, plen) == 0,
					   "\"%s\" does not decode to the path", out);
			sigv4_uri_encode(path, plen, true, enc, 3 * plen + 1);
			FUZZ_CHECK(strcmp(enc, out) == 0,
					   "canonical URI \"%s\" differs from the encoding \"%s\"",
					   out, enc);
			free(enc);
		}
	}
	else
	{
		check_no_dot_segments(dec);
		if (path[0] == '/')
			FUZZ_CHECK(out[0] == '/', "leading '/' lost: \"%s\"", out);
		again = canonical_uri(dec, true);
		FUZZ_CHECK(strcmp(again, out) == 0,
				   "not idempotent: \"%s\" then \"%s\"", out, again);
		free(again);
	}

	check_uri_encode(path, plen, (flags & 2) != 0, dstlen);

	free(dec);
	free(out);
	free(path);
	return 0;
}
