/*-------------------------------------------------------------------------
 *
 * credentials.c
 *		AWS credentials for signing, found where the AWS SDKs find them, and
 *		cached per backend.
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
 * the SDKs do.  The STS calls are in sts.c; what every source needs
 * (fetches, token files, times, zeroing) is in cred_fetch.c.
 *
 * Temporary credentials are refreshed ahead of expiry with botocore's
 * timings: an advisory refresh from 15 minutes before expiry (a failure
 * keeps the old credentials), a mandatory one from 10 minutes before (a
 * failure still keeps them while they are valid, with a warning).  After an
 * "expired token" reply the transport asks for one forced refresh.  Every
 * fetch goes through sm_http_fetch(): short timeouts, interruptible waits.
 *
 * A lookup runs in a memory context of its own whose registered secrets are
 * zeroed when it goes away, on every exit (cred_fetch.c); cached
 * credentials are zeroed when the cache drops them.  No message ever
 * contains a secret key, a session token, a web identity token, a container
 * authorization token or an IMDS token.
 *
 * This file reads no GUC: the settings come in the SmTarget of the call.
 * sm_credentials_info() uses only sm_credentials_describe(), so that it can
 * move to the file of the SQL entry points.
 *
 * IDENTIFICATION
 *		src/credentials.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "config.h"
#include "cred_fetch.h"
#include "credentials.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "reply.h"
#include "shared_config.h"
#include "sts.h"
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
/* role chains longer than this are refused */
#define SM_MAX_ROLE_CHAIN 4

/* What a provider found. */
typedef enum SmProviderResult
{
	SM_PROVIDER_FOUND,
	SM_PROVIDER_NOT_CONFIGURED,
	SM_PROVIDER_FAILED
} SmProviderResult;

/*
 * A provider fills in *out (allocated in CurrentMemoryContext, which is a
 * scratch context) or explains in why.
 */
typedef SmProviderResult (*SmProvider)(const SmTarget *target,
									   SmCredentials *out, StringInfo why);

static SmProviderResult sm_provider_environment(const SmTarget *target,
												SmCredentials  *out,
												StringInfo		why);
static SmProviderResult sm_env_credentials(SmCredentials *out, StringInfo why);
static void				sm_set_keys(SmCredentials *out, const char *akid,
									const char *secret, const char *token);
static SmProviderResult sm_provider_shared_files(const SmTarget *target,
												 SmCredentials	*out,
												 StringInfo		 why);
static SmProviderResult sm_provider_web_identity(const SmTarget *target,
												 SmCredentials	*out,
												 StringInfo		 why);
static SmProviderResult sm_provider_container(const SmTarget *target,
											  SmCredentials	 *out,
											  StringInfo	  why);
static SmProviderResult sm_provider_imds(const SmTarget *target,
										 SmCredentials *out, StringInfo why);

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

/* The cache */
static MemoryContext  sm_cred_cxt = NULL;
static SmCredentials *sm_cached = NULL;
static char			 *sm_cached_key = NULL; /* sm_cache_key() when cached */
static TimestampTz	  sm_cached_at = 0;
static TimestampTz	  sm_last_refresh_try = 0;

/*
 * The last moment cached credentials may be used: SM_EXPIRY_MARGIN_S before
 * they expire, or a quarter of their lifetime for very short-lived ones.
 */
static TimestampTz
sm_usable_until(void)
{
	int64 lifetime = sm_cached->expiration - sm_cached_at;
	int64 margin =
		Min((int64) SM_EXPIRY_MARGIN_S * USECS_PER_SEC, Max(lifetime / 4, 0));

	return sm_cached->expiration - margin;
}

static SmProviderResult sm_profile_credentials(const SmTarget *target,
											   const char *profile, int depth,
											   SmCredentials *out,
											   StringInfo	  why);

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

/* ----------------------------------------------------------------
 * The providers
 * ----------------------------------------------------------------
 */

