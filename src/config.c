/*-------------------------------------------------------------------------
 *
 * config.c
 *		Settings of segment_membership: the GUC definitions (the variables
 *		are static here), and their resolution, once per call, into an
 *		SmTarget (region, endpoint, CA bundle, profile) and SmCallLimits.
 *
 * Every setting follows the AWS SDKs' conventions (environment variables
 * of the server process) unless a GUC overrides it.  Settings that decide
 * where signed requests and session tokens go, or whom TLS trusts, are
 * superuser-only (PGC_SUSET); the rest may be changed by any user.  No
 * secret is ever held in a GUC.
 *
 * IDENTIFICATION
 *		src/config.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ascii.h"
#include <stdlib.h>

#include "compat.h"
#include "config.h"
#include "mb/pg_wchar.h"
#include "parse_util.h"
#include "shared_config.h"

/* GUC variables, read only here (resolved into SmTarget / SmCallLimits) */
static char *sm_guc_region = NULL;
static char *sm_guc_endpoint_url = NULL;
static char *sm_guc_ca_file = NULL;
static int	 sm_guc_max_concurrency = 8;
static int	 sm_guc_connect_timeout_ms = 3000;
static int	 sm_guc_request_timeout_ms = 30000;
static int	 sm_guc_max_attempts = 3;
static int	 sm_guc_max_reply_size_kb = 32 * 1024;
static int	 sm_guc_on_request_failure = SM_ON_FAILURE_ERROR;
static char *sm_guc_profile = NULL;
static int	 sm_guc_credential_timeout_ms = 2000;

static const struct config_enum_entry on_request_failure_options[] = {
	{"error", SM_ON_FAILURE_ERROR, false},
	{"failure_rows", SM_ON_FAILURE_ROWS, false},
	{NULL, 0, false}};

static bool sm_check_region(char **newval, void **extra, GucSource source);
static bool sm_check_endpoint_url(char **newval, void **extra,
								  GucSource source);
static bool sm_check_ca_file(char **newval, void **extra, GucSource source);
static bool sm_check_profile(char **newval, void **extra, GucSource source);

/*
 * sm_define_gucs
 *		Define every segment_membership.* setting; called from _PG_init.
 */
