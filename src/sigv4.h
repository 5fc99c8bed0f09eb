/*-------------------------------------------------------------------------
 *
 * sigv4.h
 *	  AWS Signature Version 4 request signing (header signing only).
 *
 * This module is plain C99 plus OpenSSL libcrypto.  It includes no
 * PostgreSQL headers, so it can be compiled both into the backend module and
 * into the standalone test program test/sigv4_check.  Memory handed back to
 * the caller is allocated with malloc() and must be released with
 * sigv4_result_free().
 *
 * Errors are reported as positive errno-style codes:
 *	  EINVAL  bad input (NULL fields, CR/LF or other control characters in a
 *			  header, a reserved header supplied by the caller, a malformed
 *			  percent escape in the query, a timestamp outside years
 *			  0000..9999, ...)
 *	  ENOMEM  an allocation failed
 *	  EIO	  OpenSSL failed to compute a digest or an HMAC
 *
 *-------------------------------------------------------------------------
 */
#ifndef SIGV4_H
#define SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* One request header, as it will be sent. */
typedef struct SigV4Header
{
	const char *name;
	const char *value;
} SigV4Header;

typedef struct SigV4Credentials
{
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL or "" when none */
} SigV4Credentials;

typedef struct SigV4Request
{
	const char *method; /* "GET", "POST", ... */
	/* path as sent on the wire, no query; for the suite the raw path */
	const char *path;
	const char *query; /* query string without '?', or NULL */
	/* headers as they will be sent; must include Host; may repeat names */
	const SigV4Header *headers;
	int				   nheaders;
	const void		  *body; /* may be NULL when body_len == 0 */
	size_t			   body_len;
	const char		  *region;
	const char		  *service;
	time_t			   timestamp; /* UTC seconds since epoch */
	/* remove . and .. segments and duplicate slashes first (all but S3) */
	bool normalize_path;
	bool sign_body; /* also add and sign x-amz-content-sha256 */
	/* token header is sent but not signed (suite post-sts-header-after) */
	bool omit_session_token;
} SigV4Request;

typedef struct SigV4Result
{
	/* "YYYYMMDDTHHMMSSZ": the caller sends it as X-Amz-Date */
	char amz_date[17];
	/* hex SHA-256 of the body: sent as x-amz-content-sha256 if sign_body */
	char payload_hash[65];
	char signature[65];
	/* malloc'd: the whole Authorization header value */
	char *authorization;
	/* malloc'd, only when want_intermediate was set, else NULL */
	char *canonical_request;
	char *string_to_sign; /* ditto */
} SigV4Result;

/* Number of derived signing keys a SigV4KeyCache holds. */
#define SIGV4_KEY_CACHE_SIZE 8
/* Longest region / service name that is cached (longer ones still sign). */
#define SIGV4_KEY_CACHE_REGION_MAX	31
#define SIGV4_KEY_CACHE_SERVICE_MAX 63

/* One cached signing key; treat as private to sigv4.c. */
typedef struct SigV4KeyCacheEntry
{
	bool		  valid;
	unsigned long last_used;	 /* LRU stamp */
	unsigned char cred_hash[32]; /* SHA-256 of access key id, NUL, secret */
	char		  date[9];		 /* YYYYMMDD */
	char		  region[SIGV4_KEY_CACHE_REGION_MAX + 1];
	char		  service[SIGV4_KEY_CACHE_SERVICE_MAX + 1];
	unsigned char signing_key[32]; /* kSigning */
} SigV4KeyCacheEntry;

/*
 * Fixed-size, caller-owned LRU cache of derived signing keys, keyed by
 * (SHA-256 of access key id + secret, date, region, service).  It never
 * stores the secret itself.  Initialise with sigv4_key_cache_init(); wipe
 * with sigv4_key_cache_clear().  Not thread-safe: one cache per thread.
 * In the extension the backend's cache is owned by aws_sign.c, whose
 * sm_sign_forget_keys() wipes it, for when the credentials change.
 */
typedef struct SigV4KeyCache
{
	SigV4KeyCacheEntry entries[SIGV4_KEY_CACHE_SIZE];
	unsigned long	   tick;		/* LRU clock */
	unsigned long	   derivations; /* signing keys derived (cache misses) */
} SigV4KeyCache;

extern void			 sigv4_key_cache_init(SigV4KeyCache *cache);
extern void			 sigv4_key_cache_clear(SigV4KeyCache *cache);
extern unsigned long sigv4_key_cache_derivations(const SigV4KeyCache *cache);

extern int	sigv4_sign(const SigV4Request *req, const SigV4Credentials *creds,
					   SigV4KeyCache *cache, bool want_intermediate,
					   SigV4Result *out);
extern void sigv4_result_free(SigV4Result *out);

extern void	  sigv4_hex_sha256(const void *data, size_t len, char out[65]);
extern size_t sigv4_uri_encode(const char *s, size_t len, bool keep_slash,
							   char *dst, size_t dstlen);
extern int	  sigv4_format_amz_date(time_t timestamp, char out[17]);

#endif /* SIGV4_H */