/* SM_PROVIDER_FOUND when ok, else SM_PROVIDER_FAILED. */
static SmProviderResult
sm_found_if(bool ok)
{
	return ok ? SM_PROVIDER_FOUND : SM_PROVIDER_FAILED;
}

/*
 * sm_env_pair
 *		Two environment variables that only work together: NOT_CONFIGURED
 *		when neither is set, FAILED (naming the missing one) when only one
 *		is, else FOUND.
 */
static SmProviderResult
sm_env_pair(const char *name1, const char *value1, const char *name2,
			const char *value2, StringInfo why)
{
	if (value1 == NULL && value2 == NULL)
	{
		appendStringInfo(why, "%s and %s are not set", name1, name2);
		return SM_PROVIDER_NOT_CONFIGURED;
	}
	if (value1 == NULL || value2 == NULL)
	{
		appendStringInfo(why, "%s is set but %s is not",
						 value1 ? name1 : name2, value1 ? name2 : name1);
		return SM_PROVIDER_FAILED;
	}
	return SM_PROVIDER_FOUND;
}

/*
 * sm_provider_environment
 *		The environment provider: skipped when segment_membership.profile
 *		names a profile, as the SDKs skip it for a profile chosen in code.
 */
static SmProviderResult
sm_provider_environment(const SmTarget *target, SmCredentials *out,
						StringInfo why)
{
	if (target->profile[0] != '\0')
	{
		appendStringInfoString(
			why, "skipped because segment_membership.profile is set");
		return SM_PROVIDER_NOT_CONFIGURED;
	}
	return sm_env_credentials(out, why);
}

/*
 * sm_env_credentials
 *		AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (or
 *		the legacy AWS_SECURITY_TOKEN) of the server process.
 */
static SmProviderResult
sm_env_credentials(SmCredentials *out, StringInfo why)
{
	const char *akid = sm_getenv("AWS_ACCESS_KEY_ID");
	const char *secret = sm_getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = sm_getenv("AWS_SESSION_TOKEN");
	const char *exp = sm_getenv("AWS_CREDENTIAL_EXPIRATION");

	SmProviderResult r;

	if (token == NULL)
		token = sm_getenv("AWS_SECURITY_TOKEN");
	r = sm_env_pair("AWS_ACCESS_KEY_ID", akid, "AWS_SECRET_ACCESS_KEY", secret,
					why);
	if (r != SM_PROVIDER_FOUND)
		return r;
	if (exp != NULL)
	{
		if (!sm_parse_time(exp, &out->expiration))
		{
			appendStringInfoString(
				why, "AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time");
			return SM_PROVIDER_FAILED;
		}
		out->expires = true;
	}
	sm_set_keys(out, akid, secret, token);
	return SM_PROVIDER_FOUND;
}

/*
 * sm_set_keys
 *		Copy a key pair and an optional session token into *out, the secrets
 *		registered for zeroing.
 */
static void
sm_set_keys(SmCredentials *out, const char *akid, const char *secret,
			const char *token)
{
	out->access_key_id = pstrdup(akid);
	out->secret_access_key = sm_secret_str(pstrdup(secret));
	out->session_token = token ? sm_secret_str(pstrdup(token)) : NULL;
}

/*
 * sm_credential_source
 *		The credentials of a profile's credential_source.
 */
static SmProviderResult
sm_credential_source(const SmTarget *target, const char *source,
					 SmCredentials *out, StringInfo why)
{
	SmProviderResult r;

	if (strcmp(source, "Environment") == 0)
		r = sm_env_credentials(out, why);
	else if (strcmp(source, "Ec2InstanceMetadata") == 0)
		r = sm_provider_imds(target, out, why);
	else if (strcmp(source, "EcsContainer") == 0)
		r = sm_provider_container(target, out, why);
	else
	{
		appendStringInfo(why,
						 "credential_source \"%s\" is not one of Environment, "
						 "Ec2InstanceMetadata, EcsContainer",
						 source);
		return SM_PROVIDER_FAILED;
	}
	return r == SM_PROVIDER_FOUND ? r : SM_PROVIDER_FAILED;
}

