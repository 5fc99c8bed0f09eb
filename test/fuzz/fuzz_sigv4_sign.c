/*-------------------------------------------------------------------------
 *
 * fuzz_sigv4_sign.c
 *		libFuzzer target: the whole SigV4 signer, sigv4_sign(), checked
 *		against an independent re-computation.
 *
 * Input: a flag byte (bit 0 normalise the path, bit 1 sign the body, bit 2
 * omit the session token, bit 3 use the key cache, bits 4-7: when not 0,
 * the signer's (N-1)-th allocation fails), five bytes of timestamp
 * (a 40-bit number minus 2^39: years before 0000 to after 9999), then lines:
 * method, path, query, region, service, access key id, secret, session
 * token, then "name:value" header lines up to the first line without ':',
 * and the rest is the body (may hold NULs).
 *
 * Properties checked:
 *	- sigv4_sign() succeeds exactly when an independent re-statement of the
 *	  documented input rules (sigv4.h, sigv4_validate) accepts the request;
 *	  otherwise it returns EINVAL (never ENOMEM or EIO) with *out zeroed;
 *	- on success: X-Amz-Date equals gmtime's; the payload hash is the
 *	  SHA-256 of the body; the canonical request is method, the canonical URI
 *	  and query (as their own functions give them), strictly sorted
 *	  lower-case header lines with trimmed, single-spaced values, exactly
 *	  the expected set of signed headers (the caller's minus hop-by-hop ones,
 *	  plus x-amz-date, the token unless omitted, the content hash when
 *	  asked), the signed-header list and the payload hash; the string to
 *	  sign is built from it; the signature is 64 lower-case hex digits and
 *	  equals HMAC-SHA256 over the string to sign with a key derived here from
 *	  the secret; the Authorization value is exactly the expected string;
 *	- a failed allocation makes it return ENOMEM with *out zeroed (never a
 *	  success built on a truncated buffer), and frees everything (LeakSanitizer
 *	  checks every input);
 *	- signing again (through the key cache when bit 3 is set) gives the same
 *	  result, and the cache derives the key once (twice when the region or
 *	  service is too long to be cached).
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdlib.h>

/*
 * Allocation failures: the signer's malloc() calls go through this, which
 * fails the N-th one when asked to (N from the flag byte's high bits).
 */
static long fuzz_malloc_countdown = -1; /* -1: never fail */
static bool fuzz_malloc_failed = false;

static void *
fuzz_malloc(size_t n)
{
	if (fuzz_malloc_countdown >= 0 && fuzz_malloc_countdown-- == 0)
	{
		fuzz_malloc_failed = true;
		return NULL;
	}
	return malloc(n);
}

#define malloc(n) fuzz_malloc(n)
#include "../../src/sigv4.c"
#undef malloc

#include <openssl/sha.h>

#include "fuzz_common.h"

#define MAX_HEADERS 64
/* inputs are at most FUZZ_MAX_INPUT bytes, so no name is longer */
#define FUZZ_MAX_INPUT 16384
#define NAME_MAX_LEN   (FUZZ_MAX_INPUT + 1)

static int
ref_is_tchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		   (c >= '0' && c <= '9') ||
		   (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
ref_is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!ref_is_tchar((unsigned char) *s))
			return 0;
	return 1;
}

static int
ref_has_ctl(const char *s, int allow_tab)
{
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (!(allow_tab && c == '\t') && (c < 0x20 || c == 0x7f))
			return 1;
	}
	return 0;
}

static int
ref_is_scope_part(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!(fuzz_is_unreserved(*s) && *s != '~'))
			return 0;
	return 1;
}

static int
ref_is_akid(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c <= 0x20 || c >= 0x7f || c == '/' || c == ',' || c == '=')
			return 0;
	}
	return 1;
}

static void
ref_lower(const char *s, char *out)
{
	for (; *s; s++)
		*out++ = (*s >= 'A' && *s <= 'Z') ? (char) (*s - 'A' + 'a') : *s;
	*out = '\0';
}

static int
ref_bad_escape(const char *q)
{
	size_t n = strlen(q);
	size_t i;

	for (i = 0; i < n; i++)
		if (q[i] == '%' && (i + 2 >= n || fuzz_hexval(q[i + 1]) < 0 ||
							fuzz_hexval(q[i + 2]) < 0))
			return 1;
	return 0;
}

