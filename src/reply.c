/*-------------------------------------------------------------------------
 *
 * reply.c
 *		Turning GetSegmentMembership replies into per-id answers, and AWS
 *		error bodies into an error code and message, with PostgreSQL's own
 *		JSON parser and jsonb.
 *
 * A reply is only believed if it is exactly what the API promises: valid
 * UTF-8 JSON, an object whose Profiles and Failures are arrays of objects
 * of the documented shape, every ProfileId one that this request asked about
 * and answered at most once.  Anything else makes the whole reply unusable
 * (the caller retries it), so a broken reply can never turn into a wrong
 * row.  Top-level members this code does not know are ignored, because
 * AWS adds members over time (LastComputedAt appeared in 2025).
 *
 * Nothing here logs a reply: profile fields are personal data.
 *
 * IDENTIFICATION
 *		src/reply.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "compat.h"
#include "datatype/timestamp.h"
#include "mb/pg_wchar.h"
#include "redact.h"
#include "reply.h"
#include "retry.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

static const char *sm_reply_to_jsonb(char *body, size_t len, Jsonb **result);
static JsonbValue *sm_get_key(JsonbContainer *container, const char *key);
static const char *sm_number_text(JsonbValue *v);

/*
 * sm_reply_to_jsonb
 *		Check that a body is valid UTF-8 JSON that jsonb can hold, convert it
 *		to the database encoding and parse it.  Returns NULL and sets *result
 *		on success, or a sentence saying what is wrong.
 */
static const char *
sm_reply_to_jsonb(char *body, size_t len, Jsonb **result)
{
	char *converted;

	if (len == 0)
		return "The reply body is empty.";
	if (memchr(body, '\0', len) != NULL)
		return "The reply body contains a NUL byte.";
	if (!pg_verify_mbstr(PG_UTF8, body, (int) len, true))
		return "The reply body is not valid UTF-8.";

	/* may raise an error for characters the database encoding lacks */
	converted = pg_any_to_server(body, (int) len, PG_UTF8);
	return sm_jsonb_parse_safe(converted, result);
}

/*
 * sm_json_parse_object
 *		Parse a body that must be a JSON object (UTF-8, as AWS sends it).
 *		Returns NULL and sets *out, or a sentence saying what is wrong.
 */
const char *
sm_json_parse_object(char *body, size_t len, Jsonb **out)
{
	const char *why = sm_reply_to_jsonb(body, len, out);

	if (why != NULL)
		return why;
	if (!JB_ROOT_IS_OBJECT(*out) || JB_ROOT_IS_SCALAR(*out))
		return "The body is not a JSON object.";
	return NULL;
}

/*
 * sm_jsonb_get_text
 *		A palloc'd copy of a top-level string member, or NULL when it is
 *		absent or not a string.
 */
