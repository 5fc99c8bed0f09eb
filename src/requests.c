/*-------------------------------------------------------------------------
 *
 * requests.c
 *		Running GetSegmentMembership requests: at most max_concurrency in
 *		flight on the transport, and for every finished attempt the retry
 *		decision, in three steps:
 *
 *		classify  what the attempt's outcome is (accepted, or a failure
 *				  with its retry class, AWS error code and message);
 *		decide	  sm_retry_decide() in retry.c, a pure function of the
 *				  facts (no PostgreSQL, unit-tested): give up, retry at once
 *				  after a clock-skew correction, retry at once after
 *				  refreshing credentials, or retry after backoff;
 *		apply	  change the request's state accordingly (the retry quota,
 *				  the backoff delay, the waiting list).
 *
 * The policy's constants and formulas are in retry.c; the signing clock is
 * in aws_sign.c.  Vocabulary: a "request" asks about at most 100 ids; it is
 * sent in one or more "attempts".
 *
 * IDENTIFICATION
 *		src/requests.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "aws_sign.h"
#include "cluster.h"
#include "compat.h"
#include "miscadmin.h"
#include "reply.h"
#include "requests.h"
#include "utils/memutils.h"

typedef enum SmRequestPhase
{
	SM_REQUEST_NEW,
	SM_REQUEST_RUNNING,
	SM_REQUEST_WAITING, /* for its retry time */
	SM_REQUEST_DONE
} SmRequestPhase;

/* sm_run_requests()'s record of one request. */
typedef struct SmRequestState
{
	SmRequestPhase phase;
	int			   attempts; /* attempts started */
	int			   retries;	 /* retries started after backoff */
	int			   last_retry_cost;
	bool		   skew_retry_used;
	bool		   token_retry_used;
	int			   signed_offset; /* clock offset the attempt was signed
									 * with */
	TimestampTz	   retry_at;
	TimestampTz	   sent_at; /* cluster.c: when the current attempt started */
	SmTransfer	  *xfer;
	MemoryContext  attempt_cxt;
} SmRequestState;

/*
 * The state of one sm_run_requests() call.
 */
typedef struct SmRun
{
	const SmRequestOps *ops;
	void			   *arg;
	int					nrequests;
	int					max_concurrency;
	int					max_attempts;
	SmRequestState	   *reqs;
	int				   *waiting; /* requests in SM_REQUEST_WAITING */
	int					nwaiting;
	int					next_new; /* lowest request never started */
	int					nrunning;
	int					ndone;
	MemoryContext		run_cxt;
} SmRun;

/* Per-backend state */
static SmRetryQuota		 sm_quota;
static bool				 sm_quota_ready = false;
static SmRequestCounters sm_counters;

/*
 * sm_curl_retry_class
 *		Classify an attempt that ended without a usable HTTP response.
 */
static SmRetryClass
sm_curl_retry_class(CURLcode rc)
{
	switch (rc)
	{
		case CURLE_OPERATION_TIMEDOUT:
			return SM_RETRY_TIMEOUT;
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_CONNECT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
		case CURLE_WEIRD_SERVER_REPLY:
		case CURLE_BAD_CONTENT_ENCODING:
		case CURLE_READ_ERROR:
			return SM_RETRY_TRANSIENT;
		default:
			return SM_RETRY_NO;
	}
}

/*
 * sm_is_token_error
 *		Whether an error code says the session token expired or is unknown
 *		(which happens when temporary credentials rotated underneath us).
 */
static bool
sm_is_token_error(const char *code)
{
	return strcmp(code, "ExpiredTokenException") == 0 ||
		   strcmp(code, "ExpiredToken") == 0 ||
		   strcmp(code, "RequestExpired") == 0 ||
		   strcmp(code, "UnrecognizedClientException") == 0 ||
		   strcmp(code, "InvalidClientTokenId") == 0;
}

/*
 * sm_attempt_classify
 *		What a failed attempt was: its retry class, and in *failure the
 *		HTTP status, AWS error code and message (parsed from the error body
 *		by reply.c) or curl's message.  unusable, when not NULL, is why a
 *		2xx reply could not be used.
 */
