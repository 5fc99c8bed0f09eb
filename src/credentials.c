/*-------------------------------------------------------------------------
 *
 * credentials.c
 *		The credential cache of a backend and the provider chain that fills
 *		it: which source is asked in which order, when cached credentials
 *		are refreshed, and how a chain that found nothing is reported.
 *
 * The provider chain, first match wins (the AWS SDKs' order):
 *
 *	1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *	   AWS_SESSION_TOKEN (optionally AWS_CREDENTIAL_EXPIRATION);
 *	2. shared files: the active profile (segment_membership.profile, passed
 *	   in as target->profile, else AWS_PROFILE, else "default") of
 *	   AWS_CONFIG_FILE / AWS_SHARED_-
 *	   CREDENTIALS_FILE: role_arn with source_profile or credential_source
 *	   (STS AssumeRole, signed with the source credentials), role_arn with
 *	   web_identity_token_file (STS AssumeRoleWithWebIdentity), else static
 *	   keys (credentials file first);
 *	3. web identity from the environment: AWS_WEB_IDENTITY_TOKEN_FILE,
 *	   AWS_ROLE_ARN, AWS_ROLE_SESSION_NAME (EKS IRSA); the token file is
 *	   read again at every refresh;
 *	4. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
 *	   _FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE] (ECS, EKS
 *	   Pod Identity); plain http only to the SDKs' allowed hosts;
 *	5. EC2 instance metadata, IMDSv2 only (token, role, credentials), unless
 *	   AWS_EC2_METADATA_DISABLED=true; AWS_EC2_METADATA_SERVICE_ENDPOINT
 *	   overrides the address.
 *
 * A provider that is not configured says why (for the error message); one
 * that is configured but fails stops the chain with an error naming it, as
 * the SDKs do.  The sources themselves are in cred_providers.c, the STS
 * calls in sts.c, what every source needs (fetches, token files, times,
 * zeroing) in cred_fetch.c.  sm_sign_headers() is here only until it moves
 * to aws_sign.c.
 *
 * Temporary credentials are refreshed ahead of expiry with botocore's
 * timings: an advisory refresh from 15 minutes before expiry (a failure
 * keeps the old credentials), a mandatory one from 10 minutes before (a
 * failure still keeps them while they are valid, with a warning).  After an
 * "expired token" reply the transport asks for one forced refresh, once per
 * generation of cached credentials however many requests were refused
 * (sm_credentials_refresh_after_rejection).  Refreshed credentials that are
 * already expired are refused and the valid cached ones kept, with a
 * warning.  The cache is keyed on what decides the chain.  Every
 * fetch goes through sm_http_fetch(): short timeouts, interruptible waits.
 *
 * A lookup runs in a memory context of its own whose registered secrets are
 * zeroed when it goes away, on every exit (cred_fetch.c); cached
 * credentials are zeroed when the cache drops them.  No message ever
 * contains a secret key, a session token, a web identity token, a container
 * authorization token or an IMDS token.
 *
 * This file reads no GUC: the settings come in the SmTarget of the call.
 * segment_membership_credentials() (membership.c) shows the cache through
 * sm_credentials_describe().
 *
 * IDENTIFICATION
 *		src/credentials.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "aws_sign.h"
#include "config.h"
#include "cred_fetch.h"
#include "cred_providers.h"
#include "credentials.h"
#include "redact_pg.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "shared_config.h"
#include "sigv4.h"
#include "transport.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* botocore's refresh windows */
#define SM_ADVISORY_REFRESH_S  (15 * 60)
#define SM_MANDATORY_REFRESH_S (10 * 60)
/* credentials this close to expiry are not used (less for short-lived ones) */
#define SM_EXPIRY_MARGIN_S 30
/* at most one non-forced refresh attempt this often */
#define SM_REFRESH_INTERVAL_S 5
/* static credentials from the shared files are read again this often */
#define SM_STATIC_FILE_TTL_S 300

