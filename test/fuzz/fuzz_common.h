/*-------------------------------------------------------------------------
 *
 * fuzz_common.h
 *		Helpers shared by the libFuzzer targets in test/fuzz/.
 *
 * A target is one file test/fuzz/fuzz_NAME.c that #includes the source file
 * it tests (so static functions can be called directly) and this header,
 * and defines LLVMFuzzerTestOneInput().  It must check real properties of
 * what the code returns, with FUZZ_CHECK(), not only survive the input.
 *
 * IDENTIFICATION
 *		test/fuzz/fuzz_common.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * FUZZ_CHECK(cond, fmt, ...): when cond is false, print where and why and
 * abort(), which libFuzzer records as a crash with the input saved.
 */
#define FUZZ_CHECK(cond, ...)                                                 \
	do                                                                        \
	{                                                                         \
		if (!(cond))                                                          \
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                \
	} while (0)

static void fuzz_fail(const char *file, int line, const char *cond,
					  const char *fmt, ...)
	__attribute__((noreturn, format(printf, 4, 5)));

static void
fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n%s:%d: property violated: %s\n  ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/*
 * FuzzReader: cut the fuzzer's bytes into fields.  fuzz_take_field() returns
 * a malloc'd NUL-terminated copy of the bytes up to the next separator (or
 * the end), so ASan sees the exact extent of every string handed to the code
 * under test; the caller frees it.
 */
typedef struct FuzzReader
{
	const uint8_t *data;
	size_t		   len;
	size_t		   pos;
} FuzzReader;

static inline void
fuzz_reader_init(FuzzReader *r, const uint8_t *data, size_t len)
{
	r->data = data;
	r->len = len;
	r->pos = 0;
}

static inline char *
fuzz_take_field(FuzzReader *r, char sep)
{
	size_t start = r->pos;
	size_t end = start;
	char  *s;

	while (end < r->len && r->data[end] != (uint8_t) sep)
		end++;
	r->pos = end < r->len ? end + 1 : end;
	s = malloc(end - start + 1);
	if (s == NULL)
		abort();
	memcpy(s, r->data + start, end - start);
	s[end - start] = '\0';
	return s;
}

/* The rest of the input (may hold NULs); *len receives its length. */
static inline uint8_t *
fuzz_take_rest(FuzzReader *r, size_t *len)
{
	size_t	 n = r->len - r->pos;
	uint8_t *b = malloc(n + 1);

	if (b == NULL)
		abort();
	memcpy(b, r->data + r->pos, n);
	r->pos = r->len;
	*len = n;
	return b;
}

/* One byte (0 at the end). */
static inline uint8_t
fuzz_take_byte(FuzzReader *r)
{
	return r->pos < r->len ? r->data[r->pos++] : 0;
}

static inline int
fuzz_is_hex_upper(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static inline int
fuzz_is_hex_lower(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static inline int
fuzz_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 3986 unreserved characters (what SigV4 leaves unencoded). */
static inline int
fuzz_is_unreserved(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		   (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
		   c == '~';
}

/*
 * Whether s is a well-formed SigV4 URI encoding: unreserved characters,
 * '/' when allow_slash, and %XX escapes with upper-case hex (of characters
 * that needed escaping).  extra lists other characters allowed as is.
 */
static inline int
fuzz_is_sigv4_encoded(const char *s, size_t n, int allow_slash,
					  const char *extra)
{
	size_t i;

	for (i = 0; i < n; i++)
	{
		char c = s[i];

		if (fuzz_is_unreserved(c) || (allow_slash && c == '/') ||
			(c != '\0' && extra != NULL && strchr(extra, c) != NULL))
			continue;
		if (c != '%' || i + 2 >= n || !fuzz_is_hex_upper(s[i + 1]) ||
			!fuzz_is_hex_upper(s[i + 2]))
			return 0;
		/* an escape must not stand for a character left as is */
		c = (char) (fuzz_hexval(s[i + 1]) * 16 + fuzz_hexval(s[i + 2]));
		if (fuzz_is_unreserved(c) || (allow_slash && c == '/'))
			return 0;
		i += 2;
	}
	return 1;
}

/*
 * Percent-decode n bytes of s into a malloc'd buffer (length in *outlen);
 * the input must be well-formed.
 */
static inline char *
fuzz_percent_decode(const char *s, size_t n, size_t *outlen)
{
	char  *d = malloc(n + 1);
	size_t i;
	size_t o = 0;

	if (d == NULL)
		abort();
	for (i = 0; i < n; i++)
	{
		if (s[i] == '%' && i + 2 < n && fuzz_hexval(s[i + 1]) >= 0 &&
			fuzz_hexval(s[i + 2]) >= 0)
		{
			d[o++] =
				(char) (fuzz_hexval(s[i + 1]) * 16 + fuzz_hexval(s[i + 2]));
			i += 2;
		}
		else
			d[o++] = s[i];
	}
	d[o] = '\0';
	*outlen = o;
	return d;
}

#endif /* FUZZ_COMMON_H */
