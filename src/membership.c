/*-------------------------------------------------------------------------
 *
 * membership.c
 *		The SQL entry points of segment_membership: get_segment_membership(),
 *		its planner support function, segment_membership_stats() and
 *		segment_membership_credentials(); and the
 *		wiring of one call, which hands the plan's requests to the request
 *		runner and signs them.
 *
 * One call, end to end:
 *
 *	1. Validate the domain and segment names (they go into a URL).
 *	2. Plan (idplan.c): dedupe the ids, split them into requests of at most
 *	   100 ids.
 *	3. Resolve the settings once (config.c) and run the requests
 *	   (requests.c over transport.c), at most max_concurrency at a time,
 *	   each signed afresh for every attempt (aws_sign.c with the
 *	   credentials of credentials.c).
 *	4. Each reply goes back to the plan, which emits rows in input order.
 *	   A request that fails for good is reported by failure.c, or becomes
 *	   failure rows.
 *
 * IDENTIFICATION
 *		src/membership.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "ascii.h"
#include "access/htup_details.h"
#include "aws_sign.h"
#include "cluster.h"
#include "compat.h"
#include "config.h"
#include "credentials.h"
#include "failure.h"
#include "fmgr.h"
#include "funcapi.h"
#include "idplan.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/supportnodes.h"
#include "optimizer/optimizer.h"
#include "requests.h"
#include "transport.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_MODULE_MAGIC;

/* Columns of segment_membership_stats() */
#define SM_STATS_COLS 11

/* Everything one call works with. */
typedef struct SmCall
{
	char		*domain;
	char		*segment;
	SmTarget	 target; /* where to, signed how */
	SmCallLimits limits; /* the settings, as the call started */
	char		*path;	 /* /prefix/domains/d/segments/s/membership */
	char		*url;
	SmPlan		*plan;
	uint64		*signed_generation; /* per request: credentials of its last
									 * attempt (sm_credentials_generation) */
} SmCall;

PG_FUNCTION_INFO_V1(sm_get_segment_membership);
PG_FUNCTION_INFO_V1(sm_get_segment_membership_support);
PG_FUNCTION_INFO_V1(sm_segment_membership_stats);
PG_FUNCTION_INFO_V1(sm_credentials_info);

void _PG_init(void);

/*
 * sm_cluster_counts
 *		SmClusterCountsFn: this backend's counters that cluster.c carries
 *		into the cluster-wide totals.  Never raises an error.
 */
static void
sm_cluster_counts(SmClusterCounts *counts)
{
	const SmRequestCounters	  *rc = sm_request_counters();
	const SmTransportCounters *tc = sm_transport_counters();

	counts->retries = rc->retries;
	counts->throttled = rc->throttled;
	counts->failed = rc->failed_requests;
	counts->bytes_received = tc->bytes_received;
	counts->connections_opened = tc->connections_opened;
}

/*
 * _PG_init
 *		Module load: define the settings.  Nothing touches the network or
 *		libcurl until the first call.
 */
void
_PG_init(void)
{
	sm_transport_check_libcurl();
	/* first: cluster.c's settings must exist before the prefix is reserved */
	sm_cluster_init(sm_cluster_counts);
	sm_define_gucs();
}

/*
 * sm_check_name
 *		Domain and segment names must follow the API's rule, 1 to 64 of
 *		[A-Za-z0-9_-], before they may go into a URL.
 */
static void
sm_check_name(text *name, const char *argname)
{
	const char *s = VARDATA_ANY(name);
	int			len = VARSIZE_ANY_EXHDR(name);
	int			i;
	bool		ok = (len >= 1 && len <= 64);

	for (i = 0; ok && i < len; i++)
		ok =
			sm_ascii_alnum((unsigned char) s[i]) || s[i] == '-' || s[i] == '_';
	if (!ok)
	{
		/* quote at most 64 characters of it (not bytes) */
		int shown = pg_mbcharcliplen(s, len, 64);

		ereport(
			ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s \"%.*s\"%s", argname, shown, s,
					shown < len ? "..." : ""),
			 errdetail("A name must be 1 to 64 characters long and consist "
					   "only of the letters A-Z and a-z, digits, hyphens and "
					   "underscores.")));
	}
}

/* SmRequestOps.may_start: within the plan's emit window */
static bool
sm_may_start(void *arg, int req)
{
	SmCall *call = (SmCall *) arg;

	return sm_plan_may_start(call->plan, req);
}

/*
 * sm_build
 *		What one attempt of a request sends: the plan's body, with headers
 *		signed now with the current credentials.
 */