void
sm_define_gucs(void)
{
	DefineCustomStringVariable(
		"segment_membership.region",
		"Sets the AWS Region of Customer Profiles requests.",
		"Empty means: AWS_REGION, else AWS_DEFAULT_REGION, else the "
		"region of the AWS profile in use.",
		&sm_guc_region, "", PGC_USERSET, 0, sm_check_region, NULL, NULL);

	DefineCustomStringVariable(
		"segment_membership.endpoint_url",
		"Sets the URL that Customer Profiles requests are sent to.",
		"Empty means: AWS_ENDPOINT_URL_CUSTOMER_PROFILES, else "
		"AWS_ENDPOINT_URL, else https://profile.<region>.amazonaws.com. "
		"Only superusers may change it, because it decides where "
		"signed requests and session tokens go.",
		&sm_guc_endpoint_url, "", PGC_SUSET, 0, sm_check_endpoint_url, NULL,
		NULL);

	DefineCustomStringVariable(
		"segment_membership.ca_file",
		"Sets the file of CA certificates that TLS peers are verified "
		"against.",
		"Empty means: AWS_CA_BUNDLE, else the system's CA store.  "
		"Verification itself cannot be turned off.",
		&sm_guc_ca_file, "", PGC_SUSET, 0, sm_check_ca_file, NULL, NULL);

	DefineCustomStringVariable(
		"segment_membership.profile",
		"Sets the AWS profile of the shared config and credentials files.",
		"Empty means: AWS_PROFILE, else \"default\".  Only superusers "
		"may change it, because it selects the credentials requests "
		"are signed with.",
		&sm_guc_profile, "", PGC_SUSET, 0, sm_check_profile, NULL, NULL);

	DefineCustomIntVariable(
		"segment_membership.max_concurrency",
		"Sets the maximum number of requests one statement keeps in flight.",
		"This is also the most connections a session keeps open.  "
		"1 sends the requests one after another.",
		&sm_guc_max_concurrency, 8, 1, SM_MAX_CONCURRENCY_LIMIT, PGC_USERSET,
		0, NULL, NULL, NULL);

	DefineCustomIntVariable(
		"segment_membership.connect_timeout_ms",
		"Sets the time allowed to establish a connection, TLS included.", NULL,
		&sm_guc_connect_timeout_ms, 3000, 1, 600000, PGC_USERSET, GUC_UNIT_MS,
		NULL, NULL, NULL);

	DefineCustomIntVariable("segment_membership.request_timeout_ms",
							"Sets the time allowed for one request attempt, "
							"from start to last byte.",
							NULL, &sm_guc_request_timeout_ms, 30000, 1,
							3600000, PGC_USERSET, GUC_UNIT_MS, NULL, NULL,
							NULL);

	DefineCustomIntVariable(
		"segment_membership.max_attempts",
		"Sets the maximum number of attempts per request, the first one "
		"included.",
		"Transient errors (throttling, 5xx, connection failures, "
		"timeouts, broken replies) are retried with jittered "
		"exponential backoff, as in the AWS SDKs' standard retry mode.",
		&sm_guc_max_attempts, 3, 1, 10, PGC_USERSET, 0, NULL, NULL, NULL);

	DefineCustomIntVariable(
		"segment_membership.max_reply_size",
		"Sets the largest reply body accepted for one request.",
		"At most 128MB: a reply is parsed into one jsonb value, which "
		"cannot exceed 256MB and may be twice the size of its text.",
		&sm_guc_max_reply_size_kb, 32 * 1024, 64, SM_MAX_REPLY_SIZE_KB,
		PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);

	DefineCustomEnumVariable(
		"segment_membership.on_request_failure",
		"Sets what happens when a request still fails after all its attempts.",
		"\"error\" fails the statement; \"failure_rows\" returns a "
		"failure row for each id of that request and goes on.",
		&sm_guc_on_request_failure, SM_ON_FAILURE_ERROR,
		on_request_failure_options, PGC_USERSET, 0, NULL, NULL, NULL);

	DefineCustomIntVariable(
		"segment_membership.credential_timeout_ms",
		"Sets the time allowed for one request to a credential endpoint.",
		"Applies to the EC2 instance metadata service, the container "
		"credential endpoint and STS.",
		&sm_guc_credential_timeout_ms, 2000, 1, 600000, PGC_SUSET, GUC_UNIT_MS,
		NULL, NULL, NULL);

	sm_reserve_guc_prefix("segment_membership");
}

/*
 * sm_getenv
 *		The value of an environment variable of the server process, or NULL
 *		when it is unset or empty (the AWS SDKs treat both alike).
 */
char *
sm_getenv(const char *name)
{
	char *v = getenv(name);

	return (v != NULL && v[0] != '\0') ? v : NULL;
}

/*
 * sm_valid_region
 *		Whether a string is shaped like an AWS Region name: lower-case
 *		letters and digits in groups joined by single hyphens, at most 32
 *		characters.  The name becomes part of a host name and of the
 *		signing scope, so nothing else may get through.
 */
static bool
sm_valid_region(const char *region)
{
	size_t		len = strlen(region);
	const char *p;

	if (len == 0 || len > 32 || region[0] == '-' || region[len - 1] == '-')
		return false;
	for (p = region; *p; p++)
	{
		if (*p == '-')
		{
			if (p[1] == '-')
				return false;
		}
		else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	}
	return true;
}

/*
 * sm_parse_endpoint
 *		Parse and check an endpoint URL: http or https, a host name or IP
 *		literal, an optional port and an optional path prefix; no user
 *		information, query or fragment (sm_parse_url, parse_util.c).  Sets
 *		out's host to the lower-case host, its Host header to that plus
 *		":port" when the port is not the scheme's default.  On failure
 *		returns false and sets *why to a full sentence.  Allocates in
 *		CurrentMemoryContext and never raises an error, so GUC check hooks
 *		can use it.
 */