/*
 * What one profile of the shared files says, read once: its sections of
 * both files and the settings the chain looks at.
 */
typedef struct SmProfile
{
	const char		*name;
	SmProfileSection config; /* its section of the config file */
	SmProfileSection creds;	 /* its section of the credentials file */
	/* role settings (config file only) */
	const char *role_arn;
	const char *source_profile;
	const char *credential_source;
	const char *token_file; /* web_identity_token_file */
	const char *session_name;
	const char *external_id;
	const char *duration;
} SmProfile;

/* Read a profile from both files; sm_profile_release() when done. */
static void
sm_profile_read(const char *name, SmProfile *p)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	sm_shared_config_read_profile(name, false, &p->config);
	sm_shared_config_read_profile(name, true, &p->creds);
	p->role_arn = sm_profile_get(&p->config, "role_arn");
	p->source_profile = sm_profile_get(&p->config, "source_profile");
	p->credential_source = sm_profile_get(&p->config, "credential_source");
	p->token_file = sm_profile_get(&p->config, "web_identity_token_file");
	p->session_name = sm_profile_get(&p->config, "role_session_name");
	p->external_id = sm_profile_get(&p->config, "external_id");
	p->duration = sm_profile_get(&p->config, "duration_seconds");
}

/* Zero and free what sm_profile_read() read. */
static void
sm_profile_release(SmProfile *p)
{
	sm_profile_section_scrub(&p->config);
	sm_profile_section_scrub(&p->creds);
}

/* A key of the profile: from the credentials file, else the config file. */
static const char *
sm_profile_key(const SmProfile *p, const char *key)
{
	const char *v = sm_profile_get(&p->creds, key);

	return v != NULL ? v : sm_profile_get(&p->config, key);
}

/*
 * sm_profile_static
 *		The static keys of a profile: from the credentials file when it has
 *		either key, else from the config file.
 */
static SmProviderResult
sm_profile_static(const SmProfile *p, SmCredentials *out, StringInfo why)
{
	const SmProfileSection *src = &p->creds;
	const char			   *akid;
	const char			   *secret;
	const char			   *token;

	if (sm_profile_get(src, "aws_access_key_id") == NULL &&
		sm_profile_get(src, "aws_secret_access_key") == NULL)
		src = &p->config;
	akid = sm_profile_get(src, "aws_access_key_id");
	secret = sm_profile_get(src, "aws_secret_access_key");
	token = sm_profile_get(src, "aws_session_token");
	if (token == NULL)
		token = sm_profile_get(src, "aws_security_token");

	if (akid != NULL && secret != NULL)
	{
		sm_set_keys(out, akid, secret, token);
		out->detail = psprintf("profile \"%s\" in %s", p->name, src->file);
		return SM_PROVIDER_FOUND;
	}
	if (akid != NULL || secret != NULL)
	{
		appendStringInfo(why,
						 "profile \"%s\" in %s has only one of "
						 "aws_access_key_id and aws_secret_access_key",
						 p->name, src->file);
		return SM_PROVIDER_FAILED;
	}
	if (p->config.found || p->creds.found)
		appendStringInfo(why, "profile \"%s\" has no credentials", p->name);
	else
		appendStringInfo(why, "profile \"%s\" is not in %s or %s", p->name,
						 p->config.file ? p->config.file : "(no config file)",
						 p->creds.file ? p->creds.file
									   : "(no credentials file)");
	return SM_PROVIDER_NOT_CONFIGURED;
}

/*
 * sm_source_profile_credentials
 *		The credentials of a role profile's source_profile: the profile's own
 *		static keys when it names itself, else those of the other profile
 *		(which may be a role again, up to SM_MAX_ROLE_CHAIN roles).
 */
