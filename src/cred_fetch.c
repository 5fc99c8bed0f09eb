/*-------------------------------------------------------------------------
 *
 * cred_fetch.c
 *		What every credential source needs: requests to credential
 *		endpoints (through sm_http_fetch with the credential timeouts),
 *		token files, expiration times, remote text for messages, and the
 *		zeroing of secrets.
 *
 * Shared by the provider chain (credentials.c) and the STS client (sts.c),
 * below both, so that neither needs the other's internals.
 *
 * IDENTIFICATION
 *		src/cred_fetch.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "cred_fetch.h"
#include "parse_util.h"
#include "reply.h"
#include "storage/fd.h"

#define SM_MAX_TOKEN_FILE (64 * 1024)
#define SM_MAX_CRED_REPLY (1024 * 1024)

/* Zero a string in place (NULL is fine). */
void
sm_scrub(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
}

/* Zero the secrets of a credentials struct. */
void
sm_scrub_credentials(SmCredentials *c)
{
	if (c != NULL)
	{
		sm_scrub(c->secret_access_key);
		sm_scrub(c->session_token);
	}
}

/* Whether a string holds a CR or LF (it would split an HTTP header). */
bool
sm_has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
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
 *		Read a token file (trimmed).  Returns NULL and sets *why when it
 *		cannot be read.
 */
char *
sm_read_token_file(const char *path, const char **why)
{
	FILE  *f;
	char  *buf;
	size_t n;
	char  *start;

	f = AllocateFile(path, "r");
	if (f == NULL)
	{
		*why = psprintf("could not open \"%s\": %m", path);
		return NULL;
	}
	buf = palloc(SM_MAX_TOKEN_FILE + 1);
	n = fread(buf, 1, SM_MAX_TOKEN_FILE + 1, f);
	if (ferror(f))
	{
		FreeFile(f);
		*why = psprintf("could not read \"%s\": %m", path);
		return NULL;
	}
	FreeFile(f);
	if (n > SM_MAX_TOKEN_FILE)
	{
		*why = psprintf("\"%s\" is larger than %d bytes", path,
						SM_MAX_TOKEN_FILE);
		return NULL;
	}
	buf[n] = '\0';
	start = sm_trim_space(buf);
	if (*start == '\0')
	{
		*why = psprintf("\"%s\" is empty", path);
		return NULL;
	}
	return start;
}

/* A short, printable rendering of a remote peer's text, for messages. */
char *
sm_remote_text(const char *s, size_t len)
{
	char buf[256];

	sm_reply_sanitize(s, len, buf, sizeof(buf));
	return pstrdup(buf);
}

/*
 * sm_cred_fetch
 *		One request to a credential endpoint with the credential timeouts.
 *		Returns false and sets *why on a network failure.
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
