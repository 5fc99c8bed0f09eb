/*-------------------------------------------------------------------------
 *
 * idplan.c
 *		The plan of one get_segment_membership() call: dedupe the input ids,
 *		split them into requests, and emit the rows in input order as the
 *		requests' answers come in, spilling answers of repeated ids to a
 *		temporary file.
 *
 *	1. One pass over the array.  Every distinct valid id gets a "slot"
 *	   number in first-occurrence order (dedupe with an open-addressing hash
 *	   table), so request r is simply slots [100r, 100r+100).  A slot only
 *	   records where its id's text sits in the array, so the plan costs
 *	   about 9 bytes per distinct id.
 *	2. Rows are emitted in input order as soon as the requests they depend
 *	   on are answered: positions before the first occurrence of request
 *	   r+1's first id only need requests 0..r.  A request's answers are
 *	   freed once its rows are out; answers of ids that occur again later
 *	   are kept in a temporary file.  So memory is bounded by work_mem (the
 *	   tuplestore), a window of requests, and a few bytes per distinct id —
 *	   not by the size of the replies.
 *
 * Every input element yields exactly one row: an answer, or a failure row
 * (NULL or malformed id, id the reply left out, request that failed when
 * the caller asks for failure rows).
 *
 * IDENTIFICATION
 *		src/idplan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "compat.h"
#include "idplan.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "reply.h"
#include "storage/buffile.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#define SM_ID_LEN 32

/* sm_classify() results for elements without a valid id */
#define SM_SLOT_NULL	PG_UINT32_MAX
#define SM_SLOT_INVALID (PG_UINT32_MAX - 1)
/* sm_lookup_slot() result for an id that has no slot */
#define SM_SLOT_NOT_FOUND (PG_UINT32_MAX - 2)

/* Columns of get_segment_membership()'s rows */
#define SM_MEMBERSHIP_COLS 6

/* The ids of one request, and its answers once they are in. */
typedef struct SmPlanRequest
{
	MemoryContext cxt;	/* body and answers; deleted once emitted */
	char		 *body; /* {"ProfileIds":[...]} */
	int			  body_len;
	int			  nids;
	bool		  done;
	SmAnswer	 *answers; /* nids entries once done */
	bool		  has_lca;
	TimestampTz	  lca;
} SmPlanRequest;

/* Where a repeated id's answer was saved in the temporary file. */
typedef struct SmSpillEntry
{
	uint32 slot; /* hash key */
	int	   fileno;
	off_t  offset;
} SmSpillEntry;

/*
 * A saved answer in the temporary file: this record, then message_len
 * bytes of message and profile_len bytes of jsonb profile.
 */
typedef struct SmSpillRecord
{
	int32 kind; /* SmAnswerKind */
	int32 status;
	bool  has_status;
	bool  has_lca; /* the answer came from a reply with LastComputedAt */
	int64 lca;
	int32 message_len; /* -1: no message */
	int32 profile_len; /* -1: no profile */
} SmSpillRecord;

struct SmPlan
{
	ArrayType *ids;
	int		   nitems;
	int		   window; /* requests that may be unemitted at once */

	/* dedupe */
	const char *ids_base; /* ARR_DATA_PTR(ids) */
	uint32	   *slot_off; /* per slot: offset of its id's text */
	uint32		nslots;
	uint32	   *table; /* open addressing: slot + 1, 0 = empty */
	uint32		table_size;
	uint8	   *repeats; /* per slot: occurs again later (a bitmap) */

	/* requests */
	int			   nrequests;
	int			  *request_first_pos; /* nrequests + 1 entries */
	SmPlanRequest *requests;

	/* emission */
	ReturnSetInfo *rsinfo;
	int			   emit_pos;
	int			   emit_request; /* lowest request not yet emitted */
	ArrayIterator  emit_iter;
	MemoryContext  row_cxt;
	text		  *txt_present;
	text		  *txt_absent;

	/* answers of repeated ids, kept for their later occurrences */
	BufFile *spill_file;
	int		 spill_end_fileno; /* where the next saved answer goes */
	off_t	 spill_end_offset;
	HTAB	*spill_hash;

