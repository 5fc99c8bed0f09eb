/*-------------------------------------------------------------------------
 *
 * credentials.c
 *		AWS credentials for signing, found the way the AWS SDKs find them and
 *		cached per backend.
 *
 * The provider chain is tried in order and the first provider that has
 * credentials wins.  Each provider either returns credentials, says it is
 * not configured (and why, for the error message), or raises an error when
 * it is configured but broken.
 *
 * Secrets are kept in a memory context of their own and zeroed before it
 * is reset; they are never put in a message.
 *
 * IDENTIFICATION
 *		src/credentials.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "config.h"
#include "credentials.h"
#include "lib/stringinfo.h"
#include "utils/memutils.h"

/* What a provider found. */
typedef enum SmProviderResult
{
	SM_PROVIDER_FOUND,
	SM_PROVIDER_NOT_CONFIGURED
} SmProviderResult;

typedef SmProviderResult (*SmProvider) (SmCredentials *out, StringInfo why);

static SmProviderResult sm_provider_environment(SmCredentials *out,
												StringInfo why);

static const struct
{
	const char *name;
	SmProvider	fn;
}			sm_providers[] =
{
	{"environment", sm_provider_environment},
};

static MemoryContext sm_cred_cxt = NULL;
static SmCredentials *sm_cached = NULL;

/*
 * sm_credentials_scrub
 *		Zero the secrets of the cached credentials and drop them.
 */
static void
sm_credentials_scrub(void)
{
	if (sm_cached != NULL)
	{
		if (sm_cached->secret_access_key)
			explicit_bzero(sm_cached->secret_access_key,
						   strlen(sm_cached->secret_access_key));
		if (sm_cached->session_token)
			explicit_bzero(sm_cached->session_token,
						   strlen(sm_cached->session_token));
	}
	sm_cached = NULL;
	if (sm_cred_cxt != NULL)
		MemoryContextReset(sm_cred_cxt);
}

/* Drop cached credentials (for tests and after configuration changes). */
void
sm_credentials_reset(void)
{
	sm_credentials_scrub();
}

/*
 * sm_provider_environment
 *		AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (or
 *		the legacy AWS_SECURITY_TOKEN) of the server process.
 */
static SmProviderResult
sm_provider_environment(SmCredentials *out, StringInfo why)
{
	const char *akid = sm_getenv("AWS_ACCESS_KEY_ID");
	const char *secret = sm_getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = sm_getenv("AWS_SESSION_TOKEN");

	if (token == NULL)
		token = sm_getenv("AWS_SECURITY_TOKEN");
	if (akid == NULL && secret == NULL)
	{
		appendStringInfoString(why, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
		return SM_PROVIDER_NOT_CONFIGURED;
	}
	if (akid == NULL || secret == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("incomplete AWS credentials in the server's environment"),
				 errdetail("%s is set but %s is not.",
						   akid ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
						   akid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID")));
	out->access_key_id = pstrdup(akid);
	out->secret_access_key = pstrdup(secret);
	out->session_token = token ? pstrdup(token) : NULL;
	out->expires = false;
	return SM_PROVIDER_FOUND;
}

/*
 * sm_credentials_resolve
 *		Run the provider chain; the first provider with credentials wins.
 *		The result is allocated in the credential context.
 */
static SmCredentials *
sm_credentials_resolve(void)
{
	StringInfoData tried;
	MemoryContext oldcxt;
	int			i;

	if (sm_cred_cxt == NULL)
		sm_cred_cxt = AllocSetContextCreate(TopMemoryContext,
											"segment_membership credentials",
											ALLOCSET_SMALL_SIZES);
	initStringInfo(&tried);
	for (i = 0; i < lengthof(sm_providers); i++)
	{
		StringInfoData why;
		SmCredentials *c;
		SmProviderResult r;

		initStringInfo(&why);
		oldcxt = MemoryContextSwitchTo(sm_cred_cxt);
		c = palloc0(sizeof(SmCredentials));
		r = sm_providers[i].fn(c, &why);
		MemoryContextSwitchTo(oldcxt);
		if (r == SM_PROVIDER_FOUND)
		{
			c->source = sm_providers[i].name;
			return c;
		}
		appendStringInfo(&tried, "%s%s: %s", tried.len > 0 ? "; " : "",
						 sm_providers[i].name, why.data);
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("no AWS credentials found"),
			 errdetail("Sources tried: %s.", tried.data),
			 errhint("Give the server process AWS credentials, for example "
					 "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in its "
					 "environment.")));
	return NULL;				/* keep compiler quiet */
}

/*
 * sm_credentials_get
 *		The credentials to sign with, from the cache or the provider chain.
 *		Raises an error when there are none.
 */
const SmCredentials *
sm_credentials_get(void)
{
	if (sm_cached == NULL)
		sm_cached = sm_credentials_resolve();
	return sm_cached;
}

/*
 * sm_credentials_refresh_after_rejection
 *		The service refused our session token as expired or invalid: drop
 *		the cache and look again.  Returns true when different credentials
 *		were found (worth one more attempt).
 */
bool
sm_credentials_refresh_after_rejection(void)
{
	char	   *old_akid = NULL;
	const SmCredentials *c;

	if (sm_cached == NULL || !sm_cached->expires)
		return false;			/* static credentials do not change */
	old_akid = pstrdup(sm_cached->access_key_id);
	sm_credentials_scrub();
	c = sm_credentials_get();
	return strcmp(c->access_key_id, old_akid) != 0 || c->expires;
}