static SmProviderResult
sm_source_profile_credentials(const SmTarget *target, const SmProfile *p,
							  int depth, SmCredentials *source, StringInfo why)
{
	SmProviderResult r;

	if (depth >= SM_MAX_ROLE_CHAIN)
	{
		appendStringInfo(why,
						 "profile \"%s\": role chain longer than %d roles "
						 "(a source_profile loop?)",
						 p->name, SM_MAX_ROLE_CHAIN);
		return SM_PROVIDER_FAILED;
	}
	if (strcmp(p->source_profile, p->name) == 0 && depth == 0 &&
		sm_profile_key(p, "aws_access_key_id") != NULL)
	{
		/* a profile may name itself for its static keys */
		source->access_key_id =
			(char *) sm_profile_key(p, "aws_access_key_id");
		source->secret_access_key =
			(char *) sm_profile_key(p, "aws_secret_access_key");
		if (source->secret_access_key != NULL)
			return SM_PROVIDER_FOUND;
		appendStringInfo(why, "profile \"%s\" has no aws_secret_access_key",
						 p->name);
		return SM_PROVIDER_FAILED;
	}
	r = sm_profile_credentials(target, p->source_profile, depth + 1, source,
							   why);
	if (r != SM_PROVIDER_NOT_CONFIGURED)
		return r;
	appendStringInfo(why,
					 "%ssource_profile \"%s\" of profile \"%s\" has no "
					 "credentials",
					 why->len > 0 ? "; " : "", p->source_profile, p->name);
	return SM_PROVIDER_FAILED;
}

/*
 * sm_profile_role
 *		The credentials of a profile with role_arn: AssumeRoleWithWebIdentity
 *		with its web_identity_token_file, else AssumeRole signed with the
 *		credentials of its source_profile or credential_source.
 */
static SmProviderResult
sm_profile_role(const SmTarget *target, const SmProfile *p, int depth,
				SmCredentials *out, StringInfo why)
{
	SmCredentials	 source;
	SmProviderResult r;

	out->detail = psprintf("profile \"%s\", role %s", p->name, p->role_arn);
	if (p->token_file != NULL)
		return sm_found_if(sm_sts_assume_role_with_web_identity(
			target, p->role_arn, p->token_file, p->session_name, out, why));
	if (p->source_profile == NULL && p->credential_source == NULL)
	{
		appendStringInfo(why,
						 "profile \"%s\" has role_arn but neither "
						 "source_profile, credential_source nor "
						 "web_identity_token_file",
						 p->name);
		return SM_PROVIDER_FAILED;
	}
	if (p->source_profile != NULL && p->credential_source != NULL)
	{
		appendStringInfo(why,
						 "profile \"%s\" sets both source_profile and "
						 "credential_source",
						 p->name);
		return SM_PROVIDER_FAILED;
	}

	memset(&source, 0, sizeof(source));
	if (p->source_profile != NULL)
		r = sm_source_profile_credentials(target, p, depth, &source, why);
	else
		r = sm_credential_source(target, p->credential_source, &source, why);
	if (r != SM_PROVIDER_FOUND)
		return SM_PROVIDER_FAILED;
	return sm_found_if(sm_sts_assume_role(target, p->role_arn, p->session_name,
										  p->external_id, p->duration, &source,
										  out, why));
}

/*
 * sm_profile_credentials
 *		The credentials of one profile of the shared files: a role when it
 *		has role_arn, else its static keys.
 */
static SmProviderResult
sm_profile_credentials(const SmTarget *target, const char *profile, int depth,
					   SmCredentials *out, StringInfo why)
{
	SmProfile		 p;
	SmProviderResult r;

	sm_profile_read(profile, &p);
	if (p.role_arn != NULL)
		r = sm_profile_role(target, &p, depth, out, why);
	else
		r = sm_profile_static(&p, out, why);
	sm_profile_release(&p);
	return r;
}

/*
 * sm_provider_shared_files
 *		The active profile of the shared config and credentials files.  An
 *		explicitly chosen profile that does not exist is an error; a missing
 *		"default" profile is not.
 */
static SmProviderResult
sm_provider_shared_files(const SmTarget *target, SmCredentials *out,
						 StringInfo why)
{
	const char		*profile = sm_shared_config_profile_name(target->profile);
	SmProviderResult r = sm_profile_credentials(target, profile, 0, out, why);

	if (r == SM_PROVIDER_NOT_CONFIGURED && strcmp(profile, "default") != 0)
		r = SM_PROVIDER_FAILED;
	return r;
}