static int
ref_is_unsigned(const char *lower)
{
	size_t i;

	for (i = 0; i < sizeof(sigv4_unsigned_headers) / sizeof(char *); i++)
		if (strcmp(lower, sigv4_unsigned_headers[i]) == 0)
			return 1;
	return 0;
}

/* The documented input rules, restated. */
static int
ref_valid(const SigV4Request *req, const SigV4Credentials *creds)
{
	int nhost = 0;
	int i;

	if (!ref_is_token(req->method) || ref_has_ctl(req->path, 0) ||
		ref_has_ctl(req->query, 0) || ref_bad_escape(req->query) ||
		!ref_is_scope_part(req->region) || !ref_is_scope_part(req->service) ||
		!ref_is_akid(creds->access_key_id) ||
		creds->secret_access_key[0] == '\0' ||
		ref_has_ctl(creds->session_token, 0))
		return 0;
	/* years 0000 to 9999 */
	if (req->timestamp < -62167219200LL || req->timestamp > 253402300799LL)
		return 0;
	for (i = 0; i < req->nheaders; i++)
	{
		char lower[NAME_MAX_LEN];

		if (!ref_is_token(req->headers[i].name) ||
			ref_has_ctl(req->headers[i].value, 1))
			return 0;
		ref_lower(req->headers[i].name, lower);
		if (strcmp(lower, "authorization") == 0 ||
			strcmp(lower, "x-amz-date") == 0 ||
			strcmp(lower, "x-amz-security-token") == 0 ||
			strcmp(lower, "x-amz-content-sha256") == 0)
			return 0;
		if (strcmp(lower, "host") == 0)
			nhost++;
	}
	return nhost == 1;
}

static void
ref_hex(const unsigned char *md, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

static void
ref_hmac(const void *key, size_t keylen, const char *msg, unsigned char *md)
{
	unsigned int mdlen = 32;

	FUZZ_CHECK(HMAC(EVP_sha256(), key, (int) keylen,
					(const unsigned char *) msg, strlen(msg), md,
					&mdlen) != NULL,
			   "HMAC failed");
}

/* The expected value of a header after trimming and collapsing SP/HT. */
static char *
ref_normalize_value(const char *v)
{
	char  *out = malloc(strlen(v) + 1);
	size_t o = 0;
	int	   space = 0;

	for (; *v; v++)
	{
		if (*v == ' ' || *v == '\t')
		{
			space = o > 0;
			continue;
		}
		if (space)
			out[o++] = ' ';
		space = 0;
		out[o++] = *v;
	}
	out[o] = '\0';
	return out;
}

/* strdup that aborts on failure */
static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	FUZZ_CHECK(d != NULL, "out of memory");
	return d;
}

/* The next '\n'-terminated line of *p as a malloc'd string; NULL at end. */
static char *
next_line(const char **p)
{
	const char *nl;
	char	   *s;

	if (**p == '\0')
		return NULL;
	nl = strchr(*p, '\n');
	if (nl == NULL)
	{
		s = xstrdup(*p);
		*p += strlen(*p);
		return s;
	}
	s = strndup(*p, (size_t) (nl - *p));
	FUZZ_CHECK(s != NULL, "out of memory");
	*p = nl + 1;
	return s;
}