static const struct
{
	const char *name;
	SmProvider	fn;
} sm_providers[] = {
	{"environment", sm_provider_environment},
	{"shared config files", sm_provider_shared_files},
	{"web identity", sm_provider_web_identity},
	{"container", sm_provider_container},
	{"instance metadata", sm_provider_imds},
};

static void sm_credentials_free(SmCredentials *c);
static void sm_report_cached_expired(void);

/* The cache */
static MemoryContext  sm_cred_cxt = NULL;
static SmCredentials *sm_cached = NULL;
static char			 *sm_cached_key = NULL; /* sm_cache_key() when cached */
static TimestampTz	  sm_cached_at = 0;
static TimestampTz	  sm_last_refresh_try = 0;

/*
 * The generation of the cached credentials: bumped whenever they are
 * replaced or dropped, stamped on every signed attempt (so that a rejected
 * attempt tells whether it was signed with what is cached now), and the
 * generation for which a rejection already made the chain look again.
 */
static uint64	   sm_cached_generation = 1;
static uint64	   sm_rejection_fetch_generation = 0;
static TimestampTz sm_rejection_fetch_statement = 0; /* its statement start */

/*
 * The last moment credentials c fetched at fetched_at may be used:
 * SM_EXPIRY_MARGIN_S before they expire, or a quarter of their lifetime for
 * very short-lived ones.
 */
static TimestampTz
sm_usable_until_of(const SmCredentials *c, TimestampTz fetched_at)
{
	int64 lifetime = c->expiration - fetched_at;
	int64 margin =
		Min((int64) SM_EXPIRY_MARGIN_S * USECS_PER_SEC, Max(lifetime / 4, 0));

	return c->expiration - margin;
}

/* sm_usable_until_of() for the cached credentials. */
static TimestampTz
sm_usable_until(void)
{
	return sm_usable_until_of(sm_cached, sm_cached_at);
}

/* ----------------------------------------------------------------
 * The chain and the cache
 * ----------------------------------------------------------------
 */

/*
 * sm_report_no_credentials
 *		The error for a chain that found no credentials: which source failed
 *		and why (or that none has any), the sources tried and why each was
 *		passed over, and what to do.  The one place that reports a failure
 *		of the chain.  tried is the sources tried before the failed one, or
 *		all of them.
 */
static void
sm_report_no_credentials(const char *failed_source, const char *failure,
						 const char *tried)
{
	/* outside text (curl's, endpoints') inside: redact.h */
	failure = failure ? sm_redact(failure) : NULL;
	tried = sm_redact(tried);
	if (failed_source != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("could not obtain AWS credentials from the %s source",
						failed_source),
				 tried[0] != '\0'
					 ? errdetail("The %s source failed: %s.  Sources tried "
								 "before it: %s.",
								 failed_source, failure, tried)
					 : errdetail("The %s source failed: %s.", failed_source,
								 failure),
				 errhint("Correct the configuration of that source, or see "
						 "\"Credentials\" in the segment_membership README "
						 "for the order in which sources are tried.")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("no AWS credentials found"),
			 errdetail("Sources tried: %s.", tried),
			 errhint("Give the server process AWS credentials: environment "
					 "variables, a profile in ~/.aws of its OS user, a web "
					 "identity token, a container or instance role.")));
}

/* A copy of provider's credentials c in the cache's context. */
static SmCredentials *
sm_credentials_copy(const SmCredentials *c, const char *source)
{
	MemoryContext  oldcxt = MemoryContextSwitchTo(sm_cred_cxt);
	SmCredentials *result = palloc0(sizeof(SmCredentials));

	result->access_key_id = pstrdup(c->access_key_id);
	result->secret_access_key = pstrdup(c->secret_access_key);
	result->session_token = (c->session_token && c->session_token[0])
								? pstrdup(c->session_token)
								: NULL;
	result->expires = c->expires;
	result->expiration = c->expiration;
	result->source = source;
	result->detail = c->detail ? pstrdup(c->detail) : NULL;
	MemoryContextSwitchTo(oldcxt);
	sm_redact_register(result->secret_access_key); /* redact.h */
	sm_redact_register(result->session_token);
	return result;
}