static SmRetryClass
sm_attempt_classify(const SmResponse *resp, const char *unusable,
					SmFailure *failure)
{
	memset(failure, 0, sizeof(*failure));
	failure->http_status = resp->http_status;
	failure->curl_code = resp->curl_code;
	failure->too_large = resp->body_too_large;
	strlcpy(failure->request_id, resp->request_id,
			sizeof(failure->request_id));

	if (unusable != NULL)
	{
		/* an unusable reply: retried like a transient failure */
		strlcpy(failure->code, "InvalidReply", sizeof(failure->code));
		failure->invalid_reply = true;
		strlcpy(failure->message, unusable, sizeof(failure->message));
		return SM_RETRY_TRANSIENT;
	}
	if (resp->body_too_large)
	{
		snprintf(failure->message, sizeof(failure->message),
				 "The reply was larger than segment_membership.max_reply_size "
				 "(%zu bytes).",
				 resp->max_body);
		return SM_RETRY_NO;
	}
	if (resp->curl_code != CURLE_OK)
	{
		strlcpy(failure->message,
				resp->curl_error[0] ? resp->curl_error
									: curl_easy_strerror(resp->curl_code),
				sizeof(failure->message));
		return sm_curl_retry_class(resp->curl_code);
	}
	sm_reply_parse_error(resp->body, resp->body_len, resp->error_type,
						 failure->code, sizeof(failure->code),
						 failure->message, sizeof(failure->message));
	return sm_retry_classify_http(resp->http_status, failure->code);
}

/*
 * sm_request_start_attempt
 *		Build, sign and start the next attempt of a request.
 */
static void
sm_request_start_attempt(SmRun *run, int r)
{
	SmRequestState *rs = &run->reqs[r];
	SmRequestSpec	spec;
	MemoryContext	oldcxt;

	if (rs->attempt_cxt == NULL)
		rs->attempt_cxt =
			AllocSetContextCreate(run->run_cxt, "segment_membership attempt",
								  ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(rs->attempt_cxt);
	oldcxt = MemoryContextSwitchTo(rs->attempt_cxt);
	memset(&spec, 0, sizeof(spec));
	run->ops->build(run->arg, r, &spec);
	rs->signed_offset = sm_sign_clock_offset();
	rs->xfer = sm_transfer_start(&spec, rs->attempt_cxt, r);
	MemoryContextSwitchTo(oldcxt);
	/* cluster.c: totals and progress count the attempt */
	rs->sent_at = GetCurrentTimestamp();
	sm_cluster_request_sent();
	sm_counters.attempts++;
	rs->attempts++;
	rs->phase = SM_REQUEST_RUNNING;
	run->nrunning++;
}

/*
 * sm_request_schedule_retry
 *		Put a request on the waiting list until delay_ms from now.
 */
static void
sm_request_schedule_retry(SmRun *run, int r, long delay_ms)
{
	SmRequestState *rs = &run->reqs[r];

	rs->phase = SM_REQUEST_WAITING;
	rs->retry_at =
		TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay_ms);
	run->waiting[run->nwaiting++] = r;
	sm_counters.retries++;
}

/*
 * sm_request_apply
 *		Carry out the decision about a failed attempt.
 */
static void
sm_request_apply(SmRun *run, int r, SmRetryAction action,
				 const SmResponse *resp, SmFailure *failure)
{
	SmRequestState *rs = &run->reqs[r];

	switch (action)
	{
		case SM_RETRY_NOW_RESIGNED:
			rs->skew_retry_used = true;
			sm_request_schedule_retry(run, r, 0);
			return;
		case SM_RETRY_NOW_REFRESHED:
			if (run->ops->refresh_credentials(run->arg, r))
			{
				rs->token_retry_used = true;
				sm_request_schedule_retry(run, r, 0);
				return;
			}
			break;
		case SM_RETRY_AFTER_BACKOFF:
		{
			int	 cost = sm_retry_quota_acquire(&sm_quota, failure->cls);
			long delay;

			if (cost == 0)
			{
				failure->quota_exhausted = true;
				break;
			}
			rs->retries++;
			rs->last_retry_cost = cost;
			delay = sm_retry_backoff_ms(failure->cls, rs->retries,
										sm_random_fraction());
			delay = sm_retry_apply_hint(
				delay, sm_retry_parse_hint(resp->amz_retry_after,
										   resp->retry_after, time(NULL)));
			sm_request_schedule_retry(run, r, delay);
			return;
		}
		case SM_RETRY_GIVE_UP:
			break;
	}

	/* give up on this request */
	sm_counters.failed_requests++;
	run->ndone++;
	run->ops->give_up(run->arg, r, failure);
}