/*
 * sm_provider_web_identity
 *		AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (EKS IRSA).
 */
static SmProviderResult
sm_provider_web_identity(const SmTarget *target, SmCredentials *out,
						 StringInfo why)
{
	const char		*token_file = sm_getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char		*role_arn = sm_getenv("AWS_ROLE_ARN");
	SmProviderResult r;

	r = sm_env_pair("AWS_WEB_IDENTITY_TOKEN_FILE", token_file, "AWS_ROLE_ARN",
					role_arn, why);
	if (r != SM_PROVIDER_FOUND)
		return r;
	out->detail = psprintf("role %s", role_arn);
	return sm_found_if(sm_sts_assume_role_with_web_identity(
		target, role_arn, token_file, sm_getenv("AWS_ROLE_SESSION_NAME"), out,
		why));
}

/*
 * sm_parse_credentials_json
 *		AccessKeyId/SecretAccessKey/Token/Expiration of a JSON reply of the
 *		container endpoint or IMDS.
 */
static bool
sm_parse_credentials_json(SmResponse *resp, SmCredentials *out,
						  const char *what, StringInfo why)
{
	Jsonb	   *jb;
	const char *err = sm_json_parse_object(resp->body, resp->body_len, &jb);
	char	   *exp;

	if (err != NULL)
	{
		appendStringInfo(why, "%s returned a reply that is not usable: %s",
						 what, err);
		return false;
	}
	sm_secret(jb, VARSIZE(jb));
	out->access_key_id = sm_jsonb_get_text(jb, "AccessKeyId");
	out->secret_access_key =
		sm_secret_str(sm_jsonb_get_text(jb, "SecretAccessKey"));
	out->session_token = sm_secret_str(sm_jsonb_get_text(jb, "Token"));
	exp = sm_jsonb_get_text(jb, "Expiration");
	if (out->access_key_id == NULL || out->secret_access_key == NULL)
	{
		appendStringInfo(why, "%s returned no AccessKeyId and SecretAccessKey",
						 what);
		return false;
	}
	if (exp != NULL)
	{
		if (!sm_parse_time(exp, &out->expiration))
		{
			appendStringInfo(
				why, "%s returned an Expiration that is not an ISO 8601 time",
				what);
			return false;
		}
		out->expires = true;
	}
	return true;
}

/*
 * sm_container_host_allowed
 *		Plain-http full URIs may only point at loopback or the ECS/EKS
 *		link-local addresses (the SDKs' rule): anything else could hand
 *		the authorization token to another host in clear text.
 */
static bool
sm_container_host_allowed(const char *host)
{
	if (strncmp(host, "127.", 4) == 0 || strcmp(host, "localhost") == 0 ||
		strcmp(host, "[::1]") == 0 || strcmp(host, "169.254.170.2") == 0 ||
		strcmp(host, "169.254.170.23") == 0 ||
		strcmp(host, "[fd00:ec2::23]") == 0)
		return true;
	return false;
}

/*
 * sm_container_url
 *		The URL of the container credential endpoint, from
 *		AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on 169.254.170.2) or _FULL_URI
 *		(https, or plain http to an allowed host).  NULL with why set when
 *		the setting is unusable.
 */
