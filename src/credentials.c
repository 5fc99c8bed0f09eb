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
 *	2. shared files: the active profile (segment_membership.profile, else
 *	   AWS_PROFILE, else "default") of AWS_CONFIG_FILE / AWS_SHARED_-
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
 * the SDKs do.  STS is reached at its regional endpoint, or
 * AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL.
 *
 * Temporary credentials are refreshed ahead of expiry with botocore's
 * timings: an advisory refresh from 15 minutes before expiry (a failure
 * keeps the old credentials), a mandatory one from 10 minutes before (a
 * failure still keeps them while they are valid, with a warning).  After an
 * "expired token" reply the transport asks for one forced refresh.  Every
 * fetch goes through sm_http_fetch(): short timeouts, interruptible waits.
 *
 * Secrets live in a memory context of their own and are zeroed before it
 * is reset; no message ever contains a secret key, a session token, a web
 * identity token, a container authorization token or an IMDS token.
 *
 * IDENTIFICATION
 *		src/credentials.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/htup_details.h"
#include "config.h"
#include "credentials.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "reply.h"
#include "shared_config.h"
#include "sigv4.h"
#include "storage/fd.h"
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
#define SM_MAX_TOKEN_FILE (64 * 1024)
#define SM_MAX_CRED_REPLY (1024 * 1024)

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
static char		  *sm_cached_profile = NULL; /* profile name when resolved */
static TimestampTz sm_cached_at = 0;
static TimestampTz sm_last_refresh_try = 0;

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

/* ----------------------------------------------------------------
 * Small helpers
 * ----------------------------------------------------------------
 */

/* Zero a string in place (NULL is fine). */
static void
sm_scrub(char *s)
{
	if (s != NULL)
		explicit_bzero(s, strlen(s));
}

/* Zero the secrets of a credentials struct. */
static void
sm_scrub_credentials(SmCredentials *c)
{
	if (c != NULL)
	{
		sm_scrub(c->secret_access_key);
		sm_scrub(c->session_token);
	}
}

/* Whether a string holds a CR or LF (it would split an HTTP header). */
static bool
sm_has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

/*
 * sm_parse_iso8601
 *		Parse "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)" as AWS writes
 *		expirations.  Returns false for anything else.
 */
static bool
sm_parse_iso8601(const char *s, TimestampTz *out)
{
	int			y, mo, d, h, mi, sec;
	int			n = 0;
	const char *p;
	long		offset = 0;
	int64		days;
	int64		secs;
	int			yy;
	int			m;

	if (s == NULL ||
		sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
			   &n) != 6 ||
		n != 19)
		return false;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
		h > 23 || mi > 59 || sec > 60)
		return false;
	p = s + n;
	if (*p == '.')
	{
		p++;
		while (isdigit((unsigned char) *p))
			p++;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-')
	{
		int oh, om;

		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
			return false;
		offset = (oh * 60L + om) * 60L * (*p == '+' ? 1 : -1);
		p += 6;
	}
	else
		return false;
	if (*p != '\0')
		return false;

	/* days from civil (Howard Hinnant's algorithm) */
	yy = y - (mo <= 2);
	m = mo;
	{
		int era = yy / 400;
		int yoe = yy - era * 400;
		int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
		int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

		days = (int64) era * 146097 + doe - 719468;
	}
	secs = days * 86400 + h * 3600 + mi * 60 + sec - offset;
	*out = (TimestampTz) (secs -
						  ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) *
						   SECS_PER_DAY)) *
		   USECS_PER_SEC;
	return true;
}

/*
 * sm_read_small_file
 *		Read a token file (trimmed).  Returns NULL and sets *why when it
 *		cannot be read.
 */
static char *
sm_read_small_file(const char *path, const char **why)
{
	FILE  *f;
	char  *buf;
	size_t n;
	char  *start;
	char  *end;

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
	start = buf;
	while (*start && isspace((unsigned char) *start))
		start++;
	end = start + strlen(start);
	while (end > start && isspace((unsigned char) end[-1]))
		*--end = '\0';
	if (*start == '\0')
	{
		*why = psprintf("\"%s\" is empty", path);
		return NULL;
	}
	return start;
}

/* Append x-www-form-urlencoded "&key=value". */
static void
sm_form_add(StringInfo buf, const char *key, const char *value)
{
	size_t need = sigv4_uri_encode(value, strlen(value), false, NULL, 0);
	char  *enc = palloc(need + 1);

	sigv4_uri_encode(value, strlen(value), false, enc, need + 1);
	appendStringInfo(buf, "%s%s=%s", buf->len > 0 ? "&" : "", key, enc);
}