/*
 * sm_strip_final_period
 *		A provider's explanation goes into a sentence of ours: drop a final
 *		period (of quoted remote text, or of a message such as "The reply
 *		body contains a NUL byte.") so that it does not end in "..".
 */
static void
sm_strip_final_period(StringInfo why)
{
	while (why->len > 0 &&
		   (why->data[why->len - 1] == '.' || why->data[why->len - 1] == ' '))
		why->data[--why->len] = '\0';
}

/*
 * sm_credentials_resolve
 *		Run the provider chain.  Returns new credentials allocated in the
 *		credential context, or NULL with the sources tried in *tried when
 *		none has credentials; raises an error when none is found and
 *		fail_hard is set.  The lookup runs in a context of its own whose
 *		secrets are zeroed when it is deleted, on every exit.
 */
static SmCredentials *
sm_credentials_resolve(const SmTarget *target, StringInfo tried,
					   bool fail_hard)
{
	MemoryContext  scratch;
	MemoryContext  oldcxt;
	SmCredentials *result = NULL;
	const char	  *failed_source = NULL;
	char		  *failure = NULL;
	char		  *tried_before = NULL;

	if (sm_cred_cxt == NULL)
		sm_cred_cxt = AllocSetContextCreate(TopMemoryContext,
											"segment_membership credentials",
											ALLOCSET_SMALL_SIZES);
	scratch = sm_secret_context_create(CurrentMemoryContext);
	oldcxt = MemoryContextSwitchTo(scratch);
	for (int i = 0; i < lengthof(sm_providers) && result == NULL; i++)
	{
		StringInfoData	 why;
		SmCredentials	 c;
		SmProviderResult r;

		CHECK_FOR_INTERRUPTS();
		initStringInfo(&why);
		memset(&c, 0, sizeof(c));
		r = sm_providers[i].fn(target, &c, &why);
		if (r == SM_PROVIDER_FOUND)
		{
			result = sm_credentials_copy(&c, sm_providers[i].name);
			break;
		}
		sm_strip_final_period(&why);
		if (r == SM_PROVIDER_FAILED)
		{
			failed_source = sm_providers[i].name;
			failure = MemoryContextStrdup(oldcxt, why.data);
			tried_before = MemoryContextStrdup(oldcxt, tried->data);
		}
		appendStringInfo(tried, "%s%s: %s", tried->len > 0 ? "; " : "",
						 sm_providers[i].name, why.data);
		if (r == SM_PROVIDER_FAILED)
			break;
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(scratch);

	if (result == NULL && fail_hard)
		sm_report_no_credentials(failed_source, failure,
								 failed_source ? tried_before : tried->data);
	return result;
}

/*
 * sm_credentials_changed
 *		Called whenever the cached credentials are replaced or dropped.
 *		Signing keys derived from the old secret must not outlive it: this
 *		is the one place where the SigV4 signing-key cache is cleared.
 */
static void
sm_credentials_changed(void)
{
	sm_sign_forget_keys();
}

/*
 * sm_cache_key
 *		What the cached credentials are valid for: what decides the chain,
 *		that is the value of segment_membership.profile (a profile set there
 *		skips the environment source, so '' and 'default' differ) and the
 *		profile it resolves to.  The one place that decides when the cache
 *		no longer fits the settings of a call.
 */
static char *
sm_cache_key(const SmTarget *target)
{
	return psprintf("%s|%s", target->profile,
					sm_shared_config_profile_name(target->profile));
}

/* Zero and free the cached credentials. */
static void
sm_credentials_free(SmCredentials *c)
{
	explicit_bzero(c->secret_access_key, strlen(c->secret_access_key));
	pfree(c->access_key_id);
	pfree(c->secret_access_key);
	if (c->session_token)
	{
		explicit_bzero(c->session_token, strlen(c->session_token));
		pfree(c->session_token);
	}
	if (c->detail)
		pfree(c->detail);
	pfree(c);
}

/*
 * sm_credentials_replace
 *		Drop the cached credentials (zeroing them) and cache new ones (or
 *		none) for the given cache key.
 */
static void
sm_credentials_replace(SmCredentials *fresh, const char *key)
{
	if (sm_cached != NULL)
		sm_credentials_free(sm_cached);
	if (sm_cached_key != NULL)
		pfree(sm_cached_key);
	sm_cached = fresh;
	sm_cached_key = fresh ? MemoryContextStrdup(sm_cred_cxt, key) : NULL;
	sm_cached_at = GetCurrentTimestamp();
	sm_cached_generation++;
	sm_credentials_changed();
}

/*
 * sm_credentials_generation
 *		The generation of the cached credentials, to stamp on a signed
 *		attempt for sm_credentials_refresh_after_rejection().
 */
uint64
sm_credentials_generation(void)
{
	return sm_cached_generation;
}

/*
 * sm_fresh_expired
 *		Whether credentials a refresh just found are already expired (not
 *		usable): if so, zero and free them and warn that the cached ones
 *		are kept, as botocore refuses "refreshed credentials are still
 *		expired".
 */
static bool
sm_fresh_expired(SmCredentials *fresh)
{
	TimestampTz now = GetCurrentTimestamp();

	if (!fresh->expires || sm_usable_until_of(fresh, now) > now)
		return false;
	ereport(WARNING,
			(errmsg("refreshed AWS credentials are still expired; keeping "
					"the current ones"),
			 errdetail("The %s source returned credentials that expired at "
					   "%s.",
					   fresh->source, timestamptz_to_str(fresh->expiration))));
	sm_credentials_free(fresh);
	return true;
}

/* Drop cached credentials. */
void
sm_credentials_reset(void)
{
	sm_credentials_replace(NULL, NULL);
}

/* The error for cached credentials that are no longer usable. */
static void
sm_report_cached_expired(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("the AWS credentials from the %s source have expired",
					sm_cached->source),
			 errdetail("They expired at %s.",
					   timestamptz_to_str(sm_cached->expiration)),
			 errhint("Renew the credentials of that source.")));
}

