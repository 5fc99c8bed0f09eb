/*-------------------------------------------------------------------------
 *
 * cred_providers.c
 *		The credential sources, each on its own: the environment, the shared
 *		config and credentials files (static keys and roles), web identity,
 *		the container endpoint and EC2 instance metadata (IMDSv2).
 *
 * Each provider either fills in credentials, says why it is not configured,
 * or says why it failed; the order in which they are tried, and what is
 * done with the answer, is credentials.c's business.  Every provider runs
 * inside a credential lookup (sm_secret_context_create()), and registers
 * each copy of a secret it makes with sm_secret(), so that nothing here has
 * to scrub before returning.  No GUC is read: the settings come in the
 * SmTarget.
 *
 * IDENTIFICATION
 *		src/cred_providers.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "cred_fetch.h"
#include "cred_providers.h"
#include "parse_util.h"
#include "redact_pg.h"
#include "reply.h"
#include "shared_config.h"
#include "sts.h"

/* role chains longer than this are refused */
#define SM_MAX_ROLE_CHAIN 4

static SmProviderResult sm_env_credentials(SmCredentials *out, StringInfo why);
static void				sm_set_keys(SmCredentials *out, const char *akid,
									const char *secret, const char *token);
static SmProviderResult sm_profile_credentials(const SmTarget *target,
											   const char *profile, int depth,
											   SmCredentials *out,
											   StringInfo	  why);

/* Whether a string holds a CR or LF (it would split an HTTP header). */
static bool
sm_has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

/*
 * sm_has_control
 *		Whether a string holds an ASCII control character (CR and LF
 *		included) or DEL: none belongs in a key, a token or a header value,
 *		and none may go out raw in a header.
 */
static bool
sm_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

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
SmProviderResult
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
 * sm_env_usable
 *		Whether the value of environment variable name can go into a signed
 *		request; if not, why names the variable (never the value).
 */
static bool
sm_env_usable(const char *name, const char *value, StringInfo why)
{
	if (sm_has_crlf(value))
		appendStringInfo(why, "%s contains a line break", name);
	else if (sm_has_control(value))
		appendStringInfo(why, "%s contains a control character", name);
	else
		return true;
	return false;
}

/*
 * sm_env_credentials
 *		AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (or
 *		the legacy AWS_SECURITY_TOKEN) of the server process.
 */
static SmProviderResult
sm_env_credentials(SmCredentials *out, StringInfo why)
{
	const char		*akid = sm_getenv("AWS_ACCESS_KEY_ID");
	const char		*secret = sm_getenv("AWS_SECRET_ACCESS_KEY");
	const char		*token = sm_getenv("AWS_SESSION_TOKEN");
	const char		*exp = sm_getenv("AWS_CREDENTIAL_EXPIRATION");
	SmProviderResult r;

	if (token == NULL)
		token = sm_getenv("AWS_SECURITY_TOKEN");
	r = sm_env_pair("AWS_ACCESS_KEY_ID", akid, "AWS_SECRET_ACCESS_KEY", secret,
					why);
	if (r != SM_PROVIDER_FOUND)
		return r;
	if (!sm_env_usable("AWS_ACCESS_KEY_ID", akid, why) ||
		!sm_env_usable("AWS_SECRET_ACCESS_KEY", secret, why) ||
		(token != NULL &&
		 !sm_env_usable(sm_getenv("AWS_SESSION_TOKEN") ? "AWS_SESSION_TOKEN"
													   : "AWS_SECURITY_TOKEN",
						token, why)))
		return SM_PROVIDER_FAILED;
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
SmProviderResult
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
SmProviderResult
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
	if (sm_has_control(out->access_key_id) ||
		sm_has_control(out->secret_access_key) ||
		(out->session_token != NULL && sm_has_control(out->session_token)))
	{
		appendStringInfo(why,
						 "%s returned credentials that contain a control "
						 "character",
						 what);
		return false;
	}
	/* temporary credentials without a time limit are refused (botocore) */
	if (exp == NULL)
	{
		appendStringInfo(why, "%s returned no Expiration string", what);
		return false;
	}
	if (!sm_parse_time(exp, &out->expiration))
	{
		appendStringInfo(
			why, "%s returned an Expiration that is not an ISO 8601 time",
			what);
		return false;
	}
	out->expires = true;
	return true;
}

/*
 * sm_container_host_allowed
 *		Plain-http full URIs may only point at a loopback address or the
 *		ECS/EKS link-local addresses (the rule of the AWS SDK for
 *		JavaScript's checkUrl): anything else could hand the authorization
 *		token to another host in clear text.  Host names are compared
 *		exactly; "127.attacker.example" is not loopback.
 */
static bool
sm_container_host_allowed(const char *host)
{
	return sm_host_is_loopback(host) || strcmp(host, "169.254.170.2") == 0 ||
		   strcmp(host, "169.254.170.23") == 0 ||
		   strcmp(host, "[fd00:ec2::23]") == 0;
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
	if (ep.https || sm_container_host_allowed(ep.host))
		return pstrdup(full);
	appendStringInfo(why,
					 "AWS_CONTAINER_CREDENTIALS_FULL_URI uses http with host "
					 "\"%s\"; only https, loopback, 169.254.170.2, "
					 "169.254.170.23 and fd00:ec2::23 are allowed",
					 ep.host);
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
	if (sm_has_crlf(token) || sm_has_control(token))
	{
		appendStringInfo(why,
						 "the container authorization token (%s) contains a "
						 "%s",
						 token_file ? "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
									: "AWS_CONTAINER_AUTHORIZATION_TOKEN",
						 sm_has_crlf(token) ? "line break"
											: "control character");
		return false;
	}
	sm_redact_register(token); /* redact.h */
	*header = sm_secret_str(psprintf("Authorization: %s", token));
	return true;
}

/*
 * sm_provider_container
 *		The ECS / EKS Pod Identity credential endpoint, tried up to three
 *		times as the SDKs do (again only after a network error or HTTP 5xx).
 */
SmProviderResult
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
		appendStringInfo(
			why, "the container endpoint returned HTTP %ld%s%s",
			resp.http_status, resp.body_len > 0 ? ": " : "",
			resp.body_len > 0 ? sm_remote_text(resp.body, resp.body_len) : "");
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
SmProviderResult
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
	if (resp.http_status == 200 && resp.body_len > 0 &&
		(sm_has_control(resp.body) || strlen(resp.body) != resp.body_len))
	{
		appendStringInfo(why,
						 "the instance metadata service at %s returned a "
						 "session token that contains a control character",
						 ep.host_header);
		return SM_PROVIDER_FAILED;
	}
	if (resp.http_status != 200 || resp.body_len == 0)
	{
		appendStringInfo(why,
						 "the instance metadata service at %s refused a "
						 "session token (HTTP %ld)",
						 ep.host_header, resp.http_status);
		return SM_PROVIDER_FAILED;
	}
	sm_redact_register(resp.body); /* redact.h */
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