/*
 * sm_xml_text
 *		The text of the first <tag>...</tag> in xml (entities decoded), or
 *		NULL.  Enough for the flat STS responses.
 */
static char *
sm_xml_text(const char *xml, const char *tag)
{
	char		  *open = psprintf("<%s>", tag);
	char		  *close = psprintf("</%s>", tag);
	const char	  *start = strstr(xml, open);
	const char	  *end;
	StringInfoData out;
	const char	  *p;

	if (start == NULL)
		return NULL;
	start += strlen(open);
	end = strstr(start, close);
	if (end == NULL)
		return NULL;
	initStringInfo(&out);
	for (p = start; p < end; p++)
	{
		if (*p == '&')
		{
			static const struct
			{
				const char *ent;
				char		c;
			} ents[] = {{"&amp;", '&'},
						{"&lt;", '<'},
						{"&gt;", '>'},
						{"&quot;", '"'},
						{"&apos;", '\''}};
			int i;

			for (i = 0; i < lengthof(ents); i++)
			{
				size_t l = strlen(ents[i].ent);

				if (end - p >= (long) l && strncmp(p, ents[i].ent, l) == 0)
				{
					appendStringInfoChar(&out, ents[i].c);
					p += l - 1;
					break;
				}
			}
			if (i == lengthof(ents))
				appendStringInfoChar(&out, *p);
		}
		else
			appendStringInfoChar(&out, *p);
	}
	return out.data;
}

/* A short, printable rendering of a remote peer's text, for messages. */
static char *
sm_remote_text(const char *s, size_t len)
{
	char buf[256];

	sm_reply_sanitize(s, len, buf, sizeof(buf));
	return pstrdup(buf);
}

/*
 * sm_fetch
 *		One request to a credential endpoint with the credential timeouts.
 *		Returns false and sets *why on a network failure.
 */
static bool
sm_fetch(const char *method, const char *url, const char **headers,
		 int nheaders, const char *body, const char *ca_file, SmResponse *resp,
		 const char **why)
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
	spec.connect_timeout_ms = sm_guc_credential_timeout_ms;
	spec.timeout_ms = sm_guc_credential_timeout_ms;
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
 * STS
 * ----------------------------------------------------------------
 */

/*
 * sm_sts_endpoint
 *		Where STS calls go: AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else
 *		the regional endpoint of the call's region.
 */
static void
sm_sts_endpoint(const SmTarget *target, SmEndpoint *ep)
{
	const char *url = NULL;
	const char *src = NULL;
	const char *why;
	char	   *v;

	if ((v = sm_getenv("AWS_ENDPOINT_URL_STS")) != NULL)
		url = v, src = "AWS_ENDPOINT_URL_STS";
	else if ((v = sm_getenv("AWS_ENDPOINT_URL")) != NULL)
		url = v, src = "AWS_ENDPOINT_URL";
	else
	{
		url = psprintf("https://sts.%s.amazonaws.com", target->region);
		src = "the regional STS endpoint";
	}
	if (!sm_parse_endpoint(url, ep, &why))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("invalid STS endpoint URL in %s", src),
						errdetail("%s", why)));
}

/*
 * sm_sts_call
 *		POST a form to STS, signed with signer (or unsigned when NULL), and
 *		turn the <Credentials> of a 200 reply into *out.  On failure returns
 *		false with the STS error code and message in why.
 */