bool
sm_parse_endpoint(const char *url, SmEndpoint *out, const char **why)
{
	SmUrlParts	   parts;
	SmUrlError	   err = sm_parse_url(url, &parts);
	StringInfoData buf;

	if (err != SM_URL_OK)
	{
		*why = sm_url_error_text(err);
		return false;
	}
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, parts.host, parts.host_len);
	for (char *c = buf.data; *c; c++)
		*c = pg_ascii_tolower((unsigned char) *c);
	out->https = parts.https;
	out->host = pstrdup(buf.data);
	if (parts.has_port && parts.port != (parts.https ? 443 : 80))
		appendStringInfo(&buf, ":%ld", parts.port);
	out->host_header = buf.data;
	out->path_prefix = pnstrdup(parts.path, parts.path_len);
	sm_endpoint_resource(out, "", NULL, &out->base_url);
	return true;
}

/*
 * sm_endpoint_check_http
 *		Signed requests, session tokens, web identity tokens and the secret
 *		keys STS returns may travel in clear text only to this host: plain
 *		http is allowed to a loopback address (localhost, 127.0.0.0/8, ::1)
 *		only, whatever setting the URL came from.  Returns false and sets
 *		*why otherwise.
 */
bool
sm_endpoint_check_http(const SmEndpoint *ep, const char **why)
{
	if (ep->https || sm_host_is_loopback(ep->host))
		return true;
	*why = "Plain http is allowed only to loopback addresses (localhost, "
		   "127.0.0.0/8, ::1); use https for any other host.";
	return false;
}

/*
 * sm_endpoint_resource
 *		The path (to sign) and the URL (to send to) of a resource below an
 *		endpoint, such as "/domains/d/segments/s/membership".  The one place
 *		a URL is put together from its parts.  Either output may be NULL.
 */
void
sm_endpoint_resource(const SmEndpoint *ep, const char *resource, char **path,
					 char **url)
{
	char *p = psprintf("%s%s", ep->path_prefix, resource);

	if (url != NULL)
		*url = psprintf("%s://%s%s", ep->https ? "https" : "http",
						ep->host_header, p);
	if (path != NULL)
		*path = p;
}

static bool
sm_check_region(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || sm_valid_region(*newval))
		return true;
	GUC_check_errdetail("A region name consists of lower-case letters, digits "
						"and single hyphens, such as \"eu-west-2\".");
	return false;
}

static bool
sm_check_endpoint_url(char **newval, void **extra, GucSource source)
{
	SmEndpoint	ep;
	const char *why;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (sm_parse_endpoint(*newval, &ep, &why) &&
		sm_endpoint_check_http(&ep, &why))
		return true;
	GUC_check_errdetail("%s", why);
	return false;
}

static bool
sm_check_ca_file(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || is_absolute_path(*newval))
		return true;
	GUC_check_errdetail("The CA file must be given as an absolute path.");
	return false;
}

static bool
sm_check_profile(char **newval, void **extra, GucSource source)
{
	const char *p;

	if (*newval == NULL)
		return true;
	for (p = *newval; *p; p++)
	{
		if (!(sm_ascii_alnum((unsigned char) *p) || strchr("-_.@+=,", *p)))
		{
			GUC_check_errdetail("A profile name may only contain letters, "
								"digits and -_.@+=, characters.");
			return false;
		}
	}
	return true;
}

/*
 * sm_clip_for_message
 *		A setting's value as quoted in a message: at most 64 characters
 *		(cut on a character boundary of the server encoding), "..." after a
 *		cut, so that a huge environment variable is not echoed in full.
 */
static char *
sm_clip_for_message(const char *v)
{
	size_t len = strlen(v);
	int	   cut;

	if (len <= 64)
		return pstrdup(v);
	cut = pg_mbcliplen(v, len, 64);
	return psprintf("%.*s...", cut, v);
}

/*
 * sm_resolve_region
 *		The region of this call and the setting it came from.
 */
