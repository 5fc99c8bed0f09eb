/*-------------------------------------------------------------------------
 *
 * failure.c
 *		What becomes of a GetSegmentMembership request that failed for
 *		good: its SQLSTATE, the one function that reports it as an error
 *		(in the manner of postgres_fdw's pgfdw_report_error), or the message
 *		of the failure rows that stand for its ids; and the error context
 *		that names the call's domain and segment.
 *
 * Message layout, following PostgreSQL's style guide: a short primary
 * message; the HTTP status, attempts, request id and the AWS error type
 * and message (or curl's) in the detail; advice in the hint; the domain
 * and segment in the context.  Remote text is already sanitized (reply.c).
 *
 * IDENTIFICATION
 *		src/failure.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "failure.h"
#include "redact.h"
#include "redact_pg.h"

/*
 * sm_failure_text
 *		The AWS or curl message of a failure as shown: redacted, then
 *		sanitized (printable ASCII).
 */
static const char *
sm_failure_text(const SmFailure *f)
{
	size_t len;
	char  *redacted = sm_redact_len(f->message, strlen(f->message), &len);
	char  *buf = palloc(len + 1);

	sm_text_sanitize(redacted, len, false, buf, len + 1);
	return buf;
}

/*
 * sm_failure_request_id
 *		The request id of a failure as shown: the header's value sanitized
 *		(printable ASCII, at most 64 characters), or "none".
 */
static const char *
sm_failure_request_id(const SmFailure *f)
{
	char buf[65];

	sm_text_sanitize(f->request_id, strlen(f->request_id), false, buf,
					 sizeof(buf));
	return buf[0] ? pstrdup(buf) : "none";
}

/*
 * sm_failure_sqlstate
 *		The SQLSTATE for a request that failed for good.
 */
static int
sm_failure_sqlstate(const SmFailure *f)
{
	if (f->too_large)
		return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
	if (f->http_status == 0)
	{
		switch (f->curl_code)
		{
			case CURLE_COULDNT_RESOLVE_HOST:
			case CURLE_COULDNT_CONNECT:
			case CURLE_SSL_CONNECT_ERROR:
			case CURLE_PEER_FAILED_VERIFICATION:
			case CURLE_SSL_CACERT_BADFILE:
			case CURLE_SSL_CERTPROBLEM:
				return ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
			default:
				return ERRCODE_CONNECTION_FAILURE;
		}
	}
	if (strcmp(f->code, "InvalidReply") == 0)
		return ERRCODE_PROTOCOL_VIOLATION;
	switch (f->http_status)
	{
		case 400:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case 401:
		case 403:
			return ERRCODE_INSUFFICIENT_PRIVILEGE;
		case 404:
			return ERRCODE_UNDEFINED_OBJECT;
		case 429:
			return ERRCODE_CONFIGURATION_LIMIT_EXCEEDED;
		default:
			break;
	}
	if (f->cls == SM_RETRY_THROTTLING)
		return ERRCODE_CONFIGURATION_LIMIT_EXCEEDED;
	return ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
}

/*
 * sm_failure_wants_rows
 *		Whether a failed request yields failure rows rather than an error.
 *		Non-retryable failures (bad request, access denied, unknown domain
 *		or segment, a reply over the size cap, TLS verification) always
 *		fail the statement; retryable ones that ran out of attempts do too,
 *		unless on_request_failure = failure_rows.
 */
bool
sm_failure_wants_rows(const SmFailure *f, SmOnRequestFailure policy)
{
	return f->cls != SM_RETRY_NO && policy == SM_ON_FAILURE_ROWS;
}

/*
 * sm_failure_summary
 *		"Code: message" of a failure: the AWS error type and message.  For
 *		failures without an error type, made_up_code supplies one ("HTTP
 *		502", "ReplyTooLarge", "ConnectionError"), else there is none.
 */
static char *
sm_failure_summary(const SmFailure *f, bool made_up_code)
{
	const char *code = sm_redact(f->code); /* from a header or the body */

	if (code[0] == '\0' && made_up_code)
	{
		if (f->http_status != 0)
			code = psprintf("HTTP %ld", f->http_status);
		else if (f->too_large)
			code = "ReplyTooLarge";
		else
			code = "ConnectionError";
	}
	if (f->message[0] == '\0')
		return pstrdup(code);
	if (code[0] == '\0')
		return pstrdup(sm_failure_text(f));
	return psprintf("%s: %s", code, sm_failure_text(f));
}

/*
 * sm_failure_errdetail
 *		The detail of a failure report: what came back, after how many
 *		attempts, and the AWS (or curl) text.
 */