static void
sm_build(void *arg, int req, SmRequestSpec *spec)
{
	SmCall				*call = (SmCall *) arg;
	const SmCredentials *cred;
	const char			*body;
	int					 body_len;

	sm_plan_request_body(call->plan, req, &body, &body_len);
	cred = sm_credentials_get(&call->target);
	call->signed_generation[req] = sm_credentials_generation();

	spec->method = "POST";
	spec->url = call->url;
	spec->body = body;
	spec->body_len = body_len;
	spec->headers[spec->nheaders++] = "Accept: application/json";
	if (!sm_sign_headers(cred, call->target.endpoint.host_header, call->path,
						 "application/json", body, body_len,
						 call->target.region, "profile", sm_sign_key_cache(),
						 spec->headers, &spec->nheaders))
		ereport(ERROR, (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
						errmsg("could not sign request"),
						errdetail("The credentials from the %s source are not "
								  "usable for signing.",
								  cred->source)));
	spec->ca_file = call->target.ca_file;
	spec->connect_timeout_ms = call->limits.connect_timeout_ms;
	spec->timeout_ms = call->limits.request_timeout_ms;
	spec->max_body = call->limits.max_reply_bytes;
}

/* SmRequestOps.accept: the plan takes the reply */
static const char *
sm_accept(void *arg, int req, SmResponse *resp)
{
	SmCall	   *call = (SmCall *) arg;
	const char *why;

	why = sm_plan_take_reply(call->plan, req, resp->body, resp->body_len);
	/* cluster.c: progress of the call */
	sm_progress_ids_done(sm_plan_rows_emitted(call->plan));
	return why;
}

/*
 * sm_give_up
 *		A request failed for good: failure rows for its ids, or an error.
 */
static void
sm_give_up(void *arg, int req, const SmFailure *f)
{
	SmCall *call = (SmCall *) arg;

	if (sm_failure_wants_rows(f, call->limits.on_request_failure))
	{
		sm_plan_fail_request(call->plan, req,
							 f->invalid_reply ? 0 : f->http_status,
							 sm_failure_row_message(f));
		/* cluster.c: progress of the call */
		sm_progress_ids_done(sm_plan_rows_emitted(call->plan));
	}
	else
		sm_failure_report(f, &call->target); /* does not return */
}

/*
 * SmRequestOps.refresh_credentials: look again (once per request, and at
 * most once per rejection wave: see sm_credentials_refresh_after_rejection)
 */
static bool
sm_refresh_credentials(void *arg, int req)
{
	SmCall *call = (SmCall *) arg;

	return sm_credentials_refresh_after_rejection(
		&call->target, call->signed_generation[req]);
}

/*
 * sm_run_call
 *		Resolve the settings, then run the plan's requests; rows are emitted
 *		as replies come in.
 */
static void
sm_run_call(SmCall *call)
{
	static const SmRequestOps ops = {sm_may_start, sm_build, sm_accept,
									 sm_give_up, sm_refresh_credentials};
	SmErrorContext			  ec;

	sm_resolve_target(&call->target);
	sm_endpoint_resource(&call->target.endpoint,
						 psprintf("/domains/%s/segments/%s/membership",
								  call->domain, call->segment),
						 &call->path, &call->url);

	call->signed_generation =
		palloc0(sizeof(uint64) * Max(sm_plan_nrequests(call->plan), 1));
	sm_error_context_push(&ec, call->domain, call->segment);
	sm_run_requests(sm_plan_nrequests(call->plan),
					call->limits.max_concurrency, call->limits.max_attempts,
					&ops, call);
	sm_error_context_pop(&ec);
}

/*
 * get_segment_membership(domain_name text, segment_definition_name text,
 *						  profile_ids text[])
 *		RETURNS TABLE (profile_id text, query_result text, profile jsonb,
 *					   failure_status integer, failure_message text,
 *					   last_computed_at timestamptz)
 */