/*
 * sm_credentials_refresh
 *		Cached temporary credentials are due for a refresh (advisory or
 *		mandatory): try the chain again, at most every SM_REFRESH_INTERVAL_S
 *		while they are still usable.  A failure keeps them while they are
 *		usable, with a warning, and is an error after that.
 */
static const SmCredentials *
sm_credentials_refresh(const SmTarget *target, TimestampTz now)
{
	TimestampTz	   usable_until = sm_usable_until();
	StringInfoData tried;
	SmCredentials *fresh;

	if (now < usable_until &&
		!TimestampDifferenceExceeds(sm_last_refresh_try, now,
									SM_REFRESH_INTERVAL_S * 1000))
		return sm_cached; /* refreshed (or tried) a moment ago */
	sm_last_refresh_try = now;
	initStringInfo(&tried);
	fresh = sm_credentials_resolve(target, &tried, now >= usable_until);
	if (fresh != NULL && sm_fresh_expired(fresh))
	{
		if (now < usable_until)
			return sm_cached;
		sm_report_cached_expired();
	}
	if (fresh != NULL)
	{
		sm_credentials_replace(fresh, sm_cache_key(target));
		return sm_cached;
	}
	/* still valid: keep using them, as the SDKs do */
	ereport(
		WARNING,
		(errmsg("could not refresh AWS credentials; using the current "
				"ones until they expire"),
		 errdetail("The credentials from the %s source expire at %s.  "
				   "Sources tried: %s.",
				   sm_cached->source,
				   timestamptz_to_str(sm_cached->expiration), tried.data)));
	return sm_cached;
}