	/* on_request_failure = failure_rows: rows, not errors, for profiles
	 * the database encoding cannot represent */
	bool failure_rows;

	MemoryContext cxt;
};

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
 *		SM_SLOT_NOT_FOUND when not found and not inserting.  id must lie in
 *		the array when inserting.
 */
static uint32
sm_lookup_slot(SmPlan *plan, const char *id, bool insert, bool *is_new)
{
	uint32 i = sm_id_hash(id) % plan->table_size;

	for (;;)
	{
		uint32 e = plan->table[i];

		if (e == 0)
		{
			if (!insert)
				return SM_SLOT_NOT_FOUND;
			plan->slot_off[plan->nslots] = (uint32) (id - plan->ids_base);
			plan->table[i] = plan->nslots + 1;
			*is_new = true;
			return plan->nslots++;
		}
		if (memcmp(plan->ids_base + plan->slot_off[e - 1], id, SM_ID_LEN) == 0)
		{
			if (is_new)
				*is_new = false;
			return e - 1;
		}
		if (++i == plan->table_size)
			i = 0;
	}
}

/*
 * sm_classify
 *		The slot of an array element, SM_SLOT_NULL or SM_SLOT_INVALID.
 */
static inline uint32
sm_classify(SmPlan *plan, Datum value, bool isnull, bool insert, bool *is_new)
{
	text *t;

	if (isnull)
		return SM_SLOT_NULL;
	t = (text *) DatumGetPointer(value);
	if (!sm_valid_id(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)))
		return SM_SLOT_INVALID;
	return sm_lookup_slot(plan, VARDATA_ANY(t), insert, is_new);
}

/*
 * sm_plan_create
 *		One pass over the array: dedupe, assign slots and requests, note ids
 *		that repeat.  At most window requests may be answered but not yet
 *		emitted at once.  Everything lives in a new memory context under
 *		CurrentMemoryContext, freed by sm_plan_finish().
 */
