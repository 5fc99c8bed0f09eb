/*-------------------------------------------------------------------------
 *
 * sigv4.c
 *	  AWS Signature Version 4 request signing (Authorization header form).
 *
 * The algorithm follows the AWS documentation ("Create a signed AWS API
 * request") and matches botocore's SigV4Auth and the aws-c-auth test suite:
 *
 *	CanonicalRequest = Method \n CanonicalURI \n CanonicalQuery \n
 *					   CanonicalHeaders \n SignedHeaders \n HexSHA256(body)
 *	StringToSign	 = "AWS4-HMAC-SHA256" \n AmzDate \n Scope \n
 *					   HexSHA256(CanonicalRequest)
 *	Signature		 = Hex(HMAC(kSigning, StringToSign)), where kSigning is
 *					   derived from the secret, date, region and service.
 *
 * Canonicalisation rules:
 *	- URI: optionally normalised (dot segments removed, duplicate slashes
 *	  collapsed, leading slash kept, trailing slash kept when something is
 *	  left: the botocore / JS SDK algorithm), then URI-encoded once with '/'
 *	  kept.  An empty result becomes "/".
 *	- Query: split on '&' (empty pieces ignored), each piece split on the
 *	  first '=', key and value percent-decoded and re-encoded (never '+' for
 *	  space), sorted by encoded key then encoded value.
 *	- Headers: names lower-cased, values trimmed with runs of SP/HT collapsed
 *	  to one space, repeated names joined with ',' in input order, sorted by
 *	  name.  Hop-by-hop headers are never signed.
 *
 * The code is plain C99 plus OpenSSL libcrypto and uses no globals, so it can
 * live both in a PostgreSQL backend and in a standalone test program.  Every
 * buffer is sized dynamically; every allocation is checked.  Derived keys
 * and buffers that held secrets are wiped with OPENSSL_cleanse.
 *
 *-------------------------------------------------------------------------
 */
#include "sigv4.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SIGV4_ALGORITHM	 "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
#define SIGV4_SHA256_LEN 32

/* number of elements of an array */
#define SIGV4_LENGTHOF(array) (sizeof(array) / sizeof((array)[0]))

/* A growable, always NUL-terminated byte buffer. */
typedef struct SigV4Buf
{
	char  *data;
	size_t len;
	size_t cap;
	bool   failed; /* an allocation failed; further appends are no-ops */
} SigV4Buf;

/* A header ready for canonicalisation. */
typedef struct SigV4CanonHeader
{
	const char *name;  /* lower-cased */
	const char *value; /* trimmed, whitespace runs collapsed */
	int			order; /* input position, makes the sort stable */
} SigV4CanonHeader;

/* A canonical query parameter: offsets into the encoding arena. */
typedef struct SigV4QueryParam
{
	size_t		key_off;
	size_t		value_off;
	const char *key;
	const char *value;
} SigV4QueryParam;

/* Headers that are never signed, even when the caller passes them. */
static const char *const sigv4_unsigned_headers[] = {
	"connection",
	"expect",
	"keep-alive",
	"proxy-authenticate",
	"proxy-authorization",
	"te",
	"trailer",
	"transfer-encoding",
	"upgrade",
	"user-agent",
	"x-amzn-trace-id",
};

/* Headers the signer manages itself; the caller must not pass them. */
static const char *const sigv4_reserved_headers[] = {
	"authorization",
	"x-amz-date",
	"x-amz-security-token",
	"x-amz-content-sha256",
};

static const char sigv4_hexdigits[] = "0123456789ABCDEF";
static const char sigv4_hexdigits_lower[] = "0123456789abcdef";

/* ----------------------------------------------------------------------
 * Growable buffer
 * ----------------------------------------------------------------------
 */

/*
 * sigv4_buf_init
 *		Make *buf an empty buffer that owns no memory yet.
 */
static void
sigv4_buf_init(SigV4Buf *buf)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->failed = false;
}

/*
 * sigv4_buf_free
 *		Wipe and release the buffer's memory and reset it to empty.  The
 *		contents are wiped because a buffer may have held a session token.
 */
static void
sigv4_buf_free(SigV4Buf *buf)
{
	if (buf->data != NULL)
	{
		OPENSSL_cleanse(buf->data, buf->cap);
		free(buf->data);
	}
	sigv4_buf_init(buf);
}

/*
 * sigv4_buf_reserve
 *		Make room for at least "extra" more bytes plus the terminating NUL.
 *		Returns false (and marks the buffer failed) on overflow or when out
 *		of memory.  Growing copies into a fresh block and wipes the old one,
 *		so no stale copy of the contents is left on the heap.
 */
static bool
sigv4_buf_reserve(SigV4Buf *buf, size_t extra)
{
	size_t need;
	size_t newcap;
	char  *newdata;

	if (buf->failed)
		return false;
	if (extra > SIZE_MAX - 1 - buf->len)
	{
		buf->failed = true;
		return false;
	}
	need = buf->len + extra + 1;
	if (need <= buf->cap)
		return true;

	newcap = buf->cap < 256 ? 256 : buf->cap;
	while (newcap < need)
	{
		if (newcap > SIZE_MAX / 2)
		{
			newcap = need;
			break;
		}
		newcap *= 2;
	}

	newdata = malloc(newcap);
	if (newdata == NULL)
	{
		buf->failed = true;
		return false;
	}
	if (buf->data != NULL)
	{
		memcpy(newdata, buf->data, buf->len + 1);
		OPENSSL_cleanse(buf->data, buf->cap);
		free(buf->data);
	}
	else
		newdata[0] = '\0';
	buf->data = newdata;
	buf->cap = newcap;
	return true;
}

/*
 * sigv4_buf_append
 *		Append n bytes from s (which need not be NUL-terminated).
 */
static void
sigv4_buf_append(SigV4Buf *buf, const char *s, size_t n)
{
	if (!sigv4_buf_reserve(buf, n))
		return;
	if (n > 0)
		memcpy(buf->data + buf->len, s, n);
	buf->len += n;
	buf->data[buf->len] = '\0';
}

/*
 * sigv4_buf_appends
 *		Append a NUL-terminated string.
 */
static void
sigv4_buf_appends(SigV4Buf *buf, const char *s)
{
	sigv4_buf_append(buf, s, strlen(s));
}