static int
sm_failure_errdetail(const SmFailure *f)
{
	const char *rid = sm_failure_request_id(f);
	const char *text = sm_failure_summary(f, false);
	int			n = f->attempts;

	if (f->http_status == 0)
	{
		if (f->quota_exhausted)
			return errdetail_plural(
				"Gave up after %d attempt, the retry quota of this session "
				"being used up: %s",
				"Gave up after %d attempts, the retry quota of this session "
				"being used up: %s",
				n, n, text);
		return errdetail_plural("Gave up after %d attempt: %s",
								"Gave up after %d attempts: %s", n, n, text);
	}
	if (text[0] == '\0')
		text = "the reply names no error type or message.";
	if (f->quota_exhausted)
		return errdetail_plural(
			"HTTP status %ld after %d attempt (the retry quota of this "
			"session is used up), request id %s: %s",
			"HTTP status %ld after %d attempts (the retry quota of this "
			"session is used up), request id %s: %s",
			n, f->http_status, n, rid, text);
	return errdetail_plural(
		"HTTP status %ld after %d attempt, request id %s: %s",
		"HTTP status %ld after %d attempts, request id %s: %s", n,
		f->http_status, n, rid, text);
}

/*
 * sm_failure_errhint
 *		The advice of a failure report, if any.
 */
static int
sm_failure_errhint(const SmFailure *f)
{
	if (f->cls == SM_RETRY_THROTTLING)
		return errhint("Lower segment_membership.max_concurrency, or ask AWS "
					   "for a higher request quota.");
	if (f->cls != SM_RETRY_NO)
		return errhint("Set segment_membership.on_request_failure to "
					   "\"failure_rows\" to get failure rows for the ids of "
					   "failed requests instead of an error.");
	return 0;
}

/*
 * sm_failure_report
 *		Raise the error for a request that failed for good.  TLS set-up
 *		failures get their own primary message, because the fix is local.
 */
void
sm_failure_report(const SmFailure *f, const SmTarget *target)
{
	const char *host = target->endpoint.host_header;

	if (f->http_status == 0 && f->curl_code == CURLE_SSL_CACERT_BADFILE)
		ereport(
			ERROR,
			(errcode(ERRCODE_CONFIG_FILE_ERROR),
			 errmsg("could not load CA certificates from \"%s\"",
					target->ca_file ? target->ca_file : "(system default)"),
			 errdetail_internal("%s", sm_failure_text(f)),
			 errhint("Check the setting of %s.",
					 target->ca_source ? target->ca_source
									   : "segment_membership.ca_file")));

	if (f->http_status == 0 &&
		(f->curl_code == CURLE_PEER_FAILED_VERIFICATION ||
		 f->curl_code == CURLE_SSL_CERTPROBLEM))
		ereport(
			ERROR,
			(errcode(sm_failure_sqlstate(f)),
			 errmsg("could not establish a verified TLS connection to \"%s\"",
					host),
			 errdetail_internal("%s", sm_failure_text(f)),
			 errhint("The server's certificate must be trusted by the CA "
					 "file in segment_membership.ca_file or AWS_CA_BUNDLE, or "
					 "by the system's CA store.")));

	if (f->http_status == 0 && !f->too_large)
		ereport(ERROR,
				(errcode(sm_failure_sqlstate(f)),
				 errmsg("GetSegmentMembership request to \"%s\" failed", host),
				 sm_failure_errdetail(f), sm_failure_errhint(f)));

	ereport(ERROR, (errcode(sm_failure_sqlstate(f)),
					errmsg("GetSegmentMembership request failed"),
					sm_failure_errdetail(f), sm_failure_errhint(f)));
	pg_unreachable();
}

/*
 * sm_failure_row_message
 *		The failure_message of the rows that stand for a failed request's
 *		ids.
 */
char *
sm_failure_row_message(const SmFailure *f)
{
	const char *rid = sm_failure_request_id(f);
	char	   *text = sm_failure_summary(f, true);

	if (f->attempts == 1)
		return psprintf("request failed after %d attempt: %s (request id %s)",
						f->attempts, text, rid);
	return psprintf("request failed after %d attempts: %s (request id %s)",
					f->attempts, text, rid);
}

/* errcontext of everything that happens while a call runs its requests */
static void
sm_error_context_callback(void *arg)
{
	SmErrorContext *ec = (SmErrorContext *) arg;

	errcontext("GetSegmentMembership for domain \"%s\", segment \"%s\"",
			   ec->domain, ec->segment);
}

/* Install the error context of a call. */
void
sm_error_context_push(SmErrorContext *ec, const char *domain,
					  const char *segment)
{
	ec->domain = domain;
	ec->segment = segment;
	ec->callback.callback = sm_error_context_callback;
	ec->callback.arg = ec;
	ec->callback.previous = error_context_stack;
	error_context_stack = &ec->callback;
}

/* Remove it again (after success; an error unwinds it by itself). */
void
sm_error_context_pop(SmErrorContext *ec)
{
	error_context_stack = ec->callback.previous;
}