/*
 * sm_request_attempt_done
 *		A finished attempt (curl objects already freed), in the attempt's
 *		memory context: accept the reply, or classify, decide and apply.
 */
static void
sm_request_attempt_done(SmRun *run, SmTransfer *xfer)
{
	int				r = sm_transfer_tag(xfer);
	SmRequestState *rs = &run->reqs[r];
	SmResponse	   *resp = sm_transfer_response(xfer);
	const char	   *unusable = NULL;
	SmFailure		failure;
	SmRetryFacts	facts;

	rs->xfer = NULL;
	rs->phase = SM_REQUEST_DONE; /* unless retried */
	run->nrunning--;

	if (resp->body_oom)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
				 errdetail("Failed while receiving a reply of %zu bytes.",
						   resp->body_len)));

	if (resp->curl_code == CURLE_OK && resp->http_status >= 200 &&
		resp->http_status < 300)
	{
		unusable = run->ops->accept(run->arg, r, resp);
		if (unusable == NULL)
		{
			sm_retry_quota_release(&sm_quota, rs->last_retry_cost);
			run->ndone++;
			return;
		}
	}

	/* classify */
	memset(&facts, 0, sizeof(facts));
	facts.cls = sm_attempt_classify(resp, unusable, &failure);
	failure.cls = facts.cls;
	failure.attempts = rs->attempts;
	if (facts.cls == SM_RETRY_THROTTLING)
		sm_counters.throttled++;
	facts.attempts = rs->attempts;
	facts.max_attempts = run->max_attempts;
	facts.skew_retry_used = rs->skew_retry_used;
	facts.token_retry_used = rs->token_retry_used;
	if (facts.cls == SM_RETRY_NO && !rs->skew_retry_used &&
		sm_retry_is_clock_skew_code(failure.code))
	{
		if (resp->http_status == 400 || resp->http_status == 401 ||
			resp->http_status == 403)
			facts.clock_corrected = sm_sign_correct_clock(resp->date);
		facts.signed_before_fix =
			(rs->signed_offset != sm_sign_clock_offset());
	}
	facts.token_rejected =
		resp->http_status == 403 && sm_is_token_error(failure.code);
	facts.can_refresh = (run->ops->refresh_credentials != NULL);

	/* decide and apply */
	sm_request_apply(run, r, sm_retry_decide(&facts), resp, &failure);
}

/*
 * sm_request_completed
 *		Handle a finished attempt; free its memory once the request is done.
 */
static void
sm_request_completed(SmRun *run, SmTransfer *xfer)
{
	SmRequestState *rs = &run->reqs[sm_transfer_tag(xfer)];
	MemoryContext	oldcxt;
	SmResponse	   *resp = sm_transfer_response(xfer);

	/* cluster.c: whether the attempt succeeded, for the latency histogram */
	bool success = (resp->curl_code == CURLE_OK && resp->http_status >= 200 &&
					resp->http_status < 300);

	/* whatever parsing the reply allocates goes away with the attempt */
	oldcxt = MemoryContextSwitchTo(rs->attempt_cxt);
	sm_request_attempt_done(run, xfer);
	MemoryContextSwitchTo(oldcxt);

	/*
	 * cluster.c: totals, progress and the adaptive rate learn the outcome;
	 * after the decision, which counted a throttle if this was one
	 */
	sm_cluster_reply_received(rs->sent_at, success);
	if (rs->phase == SM_REQUEST_DONE)
	{
		MemoryContextDelete(rs->attempt_cxt);
		rs->attempt_cxt = NULL;
	}
}

/*
 * sm_run_has_room
 *		Whether one more attempt may start: a free slot under
 *		max_concurrency and descriptors for it (the transport raises the
 *		error naming max_files_per_process when not even one fits).
 */
static bool
sm_run_has_room(SmRun *run)
{
	return run->nrunning < run->max_concurrency &&
		   sm_transport_room(run->nrunning == 0);
}

/*
 * sm_run_start_due
 *		Start the retries that are due and then new requests, while there
 *		is room.  Returns the time of the earliest retry not yet due, or
 *		when the shared rate limit (cluster.c) has the next token
 *		(DT_NOEND if neither): a retry that is due but finds no room waits
 *		for a running attempt to finish, which wakes the wait anyway, so
 *		it must not make the wait's timeout zero.
 */