char *
sm_jsonb_get_text(Jsonb *jb, const char *key)
{
	JsonbValue *v =
		getKeyJsonValueFromContainer(&jb->root, key, strlen(key), NULL);

	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* Look up a key of an object container (NULL when absent). */
static JsonbValue *
sm_get_key(JsonbContainer *container, const char *key)
{
	return getKeyJsonValueFromContainer(container, key, strlen(key), NULL);
}

/* The text of a jsonb number. */
static const char *
sm_number_text(JsonbValue *v)
{
	return DatumGetCString(
		DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
}

/* Whether a jsonb value is an object (as a binary container). */
static bool
sm_is_object(JsonbValue *v)
{
	return v != NULL && v->type == jbvBinary &&
		   JsonContainerIsObject(v->val.binary.data);
}

/* Whether a jsonb value is an array (as a binary container). */
static bool
sm_is_array(JsonbValue *v)
{
	return v != NULL && v->type == jbvBinary &&
		   JsonContainerIsArray(v->val.binary.data);
}

/*
 * sm_claim_id
 *		Find the index in the request of a ProfileId member and check it is answered
 *		only once.  Returns the index, or -1 and sets *why.
 */
static int
sm_claim_id(JsonbValue *idv, SmIdLookup lookup, void *lookup_arg,
			SmAnswer *answers, const char *where, const char **why)
{
	int idx;

	if (idv == NULL || idv->type != jbvString)
	{
		*why = psprintf("A member of %s has no ProfileId string.", where);
		return -1;
	}
	idx = lookup(lookup_arg, idv->val.string.val, idv->val.string.len);
	if (idx < 0)
	{
		/* show at most 64 bytes of the id, and only if it is plain ASCII */
		int	 n = Min(idv->val.string.len, 64);
		bool plain = true;
		int	 i;

		for (i = 0; i < n; i++)
			if (!isalnum((unsigned char) idv->val.string.val[i]) &&
				idv->val.string.val[i] != '-')
				plain = false;
		*why = psprintf("The reply answers profile id \"%.*s\", which was not "
						"asked for in this request.",
						plain ? n : 0, idv->val.string.val);
		return -1;
	}
	if (answers[idx].kind != SM_ANSWER_NONE)
	{
		*why =
			psprintf("The reply answers profile id \"%.*s\" more than once.",
					 idv->val.string.len, idv->val.string.val);
		return -1;
	}
	return idx;
}

/*
 * What to make of one member of Profiles or Failures, once its ProfileId
 * was claimed: fill in *answer (allocating in answer_cxt), or return why
 * the member is malformed.
 */
typedef const char *(*SmMemberParser)(JsonbContainer *member, SmAnswer *answer,
									  MemoryContext answer_cxt);

/*
 * sm_parse_profile
 *		A member of Profiles: {ProfileId, QueryResult, Profile?}.
 */
static const char *
sm_parse_profile(JsonbContainer *member, SmAnswer *answer,
				 MemoryContext answer_cxt)
{
	JsonbValue	*qr = sm_get_key(member, "QueryResult");
	JsonbValue	*prof;
	SmAnswerKind kind;

	if (qr == NULL || qr->type != jbvString)
		return "A member of Profiles has no QueryResult string.";
	if (qr->val.string.len == 7 &&
		memcmp(qr->val.string.val, "PRESENT", 7) == 0)
		kind = SM_ANSWER_PRESENT;
	else if (qr->val.string.len == 6 &&
			 memcmp(qr->val.string.val, "ABSENT", 6) == 0)
		kind = SM_ANSWER_ABSENT;
	else
		return psprintf("The reply has an unknown QueryResult \"%.*s\".",
						Min(qr->val.string.len, 32), qr->val.string.val);

	prof = sm_get_key(member, "Profile");
	if (prof != NULL && prof->type != jbvNull && !sm_is_object(prof))
		return "A Profile in the reply is not an object.";

	answer->kind = kind;
	if (prof != NULL && prof->type != jbvNull)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(answer_cxt);

		answer->profile = JsonbValueToJsonb(prof);
		MemoryContextSwitchTo(oldcxt);
	}
	return NULL;
}

/*
 * sm_parse_failure
 *		A member of Failures: {ProfileId, Message, Status?}.
 */
static const char *
sm_parse_failure(JsonbContainer *member, SmAnswer *answer,
				 MemoryContext answer_cxt)
{
	JsonbValue *msg = sm_get_key(member, "Message");
	JsonbValue *status = sm_get_key(member, "Status");

	if (msg != NULL && msg->type != jbvNull && msg->type != jbvString)
		return "A Message in Failures is not a string.";
	if (status != NULL && status->type != jbvNull)
	{
		const char *text;
		char	   *end;
		long		v;

		if (status->type != jbvNumeric)
			return "A Status in Failures is not a number.";
		text = sm_number_text(status);
		errno = 0;
		v = strtol(text, &end, 10);
		if (*end != '\0' || errno != 0 || v < PG_INT32_MIN || v > PG_INT32_MAX)
			return "A Status in Failures is not a 32-bit integer.";
		answer->has_status = true;
		answer->status = (int32) v;
	}
	answer->kind = SM_ANSWER_FAILURE;
	if (msg != NULL && msg->type == jbvString)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(answer_cxt);

		/* jsonb strings hold no NUL (jsonb_in refuses \u0000) */
		answer->message = pnstrdup(msg->val.string.val, msg->val.string.len);
		MemoryContextSwitchTo(oldcxt);
	}
	return NULL;
}

/*
 * sm_parse_members
 *		The top-level array `name` (Profiles or Failures), if present: each
 *		member must be an object whose ProfileId this request asked about
 *		and that no other member answers; parse does the rest.
 */
static const char *
sm_parse_members(Jsonb *jb, const char *name, SmMemberParser parse,
				 SmIdLookup lookup, void *lookup_arg, SmAnswer *answers,
				 MemoryContext answer_cxt)
{
	JsonbValue	   *arr = sm_get_key(&jb->root, name);
	JsonbContainer *c;
	uint32			n;
	uint32			i;
	const char	   *why = NULL;

	if (arr == NULL || arr->type == jbvNull)
		return NULL;
	if (!sm_is_array(arr))
		return psprintf("%s in the reply is not an array.", name);
	c = arr->val.binary.data;
	n = JsonContainerSize(c);
	for (i = 0; i < n; i++)
	{
		JsonbValue *elem = getIthJsonbValueFromContainer(c, i);
		int			idx;

		if (!sm_is_object(elem))
			return psprintf("A member of %s is not an object.", name);
		idx = sm_claim_id(sm_get_key(elem->val.binary.data, "ProfileId"),
						  lookup, lookup_arg, answers, name, &why);
		if (idx < 0)
			return why;
		why = parse(elem->val.binary.data, &answers[idx], answer_cxt);
		if (why != NULL)
			return why;
	}
	return NULL;
}

