/*-------------------------------------------------------------------------
 *
 * fuzz_sigv4_query.c
 *		libFuzzer target: SigV4 canonical query string.
 *
 * Input: the query string (up to the first NUL), without '?'.
 *
 * Properties checked:
 *	- it fails (EINVAL) exactly when the query has a '%' not followed by two
 *	  hex digits, and never otherwise;
 *	- the result holds only unreserved characters, %XX escapes (upper-case
 *	  hex, of bytes that need one), '=' and '&';
 *	- it has one "key=value" piece per non-empty piece of the input, each
 *	  with exactly one '=', sorted by key then value (byte order);
 *	- every key and value decodes to the decoded input key or value (as a
 *	  multiset of pairs: sorting may reorder them);
 *	- canonicalising the result gives it again (idempotence).
 *
 *-------------------------------------------------------------------------
 */
#include "../../src/sigv4.c"

#include "fuzz_common.h"

/* Canonical query; *rc receives the status.  A malloc'd string or NULL. */
static char *
canonical_query(const char *q, int *rc)
{
	SigV4Buf buf;

	sigv4_buf_init(&buf);
	*rc = sigv4_append_canonical_query(&buf, q);
	if (*rc != 0)
	{
		sigv4_buf_free(&buf);
		return NULL;
	}
	return sigv4_buf_steal(&buf);
}

static int
malformed_escape(const char *q)
{
	size_t n = strlen(q);
	size_t i;

	for (i = 0; i < n; i++)
		if (q[i] == '%' && (i + 2 >= n || fuzz_hexval(q[i + 1]) < 0 ||
							fuzz_hexval(q[i + 2]) < 0))
			return 1;
	return 0;
}

typedef struct Pair
{
	char  *key;
	size_t klen;
	char  *value;
	size_t vlen;
} Pair;

static int
pair_cmp(const void *a, const void *b)
{
	const Pair *pa = a;
	const Pair *pb = b;
	size_t		n;
	int			c;

	n = pa->klen < pb->klen ? pa->klen : pb->klen;
	c = memcmp(pa->key, pb->key, n);
	if (c != 0 || pa->klen != pb->klen)
		return c != 0 ? c : (pa->klen < pb->klen ? -1 : 1);
	n = pa->vlen < pb->vlen ? pa->vlen : pb->vlen;
	c = memcmp(pa->value, pb->value, n);
	if (c != 0 || pa->vlen != pb->vlen)
		return c != 0 ? c : (pa->vlen < pb->vlen ? -1 : 1);
	return 0;
}

/*
 * Split "k=v&k=v" into decoded pairs (count in *n); pieces split on the
 * first '='; empty pieces skipped.
 */
static Pair *
split_pairs(const char *q, size_t *n)
{
	size_t		len = strlen(q);
	Pair	   *pairs = calloc(len + 1, sizeof(Pair));
	const char *p = q;

	*n = 0;
	while (*p != '\0')
	{
		size_t		plen = strcspn(p, "&");
		const char *eq = memchr(p, '=', plen);
		size_t		klen = eq ? (size_t) (eq - p) : plen;

		if (plen > 0)
		{
			pairs[*n].key = fuzz_percent_decode(p, klen, &pairs[*n].klen);
			if (eq)
				pairs[*n].value = fuzz_percent_decode(eq + 1, plen - klen - 1,
													  &pairs[*n].vlen);
			else
				pairs[*n].value = fuzz_percent_decode("", 0, &pairs[*n].vlen);
			(*n)++;
		}
		p += plen;
		if (*p == '&')
			p++;
	}
	return pairs;
}

static void
free_pairs(Pair *pairs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
	{
		free(pairs[i].key);
		free(pairs[i].value);
	}
	free(pairs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzReader	r;
	char	   *q;
	char	   *out;
	char	   *again;
	int			rc;
	Pair	   *in_pairs;
	Pair	   *out_pairs;
	size_t		nin;
	size_t		nout;
	size_t		i;
	const char *p;

	fuzz_reader_init(&r, data, size);
	q = fuzz_take_field(&r, '\0');

	out = canonical_query(q, &rc);
	if (malformed_escape(q))
	{
		FUZZ_CHECK(rc == EINVAL, "malformed escape accepted (rc %d)", rc);
		free(q);
		return 0;
	}
	FUZZ_CHECK(rc == 0 && out != NULL, "well-formed query refused (rc %d)",
			   rc);
	FUZZ_CHECK(fuzz_is_sigv4_encoded(out, strlen(out), 0, "=&"),
			   "bad characters in \"%s\"", out);

	/* every piece has exactly one '=' and the pieces are sorted */
	for (p = out; *p != '\0';)
	{
		size_t		plen = strcspn(p, "&");
		const char *eq = memchr(p, '=', plen);

		FUZZ_CHECK(plen > 0, "empty piece in \"%s\"", out);
		FUZZ_CHECK(eq != NULL &&
					   memchr(eq + 1, '=', plen - (eq - p) - 1) == NULL,
				   "piece without exactly one '=' in \"%s\"", out);
		p += plen;
		if (*p == '&')
		{
			p++;
			FUZZ_CHECK(*p != '\0', "trailing '&' in \"%s\"", out);
		}
	}

	in_pairs = split_pairs(q, &nin);
	out_pairs = split_pairs(out, &nout);
	FUZZ_CHECK(nin == nout, "%zu pieces in, %zu out", nin, nout);
	/* the output is sorted by encoded key, then value */
	{
		const char *prev = NULL;
		size_t		prevlen = 0;

		for (p = out; *p != '\0';)
		{
			size_t plen = strcspn(p, "&");
			size_t klen = (size_t) ((const char *) memchr(p, '=', plen) - p);

			if (prev != NULL)
			{
				size_t pk =
					(size_t) ((const char *) memchr(prev, '=', prevlen) -
							  prev);
				size_t m = pk < klen ? pk : klen;
				int	   c = memcmp(prev, p, m);

				if (c == 0 && pk == klen)
				{
					size_t pv = prevlen - pk - 1;
					size_t v = plen - klen - 1;

					m = pv < v ? pv : v;
					c = memcmp(prev + pk + 1, p + klen + 1, m);
					FUZZ_CHECK(c < 0 || (c == 0 && pv <= v),
							   "values out of order in \"%s\"", out);
				}
				else
					FUZZ_CHECK(c < 0 || (c == 0 && pk < klen),
							   "keys out of order in \"%s\"", out);
			}
			prev = p;
			prevlen = plen;
			p += plen;
			if (*p == '&')
				p++;
		}
	}
	qsort(in_pairs, nin, sizeof(Pair), pair_cmp);
	qsort(out_pairs, nout, sizeof(Pair), pair_cmp);
	for (i = 0; i < nin; i++)
		FUZZ_CHECK(pair_cmp(&in_pairs[i], &out_pairs[i]) == 0,
				   "pair %zu changed by canonicalisation", i);
	free_pairs(in_pairs, nin);
	free_pairs(out_pairs, nout);

	again = canonical_query(out, &rc);
	FUZZ_CHECK(rc == 0 && again != NULL, "result refused (rc %d)", rc);
	FUZZ_CHECK(strcmp(again, out) == 0, "not idempotent: \"%s\" then \"%s\"",
			   out, again);
	free(again);
	free(out);
	free(q);
	return 0;
}