static TimestampTz
sm_run_start_due(SmRun *run)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz next_retry = DT_NOEND;
	TimestampTz token_at;
	int			i = 0;

	while (i < run->nwaiting)
	{
		int r = run->waiting[i];

		if (run->reqs[r].retry_at > now)
		{
			next_retry = Min(next_retry, run->reqs[r].retry_at);
			i++;
			continue;
		}
		if (!sm_run_has_room(run))
		{
			i++;
			continue;
		}
		/* cluster.c: the shared rate limit; no token yet, come back then */
		if (!sm_cluster_take_token(&token_at))
			return Min(next_retry, token_at);
		run->waiting[i] = run->waiting[--run->nwaiting];
		sm_request_start_attempt(run, r);
	}
	while (run->next_new < run->nrequests && sm_run_has_room(run) &&
		   run->ops->may_start(run->arg, run->next_new))
	{
		/* cluster.c: the shared rate limit; no token yet, come back then */
		if (!sm_cluster_take_token(&token_at))
			return Min(next_retry, token_at);
		sm_request_start_attempt(run, run->next_new++);
	}
	return next_retry;
}

/*
 * sm_run_requests
 *		Run nrequests requests with at most max_concurrency in flight, each
 *		in up to max_attempts attempts as the retry policy allows, and
 *		report every outcome through ops.  Returns when every request has
 *		been accepted or given up on.  On any error (including a cancel)
 *		every transfer in flight is abandoned before the error propagates.
 */
void
sm_run_requests(int nrequests, int max_concurrency, int max_attempts,
				const SmRequestOps *ops, void *arg)
{
	SmRun run;

	if (!sm_quota_ready)
	{
		sm_retry_quota_init(&sm_quota);
		sm_quota_ready = true;
	}
	sm_transport_begin(max_concurrency);

	memset(&run, 0, sizeof(run));
	run.ops = ops;
	run.arg = arg;
	run.nrequests = nrequests;
	run.max_concurrency = max_concurrency;
	run.max_attempts = max_attempts;
	run.run_cxt = AllocSetContextCreate(CurrentMemoryContext,
										"segment_membership requests",
										ALLOCSET_DEFAULT_SIZES);
	run.reqs = MemoryContextAllocZero(run.run_cxt, sizeof(SmRequestState) *
													   Max(nrequests, 1));
	run.waiting =
		MemoryContextAlloc(run.run_cxt, sizeof(int) * Max(nrequests, 1));

	PG_TRY();
	{
		while (run.ndone < nrequests)
		{
			TimestampTz next_retry;
			long		wait_ms;
			SmTransfer *xfer;

			CHECK_FOR_INTERRUPTS();
			next_retry = sm_run_start_due(&run);
			/* cluster.c: a token due later is progress too */
			if (run.nrunning == 0 && run.nwaiting == 0 &&
				next_retry == DT_NOEND)
				elog(ERROR,
					 "segment_membership: no request can make progress");

			wait_ms = (next_retry == DT_NOEND)
						  ? -1
						  : sm_transport_ms_until(next_retry);
			if (run.nrunning == 0)
			{
				/*
				 * only retries or a rate-limit token pending: sleep on the
				 * latch alone (cluster.c: a token wait shows its own wait
				 * event)
				 */
				if (!sm_cluster_token_sleep(wait_ms))
					sm_transport_sleep(wait_ms);
				continue;
			}
			sm_transport_wait(wait_ms);
			while ((xfer = sm_transport_next_done()) != NULL)
				sm_request_completed(&run, xfer);
		}
	}
	PG_CATCH();
	{
		int r;

		for (r = 0; r < nrequests; r++)
			if (run.reqs[r].xfer != NULL)
				sm_transfer_abandon(run.reqs[r].xfer);
		sm_transport_end();
		PG_RE_THROW();
	}
	PG_END_TRY();

	sm_transport_end();
	MemoryContextDelete(run.run_cxt);
}

/* The retry quota left in this backend. */
int
sm_retry_quota_available(void)
{
	if (!sm_quota_ready)
		return SM_RETRY_QUOTA_CAPACITY;
	return sm_quota.available;
}

/* This backend's request counters. */
const SmRequestCounters *
sm_request_counters(void)
{
	return &sm_counters;
}