/*
 * sm_reply_parse_membership
 *		Parse a 200 reply of GetSegmentMembership.  lookup maps ids to
 *		indexes in the request; answers (one per index, zeroed by the
 *		caller) are filled in, with profiles and messages allocated in
 *		answer_cxt.  Returns NULL when the reply is usable, else a sentence
 *		saying why not (answers may then be partly filled and must be
 *		discarded).
 */
const char *
sm_reply_parse_membership(char *body, size_t len, SmIdLookup lookup,
						  void *lookup_arg, SmAnswer *answers,
						  MemoryContext answer_cxt, bool *has_lca,
						  TimestampTz *lca)
{
	Jsonb	   *jb = NULL;
	JsonbValue *v;
	const char *why;

	*has_lca = false;
	why = sm_reply_to_jsonb(body, len, &jb);
	if (why != NULL)
		return why;
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		return "The reply is not a JSON object.";

	why = sm_parse_members(jb, "Profiles", sm_parse_profile, lookup,
						   lookup_arg, answers, answer_cxt);
	if (why != NULL)
		return why;
	why = sm_parse_members(jb, "Failures", sm_parse_failure, lookup,
						   lookup_arg, answers, answer_cxt);
	if (why != NULL)
		return why;

	v = sm_get_key(&jb->root, "LastComputedAt");
	if (v != NULL && v->type != jbvNull)
	{
		double		secs;
		char	   *end;
		const char *text;

		if (v->type != jbvNumeric)
			return "LastComputedAt in the reply is not a number.";
		text = sm_number_text(v);
		secs = strtod(text, &end);
		/* epoch seconds from 1970 to the year 3000 */
		if (*end != '\0' || !isfinite(secs) || secs < 0 ||
			secs > 32503680000.0)
			return "LastComputedAt in the reply is out of range.";
		*lca = (TimestampTz) rint(
			(secs - ((double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) *
					 SECS_PER_DAY)) *
			USECS_PER_SEC);
		*has_lca = true;
	}
	return NULL;
}

/*
 * sm_reply_sanitize
 *		Copy text from a remote peer for use in a message: printable ASCII
 *		only (anything else becomes '?'), whitespace runs collapsed, cut to
 *		fit dstlen.
 */
void
sm_reply_sanitize(const char *src, size_t srclen, char *dst, size_t dstlen)
{
	sm_text_sanitize(src, srclen, false, dst, dstlen);
}

/*
 * Copy a jsonb string member, redacted (before it is cut, so that no piece
 * of a secret survives) and sanitized, if the key holds a string.
 */
static bool
sm_copy_string_member(Jsonb *jb, const char *key, char *dst, size_t dstlen)
{
	JsonbValue *v = sm_get_key(&jb->root, key);
	char	   *redacted;
	size_t		len;

	if (v == NULL || v->type != jbvString)
		return false;
	redacted = sm_redact_len(v->val.string.val, v->val.string.len, &len);
	sm_reply_sanitize(redacted, len, dst, dstlen);
	pfree(redacted);
	return dst[0] != '\0';
}

/*
 * sm_reply_parse_error
 *		Find the AWS error code and message of an error reply, the way
 *		botocore and the JS SDK do: the code from x-amzn-ErrorType, else the
 *		body's code/Code, else __type (then reduced to its bare name); the
 *		message from message, else Message.  Bodies that are not JSON (an
 *		HTML 503 page, say) leave code and message empty.  Never raises an
 *		error for bad input.
 */
void
sm_reply_parse_error(const char *body, size_t len, const char *header_type,
					 char *code, size_t codelen, char *message, size_t msglen)
{
	char   raw[256];
	Jsonb *jb = NULL;

	code[0] = message[0] = '\0';
	if (header_type != NULL && header_type[0] != '\0')
		sm_retry_normalize_code(header_type, code, codelen);

	if (body == NULL || len == 0 || len > 1024 * 1024 ||
		memchr(body, '\0', len) != NULL ||
		!pg_verify_mbstr(PG_UTF8, body, (int) len, true))
		return;
	if (sm_jsonb_parse_safe(pnstrdup(body, len), &jb) != NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		return;

	if (code[0] == '\0')
	{
		if (sm_copy_string_member(jb, "code", raw, sizeof(raw)) ||
			sm_copy_string_member(jb, "Code", raw, sizeof(raw)) ||
			sm_copy_string_member(jb, "__type", raw, sizeof(raw)))
			sm_retry_normalize_code(raw, code, codelen);
	}
	if (!sm_copy_string_member(jb, "message", message, msglen))
		(void) sm_copy_string_member(jb, "Message", message, msglen);
}