Datum
sm_get_segment_membership(PG_FUNCTION_ARGS)
{
	SmCall		  call;
	ArrayType	 *ids;
	int			  nitems;
	MemoryContext call_cxt;
	MemoryContext oldcxt;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("domain_name must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("segment_definition_name must not be null")));
	sm_check_name(PG_GETARG_TEXT_PP(0), "domain_name");
	sm_check_name(PG_GETARG_TEXT_PP(1), "segment_definition_name");

	sm_init_materialized_srf(fcinfo);
	if (PG_ARGISNULL(2))
		PG_RETURN_NULL();

	call_cxt =
		AllocSetContextCreate(CurrentMemoryContext, "segment_membership call",
							  ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(call_cxt);
	ids = PG_GETARG_ARRAYTYPE_P(2);
	if (ARR_NDIM(ids) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("profile_ids must be a one-dimensional array"),
				 errdetail("The array has %d dimensions.", ARR_NDIM(ids)),
				 errhint("Flatten it first, for example with "
						 "ARRAY(SELECT unnest(...)).")));
	nitems = ArrayGetNItems(ARR_NDIM(ids), ARR_DIMS(ids));
	if (nitems > 0)
	{
		memset(&call, 0, sizeof(call));
		call.domain = text_to_cstring(PG_GETARG_TEXT_PP(0));
		call.segment = text_to_cstring(PG_GETARG_TEXT_PP(1));
		sm_resolve_limits(&call.limits);
		call.plan =
			sm_plan_create(ids, nitems, (ReturnSetInfo *) fcinfo->resultinfo,
						   Max(2 * call.limits.max_concurrency, 4));
		sm_plan_set_failure_rows(call.plan, call.limits.on_request_failure ==
												SM_ON_FAILURE_ROWS);
		/* rows of elements before the first valid id need no request */
		sm_plan_emit_ready(call.plan);
		if (sm_plan_nrequests(call.plan) > 0)
		{
			/* cluster.c: a progress row until call_cxt goes away */
			sm_progress_begin(call.domain, call.segment, nitems);
			sm_run_call(&call);
		}
		sm_plan_finish(call.plan);
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(call_cxt);
	PG_RETURN_NULL();
}

/*
 * get_segment_membership_support(internal)
 *		Planner support: when profile_ids is a constant (or a parameter
 *		whose value the planner knows), the function returns exactly as many
 *		rows as it has elements.
 */
Datum
sm_get_segment_membership_support(PG_FUNCTION_ARGS)
{
	Node *rawreq = (Node *) PG_GETARG_POINTER(0);

	if (IsA(rawreq, SupportRequestRows))
	{
		SupportRequestRows *req = (SupportRequestRows *) rawreq;
		List			   *args = NIL;
		Node			   *arg;

		if (is_funcclause(req->node))
			args = ((FuncExpr *) req->node)->args;
		if (list_length(args) == 3)
		{
			arg = (Node *) lthird(args);
			if (req->root != NULL)
				arg = estimate_expression_value(req->root, arg);
			if (IsA(arg, Const))
			{
				Const *c = (Const *) arg;
				double rows = 0;

				if (!c->constisnull)
				{
					ArrayType *a = DatumGetArrayTypeP(c->constvalue);

					rows = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
				}
				req->rows = Max(rows, 1);
				PG_RETURN_POINTER(req);
			}
		}
	}
	PG_RETURN_POINTER(NULL);
}
/*
 * segment_membership_stats()
 *		This backend's counters of requests, attempts, transport and
 *		signing, by position (the first column, "requests" in 1.0, counts
 *		attempts).
 */
Datum
sm_segment_membership_stats(PG_FUNCTION_ARGS)
{
	const SmRequestCounters	  *rc = sm_request_counters();
	const SmTransportCounters *tc = sm_transport_counters();
	TupleDesc				   tupdesc;
	Datum					   values[SM_STATS_COLS];
	bool					   nulls[SM_STATS_COLS];
	int						   i = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (tupdesc->natts != SM_STATS_COLS)
		elog(ERROR, "segment_membership_stats() must return %d columns",
			 SM_STATS_COLS);
	tupdesc = BlessTupleDesc(tupdesc);
	memset(nulls, false, sizeof(nulls));
	values[i++] = Int64GetDatum(rc->attempts);
	values[i++] = Int64GetDatum(rc->retries);
	values[i++] = Int64GetDatum(rc->throttled);
	values[i++] = Int64GetDatum(rc->failed_requests);
	values[i++] = Int64GetDatum(tc->connections_opened);
	values[i++] = Int64GetDatum(tc->connections_open);
	values[i++] = Int64GetDatum(tc->bytes_received);
	values[i++] = Int64GetDatum((int64) sm_sign_clock_corrections());
	values[i++] = Int64GetDatum(tc->fetches);
	values[i++] = Int64GetDatum((int64) sm_sign_keys_derived());
	values[i++] = Int32GetDatum(sm_retry_quota_available());
	Assert(i == SM_STATS_COLS);
	PG_RETURN_DATUM(
		HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * segment_membership_credentials()
 *		Which credentials this backend signs with: source, detail, access
 *		key id, whether there is a session token, expiry, region.  Never a
 *		secret.  Uses only sm_credentials_describe().
 */
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