static char *
sm_container_url(const char *rel, const char *full, StringInfo why)
{
	SmEndpoint	ep;
	const char *perr;
	char	   *host;
	char	   *colon;

	if (rel != NULL)
	{
		if (rel[0] != '/' || sm_has_crlf(rel))
		{
			appendStringInfoString(
				why,
				"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with /");
			return NULL;
		}
		return psprintf("http://169.254.170.2%s", rel);
	}
	if (!sm_parse_endpoint(full, &ep, &perr))
	{
		appendStringInfo(
			why, "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a valid URL: %s",
			perr);
		return NULL;
	}
	if (ep.https)
		return pstrdup(full);
	host = pstrdup(ep.host_header);
	colon = (host[0] == '[') ? strstr(host, "]:") : strrchr(host, ':');
	if (colon != NULL)
		colon[host[0] == '[' ? 1 : 0] = '\0';
	if (sm_container_host_allowed(host))
		return pstrdup(full);
	appendStringInfo(why,
					 "AWS_CONTAINER_CREDENTIALS_FULL_URI uses http with host "
					 "\"%s\"; only https, loopback, 169.254.170.2, "
					 "169.254.170.23 and fd00:ec2::23 are allowed",
					 host);
	return NULL;
}

/*
 * sm_container_auth_header
 *		The Authorization header for the container endpoint, from
 *		AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or _TOKEN, registered as a
 *		secret; *header is NULL when neither is set.  Returns false with why
 *		set when the token is unusable.
 */
static bool
sm_container_auth_header(const char **header, StringInfo why)
{
	const char *token_file =
		sm_getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *token = sm_getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *err;

	*header = NULL;
	if (token_file != NULL)
	{
		token = sm_read_token_file(token_file, &err);
		if (token == NULL)
		{
			appendStringInfo(why, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: %s",
							 err);
			return false;
		}
	}
	if (token == NULL)
		return true;
	if (sm_has_crlf(token))
	{
		appendStringInfoString(
			why, "the container authorization token contains a line break");
		return false;
	}
	*header = sm_secret_str(psprintf("Authorization: %s", token));
	return true;
}

/*
 * sm_provider_container
 *		The ECS / EKS Pod Identity credential endpoint, tried up to three
 *		times as the SDKs do (again only after a network error or HTTP 5xx).
 */
static SmProviderResult
sm_provider_container(const SmTarget *target, SmCredentials *out,
					  StringInfo why)
{
	const char *rel = sm_getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = sm_getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *headers[2];
	int			n = 0;
	char	   *url;
	const char *err;
	SmResponse	resp;

	if (rel == NULL && full == NULL)
	{
		appendStringInfoString(why, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
									"and _FULL_URI are not set");
		return SM_PROVIDER_NOT_CONFIGURED;
	}
	if ((url = sm_container_url(rel, full, why)) == NULL)
		return SM_PROVIDER_FAILED;
	out->detail = pstrdup(rel ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
							  : "AWS_CONTAINER_CREDENTIALS_FULL_URI");
	headers[n++] = "Accept: application/json";
	if (!sm_container_auth_header(&headers[n], why))
		return SM_PROVIDER_FAILED;
	if (headers[n] != NULL)
		n++;

	for (int attempt = 1;; attempt++)
	{
		bool fetched =
			sm_cred_fetch("GET", url, headers, n, NULL, target->ca_file,
						  target->credential_timeout_ms, &resp, &err);

		if (fetched && resp.http_status == 200)
			return sm_found_if(sm_parse_credentials_json(
				&resp, out, "the container endpoint", why));
		if (attempt == 3 || (fetched && resp.http_status < 500))
			break;
	}
	if (resp.curl_code != CURLE_OK)
		appendStringInfoString(why, err);
	else
		appendStringInfo(why, "the container endpoint returned HTTP %ld: %s",
						 resp.http_status,
						 sm_remote_text(resp.body, resp.body_len));
	return SM_PROVIDER_FAILED;
}

/*
 * sm_imds_endpoint
 *		Where instance metadata is: AWS_EC2_METADATA_SERVICE_ENDPOINT, else
 *		the config file's ec2_metadata_service_endpoint, else the IPv4 or
 *		(AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6) IPv6 address.
 */