static bool
sm_sts_call(const SmTarget *target, const char *action, const char *form,
			const SmCredentials *signer, SmCredentials *out, StringInfo why)
{
	static const char form_type[] =
		"application/x-www-form-urlencoded; charset=utf-8";
	SmEndpoint	ep;
	SmResponse	resp;
	const char *headers[8];
	int			n = 0;
	const char *err;
	char	   *url;
	char	   *path;
	char	   *expiration;

	sm_sts_endpoint(target, &ep);
	path = psprintf("%s/", ep.path_prefix);
	url = psprintf("%s://%s%s", ep.https ? "https" : "http", ep.host_header,
				   path);
	headers[n++] = "Accept: text/xml";
	if (signer == NULL)
	{
		headers[n++] = psprintf("Host: %s", ep.host_header);
		headers[n++] = psprintf("Content-Type: %s", form_type);
	}
	else if (!sm_sign_headers(signer, ep.host_header, path, form_type, form,
							  strlen(form), target->region, "sts", NULL,
							  headers, &n))
	{
		appendStringInfo(
			why, "%s could not be signed with the source credentials", action);
		return false;
	}

	if (!sm_fetch("POST", url, headers, n, form, target->ca_file, &resp, &err))
	{
		appendStringInfo(why, "STS %s: %s", action, err);
		return false;
	}
	if (resp.http_status != 200)
	{
		char *code = sm_xml_text(resp.body, "Code");
		char *msg = sm_xml_text(resp.body, "Message");

		appendStringInfo(why, "STS %s at %s returned HTTP %ld%s%s%s%s", action,
						 ep.host_header, resp.http_status, code ? " " : "",
						 code ? sm_remote_text(code, strlen(code)) : "",
						 msg ? ": " : "",
						 msg ? sm_remote_text(msg, strlen(msg)) : "");
		return false;
	}
	out->access_key_id = sm_xml_text(resp.body, "AccessKeyId");
	out->secret_access_key = sm_xml_text(resp.body, "SecretAccessKey");
	out->session_token = sm_xml_text(resp.body, "SessionToken");
	expiration = sm_xml_text(resp.body, "Expiration");
	explicit_bzero(resp.body, resp.body_len);
	if (out->access_key_id == NULL || out->secret_access_key == NULL ||
		out->session_token == NULL || expiration == NULL ||
		!sm_parse_iso8601(expiration, &out->expiration))
	{
		appendStringInfo(
			why, "STS %s returned a reply without usable credentials", action);
		return false;
	}
	out->expires = true;
	return true;
}

/* The RoleSessionName to use. */
static const char *
sm_session_name(const char *configured)
{
	if (configured != NULL && configured[0] != '\0')
		return configured;
	return psprintf("segment-membership-%ld", (long) time(NULL));
}

/*
 * sm_assume_role_with_web_identity
 *		STS AssumeRoleWithWebIdentity with the token in token_file (read now,
 *		so that rotated tokens are picked up at every refresh).
 */
static bool
sm_assume_role_with_web_identity(const SmTarget *target, const char *role_arn,
								 const char *token_file,
								 const char *session_name, SmCredentials *out,
								 StringInfo why)
{
	StringInfoData form;
	const char	  *err;
	char		  *token = sm_read_small_file(token_file, &err);
	bool		   ok;

	if (token == NULL)
	{
		appendStringInfo(why, "web identity token file: %s", err);
		return false;
	}
	initStringInfo(&form);
	sm_form_add(&form, "Action", "AssumeRoleWithWebIdentity");
	sm_form_add(&form, "Version", "2011-06-15");
	sm_form_add(&form, "RoleArn", role_arn);
	sm_form_add(&form, "RoleSessionName", sm_session_name(session_name));
	sm_form_add(&form, "WebIdentityToken", token);
	sm_scrub(token);
	ok = sm_sts_call(target, "AssumeRoleWithWebIdentity", form.data, NULL, out,
					 why);
	explicit_bzero(form.data, form.len);
	return ok;
}

/*
 * sm_assume_role
 *		STS AssumeRole, signed with the source credentials.
 */
static bool
sm_assume_role(const SmTarget *target, const char *role_arn,
			   const char *session_name, const char *external_id,
			   const char *duration, const SmCredentials *source,
			   SmCredentials *out, StringInfo why)
{
	StringInfoData form;

	initStringInfo(&form);
	sm_form_add(&form, "Action", "AssumeRole");
	sm_form_add(&form, "Version", "2011-06-15");
	sm_form_add(&form, "RoleArn", role_arn);
	sm_form_add(&form, "RoleSessionName", sm_session_name(session_name));
	if (external_id != NULL)
		sm_form_add(&form, "ExternalId", external_id);
	if (duration != NULL)
		sm_form_add(&form, "DurationSeconds", duration);
	return sm_sts_call(target, "AssumeRole", form.data, source, out, why);
}

/* ----------------------------------------------------------------
 * The providers
 * ----------------------------------------------------------------
 */

/*
 * sm_provider_environment
 *		The environment provider: skipped when segment_membership.profile
 *		names a profile, as the SDKs skip it for a profile chosen in code.
 */
