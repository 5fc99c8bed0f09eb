/*-------------------------------------------------------------------------
 *
 * cred_fetch.c
 *		What every credential source needs: requests to credential
 *		endpoints (through sm_http_fetch with the credential timeouts),
 *		token files, expiration times, remote text for messages, and the
 *		zeroing of secrets.
 *
 * Secrets are zeroed structurally: buffers that may hold one are registered
 * with sm_secret() and zeroed when the lookup's memory context goes away.
 *
 * Shared by the chain (credentials.c), the sources (cred_providers.c) and
 * the STS client (sts.c), below all three, so that none needs another's
 * internals.
 *
 * IDENTIFICATION
 *		src/cred_fetch.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "cred_fetch.h"
#include "parse_util.h"
#include "redact_pg.h"
#include "reply.h"
#include "shared_config.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#define SM_MAX_TOKEN_FILE (64 * 1024)
#define SM_MAX_CRED_REPLY (1024 * 1024)

/*
 * Secrets of one credential lookup.  Every buffer that may hold a secret is
 * registered here as it is made (replies of credential endpoints, token
 * files, headers and forms that carry a token, parsed keys), and all are
 * zeroed by a reset callback when the lookup's memory context goes away:
 * at the end of the lookup, or during error cleanup.  So no exit path of a
 * source can forget to scrub.
 */
typedef struct SmSecretItem
{
	void  *ptr;
	size_t len;
} SmSecretItem;

typedef struct SmSecrets
{
	MemoryContextCallback cb;
	MemoryContext		  cxt;
	int					  n;
	int					  max;
	SmSecretItem		 *items;
} SmSecrets;

/* the secrets of the lookup under way, or NULL */
static SmSecrets *sm_secrets = NULL;

/* Reset callback: zero every registered buffer. */
static void
sm_secrets_zero(void *arg)
{
	SmSecrets *s = (SmSecrets *) arg;

	for (int i = 0; i < s->n; i++)
		explicit_bzero(s->items[i].ptr, s->items[i].len);
	s->n = 0;
	if (sm_secrets == s)
		sm_secrets = NULL;
}

/*
 * sm_secret_context_create
 *		A memory context for one credential lookup, child of parent, whose
 *		registered secrets are zeroed when it is reset or deleted.
 */
MemoryContext
sm_secret_context_create(MemoryContext parent)
{
	MemoryContext cxt =
		AllocSetContextCreate(parent, "segment_membership credential lookup",
							  ALLOCSET_DEFAULT_SIZES);
	SmSecrets *s = MemoryContextAllocZero(cxt, sizeof(SmSecrets));

	s->cxt = cxt;
	s->cb.func = sm_secrets_zero;
	s->cb.arg = s;
	MemoryContextRegisterResetCallback(cxt, &s->cb);
	sm_secrets = s;
	return cxt;
}

/*
 * sm_secret
 *		Register len bytes at ptr (NULL is fine) to be zeroed when the
 *		lookup's context goes away; returns ptr.  The buffer must live in
 *		that context and must not be freed before it goes away.
 */
void *
sm_secret(void *ptr, size_t len)
{
	SmSecrets *s = sm_secrets;

	if (ptr == NULL)
		return NULL;
	if (s == NULL)
		elog(ERROR, "secret registered outside a credential lookup");
	if (s->n >= s->max)
	{
		s->max = Max(16, s->max * 2);
		s->items =
			s->items == NULL
				? MemoryContextAlloc(s->cxt, sizeof(SmSecretItem) * s->max)
				: repalloc(s->items, sizeof(SmSecretItem) * s->max);
	}
	s->items[s->n].ptr = ptr;
	s->items[s->n].len = len;
	s->n++;
	return ptr;
}

/* sm_secret() for a NUL-terminated string. */
char *
sm_secret_str(char *s)
{
	return s == NULL ? NULL : sm_secret(s, strlen(s));
}

/*
 * sm_parse_time
 *		An ISO 8601 expiration as AWS writes it (see sm_parse_iso8601) as a
 *		TimestampTz.  Returns false for anything else.
 */
bool
sm_parse_time(const char *s, TimestampTz *out)
{
	int64 unix_seconds;

	if (s == NULL || !sm_parse_iso8601(s, &unix_seconds))
		return false;
	*out = (TimestampTz) (unix_seconds -
						  ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) *
						   SECS_PER_DAY)) *
		   USECS_PER_SEC;
	return true;
}

/*
 * sm_read_token_file
 *		Read a token file (trimmed), as a secret; a regular file only, read
 *		without ever blocking (sm_read_small_file).  Returns NULL and sets
 *		*why when it cannot be read.
 */
char *
sm_read_token_file(const char *path, const char **why)
{
	size_t n;
	bool   missing;
	char  *err;
	void  *wipe;
	char  *buf;
	char  *start;

	buf =
		sm_read_small_file(path, SM_MAX_TOKEN_FILE, &n, &missing, &err, &wipe);
	if (buf == NULL)
	{
		*why = missing ? psprintf("could not open \"%s\": %s", path,
								  strerror(ENOENT))
					   : err;
		return NULL;
	}
	sm_secret(buf, n + 1);
	start = sm_trim_space(buf);
	if (*start == '\0')
	{
		*why = psprintf("\"%s\" is empty", path);
		return NULL;
	}
	sm_redact_register(start);
	return start;
}

/*
 * A short, printable rendering of a remote peer's text, for messages: known
 * secrets and credential values redacted (before it is cut, so that no
 * piece of one survives), then sanitized.
 */
char *
sm_remote_text(const char *s, size_t len)
{
	char   buf[256];
	size_t rlen;
	char  *redacted = sm_redact_len(s, len, &rlen);

	sm_reply_sanitize(redacted, rlen, buf, sizeof(buf));
	pfree(redacted);
	return pstrdup(buf);
}

/*
 * sm_cred_fetch
 *		One request to a credential endpoint with the credential timeouts.
 *		The reply body is registered as a secret.  Returns false and sets
 *		*why on a network failure.
 */
bool
sm_cred_fetch(const char *method, const char *url, const char **headers,
			  int nheaders, const char *body, const char *ca_file,
			  int timeout_ms, SmResponse *resp, const char **why)
{
	SmRequestSpec spec;
	int			  i;

	memset(&spec, 0, sizeof(spec));
	spec.method = method;
	spec.url = url;
	spec.body = body;
	spec.body_len = body ? strlen(body) : 0;
	for (i = 0; i < nheaders && i < SM_MAX_REQUEST_HEADERS; i++)
		spec.headers[i] = headers[i];
	spec.nheaders = Min(nheaders, SM_MAX_REQUEST_HEADERS);
	spec.ca_file = ca_file;
	spec.connect_timeout_ms = timeout_ms;
	spec.timeout_ms = timeout_ms;
	spec.max_body = SM_MAX_CRED_REPLY;
	sm_http_fetch(&spec, resp);
	sm_secret(resp->body,
			  resp->body_cap > 0 ? resp->body_cap : resp->body_len + 1);
	if (resp->curl_code != CURLE_OK)
	{
		*why = psprintf("request to %s failed: %s", url,
						resp->body_too_large ? "reply too large"
						: resp->curl_error[0]
							? resp->curl_error
							: curl_easy_strerror(resp->curl_code));
		return false;
	}
	return true;
}