static void
sm_resolve_region(SmTarget *target)
{
	const char *v;
	const char *src;

	if (sm_guc_region != NULL && sm_guc_region[0] != '\0')
	{
		v = sm_guc_region;
		src = "segment_membership.region";
	}
	else if ((v = sm_getenv("AWS_REGION")) != NULL)
		src = "AWS_REGION";
	else if ((v = sm_getenv("AWS_DEFAULT_REGION")) != NULL)
		src = "AWS_DEFAULT_REGION";
	else if ((v = sm_shared_config_value(
				  sm_shared_config_profile_name(target->profile), "region")) !=
			 NULL)
		src = "the AWS config file";
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no AWS Region is configured"),
				 errdetail("Neither segment_membership.region, AWS_REGION, "
						   "AWS_DEFAULT_REGION nor the region of AWS profile "
						   "\"%s\" is set.",
						   sm_shared_config_profile_name(target->profile)),
				 errhint("Set segment_membership.region, for example with "
						 "ALTER DATABASE ... SET segment_membership.region = "
						 "'eu-west-2'.")));

	if (!sm_valid_region(v))
		ereport(
			ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid AWS Region \"%s\" in %s", sm_clip_for_message(v),
					src),
			 errdetail("A region name consists of lower-case letters, "
					   "digits and single hyphens, such as \"eu-west-2\".")));
	target->region = pstrdup(v);
	target->region_source = src;
}

/*
 * sm_env_true
 *		Whether an environment variable holds "true" (any case).
 */
static bool
sm_env_true(const char *name)
{
	const char *v = sm_getenv(name);

	return v != NULL && pg_strcasecmp(v, "true") == 0;
}

/*
 * sm_resolve_target
 *		Work out the region, endpoint and CA bundle for one call, in the
 *		AWS SDKs' order of precedence with the GUCs first.  Raises an error
 *		for a missing region or a malformed setting, naming the setting.
 */
void
sm_resolve_target(SmTarget *target)
{
	const char *url = NULL;
	const char *src = NULL;
	const char *why;

	memset(target, 0, sizeof(*target));
	target->profile = pstrdup(sm_guc_profile != NULL ? sm_guc_profile : "");
	target->credential_timeout_ms = sm_guc_credential_timeout_ms;
	sm_resolve_region(target);

	if (sm_guc_endpoint_url != NULL && sm_guc_endpoint_url[0] != '\0')
	{
		url = sm_guc_endpoint_url;
		src = "segment_membership.endpoint_url";
	}
	else if (!sm_env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
	{
		if ((url = sm_getenv("AWS_ENDPOINT_URL_CUSTOMER_PROFILES")) != NULL)
			src = "AWS_ENDPOINT_URL_CUSTOMER_PROFILES";
		else if ((url = sm_getenv("AWS_ENDPOINT_URL")) != NULL)
			src = "AWS_ENDPOINT_URL";
		else if ((url = sm_shared_config_service_endpoint(
					  sm_shared_config_profile_name(target->profile),
					  "customer_profiles")) != NULL)
			src = "the AWS config file";
	}
	if (url == NULL)
	{
		url = psprintf("https://profile.%s.amazonaws.com", target->region);
		src = "the default endpoint";
	}
	if (!sm_parse_endpoint(url, &target->endpoint, &why) ||
		!sm_endpoint_check_http(&target->endpoint, &why))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("invalid endpoint URL in %s", src),
						errdetail("%s", why)));
	target->endpoint_source = src;

	if (sm_guc_ca_file != NULL && sm_guc_ca_file[0] != '\0')
	{
		target->ca_file = pstrdup(sm_guc_ca_file);
		target->ca_source = "segment_membership.ca_file";
	}
	else if (sm_getenv("AWS_CA_BUNDLE") != NULL)
	{
		target->ca_file = pstrdup(sm_getenv("AWS_CA_BUNDLE"));
		target->ca_source = "AWS_CA_BUNDLE";
	}
	else if ((target->ca_file = sm_shared_config_value(
				  sm_shared_config_profile_name(target->profile),
				  "ca_bundle")) != NULL)
		target->ca_source = "the AWS config file";
}

/*
 * sm_resolve_limits
 *		The per-call limits, from the settings as they are now.
 */
void
sm_resolve_limits(SmCallLimits *limits)
{
	limits->max_concurrency = sm_guc_max_concurrency;
	limits->max_attempts = sm_guc_max_attempts;
	limits->connect_timeout_ms = sm_guc_connect_timeout_ms;
	limits->request_timeout_ms = sm_guc_request_timeout_ms;
	limits->max_reply_bytes = (size_t) sm_guc_max_reply_size_kb * 1024;
	limits->on_request_failure =
		(SmOnRequestFailure) sm_guc_on_request_failure;
}