/*
 * sigv4_buf_appendc
 *		Append one byte.
 */
static void
sigv4_buf_appendc(SigV4Buf *buf, char c)
{
	sigv4_buf_append(buf, &c, 1);
}

/*
 * sigv4_is_unreserved
 *		True for the RFC 3986 unreserved characters A-Z a-z 0-9 - _ . ~,
 *		which URI-encoding leaves alone.
 */
static bool
sigv4_is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		   (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
		   c == '~';
}

/*
 * sigv4_buf_append_encoded
 *		Append the URI-encoding of n bytes of s (see sigv4_uri_encode).
 */
static void
sigv4_buf_append_encoded(SigV4Buf *buf, const char *s, size_t n,
						 bool keep_slash)
{
	size_t i;
	char  *p;

	if (n > (SIZE_MAX - 1) / 3)
	{
		buf->failed = true;
		return;
	}
	if (!sigv4_buf_reserve(buf, n * 3))
		return;
	p = buf->data + buf->len;
	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (sigv4_is_unreserved(c) || (keep_slash && c == '/'))
			*p++ = (char) c;
		else
		{
			*p++ = '%';
			*p++ = sigv4_hexdigits[c >> 4];
			*p++ = sigv4_hexdigits[c & 0x0F];
		}
	}
	buf->len = (size_t) (p - buf->data);
	buf->data[buf->len] = '\0';
}

/*
 * sigv4_buf_steal
 *		Hand the buffer's memory to the caller (never NULL unless the buffer
 *		failed) and reset the buffer to empty.
 */
static char *
sigv4_buf_steal(SigV4Buf *buf)
{
	char *result;

	if (!sigv4_buf_reserve(buf, 0))
		return NULL;
	result = buf->data;
	sigv4_buf_init(buf);
	return result;
}

/* ----------------------------------------------------------------------
 * Small helpers
 * ----------------------------------------------------------------------
 */

/*
 * sigv4_hex
 *		Write n bytes as 2n lower-case hex digits plus a NUL into out.
 */
static void
sigv4_hex(const unsigned char *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
	{
		out[2 * i] = sigv4_hexdigits_lower[in[i] >> 4];
		out[2 * i + 1] = sigv4_hexdigits_lower[in[i] & 0x0F];
	}
	out[2 * n] = '\0';
}

/*
 * sigv4_hexval
 *		Value of one hex digit (either case), or -1 if c is not one.
 */
static int
sigv4_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * sigv4_ascii_lower
 *		ASCII-only lower-casing, independent of the locale.
 */
static char
sigv4_ascii_lower(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char) (c - 'A' + 'a');
	return c;
}

/*
 * sigv4_name_equals
 *		Case-insensitive (ASCII) comparison of a header name with a
 *		lower-case literal.
 */
static bool
sigv4_name_equals(const char *name, const char *lower)
{
	while (*name != '\0' && *lower != '\0')
	{
		if (sigv4_ascii_lower(*name) != *lower)
			return false;
		name++;
		lower++;
	}
	return *name == '\0' && *lower == '\0';
}

/*
 * sigv4_is_tchar
 *		True for the RFC 9110 "tchar" characters allowed in header names and
 *		methods.
 */
static bool
sigv4_is_tchar(unsigned char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/*
 * sigv4_all_chars
 *		True if s is non-NULL, non-empty and every byte satisfies pred.
 */
static bool
sigv4_all_chars(const char *s, bool (*pred)(unsigned char c))
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
	{
		if (!pred((unsigned char) *s))
			return false;
	}
	return true;
}

/*
 * sigv4_is_token
 *		True if s is non-NULL, non-empty and made of tchar only.
 */
static bool
sigv4_is_token(const char *s)
{
	return sigv4_all_chars(s, sigv4_is_tchar);
}

/*
 * sigv4_has_ctl
 *		True if s contains a control character (0x00-0x1F or 0x7F); HTAB is
 *		allowed when allow_tab.  This rejects CR and LF, which would let a
 *		value inject extra header lines.
 */
static bool
sigv4_has_ctl(const char *s, bool allow_tab)
{
	for (; *s != '\0'; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '\t' && allow_tab)
			continue;
		if (c < 0x20 || c == 0x7F)
			return true;
	}
	return false;
}

/*
 * sigv4_is_scope_char
 *		True for A-Z a-z 0-9 - _ . (the unreserved characters but '~').
 */
static bool
sigv4_is_scope_char(unsigned char c)
{
	return sigv4_is_unreserved(c) && c != '~';
}

/*
 * sigv4_is_scope_part
 *		True if s is non-empty and consists of A-Z a-z 0-9 - _ . only, as
 *		region and service names do.  Such names are safe inside the
 *		credential scope and the Authorization header.
 */
static bool
sigv4_is_scope_part(const char *s)
{
	return sigv4_all_chars(s, sigv4_is_scope_char);
}

/*
 * sigv4_is_key_id_char
 *		True for printable ASCII other than space, '/', ',' and '='
 *		(characters that would break the Credential= field).
 */
static bool
sigv4_is_key_id_char(unsigned char c)
{
	return c > 0x20 && c < 0x7F && c != '/' && c != ',' && c != '=';
}

/*
 * sigv4_is_access_key_id
 *		True if s is non-empty and made of sigv4_is_key_id_char only.
 */
static bool
sigv4_is_access_key_id(const char *s)
{
	return sigv4_all_chars(s, sigv4_is_key_id_char);
}

/*
 * sigv4_put_digits
 *		Write v as exactly n decimal digits (zero padded) at p.
 */
static void
sigv4_put_digits(char *p, long long v, int n)
{
	while (n-- > 0)
	{
		p[n] = (char) ('0' + (int) (v % 10));
		v /= 10;
	}
}

/* ----------------------------------------------------------------------
 * Crypto wrappers
 * ----------------------------------------------------------------------
 */

/*
 * sigv4_sha256
 *		SHA-256 of len bytes at data into md.  Returns false if OpenSSL
 *		fails.
 */
static bool
sigv4_sha256(const void *data, size_t len, unsigned char md[SIGV4_SHA256_LEN])
{
	unsigned int	  mdlen = 0;
	static const char empty[1] = {0};

	if (data == NULL)
		data = empty;
	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
		mdlen != SIGV4_SHA256_LEN)
		return false;
	return true;
}