static SmProviderResult
sm_provider_environment(const SmTarget *target, SmCredentials *out,
						StringInfo why)
{
	if (sm_guc_profile != NULL && sm_guc_profile[0] != '\0')
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

	if (token == NULL)
		token = sm_getenv("AWS_SECURITY_TOKEN");
	if (akid == NULL && secret == NULL)
	{
		appendStringInfoString(
			why, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
		return SM_PROVIDER_NOT_CONFIGURED;
	}
	if (akid == NULL || secret == NULL)
	{
		appendStringInfo(why, "%s is set but %s is not",
						 akid ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
						 akid ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		return SM_PROVIDER_FAILED;
	}
	out->access_key_id = pstrdup(akid);
	out->secret_access_key = pstrdup(secret);
	out->session_token = token ? pstrdup(token) : NULL;
	if (exp != NULL)
	{
		if (!sm_parse_iso8601(exp, &out->expiration))
		{
			appendStringInfoString(
				why, "AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time");
			return SM_PROVIDER_FAILED;
		}
		out->expires = true;
	}
	return SM_PROVIDER_FOUND;
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
 * sm_profile_credentials
 *		The credentials of one profile of the shared files, following
 *		source_profile chains up to SM_MAX_ROLE_CHAIN roles.
 */
static SmProviderResult
sm_profile_credentials(const SmTarget *target, const char *profile, int depth,
					   SmCredentials *out, StringInfo why)
{
	SmProfileSection config;
	SmProfileSection creds;
	const char		*role_arn;
	const char		*akid;
	const char		*secret;
	const char		*token;
	SmProviderResult result = SM_PROVIDER_NOT_CONFIGURED;

	sm_shared_config_read_profile(profile, false, &config);
	sm_shared_config_read_profile(profile, true, &creds);

	role_arn = sm_profile_get(&config, "role_arn");
	if (role_arn != NULL)
	{
		const char *source_profile = sm_profile_get(&config, "source_profile");
		const char *credential_source =
			sm_profile_get(&config, "credential_source");
		const char *token_file =
			sm_profile_get(&config, "web_identity_token_file");
		const char	 *session = sm_profile_get(&config, "role_session_name");
		SmCredentials source;

		memset(&source, 0, sizeof(source));
		out->detail = psprintf("profile \"%s\", role %s", profile, role_arn);
		if (token_file != NULL)
			result = sm_assume_role_with_web_identity(
						 target, role_arn, token_file, session, out, why)
						 ? SM_PROVIDER_FOUND
						 : SM_PROVIDER_FAILED;
		else if (source_profile != NULL || credential_source != NULL)
		{
			SmProviderResult sr;

			if (source_profile != NULL && credential_source != NULL)
			{
				appendStringInfo(why,
								 "profile \"%s\" sets both source_profile and "
								 "credential_source",
								 profile);
				result = SM_PROVIDER_FAILED;
			}
			else
			{
				if (source_profile != NULL)
				{
					if (depth >= SM_MAX_ROLE_CHAIN)
					{
						appendStringInfo(
							why,
							"profile \"%s\": role chain longer than %d roles "
							"(a source_profile loop?)",
							profile, SM_MAX_ROLE_CHAIN);
						sr = SM_PROVIDER_FAILED;
					}
					else if (strcmp(source_profile, profile) == 0 &&
							 depth == 0 &&
							 (sm_profile_get(&creds, "aws_access_key_id") !=
								  NULL ||
							  sm_profile_get(&config, "aws_access_key_id") !=
								  NULL))
					{
						/* a profile may name itself for its static keys */
						source.access_key_id =
							(char *) (sm_profile_get(&creds,
													 "aws_access_key_id")
										  ? sm_profile_get(&creds,
														   "aws_access_key_id")
										  : sm_profile_get(
												&config, "aws_access_key_id"));
						source.secret_access_key =
							(char *) (sm_profile_get(&creds,
													 "aws_secret_access_key")
										  ? sm_profile_get(
												&creds,
												"aws_secret_access_key")
										  : sm_profile_get(
												&config,
												"aws_secret_access_key"));
						sr = source.secret_access_key ? SM_PROVIDER_FOUND
													  : SM_PROVIDER_FAILED;
						if (sr != SM_PROVIDER_FOUND)
							appendStringInfo(
								why,
								"profile \"%s\" has no aws_secret_access_key",
								profile);
					}
					else
					{
						sr = sm_profile_credentials(target, source_profile,
													depth + 1, &source, why);
						if (sr == SM_PROVIDER_NOT_CONFIGURED)
						{
							appendStringInfo(
								why,
								"%ssource_profile \"%s\" of profile \"%s\" "
								"has no credentials",
								why->len > 0 ? "; " : "", source_profile,
								profile);
							sr = SM_PROVIDER_FAILED;
						}
					}
				}
				else
					sr = sm_credential_source(target, credential_source,
											  &source, why);

				if (sr == SM_PROVIDER_FOUND)
					result = sm_assume_role(
								 target, role_arn, session,
								 sm_profile_get(&config, "external_id"),
								 sm_profile_get(&config, "duration_seconds"),
								 &source, out, why)
								 ? SM_PROVIDER_FOUND
								 : SM_PROVIDER_FAILED;
				else
					result = SM_PROVIDER_FAILED;
				sm_scrub_credentials(&source);
			}
		}
		else
		{
			appendStringInfo(
				why,
				"profile \"%s\" has role_arn but neither source_profile, "
				"credential_source nor web_identity_token_file",
				profile);
			result = SM_PROVIDER_FAILED;
		}
	}
	else
	{
		/* static keys: the credentials file first, then the config file */
		SmProfileSection *src = &creds;

		if (sm_profile_get(src, "aws_access_key_id") == NULL &&
			sm_profile_get(src, "aws_secret_access_key") == NULL)
			src = &config;
		akid = sm_profile_get(src, "aws_access_key_id");
		secret = sm_profile_get(src, "aws_secret_access_key");
		token = sm_profile_get(src, "aws_session_token");
		if (token == NULL)
			token = sm_profile_get(src, "aws_security_token");
		if (akid != NULL && secret != NULL)
		{
			out->access_key_id = pstrdup(akid);
			out->secret_access_key = pstrdup(secret);
			out->session_token = token ? pstrdup(token) : NULL;
			out->detail = psprintf("profile \"%s\" in %s", profile, src->file);
			result = SM_PROVIDER_FOUND;
		}
		else if (akid != NULL || secret != NULL)
		{
			appendStringInfo(why,
							 "profile \"%s\" in %s has only one of "
							 "aws_access_key_id and aws_secret_access_key",
							 profile, src->file);
			result = SM_PROVIDER_FAILED;
		}
		else if (config.found || creds.found)
			appendStringInfo(why, "profile \"%s\" has no credentials",
							 profile);
		else
			appendStringInfo(why, "profile \"%s\" is not in %s or %s", profile,
							 config.file ? config.file : "(no config file)",
							 creds.file ? creds.file
										: "(no credentials file)");
	}
	sm_profile_section_scrub(&config);
	sm_profile_section_scrub(&creds);
	return result;
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
	const char		*profile = sm_shared_config_profile_name();
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
	const char *token_file = sm_getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *role_arn = sm_getenv("AWS_ROLE_ARN");

	if (token_file == NULL && role_arn == NULL)
	{
		appendStringInfoString(
			why, "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set");
		return SM_PROVIDER_NOT_CONFIGURED;
	}
	if (token_file == NULL || role_arn == NULL)
	{
		appendStringInfo(
			why, "%s is set but %s is not",
			token_file ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN",
			token_file ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE");
		return SM_PROVIDER_FAILED;
	}
	out->detail = psprintf("role %s", role_arn);
	return sm_assume_role_with_web_identity(target, role_arn, token_file,
											sm_getenv("AWS_ROLE_SESSION_NAME"),
											out, why)
			   ? SM_PROVIDER_FOUND
			   : SM_PROVIDER_FAILED;
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
	out->access_key_id = sm_jsonb_get_text(jb, "AccessKeyId");
	out->secret_access_key = sm_jsonb_get_text(jb, "SecretAccessKey");
	out->session_token = sm_jsonb_get_text(jb, "Token");
	exp = sm_jsonb_get_text(jb, "Expiration");
	explicit_bzero(resp->body, resp->body_len);
	if (out->access_key_id == NULL || out->secret_access_key == NULL)
	{
		appendStringInfo(why, "%s returned no AccessKeyId and SecretAccessKey",
						 what);
		return false;
	}
	if (exp != NULL)
	{
		if (!sm_parse_iso8601(exp, &out->expiration))
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
 * sm_provider_container
 *		The ECS / EKS Pod Identity credential endpoint.
 */
static SmProviderResult
sm_provider_container(const SmTarget *target, SmCredentials *out,
					  StringInfo why)
{
	const char *rel = sm_getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = sm_getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *token_file =
		sm_getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *token = sm_getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char *headers[3];
	int			n = 0;
	char	   *url;
	const char *err;
	SmResponse	resp;
	int			attempt;

	if (rel == NULL && full == NULL)
	{
		appendStringInfoString(why, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
									"and _FULL_URI are not set");
		return SM_PROVIDER_NOT_CONFIGURED;
	}
	if (rel != NULL)
	{
		if (rel[0] != '/' || sm_has_crlf(rel))
		{
			appendStringInfoString(
				why,
				"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with /");
			return SM_PROVIDER_FAILED;
		}
		url = psprintf("http://169.254.170.2%s", rel);
	}
	else
	{
		SmEndpoint	ep;
		const char *perr;

		if (!sm_parse_endpoint(full, &ep, &perr))
		{
			appendStringInfo(
				why,
				"AWS_CONTAINER_CREDENTIALS_FULL_URI is not a valid URL: %s",
				perr);
			return SM_PROVIDER_FAILED;
		}
		if (!ep.https)
		{
			char *host = pstrdup(ep.host_header);
			char *colon =
				(host[0] == '[') ? strstr(host, "]:") : strrchr(host, ':');

			if (colon != NULL)
				colon[host[0] == '[' ? 1 : 0] = '\0';
			if (!sm_container_host_allowed(host))
			{
				appendStringInfo(
					why,
					"AWS_CONTAINER_CREDENTIALS_FULL_URI uses http with host "
					"\"%s\"; only https, loopback, 169.254.170.2, "
					"169.254.170.23 and fd00:ec2::23 are allowed",
					host);
				return SM_PROVIDER_FAILED;
			}
		}
		url = pstrdup(full);
	}
	out->detail = psprintf("%s", rel ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
									 : "AWS_CONTAINER_CREDENTIALS_FULL_URI");

	headers[n++] = "Accept: application/json";
	if (token_file != NULL)
	{
		token = sm_read_small_file(token_file, &err);
		if (token == NULL)
		{
			appendStringInfo(why, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: %s",
							 err);
			return SM_PROVIDER_FAILED;
		}
	}
	if (token != NULL)
	{
		if (sm_has_crlf(token))
		{
			appendStringInfoString(
				why,
				"the container authorization token contains a line break");
			return SM_PROVIDER_FAILED;
		}
		headers[n++] = psprintf("Authorization: %s", token);
	}

	/* the SDKs try the container endpoint up to 3 times */
	for (attempt = 1;; attempt++)
	{
		if (sm_fetch("GET", url, headers, n, NULL, target->ca_file, &resp,
					 &err) &&
			resp.http_status == 200)
			break;
		if (attempt == 3 ||
			(resp.curl_code == CURLE_OK && resp.http_status < 500))
		{
			if (resp.curl_code != CURLE_OK)
				appendStringInfo(why, "%s", err);
			else
				appendStringInfo(
					why, "the container endpoint returned HTTP %ld: %s",
					resp.http_status,
					sm_remote_text(resp.body, resp.body_len));
			if (n > 1)
				sm_scrub((char *) headers[1]);
			return SM_PROVIDER_FAILED;
		}
	}
	if (n > 1)
		sm_scrub((char *) headers[1]);
	return sm_parse_credentials_json(&resp, out, "the container endpoint", why)
			   ? SM_PROVIDER_FOUND
			   : SM_PROVIDER_FAILED;
}

/*
 * sm_provider_imds
 *		EC2 instance metadata, IMDSv2: a session token, the role name, the
 *		role's credentials.  IMDSv1 is never used.
 */
static SmProviderResult
sm_provider_imds(const SmTarget *target, SmCredentials *out, StringInfo why)
{
	const char *disabled = sm_getenv("AWS_EC2_METADATA_DISABLED");
	const char *endpoint = sm_getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = sm_getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	SmEndpoint	ep;
	const char *perr;
	const char *err;
	SmResponse	resp;
	const char *headers[2];
	char	   *token;
	char	   *role;
	char	   *nl;

	if (disabled != NULL && pg_strcasecmp(disabled, "false") != 0)
	{
		appendStringInfoString(why, "disabled by AWS_EC2_METADATA_DISABLED");
		return SM_PROVIDER_NOT_CONFIGURED;
	}
	if (endpoint == NULL)
		endpoint = sm_shared_config_value("ec2_metadata_service_endpoint");
	if (endpoint == NULL)
		endpoint = (mode != NULL && pg_strcasecmp(mode, "IPv6") == 0)
					   ? "http://[fd00:ec2::254]"
					   : "http://169.254.169.254";
	if (!sm_parse_endpoint(endpoint, &ep, &perr))
	{
		appendStringInfo(
			why, "AWS_EC2_METADATA_SERVICE_ENDPOINT is not a valid URL: %s",
			perr);
		return SM_PROVIDER_FAILED;
	}

	/* 1. a session token */
	headers[0] = "x-aws-ec2-metadata-token-ttl-seconds: 21600";
	if (!sm_fetch("PUT", psprintf("%s/latest/api/token", ep.base_url), headers,
				  1, "", target->ca_file, &resp, &err))
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
	token = pstrdup(resp.body);
	explicit_bzero(resp.body, resp.body_len);
	headers[0] = psprintf("x-aws-ec2-metadata-token: %s", token);
	sm_scrub(token);

	/* 2. the role */
	if (!sm_fetch("GET",
				  psprintf("%s/latest/meta-data/iam/security-credentials/",
						   ep.base_url),
				  headers, 1, NULL, target->ca_file, &resp, &err))
	{
		appendStringInfo(why, "instance metadata: %s", err);
		sm_scrub((char *) headers[0]);
		return SM_PROVIDER_FAILED;
	}
	if (resp.http_status != 200)
	{
		appendStringInfo(why,
						 "the instance has no IAM role (instance metadata "
						 "returned HTTP %ld)",
						 resp.http_status);
		sm_scrub((char *) headers[0]);
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
		sm_scrub((char *) headers[0]);
		return SM_PROVIDER_FAILED;
	}

	/* 3. its credentials */
	if (!sm_fetch("GET",
				  psprintf("%s/latest/meta-data/iam/security-credentials/%s",
						   ep.base_url, role),
				  headers, 1, NULL, target->ca_file, &resp, &err))
	{
		appendStringInfo(why, "instance metadata: %s", err);
		sm_scrub((char *) headers[0]);
		return SM_PROVIDER_FAILED;
	}
	sm_scrub((char *) headers[0]);
	if (resp.http_status != 200)
	{
		appendStringInfo(why,
						 "instance metadata returned HTTP %ld for the "
						 "credentials of role \"%s\"",
						 resp.http_status, role);
		return SM_PROVIDER_FAILED;
	}
	out->detail = psprintf("role %s", role);
	return sm_parse_credentials_json(&resp, out, "instance metadata", why)
			   ? SM_PROVIDER_FOUND
			   : SM_PROVIDER_FAILED;
}

/* ----------------------------------------------------------------
 * The chain and the cache
 * ----------------------------------------------------------------
 */

/*
 * sm_credentials_resolve
 *		Run the provider chain.  Returns new credentials allocated in the
 *		credential context, or NULL with the sources tried in *tried when
 *		none has credentials; raises an error when a configured source fails
 *		and fail_hard is set (else returns NULL with the failure in *tried).
 */
static SmCredentials *
sm_credentials_resolve(const SmTarget *target, StringInfo tried,
					   bool fail_hard, const char **failed_source)
{
	MemoryContext  scratch;
	MemoryContext  oldcxt;
	SmCredentials *result = NULL;
	int			   i;

	if (sm_cred_cxt == NULL)
		sm_cred_cxt = AllocSetContextCreate(TopMemoryContext,
											"segment_membership credentials",
											ALLOCSET_SMALL_SIZES);
	*failed_source = NULL;
	scratch = AllocSetContextCreate(CurrentMemoryContext,
									"segment_membership credential lookup",
									ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(scratch);
	for (i = 0; i < lengthof(sm_providers); i++)
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
			MemoryContextSwitchTo(sm_cred_cxt);
			result = palloc0(sizeof(SmCredentials));
			result->access_key_id = pstrdup(c.access_key_id);
			result->secret_access_key = pstrdup(c.secret_access_key);
			result->session_token = (c.session_token && c.session_token[0])
										? pstrdup(c.session_token)
										: NULL;
			result->expires = c.expires;
			result->expiration = c.expiration;
			result->source = sm_providers[i].name;
			result->detail = c.detail ? pstrdup(c.detail) : NULL;
			MemoryContextSwitchTo(scratch);
			sm_scrub_credentials(&c);
			break;
		}
		MemoryContextSwitchTo(oldcxt);
		appendStringInfo(tried, "%s%s: %s", tried->len > 0 ? "; " : "",
						 sm_providers[i].name, why.data);
		MemoryContextSwitchTo(scratch);
		sm_scrub_credentials(&c);
		if (r == SM_PROVIDER_FAILED)
		{
			*failed_source = sm_providers[i].name;
			break;
		}
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(scratch);

	if (result == NULL && *failed_source != NULL && fail_hard)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("could not obtain AWS credentials from the %s source",
						*failed_source),
				 errdetail("Sources tried: %s.", tried->data),
				 errhint("See \"Credentials\" in the segment_membership "
						 "README for the order in which sources are tried.")));
	if (result == NULL && fail_hard)
		ereport(
			ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("no AWS credentials found"),
			 errdetail("Sources tried: %s.", tried->data),
			 errhint("Give the server process AWS credentials: environment "
					 "variables, a profile in ~/.aws of its OS user, a web "
					 "identity token, a container or instance role.")));
	return result;
}

/*
 * sm_credentials_replace
 *		Drop the cached credentials (zeroing them) and cache new ones.
 */
static void
sm_credentials_replace(SmCredentials *fresh)
{
	sm_scrub_credentials(sm_cached);
	if (sm_cached != NULL)
	{
		pfree(sm_cached->access_key_id);
		pfree(sm_cached->secret_access_key);
		if (sm_cached->session_token)
			pfree(sm_cached->session_token);
		if (sm_cached->detail)
			pfree(sm_cached->detail);
		pfree(sm_cached);
	}
	if (sm_cached_profile != NULL)
		pfree(sm_cached_profile);
	sm_cached = fresh;
	sm_cached_profile =
		fresh
			? MemoryContextStrdup(sm_cred_cxt, sm_shared_config_profile_name())
			: NULL;
	sm_cached_at = GetCurrentTimestamp();
}

/* Drop cached credentials. */
void
sm_credentials_reset(void)
{
	sm_credentials_replace(NULL);
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
	const char	  *failed;
	SmCredentials *fresh;

	if (sm_cached != NULL &&
		strcmp(sm_cached_profile, sm_shared_config_profile_name()) != 0)
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
		TimestampTz advisory =
			sm_cached->expiration - SM_ADVISORY_REFRESH_S * USECS_PER_SEC;
		TimestampTz usable_until = sm_usable_until();

		if (now < advisory)
			return sm_cached;
		if (now < usable_until &&
			!TimestampDifferenceExceeds(sm_last_refresh_try, now,
										SM_REFRESH_INTERVAL_S * 1000))
			return sm_cached; /* refreshed (or tried) a moment ago */
		sm_last_refresh_try = now;
		initStringInfo(&tried);
		fresh = sm_credentials_resolve(target, &tried, now >= usable_until,
									   &failed);
		if (fresh != NULL)
		{
			sm_credentials_replace(fresh);
			return sm_cached;
		}
		/* still valid: keep using them, as the SDKs do */
		ereport(WARNING, (errmsg("could not refresh AWS credentials; using "
								 "the current ones until they expire"),
						  errdetail("The credentials from the %s source "
									"expire at %s.  Sources tried: %s.",
									sm_cached->source,
									timestamptz_to_str(sm_cached->expiration),
									tried.data)));
		return sm_cached;
	}

	initStringInfo(&tried);
	fresh = sm_credentials_resolve(target, &tried, true, &failed);
	sm_credentials_replace(fresh);
	sm_last_refresh_try = GetCurrentTimestamp();
	if (sm_cached->expires && sm_usable_until() <= GetCurrentTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the AWS credentials from the %s source have expired",
						sm_cached->source),
				 errdetail("They expired at %s.",
						   timestamptz_to_str(sm_cached->expiration))));
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
	const char	  *failed;
	SmCredentials *fresh;
	bool		   changed;

	if (sm_cached == NULL || !sm_cached->expires)
		return false;
	initStringInfo(&tried);
	fresh = sm_credentials_resolve(target, &tried, false, &failed);
	if (fresh == NULL)
		return false;
	changed =
		strcmp(fresh->access_key_id, sm_cached->access_key_id) != 0 ||
		(fresh->session_token != NULL && sm_cached->session_token != NULL &&
		 strcmp(fresh->session_token, sm_cached->session_token) != 0);
	sm_credentials_replace(fresh);
	sm_last_refresh_try = GetCurrentTimestamp();
	return changed;
}

/*
 * credentials_info()
 *		Which credentials this backend signs with: source, detail, access
 *		key id, whether there is a session token, expiry.  Never a secret.
 *		Looks them up first if needed (so it also tests the configuration).
 */
PG_FUNCTION_INFO_V1(sm_credentials_info);

Datum
sm_credentials_info(PG_FUNCTION_ARGS)
{
	SmTarget			 target;
	const SmCredentials *c;
	TupleDesc			 tupdesc;
	Datum				 values[6];
	bool				 nulls[6];

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	sm_resolve_target(&target);
	c = sm_credentials_get(&target);

	memset(nulls, false, sizeof(nulls));
	values[0] = CStringGetTextDatum(c->source);
	if (c->detail)
		values[1] = CStringGetTextDatum(c->detail);
	else
		nulls[1] = true;
	values[2] = CStringGetTextDatum(c->access_key_id);
	values[3] = BoolGetDatum(c->session_token != NULL);
	if (c->expires)
		values[4] = TimestampTzGetDatum(c->expiration);
	else
		nulls[4] = true;
	values[5] = CStringGetTextDatum(target.region);
	PG_RETURN_DATUM(
		HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
