/*-------------------------------------------------------------------------
 *
 * sts.c
 *		The STS client of the credential chain: AssumeRole and
 *		AssumeRoleWithWebIdentity, their form bodies and their flat XML
 *		replies.
 *
 * STS is reached at AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else the
 * regional endpoint of the call's region; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
 * =true leaves only the last.  Plain http only to loopback addresses
 * (sm_endpoint_check_http), as for Customer Profiles.  AssumeRole is signed with the
 * source credentials (sm_sign_headers of aws_sign.c);
 * AssumeRoleWithWebIdentity is not signed.  The web
 * identity token file is read at every call, so that rotated tokens are
 * picked up.
 *
 * IDENTIFICATION
 *		src/sts.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "cred_fetch.h"
#include "aws_sign.h"
#include "parse_util.h"
#include "sigv4.h"
#include "sts.h"

/* Append x-www-form-urlencoded "&key=value". */
static void
sm_form_add(StringInfo buf, const char *key, const char *value)
{
	size_t need = sigv4_uri_encode(value, strlen(value), false, NULL, 0);
	char  *enc = sm_secret(palloc(need + 1), need + 1); /* may be a token */

	sigv4_uri_encode(value, strlen(value), false, enc, need + 1);
	appendStringInfo(buf, "%s%s=%s", buf->len > 0 ? "&" : "", key, enc);
}

/*
 * sm_xml_text
 *		The text of the first <tag>...</tag> in xml (entities decoded),
 *		palloc'd, or NULL.
 */
static char *
sm_xml_text(const char *xml, const char *tag)
{
	const char *text;
	size_t		len;
	char	   *out;

	if (!sm_xml_element(xml, tag, &text, &len))
		return NULL;
	out = palloc(len + 1);
	sm_xml_unescape(text, len, out);
	return out;
}

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

	v = sm_getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	if (v != NULL && pg_strcasecmp(v, "true") == 0)
		; /* as the SDKs do: only the regional endpoint */
	else if ((v = sm_getenv("AWS_ENDPOINT_URL_STS")) != NULL)
		url = v, src = "AWS_ENDPOINT_URL_STS";
	else if ((v = sm_getenv("AWS_ENDPOINT_URL")) != NULL)
		url = v, src = "AWS_ENDPOINT_URL";
	if (url == NULL)
	{
		url = psprintf("https://sts.%s.amazonaws.com", target->region);
		src = "the regional STS endpoint";
	}
	if (!sm_parse_endpoint(url, ep, &why) || !sm_endpoint_check_http(ep, &why))
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
	for (int i = 0; i < n; i++)
	{
		/* the source's session token goes out in a header of its own */
		if (pg_strncasecmp(headers[i], "X-Amz-Security-Token:", 21) == 0)
			sm_secret_str((char *) headers[i]);
	}

	if (!sm_cred_fetch("POST", url, headers, n, form, target->ca_file,
					   target->credential_timeout_ms, &resp, &err))
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
	out->secret_access_key =
		sm_secret_str(sm_xml_text(resp.body, "SecretAccessKey"));
	out->session_token = sm_secret_str(sm_xml_text(resp.body, "SessionToken"));
	expiration = sm_xml_text(resp.body, "Expiration");
	if (out->access_key_id == NULL || out->secret_access_key == NULL ||
		out->session_token == NULL || expiration == NULL ||
		!sm_parse_time(expiration, &out->expiration))
	{
		appendStringInfo(
			why, "STS %s returned a reply without usable credentials", action);
		return false;
	}
	out->expires = true;
	return true;
}

/*
 * sm_sts_form
 *		The start of the form of an AssumeRole* action: Action, Version,
 *		RoleArn and RoleSessionName (a made-up one when none is configured).
 */
static void
sm_sts_form(StringInfo form, const char *action, const char *role_arn,
			const char *session_name)
{
	initStringInfo(form);
	sm_form_add(form, "Action", action);
	sm_form_add(form, "Version", "2011-06-15");
	sm_form_add(form, "RoleArn", role_arn);
	if (session_name != NULL && session_name[0] != '\0')
		sm_form_add(form, "RoleSessionName", session_name);
	else
		sm_form_add(form, "RoleSessionName",
					psprintf("segment-membership-%ld", (long) time(NULL)));
}

/*
 * sm_sts_assume_role_with_web_identity
 *		STS AssumeRoleWithWebIdentity with the token in token_file (read now,
 *		so that rotated tokens are picked up at every refresh).
 */
bool
sm_sts_assume_role_with_web_identity(const SmTarget *target,
									 const char		*role_arn,
									 const char		*token_file,
									 const char		*session_name,
									 SmCredentials *out, StringInfo why)
{
	StringInfoData form;
	const char	  *err;
	char		  *token = sm_read_token_file(token_file, &err);

	if (token == NULL)
	{
		appendStringInfo(why, "web identity token file: %s", err);
		return false;
	}
	sm_sts_form(&form, "AssumeRoleWithWebIdentity", role_arn, session_name);
	sm_form_add(&form, "WebIdentityToken", token);
	sm_secret(form.data, form.maxlen);
	return sm_sts_call(target, "AssumeRoleWithWebIdentity", form.data, NULL,
					   out, why);
}

/*
 * sm_sts_assume_role
 *		STS AssumeRole, signed with the source credentials.
 */
bool
sm_sts_assume_role(const SmTarget *target, const char *role_arn,
				   const char *session_name, const char *external_id,
				   const char *duration, const SmCredentials *source,
				   SmCredentials *out, StringInfo why)
{
	StringInfoData form;

	sm_sts_form(&form, "AssumeRole", role_arn, session_name);
	if (external_id != NULL)
		sm_form_add(&form, "ExternalId", external_id);
	if (duration != NULL)
		sm_form_add(&form, "DurationSeconds", duration);
	return sm_sts_call(target, "AssumeRole", form.data, source, out, why);
}