static void
check_result(const SigV4Request *req, const SigV4Credentials *creds,
			 const SigV4Result *res)
{
	char		  want[128];
	char		  date[9];
	char		  hex[65];
	unsigned char md[32];
	unsigned char key[32];
	struct tm	  tm;
	time_t		  t = req->timestamp;
	const char	 *p = res->canonical_request;
	char		 *line;
	char		 *expect_uri;
	char		 *expect_query;
	SigV4Buf	  b;
	char		**names;
	int			  nnames = 0;
	int			  i;
	char		 *signed_list;
	char		 *sts;
	char		 *auth;
	char		  lower[NAME_MAX_LEN];
	int			  have_token;
	size_t		  len;

	/* date */
	FUZZ_CHECK(gmtime_r(&t, &tm) != NULL, "gmtime failed");
	snprintf(want, sizeof(want), "%04d%02d%02dT%02d%02d%02dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec);
	FUZZ_CHECK(strcmp(res->amz_date, want) == 0, "date %s, gmtime says %s",
			   res->amz_date, want);
	memcpy(date, want, 8);
	date[8] = '\0';

	/* payload hash */
	SHA256(req->body != NULL ? req->body : (const void *) "", req->body_len,
		   md);
	ref_hex(md, 32, hex);
	FUZZ_CHECK(strcmp(res->payload_hash, hex) == 0, "payload hash %s, not %s",
			   res->payload_hash, hex);

	/* canonical request: method, URI, query */
	FUZZ_CHECK(p != NULL && res->string_to_sign != NULL, "no intermediates");
	line = next_line(&p);
	FUZZ_CHECK(line && strcmp(line, req->method) == 0, "method line");
	free(line);
	sigv4_buf_init(&b);
	FUZZ_CHECK(
		sigv4_append_canonical_uri(&b, req->path, req->normalize_path) == 0,
		"canonical URI");
	expect_uri = sigv4_buf_steal(&b);
	line = next_line(&p);
	FUZZ_CHECK(line && strcmp(line, expect_uri) == 0, "URI line \"%s\"",
			   line ? line : "");
	free(line);
	free(expect_uri);
	sigv4_buf_init(&b);
	FUZZ_CHECK(sigv4_append_canonical_query(&b, req->query) == 0,
			   "canonical query");
	expect_query = sigv4_buf_steal(&b);
	line = next_line(&p);
	FUZZ_CHECK(line && strcmp(line, expect_query) == 0, "query line");
	free(line);
	free(expect_query);

	/* header lines: sorted, unique, lower-case, normalised values */
	names = calloc(MAX_HEADERS + 4, sizeof(char *));
	while ((line = next_line(&p)) != NULL && line[0] != '\0')
	{
		char *colon = strchr(line, ':');
		char *v;

		FUZZ_CHECK(colon != NULL, "header line without ':'");
		*colon = '\0';
		v = colon + 1;
		FUZZ_CHECK(nnames < MAX_HEADERS + 3, "too many header lines");
		ref_lower(line, lower);
		FUZZ_CHECK(strcmp(lower, line) == 0, "name not lower-case: %s", line);
		FUZZ_CHECK(nnames == 0 || strcmp(names[nnames - 1], line) < 0,
				   "header names not strictly sorted: %s after %s", line,
				   names[nnames - 1]);
		FUZZ_CHECK(!ref_is_unsigned(line), "hop-by-hop header %s signed",
				   line);
		FUZZ_CHECK(v[0] != ' ' && strstr(v, "  ") == NULL &&
					   strchr(v, '\t') == NULL && strchr(v, '\r') == NULL &&
					   (v[0] == '\0' || v[strlen(v) - 1] != ' '),
				   "value of %s not normalised: \"%s\"", line, v);
		names[nnames++] = xstrdup(line);
		free(line);
	}
	FUZZ_CHECK(line != NULL, "no blank line after the headers");
	free(line);

	/* every expected header is there, and nothing else */
	have_token = creds->session_token[0] != '\0' && !req->omit_session_token;
	{
		int expected = 1 + have_token + (req->sign_body ? 1 : 0);
		int found;

		for (i = 0; i < req->nheaders; i++)
		{
			int j;
			int dup = 0;

			ref_lower(req->headers[i].name, lower);
			if (ref_is_unsigned(lower))
				continue;
			for (j = 0; j < i; j++)
			{
				char other[NAME_MAX_LEN];

				ref_lower(req->headers[j].name, other);
				dup |= strcmp(other, lower) == 0;
			}
			if (dup)
				continue;
			expected++;
			found = 0;
			for (j = 0; j < nnames; j++)
				found |= strcmp(names[j], lower) == 0;
			FUZZ_CHECK(found, "header %s not signed", lower);
		}
		FUZZ_CHECK(nnames == expected, "%d signed headers, expected %d",
				   nnames, expected);
	}
	/* the value of a header given once is its normalised value */
	for (i = 0; i < req->nheaders; i++)
	{
		char *nv;
		char *pat;
		int	  j;
		int	  dup = 0;

		ref_lower(req->headers[i].name, lower);
		for (j = 0; j < req->nheaders; j++)
		{
			char other[NAME_MAX_LEN];

			ref_lower(req->headers[j].name, other);
			dup += strcmp(other, lower) == 0;
		}
		if (dup != 1 || ref_is_unsigned(lower))
			continue;
		nv = ref_normalize_value(req->headers[i].value);
		len = strlen(lower) + strlen(nv) + 4;
		pat = malloc(len);
		snprintf(pat, len, "\n%s:%s\n", lower, nv);
		FUZZ_CHECK(strstr(res->canonical_request, pat) != NULL,
				   "no line \"%s:%s\"", lower, nv);
		free(pat);
		free(nv);
	}

	/* signed-header list and payload hash lines */
	signed_list = next_line(&p);
	FUZZ_CHECK(signed_list != NULL, "no signed-header list");
	{
		SigV4Buf l;

		sigv4_buf_init(&l);
		for (i = 0; i < nnames; i++)
		{
			if (i > 0)
				sigv4_buf_appendc(&l, ';');
			sigv4_buf_appends(&l, names[i]);
		}
		FUZZ_CHECK(l.data && strcmp(l.data, signed_list) == 0,
				   "signed-header list \"%s\"", signed_list);
		FUZZ_CHECK(strstr(signed_list, "host") != NULL &&
					   strstr(signed_list, "x-amz-date") != NULL,
				   "host or x-amz-date not signed");
		sigv4_buf_free(&l);
	}
	line = next_line(&p);
	FUZZ_CHECK(line && strcmp(line, res->payload_hash) == 0 && *p == '\0',
			   "last line is not the payload hash");
	free(line);

	/* string to sign */
	SHA256((const unsigned char *) res->canonical_request,
		   strlen(res->canonical_request), md);
	ref_hex(md, 32, hex);
	len = 200 + strlen(req->region) + strlen(req->service);
	sts = malloc(len);
	snprintf(sts, len, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
			 res->amz_date, date, req->region, req->service, hex);
	FUZZ_CHECK(strcmp(sts, res->string_to_sign) == 0, "string to sign");

	/* signature, from a key derived here */
	{
		size_t slen = strlen(creds->secret_access_key) + 5;
		char  *k = malloc(slen);

		snprintf(k, slen, "AWS4%s", creds->secret_access_key);
		ref_hmac(k, strlen(k), date, key);
		ref_hmac(key, 32, req->region, key);
		ref_hmac(key, 32, req->service, key);
		ref_hmac(key, 32, "aws4_request", key);
		ref_hmac(key, 32, sts, md);
		ref_hex(md, 32, hex);
		free(k);
	}
	FUZZ_CHECK(strlen(res->signature) == 64 &&
				   strspn(res->signature, "0123456789abcdef") == 64,
			   "signature \"%s\" is not 64 lower-case hex digits",
			   res->signature);
	FUZZ_CHECK(strcmp(res->signature, hex) == 0, "signature %s, expected %s",
			   res->signature, hex);

	/* Authorization */
	len = 200 + strlen(creds->access_key_id) + strlen(req->region) +
		  strlen(req->service) + strlen(signed_list);
	auth = malloc(len);
	snprintf(auth, len,
			 "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
			 "SignedHeaders=%s, Signature=%s",
			 creds->access_key_id, date, req->region, req->service,
			 signed_list, hex);
	FUZZ_CHECK(strcmp(auth, res->authorization) == 0, "Authorization \"%s\"",
			   res->authorization);

	free(auth);
	free(sts);
	free(signed_list);
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzReader		 r;
	uint8_t			 flags;
	long long		 ts = 0;
	int				 i;
	char			*method, *path, *query, *region, *service;
	char			*akid, *secret, *token;
	char			*hlines[MAX_HEADERS];
	SigV4Header		 headers[MAX_HEADERS];
	int				 nheaders = 0;
	uint8_t			*body;
	size_t			 body_len;
	SigV4Request	 req;
	SigV4Credentials creds;
	SigV4Result		 res;
	SigV4Result		 res2;
	SigV4KeyCache	 cache;
	int				 rc;
	int				 valid;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	fuzz_reader_init(&r, data, size);
	flags = fuzz_take_byte(&r);
	for (i = 0; i < 5; i++)
		ts = (ts << 8) | fuzz_take_byte(&r);
	ts -= 1LL << 39;
	method = fuzz_take_field(&r, '\n');
	path = fuzz_take_field(&r, '\n');
	query = fuzz_take_field(&r, '\n');
	region = fuzz_take_field(&r, '\n');
	service = fuzz_take_field(&r, '\n');
	akid = fuzz_take_field(&r, '\n');
	secret = fuzz_take_field(&r, '\n');
	token = fuzz_take_field(&r, '\n');
	while (nheaders < MAX_HEADERS)
	{
		const uint8_t *start = data + r.pos;
		size_t		   avail = r.len - r.pos;
		const uint8_t *nl = memchr(start, '\n', avail);
		size_t		   n = nl != NULL ? (size_t) (nl - start) : avail;
		char		  *line;
		char		  *colon;

		/* a line without ':', or with a NUL: the body starts here */
		if (memchr(start, '\0', n) != NULL || memchr(start, ':', n) == NULL)
			break;
		line = fuzz_take_field(&r, '\n');
		colon = strchr(line, ':');
		*colon = '\0';
		hlines[nheaders] = line;
		headers[nheaders].name = line;
		headers[nheaders].value = colon + 1;
		nheaders++;
	}
	body = fuzz_take_rest(&r, &body_len);

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.query = query;
	req.headers = headers;
	req.nheaders = nheaders;
	req.body = body_len > 0 ? body : NULL;
	req.body_len = body_len;
	req.region = region;
	req.service = service;
	req.timestamp = (time_t) ts;
	req.normalize_path = (flags & 1) != 0;
	req.sign_body = (flags & 2) != 0;
	req.omit_session_token = (flags & 4) != 0;
	creds.access_key_id = akid;
	creds.secret_access_key = secret;
	creds.session_token = token;

	sigv4_key_cache_init(&cache);
	valid = ref_valid(&req, &creds);
	fuzz_malloc_countdown = (flags >> 4) - 1;
	fuzz_malloc_failed = false;
	rc = sigv4_sign(&req, &creds, (flags & 8) ? &cache : NULL, true, &res);
	fuzz_malloc_countdown = -1;
	if (fuzz_malloc_failed)
	{
		/* an invalid query escape may be found before or after it */
		FUZZ_CHECK(rc == ENOMEM || (!valid && rc == EINVAL),
				   "an allocation failed, yet rc %d", rc);
		FUZZ_CHECK(res.authorization == NULL &&
					   res.canonical_request == NULL &&
					   res.string_to_sign == NULL &&
					   res.signature[0] == '\0' && res.amz_date[0] == '\0',
				   "output left after an allocation failure");
	}
	else if (!valid)
	{
		FUZZ_CHECK(rc == EINVAL, "invalid request: rc %d, not EINVAL", rc);
		FUZZ_CHECK(res.authorization == NULL &&
					   res.canonical_request == NULL &&
					   res.signature[0] == '\0',
				   "a refused request left output");
	}
	else
	{
		FUZZ_CHECK(rc == 0, "valid request refused: rc %d", rc);
		check_result(&req, &creds, &res);

		/* again, through the cache if used: same answer, one derivation */
		rc = sigv4_sign(&req, &creds, (flags & 8) ? &cache : NULL, false,
						&res2);
		FUZZ_CHECK(rc == 0, "second signing failed: rc %d", rc);
		FUZZ_CHECK(strcmp(res.authorization, res2.authorization) == 0,
				   "signing twice differs");
		FUZZ_CHECK(res2.canonical_request == NULL,
				   "intermediates returned although not asked for");
		/* names too long to cache are derived every time (sigv4.h) */
		if (strlen(region) <= SIGV4_KEY_CACHE_REGION_MAX &&
			strlen(service) <= SIGV4_KEY_CACHE_SERVICE_MAX)
			FUZZ_CHECK(sigv4_key_cache_derivations(&cache) ==
						   ((flags & 8) != 0),
					   "%lu derivations for one cached key",
					   sigv4_key_cache_derivations(&cache));
		else
			FUZZ_CHECK(sigv4_key_cache_derivations(&cache) ==
						   ((flags & 8) != 0 ? 2UL : 0UL),
					   "%lu derivations for an uncacheable key",
					   sigv4_key_cache_derivations(&cache));
		sigv4_result_free(&res2);
	}
	sigv4_result_free(&res);
	sigv4_key_cache_clear(&cache);

	for (i = 0; i < nheaders; i++)
		free(hlines[i]);
	free(body);
	free(method);
	free(path);
	free(query);
	free(region);
	free(service);
	free(akid);
	free(secret);
	free(token);
	return 0;
}