/*
 * sm_credentials_get
 *		The credentials to sign with for a call to target: from the cache
 *		while they are fresh, else from the provider chain.  Raises an error
 *		when there are none.
 */
const SmCredentials *
sm_credentials_get(const SmTarget *target)
{
	TimestampTz	   now = GetCurrentTimestamp();
	StringInfoData tried;

	if (sm_cached != NULL && strcmp(sm_cached_key, sm_cache_key(target)) != 0)
		sm_credentials_reset(); /* the profile setting changed */

	if (sm_cached != NULL && !sm_cached->expires)
	{
		/* static keys: files are read again now and then, env never */
		if (strcmp(sm_cached->source, "environment") == 0 ||
			!TimestampDifferenceExceeds(sm_cached_at, now,
										SM_STATIC_FILE_TTL_S * 1000))
			return sm_cached;
	}
	else if (sm_cached != NULL)
	{
		if (now <
			sm_cached->expiration - SM_ADVISORY_REFRESH_S * USECS_PER_SEC)
			return sm_cached;
		return sm_credentials_refresh(target, now);
	}

	initStringInfo(&tried);
	sm_credentials_replace(sm_credentials_resolve(target, &tried, true),
						   sm_cache_key(target));
	sm_last_refresh_try = GetCurrentTimestamp();
	if (sm_cached->expires && sm_usable_until() <= GetCurrentTimestamp())
		sm_report_cached_expired();
	return sm_cached;
}

/*
 * sm_credentials_refresh_after_rejection
 *		The service refused an attempt signed with the credentials of
 *		generation signed_generation because their session token expired or
 *		is invalid.  Returns true when the request is worth one more attempt
 *		with other credentials.
 *
 *		One rejection wave (every request in flight refused at once) makes
 *		at most one fetch: an attempt signed with credentials that have been
 *		replaced since is simply retried with the current ones, and the
 *		chain is asked again only once per generation of cached credentials
 *		and statement (a later statement may find them rotated by then).
 *		Static credentials cannot change.  Fetched credentials that are
 *		already expired are refused (with a warning).
 */
bool
sm_credentials_refresh_after_rejection(const SmTarget *target,
									   uint64		   signed_generation)
{
	StringInfoData tried;
	SmCredentials *fresh;
	bool		   changed;

	if (signed_generation != sm_cached_generation)
		return true; /* replaced since: retry with the current ones */
	if (sm_cached == NULL || !sm_cached->expires ||
		(sm_rejection_fetch_generation == sm_cached_generation &&
		 sm_rejection_fetch_statement == GetCurrentStatementStartTimestamp()))
		return false;
	sm_rejection_fetch_generation = sm_cached_generation;
	sm_rejection_fetch_statement = GetCurrentStatementStartTimestamp();
	initStringInfo(&tried);
	fresh = sm_credentials_resolve(target, &tried, false);
	sm_last_refresh_try = GetCurrentTimestamp();
	if (fresh == NULL || sm_fresh_expired(fresh))
		return false;
	changed =
		strcmp(fresh->access_key_id, sm_cached->access_key_id) != 0 ||
		(fresh->session_token != NULL && sm_cached->session_token != NULL &&
		 strcmp(fresh->session_token, sm_cached->session_token) != 0);
	if (!changed)
	{
		sm_credentials_free(fresh);
		return false;
	}
	sm_credentials_replace(fresh, sm_cache_key(target));
	return true;
}

/*
 * sm_credentials_describe
 *		What the credentials to sign with for a call to target are, without
 *		a secret: looks them up first if needed (so it also tests the
 *		configuration).  The strings stay valid until the cache changes.
 */
void
sm_credentials_describe(const SmTarget *target, SmCredentialsInfo *info)
{
	const SmCredentials *c = sm_credentials_get(target);

	info->source = c->source;
	info->detail = c->detail;
	info->access_key_id = c->access_key_id;
	info->has_session_token = c->session_token != NULL;
	info->expires = c->expires;
	info->expiration = c->expiration;
}
