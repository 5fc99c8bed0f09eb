/*-------------------------------------------------------------------------
 *
 * membership.c
 *		The SQL entry points of segment_membership:
 *		get_segment_membership(), its planner support function, and
 *		segment_membership_stats().
 *
 * One call, end to end:
 *
 *	1. Validate the domain and segment names (they go into a URL).
 *	2. Plan: walk the array once.  Every distinct valid id gets a "slot"
 *	   number in first-occurrence order (dedupe with an open-addressing hash
 *	   table), so batch b is simply slots [100b, 100b+100).  A slot only
 *	   records where its id's text sits in the array, so the plan costs
 *	   about 9 bytes per distinct id.
 *	3. Run the batches through the transport, at most max_concurrency at a
 *	   time, each signed afresh for every attempt.
 *	4. Emit rows in input order as soon as the batches they depend on are
 *	   in: positions up to the first occurrence of batch b+1's first id only
 *	   need batches 0..b.  A batch's answers are freed once its rows are
 *	   out; answers of ids that occur again later are kept in a temporary
 *	   file.  So memory is bounded by work_mem (the tuplestore), a window of
 *	   batches, and a few bytes per distinct id — not by the size of the
 *	   replies.
 *
 * Every input element yields exactly one row: an answer, or a failure row
 * (NULL or malformed id, id the reply left out, batch that failed when
 * segment_membership.on_request_failure = failure_rows).
 *
 * IDENTIFICATION
 *		src/membership.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "cluster.h"
#include "compat.h"
#include "config.h"
#include "credentials.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/supportnodes.h"
#include "optimizer/optimizer.h"
#include "reply.h"
#include "sigv4.h"
#include "storage/buffile.h"
#include "transport.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

PG_MODULE_MAGIC;

/* The API's limit of ids per request. */
#define SM_BATCH_SIZE 100
#define SM_ID_LEN	  32

/* sm_classify() results for elements without a valid id */
#define SM_SLOT_NULL	PG_UINT32_MAX
#define SM_SLOT_INVALID (PG_UINT32_MAX - 1)
/* sm_lookup_slot() result for an id that has no slot */
#define SM_SLOT_NOT_FOUND (PG_UINT32_MAX - 2)

/* Output columns */
#define SM_NCOLS 6

/* One batch (one request of at most 100 ids). */
typedef struct SmBatch
{
	MemoryContext cxt;	/* body and answers; deleted once emitted */
	char		 *body; /* {"ProfileIds":[...]} */
	int			  body_len;
	int			  nids;
	bool		  done;
	SmAnswer	 *answers; /* nids entries once done */
	bool		  has_lca;
	TimestampTz	  lca;
} SmBatch;

/* Where a repeated id's answer was saved in the temporary file. */
typedef struct SmDupEntry
{
	uint32 slot; /* hash key */
	int	   fileno;
	off_t  offset;
} SmDupEntry;

/* Everything one call works with. */
typedef struct SmCall
{
	/* arguments */
	char	  *domain;
	char	  *segment;
	ArrayType *ids;
	int		   nitems;

	/* where and how */
	SmTarget target;
	char	*path; /* /prefix/domains/d/segments/s/membership */
	char	*url;
	int		 max_concurrency;
	int		 window; /* batches that may be unemitted at once */

	/* the plan */
	const char *ids_base; /* ARR_DATA_PTR(ids) */
	uint32	   *slot_off; /* per slot: offset of its id's text */
	uint32		nslots;
	uint32	   *table; /* open addressing: slot + 1, 0 = empty */
	uint32		table_size;
	bits8	   *dup; /* per slot: occurs again later */
	int			nbatches;
	int		   *batch_first_pos; /* nbatches + 1 entries */
	SmBatch	   *batches;

	/* emission */
	ReturnSetInfo *rsinfo;
	int			   emit_pos;
	int			   emit_batch; /* lowest batch not yet emitted */
	ArrayIterator  emit_iter;
	MemoryContext  row_cxt;
	BufFile		  *dup_file;
	int			   dup_end_fileno; /* where the next saved answer goes */
	off_t		   dup_end_offset;
	HTAB		  *dup_hash;
	text		  *txt_present;
	text		  *txt_absent;

	MemoryContext call_cxt;
} SmCall;