/*
 * sigv4_hmac
 *		HMAC-SHA256 of len bytes at data with the given key into md.
 *		Returns false if OpenSSL fails or the key is absurdly long.
 */
static bool
sigv4_hmac(const void *key, size_t keylen, const void *data, size_t len,
		   unsigned char md[SIGV4_SHA256_LEN])
{
	unsigned int mdlen = 0;

	if (keylen > INT_MAX)
		return false;
	if (HMAC(EVP_sha256(), key, (int) keylen, (const unsigned char *) data,
			 len, md, &mdlen) == NULL ||
		mdlen != SIGV4_SHA256_LEN)
		return false;
	return true;
}

/*
 * sigv4_credentials_hash
 *		SHA-256 of access key id, a NUL byte and the secret: the cache key
 *		for one set of credentials.  Returns false if OpenSSL fails.
 */
static bool
sigv4_credentials_hash(const SigV4Credentials *creds,
					   unsigned char		   md[SIGV4_SHA256_LEN])
{
	EVP_MD_CTX	*ctx;
	unsigned int mdlen = 0;
	bool		 ok;

	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return false;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(ctx, creds->access_key_id,
						  strlen(creds->access_key_id) + 1) == 1 &&
		 EVP_DigestUpdate(ctx, creds->secret_access_key,
						  strlen(creds->secret_access_key)) == 1 &&
		 EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == SIGV4_SHA256_LEN;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/*
 * sigv4_derive_key
 *		Compute kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date),
 *		region), service), "aws4_request").  Intermediate keys are wiped.
 *		Returns 0, ENOMEM or EIO.
 */
static int
sigv4_derive_key(const char *secret, const char *date, const char *region,
				 const char *service, unsigned char key[SIGV4_SHA256_LEN])
{
	size_t		   secret_len = strlen(secret);
	unsigned char *ksecret;
	unsigned char  k1[SIGV4_SHA256_LEN];
	unsigned char  k2[SIGV4_SHA256_LEN];
	bool		   ok;

	if (secret_len > SIZE_MAX - 4)
		return ENOMEM;
	ksecret = malloc(secret_len + 4);
	if (ksecret == NULL)
		return ENOMEM;
	memcpy(ksecret, "AWS4", 4);
	memcpy(ksecret + 4, secret, secret_len);

	ok = sigv4_hmac(ksecret, secret_len + 4, date, strlen(date), k1) &&
		 sigv4_hmac(k1, sizeof(k1), region, strlen(region), k2) &&
		 sigv4_hmac(k2, sizeof(k2), service, strlen(service), k1) &&
		 sigv4_hmac(k1, sizeof(k1), SIGV4_TERMINATOR, strlen(SIGV4_TERMINATOR),
					key);

	OPENSSL_cleanse(ksecret, secret_len + 4);
	free(ksecret);
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	if (!ok)
	{
		OPENSSL_cleanse(key, SIGV4_SHA256_LEN);
		return EIO;
	}
	return 0;
}

/*
 * sigv4_get_signing_key
 *		Fetch kSigning for (creds, date, region, service) from the cache, or
 *		derive it (and remember it, evicting the least recently used entry).
 *		cache may be NULL; region or service names too long for a cache entry
 *		are derived every time.  Returns 0, ENOMEM or EIO.
 */
static int
sigv4_get_signing_key(const SigV4Credentials *creds, const char *date,
					  const char *region, const char *service,
					  SigV4KeyCache *cache,
					  unsigned char	 key[SIGV4_SHA256_LEN])
{
	const char		   *secret = creds->secret_access_key;
	unsigned char		cred_hash[SIGV4_SHA256_LEN];
	SigV4KeyCacheEntry *victim = NULL;
	int					i;
	int					rc;

	if (cache == NULL || strlen(region) > SIGV4_KEY_CACHE_REGION_MAX ||
		strlen(service) > SIGV4_KEY_CACHE_SERVICE_MAX)
	{
		rc = sigv4_derive_key(secret, date, region, service, key);
		if (rc == 0 && cache != NULL)
			cache->derivations++;
		return rc;
	}

	if (!sigv4_credentials_hash(creds, cred_hash))
		return EIO;

	for (i = 0; i < SIGV4_KEY_CACHE_SIZE; i++)
	{
		SigV4KeyCacheEntry *e = &cache->entries[i];

		if (e->valid &&
			CRYPTO_memcmp(e->cred_hash, cred_hash, sizeof(cred_hash)) == 0 &&
			strcmp(e->date, date) == 0 && strcmp(e->region, region) == 0 &&
			strcmp(e->service, service) == 0)
		{
			memcpy(key, e->signing_key, SIGV4_SHA256_LEN);
			e->last_used = ++cache->tick;
			OPENSSL_cleanse(cred_hash, sizeof(cred_hash));
			return 0;
		}
		/* eviction choice: the first free entry, else the oldest one */
		if (victim == NULL ||
			(victim->valid && (!e->valid || e->last_used < victim->last_used)))
			victim = e;
	}

	rc = sigv4_derive_key(secret, date, region, service, key);
	if (rc != 0)
	{
		OPENSSL_cleanse(cred_hash, sizeof(cred_hash));
		return rc;
	}
	cache->derivations++;

	OPENSSL_cleanse(victim, sizeof(*victim));
	victim->valid = true;
	victim->last_used = ++cache->tick;
	memcpy(victim->cred_hash, cred_hash, sizeof(cred_hash));
	strcpy(victim->date, date);
	strcpy(victim->region, region);
	strcpy(victim->service, service);
	memcpy(victim->signing_key, key, SIGV4_SHA256_LEN);
	OPENSSL_cleanse(cred_hash, sizeof(cred_hash));
	return 0;
}

/* ----------------------------------------------------------------------
 * Canonical request pieces
 * ----------------------------------------------------------------------
 */

/*
 * sigv4_count_pieces
 *		Number of pieces len bytes of s split into at sep: one more than
 *		the number of seps.
 */
static size_t
sigv4_count_pieces(const char *s, size_t len, char sep)
{
	size_t n = 1;
	size_t i;

	for (i = 0; i < len; i++)
	{
		if (s[i] == sep)
			n++;
	}
	return n;
}

/*
 * sigv4_append_canonical_uri
 *		Append the canonical URI for path to buf: optionally normalised (see
 *		the file header), then URI-encoded with '/' kept; "/" when empty.
 *		Returns 0 or ENOMEM.
 */
static int
sigv4_append_canonical_uri(SigV4Buf *buf, const char *path, bool normalize)
{
	size_t	path_len = strlen(path);
	size_t	nsegs;
	size_t	nkept = 0;
	size_t	i;
	size_t	start;
	size_t *seg_start;
	size_t *seg_len;
	size_t	before = buf->len;

	if (!normalize)
	{
		if (path_len == 0)
			sigv4_buf_appendc(buf, '/');
		else
			sigv4_buf_append_encoded(buf, path, path_len, true);
		return buf->failed ? ENOMEM : 0;
	}

	/* Split on '/' and keep a stack of the segments that survive. */
	nsegs = sigv4_count_pieces(path, path_len, '/');
	if (nsegs > SIZE_MAX / sizeof(size_t))
		return ENOMEM;
	seg_start = malloc(nsegs * sizeof(size_t));
	seg_len = malloc(nsegs * sizeof(size_t));
	if (seg_start == NULL || seg_len == NULL)
	{
		free(seg_start);
		free(seg_len);
		return ENOMEM;
	}

	start = 0;
	for (i = 0; i <= path_len; i++)
	{
		size_t len;

		if (i < path_len && path[i] != '/')
			continue;
		len = i - start;
		if (len == 0 || (len == 1 && path[start] == '.'))
		{
			/* empty segment (duplicate slash) or ".": drop */
		}
		else if (len == 2 && path[start] == '.' && path[start + 1] == '.')
		{
			if (nkept > 0)
				nkept--;
		}
		else
		{
			seg_start[nkept] = start;
			seg_len[nkept] = len;
			nkept++;
		}
		start = i + 1;
	}

	if (path_len > 0 && path[0] == '/')
		sigv4_buf_appendc(buf, '/');
	for (i = 0; i < nkept; i++)
	{
		if (i > 0)
			sigv4_buf_appendc(buf, '/');
		sigv4_buf_append_encoded(buf, path + seg_start[i], seg_len[i], true);
	}
	if (nkept > 0 && path[path_len - 1] == '/')
		sigv4_buf_appendc(buf, '/');
	if (buf->len == before)
		sigv4_buf_appendc(buf, '/');

	free(seg_start);
	free(seg_len);
	return buf->failed ? ENOMEM : 0;
}

/*
 * sigv4_percent_decode
 *		Decode n bytes of s into dst (at least n bytes), returning the
 *		decoded length through *outlen.  '+' is left alone.  Returns false
 *		for a malformed escape ('%' not followed by two hex digits).
 */
static bool
sigv4_percent_decode(const char *s, size_t n, char *dst, size_t *outlen)
{
	size_t i;
	size_t o = 0;

	for (i = 0; i < n; i++)
	{
		if (s[i] == '%')
		{
			int hi;
			int lo;

			if (n - i < 3)
				return false;
			hi = sigv4_hexval((unsigned char) s[i + 1]);
			lo = sigv4_hexval((unsigned char) s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			dst[o++] = (char) (hi * 16 + lo);
			i += 2;
		}
		else
			dst[o++] = s[i];
	}
	*outlen = o;
	return true;
}

/*
 * sigv4_query_param_cmp
 *		qsort comparator: by encoded key, then by encoded value.
 */
static int
sigv4_query_param_cmp(const void *a, const void *b)
{
	const SigV4QueryParam *pa = (const SigV4QueryParam *) a;
	const SigV4QueryParam *pb = (const SigV4QueryParam *) b;
	int					   c = strcmp(pa->key, pb->key);

	if (c != 0)
		return c;
	return strcmp(pa->value, pb->value);
}

/*
 * sigv4_query_add_part
 *		Percent-decode n bytes of s (into decoded, at least n bytes of
 *		scratch) and append their encoding plus a NUL to the arena, setting
 *		*off to where it starts.  Returns 0, or EINVAL for a malformed
 *		percent escape; an allocation failure marks the arena failed.
 */
static int
sigv4_query_add_part(SigV4Buf *arena, const char *s, size_t n, char *decoded,
					 size_t *off)
{
	size_t dlen = 0;

	if (!sigv4_percent_decode(s, n, decoded, &dlen))
		return EINVAL;
	*off = arena->len;
	sigv4_buf_append_encoded(arena, decoded, dlen, false);
	sigv4_buf_appendc(arena, '\0');
	return 0;
}

/*
 * sigv4_parse_query
 *		Split query (qlen bytes) on '&', skip empty pieces, split each piece
 *		on its first '=' and store its key and value, decoded and
 *		re-encoded, in the arena; params (room for every piece) get their
 *		offsets and *nparams their number.  decoded is scratch of qlen
 *		bytes.  Returns 0, EINVAL (malformed escape) or ENOMEM.
 */
static int
sigv4_parse_query(const char *query, size_t qlen, char *decoded,
				  SigV4Buf *arena, SigV4QueryParam *params, size_t *nparams)
{
	size_t i;
	size_t start = 0;
	size_t n = 0;

	for (i = 0; i <= qlen; i++)
	{
		const char *piece = query + start;
		size_t		piece_len = i - start;
		const char *eq;
		size_t		key_len;

		if (i < qlen && query[i] != '&')
			continue;
		start = i + 1;
		if (piece_len == 0)
			continue;

		eq = memchr(piece, '=', piece_len);
		key_len = eq != NULL ? (size_t) (eq - piece) : piece_len;
		if (sigv4_query_add_part(arena, piece, key_len, decoded,
								 &params[n].key_off) != 0 ||
			sigv4_query_add_part(arena, eq != NULL ? eq + 1 : piece,
								 eq != NULL ? piece_len - key_len - 1 : 0,
								 decoded, &params[n].value_off) != 0)
			return EINVAL;
		n++;
	}
	*nparams = n;
	return arena->failed ? ENOMEM : 0;
}

/*
 * sigv4_append_sorted_query
 *		Point the nparams params into the arena, sort them by key then value
 *		and append them to buf as key=value joined by '&'.  Returns 0 or
 *		ENOMEM.
 */
static int
sigv4_append_sorted_query(SigV4Buf *buf, const SigV4Buf *arena,
						  SigV4QueryParam *params, size_t nparams)
{
	size_t i;

	for (i = 0; i < nparams; i++)
	{
		params[i].key = arena->data + params[i].key_off;
		params[i].value = arena->data + params[i].value_off;
	}
	if (nparams > 1)
		qsort(params, nparams, sizeof(SigV4QueryParam), sigv4_query_param_cmp);

	for (i = 0; i < nparams; i++)
	{
		if (i > 0)
			sigv4_buf_appendc(buf, '&');
		sigv4_buf_appends(buf, params[i].key);
		sigv4_buf_appendc(buf, '=');
		sigv4_buf_appends(buf, params[i].value);
	}
	return buf->failed ? ENOMEM : 0;
}

/*
 * sigv4_append_canonical_query
 *		Append the canonical query string for query (NULL or wire form,
 *		without '?') to buf.  Returns 0, ENOMEM, or EINVAL for a malformed
 *		percent escape.
 */
static int
sigv4_append_canonical_query(SigV4Buf *buf, const char *query)
{
	size_t			 qlen;
	size_t			 npieces;
	size_t			 nparams = 0;
	char			*decoded = NULL;
	SigV4QueryParam *params = NULL;
	SigV4Buf		 arena;
	int				 rc;

	if (query == NULL || *query == '\0')
		return 0;

	qlen = strlen(query);
	npieces = sigv4_count_pieces(query, qlen, '&');
	sigv4_buf_init(&arena);
	if (npieces > SIZE_MAX / sizeof(SigV4QueryParam))
		return ENOMEM;
	params = malloc(npieces * sizeof(SigV4QueryParam));
	decoded = malloc(qlen + 1);
	if (params == NULL || decoded == NULL)
		rc = ENOMEM;
	else
		rc = sigv4_parse_query(query, qlen, decoded, &arena, params, &nparams);
	if (rc == 0)
		rc = sigv4_append_sorted_query(buf, &arena, params, nparams);

	free(params);
	if (decoded != NULL)
	{
		OPENSSL_cleanse(decoded, qlen + 1);
		free(decoded);
	}
	sigv4_buf_free(&arena);
	return rc;
}

/*
 * sigv4_header_cmp
 *		qsort comparator: by lower-cased name, then by input position, so
 *		repeated headers keep the order they were given in.
 */
static int
sigv4_header_cmp(const void *a, const void *b)
{
	const SigV4CanonHeader *ha = (const SigV4CanonHeader *) a;
	const SigV4CanonHeader *hb = (const SigV4CanonHeader *) b;
	int						c = strcmp(ha->name, hb->name);

	if (c != 0)
		return c;
	return (ha->order > hb->order) - (ha->order < hb->order);
}

/*
 * sigv4_name_in
 *		True if name (any case) is one of the n lower-case names in list.
 */
static bool
sigv4_name_in(const char *name, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
	{
		if (sigv4_name_equals(name, list[i]))
			return true;
	}
	return false;
}

/*
 * sigv4_is_unsigned_header
 *		True if name (any case) is a hop-by-hop or otherwise never-signed
 *		header.
 */
static bool
sigv4_is_unsigned_header(const char *name)
{
	return sigv4_name_in(name, sigv4_unsigned_headers,
						 SIGV4_LENGTHOF(sigv4_unsigned_headers));
}

/*
 * sigv4_is_reserved_header
 *		True if name (any case) is a header the signer adds itself.
 */
static bool
sigv4_is_reserved_header(const char *name)
{
	return sigv4_name_in(name, sigv4_reserved_headers,
						 SIGV4_LENGTHOF(sigv4_reserved_headers));
}

/*
 * sigv4_copy_normalized_value
 *		Copy value to dst with leading and trailing SP/HT removed and every
 *		inner run of SP/HT replaced by one space; NUL-terminates dst (which
 *		must have room for strlen(value) + 1 bytes).  Returns the length.
 */
static size_t
sigv4_copy_normalized_value(const char *value, char *dst)
{
	size_t o = 0;
	bool   pending_space = false;

	for (; *value != '\0'; value++)
	{
		if (*value == ' ' || *value == '\t')
		{
			if (o > 0)
				pending_space = true;
			continue;
		}
		if (pending_space)
		{
			dst[o++] = ' ';
			pending_space = false;
		}
		dst[o++] = *value;
	}
	dst[o] = '\0';
	return o;
}

/*
 * sigv4_append_headers
 *		Append the canonical header lines (each ending in '\n'), a blank line
 *		and the signed-header list to cr; also append the signed-header list
 *		to signed_list.  hdrs holds the caller's headers followed by the
 *		signer's own.  Validation has already been done by the caller.
 *		Returns 0 or ENOMEM.
 */
static int
sigv4_append_headers(SigV4Buf *cr, SigV4Buf *signed_list,
					 const SigV4Header *hdrs, int nhdrs)
{
	SigV4CanonHeader *canon;
	char			 *arena;
	size_t			  arena_size = 0;
	size_t			  pos = 0;
	int				  ncanon = 0;
	int				  i;

	for (i = 0; i < nhdrs; i++)
	{
		size_t name_len;
		size_t value_len;

		if (sigv4_is_unsigned_header(hdrs[i].name))
			continue;
		name_len = strlen(hdrs[i].name);
		value_len = strlen(hdrs[i].value);
		if (name_len > SIZE_MAX - 3 - arena_size ||
			value_len > SIZE_MAX - 3 - arena_size - name_len)
			return ENOMEM;
		arena_size += name_len + value_len + 2;
	}
	if ((size_t) nhdrs > SIZE_MAX / sizeof(SigV4CanonHeader))
		return ENOMEM;

	canon = malloc(((size_t) nhdrs + 1) * sizeof(SigV4CanonHeader));
	arena = malloc(arena_size + 1);
	if (canon == NULL || arena == NULL)
	{
		free(canon);
		free(arena);
		return ENOMEM;
	}

	for (i = 0; i < nhdrs; i++)
	{
		const char *n;
		char	   *name;

		if (sigv4_is_unsigned_header(hdrs[i].name))
			continue;
		name = arena + pos;
		for (n = hdrs[i].name; *n != '\0'; n++)
			arena[pos++] = sigv4_ascii_lower(*n);
		arena[pos++] = '\0';
		canon[ncanon].name = name;
		canon[ncanon].value = arena + pos;
		pos += sigv4_copy_normalized_value(hdrs[i].value, arena + pos) + 1;
		canon[ncanon].order = i;
		ncanon++;
	}

	if (ncanon > 1)
		qsort(canon, (size_t) ncanon, sizeof(SigV4CanonHeader),
			  sigv4_header_cmp);

	for (i = 0; i < ncanon; i++)
	{
		bool first = (i == 0 || strcmp(canon[i - 1].name, canon[i].name) != 0);
		bool last =
			(i == ncanon - 1 || strcmp(canon[i + 1].name, canon[i].name) != 0);

		if (first)
		{
			sigv4_buf_appends(cr, canon[i].name);
			sigv4_buf_appendc(cr, ':');
			if (signed_list->len > 0)
				sigv4_buf_appendc(signed_list, ';');
			sigv4_buf_appends(signed_list, canon[i].name);
		}
		else
			sigv4_buf_appendc(cr, ',');
		sigv4_buf_appends(cr, canon[i].value);
		if (last)
			sigv4_buf_appendc(cr, '\n');
	}
	sigv4_buf_appendc(cr, '\n');
	sigv4_buf_append(cr, signed_list->data != NULL ? signed_list->data : "",
					 signed_list->len);

	OPENSSL_cleanse(arena, arena_size + 1);
	free(arena);
	free(canon);
	return (cr->failed || signed_list->failed) ? ENOMEM : 0;
}

/*
 * sigv4_validate
 *		Check a request and credentials for sigv4_sign.  Returns 0 or EINVAL.
 *		Rejected: NULL required fields, negative nheaders, NULL body with a
 *		length, a method that is not an HTTP token, control characters in
 *		path/query/token, a region/service that is not [A-Za-z0-9._-]+, an
 *		access key id that could not go into Credential=, an empty secret,
 *		a header whose name is not a token or whose value has a control
 *		character other than HTAB (CR/LF), a caller-supplied authorization,
 *		x-amz-date, x-amz-security-token or x-amz-content-sha256 header, and
 *		a Host header that is missing or given more than once.
 */
static int
sigv4_validate(const SigV4Request *req, const SigV4Credentials *creds)
{
	int nhost = 0;
	int i;

	if (req == NULL || creds == NULL)
		return EINVAL;
	if (!sigv4_is_token(req->method) || req->path == NULL ||
		sigv4_has_ctl(req->path, false) ||
		(req->query != NULL && sigv4_has_ctl(req->query, false)) ||
		!sigv4_is_scope_part(req->region) ||
		!sigv4_is_scope_part(req->service))
		return EINVAL;
	if (req->nheaders < 0 || (req->nheaders > 0 && req->headers == NULL) ||
		req->nheaders > INT_MAX - 3)
		return EINVAL;
	if (req->body == NULL && req->body_len > 0)
		return EINVAL;
	if (!sigv4_is_access_key_id(creds->access_key_id) ||
		creds->secret_access_key == NULL || *creds->secret_access_key == '\0')
		return EINVAL;
	if (creds->session_token != NULL &&
		sigv4_has_ctl(creds->session_token, false))
		return EINVAL;

	for (i = 0; i < req->nheaders; i++)
	{
		const SigV4Header *h = &req->headers[i];

		if (!sigv4_is_token(h->name) || h->value == NULL ||
			sigv4_has_ctl(h->value, true))
			return EINVAL;
		if (sigv4_is_reserved_header(h->name))
			return EINVAL;
		if (sigv4_name_equals(h->name, "host"))
			nhost++;
	}
	if (nhost != 1)
		return EINVAL;
	return 0;
}

/* ----------------------------------------------------------------------
 * Public API
 * ----------------------------------------------------------------------
 */

/*
 * sigv4_key_cache_init
 *		Make *cache an empty cache.  Must be called before first use.
 */
void
sigv4_key_cache_init(SigV4KeyCache *cache)
{
	memset(cache, 0, sizeof(*cache));
}

/*
 * sigv4_key_cache_clear
 *		Wipe every cached signing key with OPENSSL_cleanse and leave an
 *		empty cache (the derivation counter restarts at zero).  Call it when
 *		credentials change or before the memory is released.
 */
void
sigv4_key_cache_clear(SigV4KeyCache *cache)
{
	OPENSSL_cleanse(cache, sizeof(*cache));
	sigv4_key_cache_init(cache);
}

/*
 * sigv4_key_cache_derivations
 *		Number of signing keys derived through this cache (its misses)
 *		since it was initialised or cleared.
 */
unsigned long
sigv4_key_cache_derivations(const SigV4KeyCache *cache)
{
	return cache->derivations;
}

/*
 * sigv4_format_amz_date
 *		Format timestamp (UTC seconds since the epoch) as "YYYYMMDDTHHMMSSZ"
 *		into out.  Returns 0, or EINVAL (out set to "") when the year would
 *		fall outside 0000..9999.  Does not depend on gmtime or the TZ.
 */
int
sigv4_format_amz_date(time_t timestamp, char out[17])
{
	long long t;
	long long days;
	long long secs;
	long long era;
	long long doe;
	long long yoe;
	long long doy;
	long long mp;
	long long year;
	long long month;
	long long day;

	out[0] = '\0';
	/* 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59Z */
	if (timestamp < (time_t) 0 && (double) timestamp < -62167219200.0)
		return EINVAL;
	if ((double) timestamp > 253402300799.0)
		return EINVAL;
	t = (long long) timestamp;

	days = t / 86400;
	secs = t % 86400;
	if (secs < 0)
	{
		secs += 86400;
		days--;
	}

	/* civil_from_days (H. Hinnant), proleptic Gregorian calendar */
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	day = doy - (153 * mp + 2) / 5 + 1;
	month = mp < 10 ? mp + 3 : mp - 9;
	year = yoe + era * 400 + (month <= 2 ? 1 : 0);
	if (year < 0 || year > 9999)
		return EINVAL;

	sigv4_put_digits(out, year, 4);
	sigv4_put_digits(out + 4, month, 2);
	sigv4_put_digits(out + 6, day, 2);
	out[8] = 'T';
	sigv4_put_digits(out + 9, secs / 3600, 2);
	sigv4_put_digits(out + 11, (secs / 60) % 60, 2);
	sigv4_put_digits(out + 13, secs % 60, 2);
	out[15] = 'Z';
	out[16] = '\0';
	return 0;
}

/*
 * sigv4_hex_sha256
 *		Lower-case hex SHA-256 of len bytes at data (data may be NULL when
 *		len is 0) into out.  out is set to "" if OpenSSL fails.
 */
void
sigv4_hex_sha256(const void *data, size_t len, char out[65])
{
	unsigned char md[SIGV4_SHA256_LEN];

	if (!sigv4_sha256(data, len, md))
	{
		out[0] = '\0';
		return;
	}
	sigv4_hex(md, sizeof(md), out);
}

/*
 * sigv4_uri_encode
 *		URI-encode len bytes of s: A-Z a-z 0-9 - _ . ~ are kept, '/' is kept
 *		iff keep_slash, every other byte becomes %XX (upper-case hex).
 *		Writes at most dstlen - 1 bytes plus a NUL into dst (nothing when
 *		dstlen is 0; dst may then be NULL); an escape is never split.
 *		Returns the length the full encoding needs, excluding the NUL
 *		(SIZE_MAX if that does not fit in size_t), like snprintf.
 */
size_t
sigv4_uri_encode(const char *s, size_t len, bool keep_slash, char *dst,
				 size_t dstlen)
{
	size_t need = 0;
	size_t o = 0;
	size_t i;
	bool   full = (dstlen == 0 || dst == NULL);

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];
		size_t		  w =
			   (sigv4_is_unreserved(c) || (keep_slash && c == '/')) ? 1 : 3;

		if (need > SIZE_MAX - w)
			need = SIZE_MAX;
		else
			need += w;
		if (!full && w > dstlen - 1 - o)
			full = true;
		if (!full)
		{
			if (w == 1)
				dst[o] = (char) c;
			else
			{
				dst[o] = '%';
				dst[o + 1] = sigv4_hexdigits[c >> 4];
				dst[o + 2] = sigv4_hexdigits[c & 0x0F];
			}
			o += w;
		}
	}
	if (dstlen > 0 && dst != NULL)
		dst[o] = '\0';
	return need;
}