static bool
sm_imds_endpoint(const SmTarget *target, SmEndpoint *ep, StringInfo why)
{
	const char *endpoint = sm_getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = sm_getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	const char *perr;

	if (endpoint == NULL)
		endpoint = sm_shared_config_value(
			sm_shared_config_profile_name(target->profile),
			"ec2_metadata_service_endpoint");
	if (endpoint == NULL)
		endpoint = (mode != NULL && pg_strcasecmp(mode, "IPv6") == 0)
					   ? "http://[fd00:ec2::254]"
					   : "http://169.254.169.254";
	if (sm_parse_endpoint(endpoint, ep, &perr))
		return true;
	appendStringInfo(
		why, "AWS_EC2_METADATA_SERVICE_ENDPOINT is not a valid URL: %s", perr);
	return false;
}

/*
 * sm_imds_get
 *		GET a path of the instance's security credentials (path_suffix after
 *		".../iam/security-credentials/") with the session token header.
 *		Returns false with why set on a network failure.
 */
static bool
sm_imds_get(const SmTarget *target, const SmEndpoint *ep,
			const char *token_header, const char *path_suffix,
			SmResponse *resp, StringInfo why)
{
	const char *err;

	if (sm_cred_fetch(
			"GET",
			psprintf("%s/latest/meta-data/iam/security-credentials/%s",
					 ep->base_url, path_suffix),
			&token_header, 1, NULL, target->ca_file,
			target->credential_timeout_ms, resp, &err))
		return true;
	appendStringInfo(why, "instance metadata: %s", err);
	return false;
}

/*
 * sm_provider_imds
 *		EC2 instance metadata, IMDSv2: a session token, the role name, the
 *		role's credentials.  IMDSv1 is never used.  The session token and
 *		every reply are registered as secrets, so every exit zeroes them.
 */
static SmProviderResult
sm_provider_imds(const SmTarget *target, SmCredentials *out, StringInfo why)
{
	const char *disabled = sm_getenv("AWS_EC2_METADATA_DISABLED");
	const char *ttl_header = "x-aws-ec2-metadata-token-ttl-seconds: 21600";
	SmEndpoint	ep;
	const char *err;
	SmResponse	resp;
	char	   *token_header;
	char	   *role;
	char	   *nl;

	if (disabled != NULL && pg_strcasecmp(disabled, "false") != 0)
	{
		appendStringInfoString(why, "disabled by AWS_EC2_METADATA_DISABLED");
		return SM_PROVIDER_NOT_CONFIGURED;
	}
	if (!sm_imds_endpoint(target, &ep, why))
		return SM_PROVIDER_FAILED;

	/* 1. a session token */
	if (!sm_cred_fetch("PUT", psprintf("%s/latest/api/token", ep.base_url),
					   &ttl_header, 1, "", target->ca_file,
					   target->credential_timeout_ms, &resp, &err))
	{
		/* off EC2 this is the usual outcome: not configured, not broken */
		appendStringInfo(why, "no instance metadata service at %s (%s)",
						 ep.host_header, err);
		return SM_PROVIDER_NOT_CONFIGURED;
	}
	if (resp.http_status != 200 || resp.body_len == 0 ||
		sm_has_crlf(resp.body))
	{
		appendStringInfo(why,
						 "the instance metadata service at %s refused a "
						 "session token (HTTP %ld)",
						 ep.host_header, resp.http_status);
		return SM_PROVIDER_FAILED;
	}
	token_header =
		sm_secret_str(psprintf("x-aws-ec2-metadata-token: %s", resp.body));

	/* 2. the role */
	if (!sm_imds_get(target, &ep, token_header, "", &resp, why))
		return SM_PROVIDER_FAILED;
	if (resp.http_status != 200)
	{
		appendStringInfo(why,
						 "the instance has no IAM role (instance metadata "
						 "returned HTTP %ld)",
						 resp.http_status);
		return SM_PROVIDER_FAILED;
	}
	role = pstrdup(resp.body);
	if ((nl = strpbrk(role, "\r\n")) != NULL)
		*nl = '\0';
	role = sm_remote_text(role, strlen(role));
	if (role[0] == '\0' || strpbrk(role, "/?#%") != NULL)
	{
		appendStringInfoString(
			why, "instance metadata returned no usable role name");
		return SM_PROVIDER_FAILED;
	}

	/* 3. its credentials */
	if (!sm_imds_get(target, &ep, token_header, role, &resp, why))
		return SM_PROVIDER_FAILED;
	if (resp.http_status != 200)
	{
		appendStringInfo(why,
						 "instance metadata returned HTTP %ld for the "
						 "credentials of role \"%s\"",
						 resp.http_status, role);
		return SM_PROVIDER_FAILED;
	}
	out->detail = psprintf("role %s", role);
	return sm_found_if(
		sm_parse_credentials_json(&resp, out, "instance metadata", why));
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
	return result;
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
 *		is the one place where the SigV4 signing-key cache is to be cleared
 *		(sm_sign_forget_keys() of aws_sign.h, when that exists).
 */
static void
sm_credentials_changed(void)
{
	/* XXX: sm_sign_forget_keys(); -- clears the SigV4 signing-key cache */
}

/*
 * sm_cache_key
 *		What the cached credentials are valid for: the resolved profile
 *		name.  The one place that decides when the cache no longer fits the
 *		settings of a call.
 */
static const char *
sm_cache_key(const SmTarget *target)
{
	return sm_shared_config_profile_name(target->profile);
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
	sm_credentials_changed();
}

/* Drop cached credentials. */
void
sm_credentials_reset(void)
{
	sm_credentials_replace(NULL, NULL);
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
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the AWS credentials from the %s source have expired",
						sm_cached->source),
				 errdetail("They expired at %s.",
						   timestamptz_to_str(sm_cached->expiration)),
				 errhint("Renew the credentials of that source.")));
	return sm_cached;
}