/* The signing-key cache of this backend. */
static SigV4KeyCache sm_key_cache;
static bool			 sm_key_cache_ready = false;

PG_FUNCTION_INFO_V1(sm_get_segment_membership);
PG_FUNCTION_INFO_V1(sm_get_segment_membership_support);
PG_FUNCTION_INFO_V1(sm_segment_membership_stats);

void _PG_init(void);

static void		   sm_check_name(text *name, const char *argname);
static bool		   sm_valid_id(const char *s, int len);
static void		   sm_plan(SmCall *call);
static bool		   sm_may_start(void *arg, int job);
static void		   sm_build(void *arg, int job, SmRequestSpec *spec);
static const char *sm_accept(void *arg, int job, SmResponse *resp);
static void		   sm_give_up(void *arg, int job, const SmFailure *failure);
static bool		   sm_refresh_credentials(void *arg);
static void		   sm_emit_ready(SmCall *call);
static void		   sm_error_context(void *arg);

/*
 * _PG_init
 *		Module load: define the settings.  Nothing touches the network or
 *		libcurl until the first call.
 */
void
_PG_init(void)
{
	/* first: our settings must exist before the prefix is reserved */
	sm_cluster_init();
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
		ok = isalnum((unsigned char) s[i]) || s[i] == '-' || s[i] == '_';
	if (!ok)
	{
		/* quote at most 64 characters of it */
		int shown = pg_mbcliplen(s, len, Min(len, 64));

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

/* The value of a lower-case hex digit, or -1. */
static inline int
sm_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * sm_valid_id
 *		Whether s is exactly 32 lower-case hex digits.
 */
static bool
sm_valid_id(const char *s, int len)
{
	int i;

	if (len != SM_ID_LEN)
		return false;
	for (i = 0; i < SM_ID_LEN; i++)
		if (sm_hexval(s[i]) < 0)
			return false;
	return true;
}

/*
 * sm_id_hash
 *		A hash of the 32 characters of a valid id (all of them, so that ids
 *		that differ in any position spread out).
 */
static inline uint32
sm_id_hash(const char *id)
{
	uint64 w[4];
	uint64 h = UINT64CONST(0x9E3779B97F4A7C15);
	int	   i;

	memcpy(w, id, sizeof(w));
	for (i = 0; i < 4; i++)
	{
		h ^= w[i];
		h *= UINT64CONST(0xC2B2AE3D27D4EB4F);
		h ^= h >> 29;
	}
	return (uint32) (h >> 32) ^ (uint32) h;
}

/*
 * sm_lookup_slot
 *		The slot of a valid id, or, when insert is true and the id is new, a
 *		fresh slot pointing at it (then *is_new is set).  Returns
 *		SM_SLOT_NOT_FOUND when not found and not inserting.  id must lie in the
 *		array when inserting.
 */
static uint32
sm_lookup_slot(SmCall *call, const char *id, bool insert, bool *is_new)
{
	uint32 i = sm_id_hash(id) % call->table_size;

	for (;;)
	{
		uint32 e = call->table[i];

		if (e == 0)
		{
			if (!insert)
				return SM_SLOT_NOT_FOUND;
			call->slot_off[call->nslots] = (uint32) (id - call->ids_base);
			call->table[i] = call->nslots + 1;
			*is_new = true;
			return call->nslots++;
		}
		if (memcmp(call->ids_base + call->slot_off[e - 1], id, SM_ID_LEN) == 0)
		{
			if (is_new)
				*is_new = false;
			return e - 1;
		}
		if (++i == call->table_size)
			i = 0;
	}
}

/*
 * sm_classify
 *		The slot of an array element, SM_SLOT_NULL or SM_SLOT_INVALID.
 */
static inline uint32
sm_classify(SmCall *call, Datum value, bool isnull, bool insert, bool *is_new)
{
	text *t;

	if (isnull)
		return SM_SLOT_NULL;
	t = (text *) DatumGetPointer(value);
	if (!sm_valid_id(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)))
		return SM_SLOT_INVALID;
	return sm_lookup_slot(call, VARDATA_ANY(t), insert, is_new);
}

/*
 * sm_plan
 *		One pass over the array: dedupe, assign slots and batches, note ids
 *		that repeat.
 */
static void
sm_plan(SmCall *call)
{
	ArrayIterator it;
	Datum		  value;
	bool		  isnull;
	int			  pos = 0;

	call->ids_base = ARR_DATA_PTR(call->ids);
	/* at most 80% full */
	call->table_size = (uint32) call->nitems + call->nitems / 4 + 7;
	call->table = palloc_extended(sizeof(uint32) * call->table_size,
								  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	call->slot_off = palloc_extended(sizeof(uint32) * Max(call->nitems, 1),
									 MCXT_ALLOC_HUGE);
	call->dup = palloc_extended(call->nitems / 8 + 1,
								MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	call->batch_first_pos = palloc_extended(
		sizeof(int) * (call->nitems / SM_BATCH_SIZE + 2), MCXT_ALLOC_HUGE);

	it = array_create_iterator(call->ids, 0, NULL);
	while (array_iterate(it, &value, &isnull))
	{
		bool   is_new = false;
		uint32 slot;

		if ((pos & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		slot = sm_classify(call, value, isnull, true, &is_new);
		if (slot != SM_SLOT_NULL && slot != SM_SLOT_INVALID)
		{
			if (!is_new)
				call->dup[slot / 8] |= (1 << (slot % 8));
			else if (slot % SM_BATCH_SIZE == 0)
				call->batch_first_pos[slot / SM_BATCH_SIZE] = pos;
		}
		pos++;
	}
	array_free_iterator(it);

	call->nbatches = (call->nslots + SM_BATCH_SIZE - 1) / SM_BATCH_SIZE;
	call->batch_first_pos[call->nbatches] = call->nitems;
	call->batches = palloc_extended(sizeof(SmBatch) * Max(call->nbatches, 1),
									MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/* Look up an id of a reply in the batch being parsed. */
typedef struct SmLookupArg
{
	SmCall *call;
	int		batch;
} SmLookupArg;

static int
sm_reply_lookup(void *arg, const char *id, int len)
{
	SmLookupArg *la = (SmLookupArg *) arg;
	uint32		 slot;

	if (!sm_valid_id(id, len))
		return -1;
	slot = sm_lookup_slot(la->call, id, false, NULL);
	if (slot == SM_SLOT_NOT_FOUND ||
		slot / SM_BATCH_SIZE != (uint32) la->batch)
		return -1;
	return slot % SM_BATCH_SIZE;
}

/*
 * sm_may_start
 *		A batch may start while fewer than `window` batches wait to be
 *		emitted: that bounds the replies held in memory.
 */
static bool
sm_may_start(void *arg, int job)
{
	SmCall *call = (SmCall *) arg;

	return job < call->emit_batch + call->window;
}

/*
 * sm_build
 *		The request of one attempt of a batch: the body (made once), then
 *		headers signed now with the current credentials.
 */
static void
sm_build(void *arg, int job, SmRequestSpec *spec)
{
	SmCall				*call = (SmCall *) arg;
	SmBatch				*b = &call->batches[job];
	const SmCredentials *cred;

	if (b->body == NULL)
	{
		StringInfoData buf;
		uint32		   first = (uint32) job * SM_BATCH_SIZE;
		uint32		   last = Min(first + SM_BATCH_SIZE, call->nslots);
		uint32		   s;
		MemoryContext  oldcxt;

		b->cxt = AllocSetContextCreate(
			call->call_cxt, "segment_membership batch", ALLOCSET_SMALL_SIZES);
		b->nids = last - first;
		oldcxt = MemoryContextSwitchTo(b->cxt);
		initStringInfo(&buf);
		appendStringInfoString(&buf, "{\"ProfileIds\":[");
		for (s = first; s < last; s++)
		{
			if (s > first)
				appendStringInfoChar(&buf, ',');
			appendStringInfoChar(&buf, '"');
			appendBinaryStringInfo(&buf, call->ids_base + call->slot_off[s],
								   SM_ID_LEN);
			appendStringInfoChar(&buf, '"');
		}
		appendStringInfoString(&buf, "]}");
		MemoryContextSwitchTo(oldcxt);
		b->body = buf.data;
		b->body_len = buf.len;
	}

	cred = sm_credentials_get(&call->target);
	if (!sm_key_cache_ready)
	{
		sigv4_key_cache_init(&sm_key_cache);
		sm_key_cache_ready = true;
	}

	spec->method = "POST";
	spec->url = call->url;
	spec->body = b->body;
	spec->body_len = b->body_len;
	spec->headers[spec->nheaders++] = "Accept: application/json";
	if (!sm_sign_headers(cred, call->target.endpoint.host_header, call->path,
						 "application/json", b->body, b->body_len,
						 call->target.region, "profile", &sm_key_cache,
						 spec->headers, &spec->nheaders))
		ereport(ERROR, (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
						errmsg("could not sign request"),
						errdetail("The credentials from the %s source are not "
								  "usable for signing.",
								  cred->source)));
	sm_transport_stats.signing_keys_derived =
		(int64) sigv4_key_cache_derivations(&sm_key_cache);
	spec->ca_file = call->target.ca_file;
	spec->connect_timeout_ms = sm_guc_connect_timeout_ms;
	spec->timeout_ms = sm_guc_request_timeout_ms;
	spec->max_body = (size_t) sm_guc_max_reply_size_kb * 1024;
}

/*
 * sm_accept
 *		A 200 reply for a batch: parse it into answers, turn ids it left out
 *		into failure rows, and emit whatever rows can now be emitted.
 */
static const char *
sm_accept(void *arg, int job, SmResponse *resp)
{
	SmCall		 *call = (SmCall *) arg;
	SmBatch		 *b = &call->batches[job];
	MemoryContext acxt;
	SmAnswer	 *answers;
	SmLookupArg	  la;
	const char	 *why;
	int			  i;

	acxt = AllocSetContextCreate(b->cxt, "segment_membership answers",
								 ALLOCSET_DEFAULT_SIZES);
	answers = MemoryContextAllocZero(acxt, sizeof(SmAnswer) * SM_BATCH_SIZE);
	la.call = call;
	la.batch = job;
	why =
		sm_reply_parse_membership(resp->body, resp->body_len, sm_reply_lookup,
								  &la, answers, acxt, &b->has_lca, &b->lca);
	if (why != NULL)
	{
		MemoryContextDelete(acxt);
		return why;
	}
	for (i = 0; i < b->nids; i++)
	{
		if (answers[i].kind == SM_ANSWER_NONE)
		{
			answers[i].kind = SM_ANSWER_FAILURE;
			answers[i].local = true;
			answers[i].message = "the reply did not include this profile id";
		}
	}
	b->answers = answers;
	b->done = true;
	sm_emit_ready(call);
	return NULL;
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
 * sm_failure_summary
 *		"Code: message" of a failure, for messages and failure rows.
 */
static char *
sm_failure_summary(const SmFailure *f)
{
	const char *code = f->code;
	char		status_code[32];

	if (code[0] == '\0')
	{
		if (f->http_status != 0)
		{
			snprintf(status_code, sizeof(status_code), "HTTP %ld",
					 f->http_status);
			code = status_code;
		}
		else if (f->too_large)
			code = "ReplyTooLarge";
		else
			code = "ConnectionError";
	}
	if (f->message[0] == '\0')
		return pstrdup(code);
	return psprintf("%s: %s", code, f->message);
}

/*
 * sm_give_up
 *		A batch failed for good.  Non-retryable failures (bad request,
 *		access denied, unknown domain or segment, a reply over the size cap,
 *		TLS verification) always fail the statement; retryable ones that ran
 *		out of attempts do too, unless on_request_failure = failure_rows.
 */
static void
sm_give_up(void *arg, int job, const SmFailure *f)
{
	SmCall	   *call = (SmCall *) arg;
	SmBatch	   *b = &call->batches[job];
	char	   *summary = sm_failure_summary(f);
	const char *rid = f->request_id[0] ? f->request_id : "none";

	if (f->cls != SM_RETRY_NO &&
		sm_guc_on_request_failure == SM_ON_FAILURE_ROWS)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(b->cxt);
		char		 *msg =
			psprintf("request failed after %d attempt%s: %s (request id %s)",
					 f->attempts, f->attempts == 1 ? "" : "s", summary, rid);
		int i;

		b->answers = palloc0(sizeof(SmAnswer) * SM_BATCH_SIZE);
		for (i = 0; i < b->nids; i++)
		{
			b->answers[i].kind = SM_ANSWER_FAILURE;
			b->answers[i].local = true;
			b->answers[i].has_status = (f->http_status != 0);
			b->answers[i].status = (int32) f->http_status;
			b->answers[i].message = msg;
		}
		MemoryContextSwitchTo(oldcxt);
		b->has_lca = false;
		b->done = true;
		sm_emit_ready(call);
		return;
	}

	if (f->http_status == 0 && f->curl_code == CURLE_SSL_CACERT_BADFILE)
		ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR),
						errmsg("could not load CA certificates from \"%s\"",
							   call->target.ca_file ? call->target.ca_file
													: "(system default)"),
						errdetail_internal("%s", f->message),
						errhint("Check the setting of %s.",
								call->target.ca_source
									? call->target.ca_source
									: "segment_membership.ca_file")));

	if (f->http_status == 0 &&
		(f->curl_code == CURLE_PEER_FAILED_VERIFICATION ||
		 f->curl_code == CURLE_SSL_CERTPROBLEM))
		ereport(
			ERROR,
			(errcode(sm_failure_sqlstate(f)),
			 errmsg("could not establish a verified TLS connection to \"%s\"",
					call->target.endpoint.host_header),
			 errdetail_internal("%s", f->message),
			 errhint("The server's certificate must be trusted by the CA "
					 "file in segment_membership.ca_file or AWS_CA_BUNDLE, or "
					 "by the system's CA store.")));

	if (f->http_status == 0 && !f->too_large)
		ereport(
			ERROR,
			(errcode(sm_failure_sqlstate(f)),
			 errmsg("segment membership request to \"%s\" failed: %s",
					call->target.endpoint.host_header, f->message),
			 errdetail("Gave up after %d attempt%s%s.", f->attempts,
					   f->attempts == 1 ? "" : "s",
					   f->quota_exhausted
						   ? "; the retry quota of this session is used up"
						   : ""),
			 f->cls != SM_RETRY_NO
				 ? errhint(
					   "Set segment_membership.on_request_failure to "
					   "\"failure_rows\" to get failure rows for the ids of "
					   "failed requests instead of an error.")
				 : 0));

	ereport(
		ERROR,
		(errcode(sm_failure_sqlstate(f)),
		 errmsg("segment membership request failed: %s", summary),
		 f->http_status != 0
			 ? errdetail(
				   "HTTP status %ld after %d attempt%s%s, request id %s.",
				   f->http_status, f->attempts, f->attempts == 1 ? "" : "s",
				   f->quota_exhausted
					   ? " (the retry quota of this session is used up)"
					   : "",
				   rid)
			 : errdetail("Gave up after %d attempt%s.", f->attempts,
						 f->attempts == 1 ? "" : "s"),
		 f->cls == SM_RETRY_THROTTLING
			 ? errhint("Lower segment_membership.max_concurrency, or ask AWS "
					   "for a higher request quota.")
		 : f->cls != SM_RETRY_NO
			 ? errhint("Set segment_membership.on_request_failure to "
					   "\"failure_rows\" to get failure rows for the ids of "
					   "failed requests instead of an error.")
			 : 0));
}

/* Credentials were refused as expired: look again (once per batch). */
static bool
sm_refresh_credentials(void *arg)
{
	SmCall *call = (SmCall *) arg;

	return sm_credentials_refresh_after_rejection(&call->target);
}

/*
 * sm_put_row
 *		Emit one row for an input element.
 */
static void
sm_put_row(SmCall *call, Datum id, bool id_null, const SmAnswer *a,
		   bool has_lca, TimestampTz lca)
{
	Datum values[SM_NCOLS];
	bool  nulls[SM_NCOLS];

	memset(nulls, true, sizeof(nulls));
	values[0] = id;
	nulls[0] = id_null;
	switch (a->kind)
	{
		case SM_ANSWER_PRESENT:
		case SM_ANSWER_ABSENT:
			values[1] = PointerGetDatum(a->kind == SM_ANSWER_PRESENT
											? call->txt_present
											: call->txt_absent);
			nulls[1] = false;
			if (a->profile != NULL)
			{
				values[2] = JsonbPGetDatum(a->profile);
				nulls[2] = false;
			}
			break;
		case SM_ANSWER_FAILURE:
			if (a->has_status)
			{
				values[3] = Int32GetDatum(a->status);
				nulls[3] = false;
			}
			if (a->message != NULL)
			{
				values[4] = CStringGetTextDatum(a->message);
				nulls[4] = false;
			}
			break;
		case SM_ANSWER_NONE:
			elog(ERROR, "segment_membership: row without an answer");
	}
	if (has_lca && !a->local)
	{
		values[5] = TimestampTzGetDatum(lca);
		nulls[5] = false;
	}
	tuplestore_putvalues(call->rsinfo->setResult, call->rsinfo->setDesc,
						 values, nulls);
}

/*
 * sm_invalid_id_message
 *		Why an element is not a valid profile id.
 */
static char *
sm_invalid_id_message(text *t)
{
	const char *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	int			nchars;
	int			i;

	if (len == 0)
		return "invalid profile id: the id is an empty string";
	nchars = pg_mbstrlen_with_len(s, len);
	if (nchars != SM_ID_LEN)
		return psprintf("invalid profile id: an id must be 32 lower-case "
						"hexadecimal characters, not %d character%s",
						nchars, nchars == 1 ? "" : "s");
	for (i = 0; i < len; i++)
		if (sm_hexval(s[i]) < 0)
			break;
	return psprintf(
		"invalid profile id: character %d is not one of 0-9 and a-f",
		pg_mbstrlen_with_len(s, i) + 1);
}

/*
 * sm_dup_save
 *		Save the answers of a batch's ids that occur again later, so the
 *		batch can be freed.
 */
static void
sm_dup_save(SmCall *call, int batch)
{
	SmBatch *b = &call->batches[batch];
	uint32	 first = (uint32) batch * SM_BATCH_SIZE;
	int		 i;

	for (i = 0; i < b->nids; i++)
	{
		uint32			slot = first + i;
		const SmAnswer *a = &b->answers[i];
		SmDupEntry	   *e;
		bool			found;
		int32			hdr[5];
		int64			lca = b->lca;
		int32			len;

		if (!(call->dup[slot / 8] & (1 << (slot % 8))))
			continue;
		if (call->dup_file == NULL)
		{
			HASHCTL		  ctl;
			MemoryContext oldcxt = MemoryContextSwitchTo(call->call_cxt);

			call->dup_file = BufFileCreateTemp(false);
			memset(&ctl, 0, sizeof(ctl));
			ctl.keysize = sizeof(uint32);
			ctl.entrysize = sizeof(SmDupEntry);
			ctl.hcxt = call->call_cxt;
			call->dup_hash =
				hash_create("segment_membership repeated ids", 1024, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
			MemoryContextSwitchTo(oldcxt);
		}
		e = hash_search(call->dup_hash, &slot, HASH_ENTER, &found);
		/* append (reads may have moved the position; SEEK_END would not
		 * see data still in the buffer) */
		if (BufFileSeek(call->dup_file, call->dup_end_fileno,
						call->dup_end_offset, SEEK_SET) != 0)
			ereport(ERROR, (errcode_for_file_access(),
							errmsg("could not seek in temporary file: %m")));
		e->fileno = call->dup_end_fileno;
		e->offset = call->dup_end_offset;

		hdr[0] = (int32) a->kind;
		hdr[1] = a->has_status;
		hdr[2] = a->status;
		hdr[3] = (b->has_lca && !a->local);
		hdr[4] = 0;
		sm_buffile_write(call->dup_file, hdr, sizeof(hdr));
		sm_buffile_write(call->dup_file, &lca, sizeof(lca));
		len = a->message ? (int32) strlen(a->message) : -1;
		sm_buffile_write(call->dup_file, &len, sizeof(len));
		if (len > 0)
			sm_buffile_write(call->dup_file, a->message, len);
		len = a->profile ? (int32) VARSIZE(a->profile) : -1;
		sm_buffile_write(call->dup_file, &len, sizeof(len));
		if (len > 0)
			sm_buffile_write(call->dup_file, a->profile, len);
		BufFileTell(call->dup_file, &call->dup_end_fileno,
					&call->dup_end_offset);
	}
}

/*
 * sm_dup_load
 *		Read back the saved answer of a repeated id (in CurrentMemoryContext).
 */
static void
sm_dup_load(SmCall *call, uint32 slot, SmAnswer *a, bool *has_lca,
			TimestampTz *lca)
{
	SmDupEntry *e;
	int32		hdr[5];
	int64		l;
	int32		len;

	e = call->dup_hash ? hash_search(call->dup_hash, &slot, HASH_FIND, NULL)
					   : NULL;
	if (e == NULL)
		elog(ERROR, "segment_membership: saved answer for slot %u not found",
			 slot);
	if (BufFileSeek(call->dup_file, e->fileno, e->offset, SEEK_SET) != 0)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not seek in temporary file: %m")));
	sm_buffile_read_exact(call->dup_file, hdr, sizeof(hdr));
	sm_buffile_read_exact(call->dup_file, &l, sizeof(l));
	memset(a, 0, sizeof(*a));
	a->kind = (SmAnswerKind) hdr[0];
	a->has_status = hdr[1];
	a->status = hdr[2];
	a->local = !hdr[3];
	*has_lca = hdr[3];
	*lca = l;
	sm_buffile_read_exact(call->dup_file, &len, sizeof(len));
	if (len >= 0)
	{
		a->message = palloc(len + 1);
		sm_buffile_read_exact(call->dup_file, a->message, len);
		a->message[len] = '\0';
	}
	sm_buffile_read_exact(call->dup_file, &len, sizeof(len));
	if (len > 0)
	{
		a->profile = palloc(len);
		sm_buffile_read_exact(call->dup_file, a->profile, len);
	}
}

/*
 * sm_emit_upto
 *		Emit rows for input positions up to (not including) limit; every
 *		batch they need is done.
 */
static void
sm_emit_upto(SmCall *call, int limit)
{
	while (call->emit_pos < limit)
	{
		Datum		  value;
		bool		  isnull;
		uint32		  slot;
		MemoryContext oldcxt;
		SmAnswer	  local;
		bool		  has_lca = false;
		TimestampTz	  lca = 0;

		if (!array_iterate(call->emit_iter, &value, &isnull))
			elog(ERROR, "segment_membership: array ended early");
		slot = sm_classify(call, value, isnull, false, NULL);
		if (slot == SM_SLOT_NOT_FOUND)
			elog(ERROR, "segment_membership: id without a slot");

		MemoryContextReset(call->row_cxt);
		oldcxt = MemoryContextSwitchTo(call->row_cxt);
		memset(&local, 0, sizeof(local));
		if (slot == SM_SLOT_NULL || slot == SM_SLOT_INVALID)
		{
			local.kind = SM_ANSWER_FAILURE;
			local.local = true;
			local.has_status = true;
			local.status = 400;
			local.message =
				(slot == SM_SLOT_NULL)
					? "invalid profile id: the id is NULL"
					: sm_invalid_id_message((text *) DatumGetPointer(value));
			sm_put_row(call, value, isnull, &local, false, 0);
		}
		else if (slot / SM_BATCH_SIZE == (uint32) call->emit_batch)
		{
			SmBatch *b = &call->batches[call->emit_batch];

			sm_put_row(call, value, false, &b->answers[slot % SM_BATCH_SIZE],
					   b->has_lca, b->lca);
		}
		else
		{
			Assert(slot / SM_BATCH_SIZE < (uint32) call->emit_batch);
			sm_dup_load(call, slot, &local, &has_lca, &lca);
			sm_put_row(call, value, false, &local, has_lca, lca);
		}
		MemoryContextSwitchTo(oldcxt);
		call->emit_pos++;
	}
}

/*
 * sm_emit_ready
 *		Emit every row whose batches are all done, in input order, and free
 *		the batches left behind.
 */
static void
sm_emit_ready(SmCall *call)
{
	while (call->emit_batch < call->nbatches &&
		   call->batches[call->emit_batch].done)
	{
		SmBatch *b = &call->batches[call->emit_batch];

		sm_emit_upto(call, call->batch_first_pos[call->emit_batch + 1]);
		sm_dup_save(call, call->emit_batch);
		MemoryContextDelete(b->cxt);
		b->cxt = NULL;
		b->answers = NULL;
		b->body = NULL;
		call->emit_batch++;
	}
	/* cluster.c: progress of the call */
	sm_progress_ids_done(call->emit_pos);
}

/* errcontext for everything that happens while the requests run */
static void
sm_error_context(void *arg)
{
	SmCall *call = (SmCall *) arg;

	errcontext("GetSegmentMembership for domain \"%s\", segment \"%s\"",
			   call->domain, call->segment);
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
	SmCall				 *call;
	MemoryContext		  oldcxt;
	ErrorContextCallback  errcb;
	static const SmJobOps ops = {sm_may_start, sm_build, sm_accept, sm_give_up,
								 sm_refresh_credentials};

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

	call = palloc0(sizeof(SmCall));
	call->call_cxt =
		AllocSetContextCreate(CurrentMemoryContext, "segment_membership call",
							  ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(call->call_cxt);
	call->rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	call->domain = text_to_cstring(PG_GETARG_TEXT_PP(0));
	call->segment = text_to_cstring(PG_GETARG_TEXT_PP(1));
	call->ids = PG_GETARG_ARRAYTYPE_P(2);
	if (ARR_NDIM(call->ids) > 1)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						errmsg("profile_ids must be a one-dimensional array"),
						errdetail("The array has %d dimensions.",
								  ARR_NDIM(call->ids)),
						errhint("Flatten it first, for example with "
								"ARRAY(SELECT unnest(...)).")));
	call->nitems = ArrayGetNItems(ARR_NDIM(call->ids), ARR_DIMS(call->ids));
	if (call->nitems == 0)
	{
		MemoryContextSwitchTo(oldcxt);
		MemoryContextDelete(call->call_cxt);
		PG_RETURN_NULL();
	}

	sm_plan(call);

	call->txt_present = cstring_to_text("PRESENT");
	call->txt_absent = cstring_to_text("ABSENT");
	call->row_cxt = AllocSetContextCreate(
		call->call_cxt, "segment_membership row", ALLOCSET_DEFAULT_SIZES);
	call->emit_iter = array_create_iterator(call->ids, 0, NULL);

	if (call->nbatches > 0)
	{
		sm_resolve_target(&call->target);
		call->path = psprintf("%s/domains/%s/segments/%s/membership",
							  call->target.endpoint.path_prefix, call->domain,
							  call->segment);
		call->url = psprintf("%s://%s%s",
							 call->target.endpoint.https ? "https" : "http",
							 call->target.endpoint.host_header, call->path);
		call->max_concurrency = sm_guc_max_concurrency;
		call->window = Max(2 * call->max_concurrency, 4);

		/* positions before the first valid id need no batch */
		sm_emit_upto(call, call->batch_first_pos[0]);

		/* cluster.c: a progress row until call_cxt goes away */
		sm_progress_begin(call->domain, call->segment, call->nitems);

		errcb.callback = sm_error_context;
		errcb.arg = call;
		errcb.previous = error_context_stack;
		error_context_stack = &errcb;
		sm_run_jobs(call->nbatches, call->max_concurrency, &ops, call);
		error_context_stack = errcb.previous;
	}
	sm_emit_upto(call, call->nitems);
	Assert(call->emit_batch == call->nbatches);

	if (call->dup_file != NULL)
		BufFileClose(call->dup_file);
	array_free_iterator(call->emit_iter);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(call->call_cxt);
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
 *		This backend's transport counters.
 */
Datum
sm_segment_membership_stats(PG_FUNCTION_ARGS)
{
	TupleDesc tupdesc;
	Datum	  values[11];
	bool	  nulls[11];
	int		  i = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	memset(nulls, false, sizeof(nulls));
	values[i++] = Int64GetDatum(sm_transport_stats.attempts);
	values[i++] = Int64GetDatum(sm_transport_stats.retries);
	values[i++] = Int64GetDatum(sm_transport_stats.throttled);
	values[i++] = Int64GetDatum(sm_transport_stats.failed_jobs);
	values[i++] = Int64GetDatum(sm_transport_stats.connections_opened);
	values[i++] = Int64GetDatum(sm_transport_stats.connections_open);
	values[i++] = Int64GetDatum(sm_transport_stats.bytes_received);
	values[i++] = Int64GetDatum(sm_transport_stats.clock_skew_corrections);
	values[i++] = Int64GetDatum(sm_transport_stats.credential_fetches);
	values[i++] = Int64GetDatum(sm_transport_stats.signing_keys_derived);
	values[i++] = Int32GetDatum(sm_retry_quota_available());
	Assert(i == tupdesc->natts);
	PG_RETURN_DATUM(
		HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
