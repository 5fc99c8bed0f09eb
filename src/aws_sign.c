/*-------------------------------------------------------------------------
 *
 * aws_sign.c
 *		Signing AWS requests in the backend: the SigV4 headers of a request
 *		(sigv4.c does the cryptography), the signing clock, and the
 *		backend's cache of derived signing keys.
 *
 * The signing clock is our clock plus an offset learnt from the service's
 * Date header after a clock-skew rejection, so that later requests are
 * signed with the service's idea of the time.
 *
 * The key cache holds derived keys (never a secret), keyed by a hash of the
 * credentials, so a stale entry can never sign with new credentials; still,
 * sigv4.h asks that it be wiped when credentials change:
 * sm_sign_forget_keys() does that, for the credential cache to call when
 * it drops credentials (wired in by the credentials restructure).
 *
 * IDENTIFICATION
 *		src/aws_sign.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>

#include "aws_sign.h"
#include "retry.h"

/* A server clock further than this from ours is not believed. */
#define SM_MAX_BELIEVABLE_SKEW_S (7L * 24 * 3600)

static SigV4KeyCache sm_key_cache;
static bool			 sm_key_cache_ready = false;
static long			 sm_keys_derived_before = 0; /* by caches now cleared */
static int			 sm_clock_offset = 0;		 /* seconds to add to ours */
static long			 sm_clock_corrections = 0;

static time_t sm_signing_time(void);

/*
 * sm_sign_headers
 *		Sign a POST of body to host and path for service in region with
 *		cred (cache may be NULL), and append the headers to send: Host,
 *		Content-Type, X-Amz-Date, X-Amz-Security-Token (when there is a
 *		token) and Authorization, palloc'd, at headers[*n].  Every attempt is
 *		signed with the current (skew-corrected) time.  Returns false, with
 *		nothing appended, when the credentials cannot sign.
 */
bool
sm_sign_headers(const SmCredentials *cred, const char *host, const char *path,
				const char *content_type, const char *body, size_t body_len,
				const char *region, const char *service, SigV4KeyCache *cache,
				const char **headers, int *n)
{
	SigV4Header		 hdrs[2];
	SigV4Request	 req;
	SigV4Credentials sc;
	SigV4Result		 res;
	int				 rc;

	hdrs[0].name = "Host";
	hdrs[0].value = host;
	hdrs[1].name = "Content-Type";
	hdrs[1].value = content_type;
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = path;
	req.headers = hdrs;
	req.nheaders = 2;
	req.body = body;
	req.body_len = body_len;
	req.region = region;
	req.service = service;
	req.timestamp = sm_signing_time();
	req.normalize_path = true;
	sc.access_key_id = cred->access_key_id;
	sc.secret_access_key = cred->secret_access_key;
	sc.session_token = cred->session_token;
	memset(&res, 0, sizeof(res));
	rc = sigv4_sign(&req, &sc, cache, false, &res);
	if (rc == ENOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (rc != 0)
	{
		sigv4_result_free(&res);
		return false;
	}
	headers[(*n)++] = psprintf("Host: %s", host);
	headers[(*n)++] = psprintf("Content-Type: %s", content_type);
	headers[(*n)++] = psprintf("X-Amz-Date: %s", res.amz_date);
	if (cred->session_token != NULL && cred->session_token[0] != '\0')
		headers[(*n)++] =
			psprintf("X-Amz-Security-Token: %s", cred->session_token);
	headers[(*n)++] = psprintf("Authorization: %s", res.authorization);
	sigv4_result_free(&res);
	return true;
}

/*
 * sm_sign_key_cache
 *		The signing-key cache of this backend, ready for use.
 */
SigV4KeyCache *
sm_sign_key_cache(void)
{
	if (!sm_key_cache_ready)
	{
		sigv4_key_cache_init(&sm_key_cache);
		sm_key_cache_ready = true;
	}
	return &sm_key_cache;
}

/*
 * sm_sign_forget_keys
 *		Wipe every cached signing key; for when the credentials change.
 */
void
sm_sign_forget_keys(void)
{
	if (!sm_key_cache_ready)
		return;
	sm_keys_derived_before +=
		(long) sigv4_key_cache_derivations(&sm_key_cache);
	sigv4_key_cache_clear(&sm_key_cache);
}

/* Signing keys derived in this backend (cache misses), for the stats. */
long
sm_sign_keys_derived(void)
{
	if (!sm_key_cache_ready)
		return sm_keys_derived_before;
	return sm_keys_derived_before +
		   (long) sigv4_key_cache_derivations(&sm_key_cache);
}

/*
 * sm_signing_time
 *		The time to put in signatures: our clock corrected by the offset
 *		learnt from the service after a clock-skew rejection.
 */
static time_t
sm_signing_time(void)
{
	return time(NULL) + sm_clock_offset;
}

/* The current correction of the signing clock, in seconds. */
int
sm_sign_clock_offset(void)
{
	return sm_clock_offset;
}

/*
 * sm_sign_correct_clock
 *		Take the service's clock from the Date header of a reply that
 *		rejected a request as signed at the wrong time.  Returns true when
 *		the offset changed by at least the SDKs' threshold (then the request
 *		deserves one more attempt).
 */
bool
sm_sign_correct_clock(const char *http_date)
{
	time_t server;
	long   new_offset;

	if (http_date == NULL || http_date[0] == '\0')
		return false;
	server = curl_getdate(http_date, NULL);
	if (server == (time_t) -1)
		return false;
	new_offset = (long) (server - time(NULL));
	if (labs(new_offset - sm_clock_offset) < SM_CLOCK_SKEW_THRESHOLD_S)
		return false;
	if (labs(new_offset) > SM_MAX_BELIEVABLE_SKEW_S)
		return false;
	sm_clock_offset = (int) new_offset;
	sm_clock_corrections++;
	return true;
}

/* Corrections of the signing clock so far, for the stats. */
long
sm_sign_clock_corrections(void)
{
	return sm_clock_corrections;
}