/*
 * sm_credentials_refresh_after_rejection
 *		The service refused our session token as expired or invalid: fetch
 *		new credentials now.  Returns true when different credentials were
 *		found (worth one more attempt).  Static credentials cannot change.
 */
bool
sm_credentials_refresh_after_rejection(const SmTarget *target)
{
	StringInfoData tried;
	SmCredentials *fresh;
	bool		   changed;

	if (sm_cached == NULL || !sm_cached->expires)
		return false;
	initStringInfo(&tried);
	fresh = sm_credentials_resolve(target, &tried, false);
	if (fresh == NULL)
		return false;
	changed =
		strcmp(fresh->access_key_id, sm_cached->access_key_id) != 0 ||
		(fresh->session_token != NULL && sm_cached->session_token != NULL &&
		 strcmp(fresh->session_token, sm_cached->session_token) != 0);
	sm_credentials_replace(fresh, sm_cache_key(target));
	sm_last_refresh_try = GetCurrentTimestamp();
	return changed;
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

/*
 * credentials_info()
 *		Which credentials this backend signs with: source, detail, access
 *		key id, whether there is a session token, expiry, region.  Never a
 *		secret.  Uses only sm_credentials_describe().
 */
PG_FUNCTION_INFO_V1(sm_credentials_info);

#define SM_CREDENTIALS_INFO_COLS 6

Datum
sm_credentials_info(PG_FUNCTION_ARGS)
{
	SmTarget		  target;
	SmCredentialsInfo info;
	TupleDesc		  tupdesc;
	Datum			  values[SM_CREDENTIALS_INFO_COLS];
	bool			  nulls[SM_CREDENTIALS_INFO_COLS];
	int				  i = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	sm_resolve_target(&target);
	sm_credentials_describe(&target, &info);

	memset(nulls, false, sizeof(nulls));
	values[i++] = CStringGetTextDatum(info.source);
	nulls[i] = info.detail == NULL;
	values[i++] = info.detail ? CStringGetTextDatum(info.detail) : (Datum) 0;
	values[i++] = CStringGetTextDatum(info.access_key_id);
	values[i++] = BoolGetDatum(info.has_session_token);
	nulls[i] = !info.expires;
	values[i++] =
		info.expires ? TimestampTzGetDatum(info.expiration) : (Datum) 0;
	values[i++] = CStringGetTextDatum(target.region);
	Assert(i == SM_CREDENTIALS_INFO_COLS);
	PG_RETURN_DATUM(
		HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