/*
 * sigv4_free_wiped
 *		Wipe and free a NUL-terminated string (NULL is allowed).
 */
static void
sigv4_free_wiped(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

/*
 * sigv4_result_free
 *		Wipe and free the strings of *out and zero the whole struct.  Safe on
 *		a zeroed struct and safe to call twice.
 */
void
sigv4_result_free(SigV4Result *out)
{
	if (out == NULL)
		return;
	sigv4_free_wiped(out->authorization);
	sigv4_free_wiped(out->canonical_request);
	sigv4_free_wiped(out->string_to_sign);
	memset(out, 0, sizeof(*out));
}

/*
 * sigv4_all_headers
 *		The caller's headers followed by the ones the signer adds:
 *		x-amz-date, x-amz-security-token (with a token, unless
 *		omit_session_token) and x-amz-content-sha256 (when sign_body), whose
 *		values point into out and creds.  Returns a malloc'd array and its
 *		length in *nhdrs, or NULL when out of memory.
 */
static SigV4Header *
sigv4_all_headers(const SigV4Request *req, const SigV4Credentials *creds,
				  const SigV4Result *out, int *nhdrs)
{
	SigV4Header *hdrs;
	int			 n;
	bool		 have_token =
		creds->session_token != NULL && creds->session_token[0] != '\0';

	hdrs = malloc(((size_t) req->nheaders + 3) * sizeof(SigV4Header));
	if (hdrs == NULL)
		return NULL;
	if (req->nheaders > 0)
		memcpy(hdrs, req->headers,
			   (size_t) req->nheaders * sizeof(SigV4Header));
	n = req->nheaders;
	hdrs[n].name = "x-amz-date";
	hdrs[n++].value = out->amz_date;
	if (have_token && !req->omit_session_token)
	{
		hdrs[n].name = "x-amz-security-token";
		hdrs[n++].value = creds->session_token;
	}
	if (req->sign_body)
	{
		hdrs[n].name = "x-amz-content-sha256";
		hdrs[n++].value = out->payload_hash;
	}
	*nhdrs = n;
	return hdrs;
}

/*
 * sigv4_build_canonical_request
 *		Method, canonical URI, query and headers, signed-header list and
 *		payload hash, each on its own line, into cr; the signed-header list
 *		also into signed_list.  Returns 0, EINVAL (malformed query escape)
 *		or ENOMEM.
 */
static int
sigv4_build_canonical_request(SigV4Buf *cr, SigV4Buf *signed_list,
							  const SigV4Request *req, const SigV4Header *hdrs,
							  int nhdrs, const char *payload_hash)
{
	int rc;

	sigv4_buf_appends(cr, req->method);
	sigv4_buf_appendc(cr, '\n');
	rc = sigv4_append_canonical_uri(cr, req->path, req->normalize_path);
	if (rc != 0)
		return rc;
	sigv4_buf_appendc(cr, '\n');
	rc = sigv4_append_canonical_query(cr, req->query);
	if (rc != 0)
		return rc;
	sigv4_buf_appendc(cr, '\n');
	rc = sigv4_append_headers(cr, signed_list, hdrs, nhdrs);
	if (rc != 0)
		return rc;
	sigv4_buf_appendc(cr, '\n');
	sigv4_buf_appends(cr, payload_hash);
	return cr->failed ? ENOMEM : 0;
}

/*
 * sigv4_append_scope
 *		Append the credential scope date/region/service/aws4_request.
 */
static void
sigv4_append_scope(SigV4Buf *buf, const char *date, const SigV4Request *req)
{
	sigv4_buf_appends(buf, date);
	sigv4_buf_appendc(buf, '/');
	sigv4_buf_appends(buf, req->region);
	sigv4_buf_appendc(buf, '/');
	sigv4_buf_appends(buf, req->service);
	sigv4_buf_appends(buf, "/" SIGV4_TERMINATOR);
}

/*
 * sigv4_build_string_to_sign
 *		Algorithm, timestamp, scope and the hex SHA-256 of the canonical
 *		request cr, each on its own line, into sts.  Returns 0, ENOMEM or
 *		EIO.
 */
static int
sigv4_build_string_to_sign(SigV4Buf *sts, const SigV4Buf *cr,
						   const char *amz_date, const char *date,
						   const SigV4Request *req)
{
	unsigned char md[SIGV4_SHA256_LEN];
	char		  hex[2 * SIGV4_SHA256_LEN + 1];

	if (!sigv4_sha256(cr->data, cr->len, md))
		return EIO;
	sigv4_hex(md, sizeof(md), hex);
	sigv4_buf_appends(sts, SIGV4_ALGORITHM "\n");
	sigv4_buf_appends(sts, amz_date);
	sigv4_buf_appendc(sts, '\n');
	sigv4_append_scope(sts, date, req);
	sigv4_buf_appendc(sts, '\n');
	sigv4_buf_appends(sts, hex);
	return sts->failed ? ENOMEM : 0;
}

/*
 * sigv4_compute_signature
 *		Hex HMAC of the string to sign with the signing key for (creds,
 *		date, region, service), fetched from or added to cache, into
 *		signature.  The key is wiped afterwards.  Returns 0, ENOMEM or EIO.
 */
static int
sigv4_compute_signature(const SigV4Credentials *creds, const char *date,
						const SigV4Request *req, SigV4KeyCache *cache,
						const SigV4Buf *sts, char signature[65])
{
	unsigned char key[SIGV4_SHA256_LEN];
	unsigned char md[SIGV4_SHA256_LEN];
	bool		  ok;
	int			  rc;

	rc = sigv4_get_signing_key(creds, date, req->region, req->service, cache,
							   key);
	if (rc != 0)
		return rc;
	ok = sigv4_hmac(key, sizeof(key), sts->data, sts->len, md);
	OPENSSL_cleanse(key, sizeof(key));
	if (!ok)
		return EIO;
	sigv4_hex(md, sizeof(md), signature);
	return 0;
}

/*
 * sigv4_build_authorization
 *		The Authorization header value: algorithm, Credential=key id/scope,
 *		SignedHeaders= and Signature=.  Returns it malloc'd, or NULL when
 *		out of memory.
 */
static char *
sigv4_build_authorization(const SigV4Credentials *creds, const char *date,
						  const SigV4Request *req, const SigV4Buf *signed_list,
						  const char *signature)
{
	SigV4Buf auth;
	char	*result;

	sigv4_buf_init(&auth);
	sigv4_buf_appends(&auth, SIGV4_ALGORITHM " Credential=");
	sigv4_buf_appends(&auth, creds->access_key_id);
	sigv4_buf_appendc(&auth, '/');
	sigv4_append_scope(&auth, date, req);
	sigv4_buf_appends(&auth, ", SignedHeaders=");
	sigv4_buf_append(&auth, signed_list->data, signed_list->len);
	sigv4_buf_appends(&auth, ", Signature=");
	sigv4_buf_appends(&auth, signature);
	result = sigv4_buf_steal(&auth);
	sigv4_buf_free(&auth);
	return result;
}

/*
 * sigv4_sign
 *		Sign req with creds into *out (whose previous contents are
 *		overwritten, not freed).  cache may be NULL.  With want_intermediate
 *		the canonical request and string to sign are returned too.
 *
 *		The signer itself adds x-amz-date (value out->amz_date),
 *		x-amz-security-token (the token, when one is given and
 *		!omit_session_token) and x-amz-content-sha256 (out->payload_hash,
 *		when sign_body) to the signed headers; the caller must send them, plus
 *		"Authorization: " out->authorization.  Hop-by-hop headers among
 *		req->headers are sent but not signed.
 *
 *		Returns 0 on success; otherwise EINVAL (see sigv4_validate, a
 *		malformed query escape, a timestamp outside years 0000..9999),
 *		ENOMEM or EIO, with *out zeroed.
 */
int
sigv4_sign(const SigV4Request *req, const SigV4Credentials *creds,
		   SigV4KeyCache *cache, bool want_intermediate, SigV4Result *out)
{
	SigV4Buf	  cr;
	SigV4Buf	  sts;
	SigV4Buf	  signed_list;
	SigV4Header	 *hdrs = NULL;
	int			  nhdrs;
	unsigned char md[SIGV4_SHA256_LEN];
	char		  date[9];
	int			  rc;

	if (out == NULL)
		return EINVAL;
	memset(out, 0, sizeof(*out));
	sigv4_buf_init(&cr);
	sigv4_buf_init(&sts);
	sigv4_buf_init(&signed_list);

	rc = sigv4_validate(req, creds);
	if (rc != 0)
		goto done;
	rc = sigv4_format_amz_date(req->timestamp, out->amz_date);
	if (rc != 0)
		goto done;
	memcpy(date, out->amz_date, 8);
	date[8] = '\0';

	if (!sigv4_sha256(req->body, req->body_len, md))
	{
		rc = EIO;
		goto done;
	}
	sigv4_hex(md, sizeof(md), out->payload_hash);

	hdrs = sigv4_all_headers(req, creds, out, &nhdrs);
	if (hdrs == NULL)
	{
		rc = ENOMEM;
		goto done;
	}
	rc = sigv4_build_canonical_request(&cr, &signed_list, req, hdrs, nhdrs,
									   out->payload_hash);
	if (rc != 0)
		goto done;
	rc = sigv4_build_string_to_sign(&sts, &cr, out->amz_date, date, req);
	if (rc != 0)
		goto done;
	rc =
		sigv4_compute_signature(creds, date, req, cache, &sts, out->signature);
	if (rc != 0)
		goto done;
	out->authorization = sigv4_build_authorization(
		creds, date, req, &signed_list, out->signature);
	if (out->authorization == NULL)
	{
		rc = ENOMEM;
		goto done;
	}

	if (want_intermediate)
	{
		out->canonical_request = sigv4_buf_steal(&cr);
		out->string_to_sign = sigv4_buf_steal(&sts);
		if (out->canonical_request == NULL || out->string_to_sign == NULL)
			rc = ENOMEM;
	}

done:
	free(hdrs);
	sigv4_buf_free(&cr);
	sigv4_buf_free(&sts);
	sigv4_buf_free(&signed_list);
	if (rc != 0)
		sigv4_result_free(out);
	return rc;
}