SmPlan *
sm_plan_create(ArrayType *ids, int nitems, ReturnSetInfo *rsinfo, int window)
{
	MemoryContext cxt;
	MemoryContext oldcxt;
	SmPlan		 *plan;
	ArrayIterator it;
	Datum		  value;
	bool		  isnull;
	int			  pos = 0;

	cxt =
		AllocSetContextCreate(CurrentMemoryContext, "segment_membership plan",
							  ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	plan = palloc0(sizeof(SmPlan));
	plan->cxt = cxt;
	plan->ids = ids;
	plan->nitems = nitems;
	plan->window = window;
	plan->rsinfo = rsinfo;
	plan->ids_base = ARR_DATA_PTR(ids);
	/* at most 80% full */
	plan->table_size = (uint32) nitems + nitems / 4 + 7;
	plan->table = palloc_extended(sizeof(uint32) * plan->table_size,
								  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	plan->slot_off =
		palloc_extended(sizeof(uint32) * Max(nitems, 1), MCXT_ALLOC_HUGE);
	plan->repeats =
		palloc_extended(nitems / 8 + 1, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	plan->request_first_pos = palloc_extended(
		sizeof(int) * (nitems / SM_REQUEST_MAX_IDS + 2), MCXT_ALLOC_HUGE);

	it = array_create_iterator(ids, 0, NULL);
	while (array_iterate(it, &value, &isnull))
	{
		bool   is_new = false;
		uint32 slot;

		if ((pos & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		slot = sm_classify(plan, value, isnull, true, &is_new);
		if (slot != SM_SLOT_NULL && slot != SM_SLOT_INVALID)
		{
			if (!is_new)
				plan->repeats[slot / 8] |= (1 << (slot % 8));
			else if (slot % SM_REQUEST_MAX_IDS == 0)
				plan->request_first_pos[slot / SM_REQUEST_MAX_IDS] = pos;
		}
		pos++;
	}
	array_free_iterator(it);

	plan->nrequests =
		(plan->nslots + SM_REQUEST_MAX_IDS - 1) / SM_REQUEST_MAX_IDS;
	plan->request_first_pos[plan->nrequests] = nitems;
	plan->requests =
		palloc_extended(sizeof(SmPlanRequest) * Max(plan->nrequests, 1),
						MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);

	plan->txt_present = cstring_to_text("PRESENT");
	plan->txt_absent = cstring_to_text("ABSENT");
	plan->row_cxt = AllocSetContextCreate(cxt, "segment_membership row",
										  ALLOCSET_DEFAULT_SIZES);
	plan->emit_iter = array_create_iterator(ids, 0, NULL);
	MemoryContextSwitchTo(oldcxt);
	return plan;
}

/* How many requests the plan has. */
int
sm_plan_nrequests(const SmPlan *plan)
{
	return plan->nrequests;
}

/*
 * sm_plan_may_start
 *		A request may start while fewer than `window` requests wait to be
 *		emitted: that bounds the replies held in memory.
 */
bool
sm_plan_may_start(const SmPlan *plan, int req)
{
	return req < plan->emit_request + plan->window;
}

/*
 * sm_plan_request_body
 *		The body of a request, {"ProfileIds":[...]}: made on first use and
 *		kept until the request's rows are emitted.
 */
void
sm_plan_request_body(SmPlan *plan, int req, const char **body, int *len)
{
	SmPlanRequest *r = &plan->requests[req];

	if (r->body == NULL)
	{
		StringInfoData buf;
		uint32		   first = (uint32) req * SM_REQUEST_MAX_IDS;
		uint32		   last = Min(first + SM_REQUEST_MAX_IDS, plan->nslots);
		uint32		   s;
		MemoryContext  oldcxt;

		r->cxt = AllocSetContextCreate(plan->cxt, "segment_membership request",
									   ALLOCSET_SMALL_SIZES);
		r->nids = last - first;
		oldcxt = MemoryContextSwitchTo(r->cxt);
		initStringInfo(&buf);
		appendStringInfoString(&buf, "{\"ProfileIds\":[");
		for (s = first; s < last; s++)
		{
			if (s > first)
				appendStringInfoChar(&buf, ',');
			appendStringInfoChar(&buf, '"');
			appendBinaryStringInfo(&buf, plan->ids_base + plan->slot_off[s],
								   SM_ID_LEN);
			appendStringInfoChar(&buf, '"');
		}
		appendStringInfoString(&buf, "]}");
		MemoryContextSwitchTo(oldcxt);
		r->body = buf.data;
		r->body_len = buf.len;
	}
	*body = r->body;
	*len = r->body_len;
}

/* Look up an id of a reply in the request being parsed. */
typedef struct SmLookupArg
{
	SmPlan *plan;
	int		req;
} SmLookupArg;

static int
sm_reply_lookup(void *arg, const char *id, int len)
{
	SmLookupArg *la = (SmLookupArg *) arg;
	uint32		 slot;

	if (!sm_valid_id(id, len))
		return -1;
	slot = sm_lookup_slot(la->plan, id, false, NULL);
	if (slot == SM_SLOT_NOT_FOUND ||
		slot / SM_REQUEST_MAX_IDS != (uint32) la->req)
		return -1;
	return slot % SM_REQUEST_MAX_IDS;
}

/*
 * sm_plan_take_reply
 *		A 200 reply for a request: parse it into answers, turn ids it left
 *		out into failure rows, and emit whatever rows can now be emitted.
 *		Returns NULL, or why the reply is unusable (nothing is kept then).
 */
const char *
sm_plan_take_reply(SmPlan *plan, int req, char *body, size_t len)
{
	SmPlanRequest *r = &plan->requests[req];
	MemoryContext  acxt;
	SmAnswer	  *answers;
	SmLookupArg	   la;
	const char	  *why;
	int			   i;

	acxt = AllocSetContextCreate(r->cxt, "segment_membership answers",
								 ALLOCSET_DEFAULT_SIZES);
	answers =
		MemoryContextAllocZero(acxt, sizeof(SmAnswer) * SM_REQUEST_MAX_IDS);
	la.plan = plan;
	la.req = req;
	why = sm_reply_parse_membership(body, len, sm_reply_lookup, &la, answers,
									acxt, &r->has_lca, &r->lca);
	if (why != NULL)
	{
		MemoryContextDelete(acxt);
		return why;
	}
	for (i = 0; i < r->nids; i++)
	{
		if (answers[i].kind == SM_ANSWER_UNREPRESENTABLE)
		{
			if (!plan->failure_rows)
				ereport(
					ERROR,
					(errcode(ERRCODE_UNTRANSLATABLE_CHARACTER),
					 errmsg("profile \"%s\" cannot be represented in the "
							"database encoding \"%s\"",
							answers[i].message, GetDatabaseEncodingName()),
					 errdetail("Its Profile holds characters that the "
							   "encoding lacks."),
					 errhint("Set segment_membership.on_request_failure to "
							 "\"failure_rows\" to get a failure row for "
							 "such a profile instead, or use a database "
							 "with encoding UTF8.")));
			answers[i].kind = SM_ANSWER_FAILURE;
			answers[i].local = true;
			answers[i].message = MemoryContextStrdup(
				acxt, psprintf("the profile cannot be represented in the "
							   "database encoding \"%s\"",
							   GetDatabaseEncodingName()));
		}
		if (answers[i].kind == SM_ANSWER_NONE)
		{
			answers[i].kind = SM_ANSWER_FAILURE;
			answers[i].local = true;
			answers[i].message = "the reply did not include this profile id";
		}
	}
	r->answers = answers;
	r->done = true;
	sm_plan_emit_ready(plan);
	return NULL;
}

/*
 * sm_plan_set_failure_rows
 *		Whether on_request_failure = failure_rows: a profile the database
 *		encoding cannot represent then becomes a failure row, else an error.
 */
void
sm_plan_set_failure_rows(SmPlan *plan, bool failure_rows)
{
	plan->failure_rows = failure_rows;
}

/*
 * sm_plan_fail_request
 *		A request failed for good and its ids get failure rows: the HTTP
 *		status (0: none) and message.
 */
void
sm_plan_fail_request(SmPlan *plan, int req, long http_status,
					 const char *message)
{
	SmPlanRequest *r = &plan->requests[req];
	char		  *msg = MemoryContextStrdup(r->cxt, message);
	int			   i;

	r->answers =
		MemoryContextAllocZero(r->cxt, sizeof(SmAnswer) * SM_REQUEST_MAX_IDS);
	for (i = 0; i < r->nids; i++)
	{
		r->answers[i].kind = SM_ANSWER_FAILURE;
		r->answers[i].local = true;
		r->answers[i].has_status = (http_status != 0);
		r->answers[i].status = (int32) http_status;
		r->answers[i].message = msg;
	}
	r->has_lca = false;
	r->done = true;
	sm_plan_emit_ready(plan);
}

/*
 * sm_put_row
 *		Emit one row for an input element.
 */
static void
sm_put_row(SmPlan *plan, Datum id, bool id_null, const SmAnswer *a,
		   bool has_lca, TimestampTz lca)
{
	Datum values[SM_MEMBERSHIP_COLS];
	bool  nulls[SM_MEMBERSHIP_COLS];
	int	  i = 0;

	memset(nulls, true, sizeof(nulls));
	if (a->kind == SM_ANSWER_NONE)
		elog(ERROR, "segment_membership: row without an answer");

	/* profile_id */
	values[i] = id;
	nulls[i++] = id_null;
	/* query_result, profile */
	if (a->kind == SM_ANSWER_PRESENT || a->kind == SM_ANSWER_ABSENT)
	{
		values[i] =
			PointerGetDatum(a->kind == SM_ANSWER_PRESENT ? plan->txt_present
														 : plan->txt_absent);
		nulls[i] = false;
		if (a->profile != NULL)
		{
			values[i + 1] = JsonbPGetDatum(a->profile);
			nulls[i + 1] = false;
		}
	}
	i += 2;
	/* failure_status, failure_message */
	if (a->kind == SM_ANSWER_FAILURE)
	{
		if (a->has_status)
		{
			values[i] = Int32GetDatum(a->status);
			nulls[i] = false;
		}
		if (a->message != NULL)
		{
			values[i + 1] = CStringGetTextDatum(a->message);
			nulls[i + 1] = false;
		}
	}
	i += 2;
	/* last_computed_at */
	if (has_lca && !a->local)
	{
		values[i] = TimestampTzGetDatum(lca);
		nulls[i] = false;
	}
	i++;
	Assert(i == SM_MEMBERSHIP_COLS);
	tuplestore_putvalues(plan->rsinfo->setResult, plan->rsinfo->setDesc,
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
 * sm_spill_open
 *		Create the temporary file of saved answers and its index.
 */
static void
sm_spill_open(SmPlan *plan)
{
	HASHCTL		  ctl;
	MemoryContext oldcxt = MemoryContextSwitchTo(plan->cxt);

	plan->spill_file = BufFileCreateTemp(false);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint32);
	ctl.entrysize = sizeof(SmSpillEntry);
	ctl.hcxt = plan->cxt;
	plan->spill_hash =
		hash_create("segment_membership repeated ids", 1024, &ctl,
					HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	MemoryContextSwitchTo(oldcxt);
}

/* Position the temporary file (reads and writes share one position). */
static void
sm_spill_seek(SmPlan *plan, int fileno, off_t offset)
{
	if (BufFileSeek(plan->spill_file, fileno, offset, SEEK_SET) != 0)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not seek in temporary file: %m")));
}

/*
 * sm_spill_save
 *		Save the answers of a request's ids that occur again later, so the
 *		request can be freed.
 */
static void
sm_spill_save(SmPlan *plan, int req)
{
	SmPlanRequest *r = &plan->requests[req];
	uint32		   first = (uint32) req * SM_REQUEST_MAX_IDS;
	int			   i;

	for (i = 0; i < r->nids; i++)
	{
		uint32			slot = first + i;
		const SmAnswer *a = &r->answers[i];
		SmSpillEntry   *e;
		SmSpillRecord	rec;

		if (!(plan->repeats[slot / 8] & (1 << (slot % 8))))
			continue;
		if (plan->spill_file == NULL)
			sm_spill_open(plan);
		e = hash_search(plan->spill_hash, &slot, HASH_ENTER, NULL);
		/* append: reads may have moved the position, and SEEK_END would
		 * not see data still in the buffer */
		sm_spill_seek(plan, plan->spill_end_fileno, plan->spill_end_offset);
		e->fileno = plan->spill_end_fileno;
		e->offset = plan->spill_end_offset;

		memset(&rec, 0, sizeof(rec));
		rec.kind = (int32) a->kind;
		rec.status = a->status;
		rec.has_status = a->has_status;
		rec.has_lca = (r->has_lca && !a->local);
		rec.lca = r->lca;
		rec.message_len = a->message ? (int32) strlen(a->message) : -1;
		rec.profile_len = a->profile ? (int32) VARSIZE(a->profile) : -1;
		sm_buffile_write(plan->spill_file, &rec, sizeof(rec));
		if (rec.message_len > 0)
			sm_buffile_write(plan->spill_file, a->message, rec.message_len);
		if (rec.profile_len > 0)
			sm_buffile_write(plan->spill_file, a->profile, rec.profile_len);
		BufFileTell(plan->spill_file, &plan->spill_end_fileno,
					&plan->spill_end_offset);
	}
}

/*
 * sm_spill_load
 *		Read back the saved answer of a repeated id (in CurrentMemoryContext).
 */
static void
sm_spill_load(SmPlan *plan, uint32 slot, SmAnswer *a, bool *has_lca,
			  TimestampTz *lca)
{
	SmSpillEntry *e;
	SmSpillRecord rec;

	e = plan->spill_hash
			? hash_search(plan->spill_hash, &slot, HASH_FIND, NULL)
			: NULL;
	if (e == NULL)
		elog(ERROR, "segment_membership: saved answer for slot %u not found",
			 slot);
	sm_spill_seek(plan, e->fileno, e->offset);
	sm_buffile_read_exact(plan->spill_file, &rec, sizeof(rec));
	memset(a, 0, sizeof(*a));
	a->kind = (SmAnswerKind) rec.kind;
	a->has_status = rec.has_status;
	a->status = rec.status;
	a->local = !rec.has_lca;
	*has_lca = rec.has_lca;
	*lca = rec.lca;
	if (rec.message_len >= 0)
	{
		a->message = palloc(rec.message_len + 1);
		sm_buffile_read_exact(plan->spill_file, a->message, rec.message_len);
		a->message[rec.message_len] = '\0';
	}
	if (rec.profile_len > 0)
	{
		a->profile = palloc(rec.profile_len);
		sm_buffile_read_exact(plan->spill_file, a->profile, rec.profile_len);
	}
}

/*
 * sm_emit_upto
 *		Emit rows for input positions up to (not including) limit; every
 *		request they need is answered.
 */
static void
sm_emit_upto(SmPlan *plan, int limit)
{
	while (plan->emit_pos < limit)
	{
		Datum		  value;
		bool		  isnull;
		uint32		  slot;
		MemoryContext oldcxt;
		SmAnswer	  local;
		bool		  has_lca = false;
		TimestampTz	  lca = 0;

		if (!array_iterate(plan->emit_iter, &value, &isnull))
			elog(ERROR, "segment_membership: array ended early");
		slot = sm_classify(plan, value, isnull, false, NULL);
		if (slot == SM_SLOT_NOT_FOUND)
			elog(ERROR, "segment_membership: id without a slot");

		MemoryContextReset(plan->row_cxt);
		oldcxt = MemoryContextSwitchTo(plan->row_cxt);
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
			sm_put_row(plan, value, isnull, &local, false, 0);
		}
		else if (slot / SM_REQUEST_MAX_IDS == (uint32) plan->emit_request)
		{
			SmPlanRequest *r = &plan->requests[plan->emit_request];

			sm_put_row(plan, value, false,
					   &r->answers[slot % SM_REQUEST_MAX_IDS], r->has_lca,
					   r->lca);
		}
		else
		{
			Assert(slot / SM_REQUEST_MAX_IDS < (uint32) plan->emit_request);
			sm_spill_load(plan, slot, &local, &has_lca, &lca);
			sm_put_row(plan, value, false, &local, has_lca, lca);
		}
		MemoryContextSwitchTo(oldcxt);
		plan->emit_pos++;
	}
}

/*
 * sm_plan_emit_ready
 *		Emit every row whose requests are all answered, in input order, and
 *		free the requests left behind.
 */
void
sm_plan_emit_ready(SmPlan *plan)
{
	while (plan->emit_request < plan->nrequests &&
		   plan->requests[plan->emit_request].done)
	{
		SmPlanRequest *r = &plan->requests[plan->emit_request];

		sm_emit_upto(plan, plan->request_first_pos[plan->emit_request + 1]);
		sm_spill_save(plan, plan->emit_request);
		MemoryContextDelete(r->cxt);
		r->cxt = NULL;
		r->answers = NULL;
		r->body = NULL;
		plan->emit_request++;
	}
	/* positions before the next request's first id need no more */
	sm_emit_upto(plan, plan->request_first_pos[plan->emit_request]);
}

/* How many rows (input elements) have been emitted so far. */
int
sm_plan_rows_emitted(const SmPlan *plan)
{
	return plan->emit_pos;
}

/*
 * sm_plan_finish
 *		Every request is answered: emit the remaining rows and free the plan.
 */
void
sm_plan_finish(SmPlan *plan)
{
	sm_plan_emit_ready(plan);
	Assert(plan->emit_request == plan->nrequests);
	Assert(plan->emit_pos == plan->nitems);
	if (plan->spill_file != NULL)
		BufFileClose(plan->spill_file);
	array_free_iterator(plan->emit_iter);
	MemoryContextDelete(plan->cxt);
}
