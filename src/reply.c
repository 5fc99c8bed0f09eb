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

#include "ascii.h"
#include <math.h>

#include "catalog/namespace.h"
#include "compat.h"
#include "datatype/timestamp.h"
#include "mb/pg_wchar.h"
#include "redact.h"
#include "redact_pg.h"
#include "reply.h"
#include "retry.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

static const char *sm_reply_to_jsonb(char *body, size_t len, Jsonb **result);

/*
 * The character that stands for one the database encoding cannot represent
 * (U+001A SUBSTITUTE, written \u001a in the JSON text given to jsonb), and
 * whether the reply being parsed needed it.
 */
#define SM_SUBSTITUTE_ESCAPE "\\u001a"
static bool		   sm_reply_substituted = false;
static JsonbValue *sm_get_key(JsonbContainer *container, const char *key);
static const char *sm_number_text(JsonbValue *v);

/*
 * Deeper nesting than this is refused before parsing: no reply of the API
 * comes near it, and PostgreSQL's parser recurses per level, so a body of
 * 100,000 '[' would end in "stack depth limit exceeded" (54001).
 */
#define SM_MAX_JSON_DEPTH 128

/* Whether the JSON text s[0..len) nests arrays and objects at most
 * SM_MAX_JSON_DEPTH deep (brackets inside strings do not count). */
static bool
sm_json_depth_ok(const char *s, size_t len)
{
	int	 depth = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++)
	{
		char c = s[i];

		if (in_string)
		{
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		}
		else if (c == '"')
			in_string = true;
		else if (c == '[' || c == '{')
		{
			if (++depth > SM_MAX_JSON_DEPTH)
				return false;
		}
		else if (c == ']' || c == '}')
			depth--;
	}
	return true;
}

/*
 * sm_convert_run
 *		Convert UTF-8 src[0..len) to the database encoding as far as it can
 *		be, appending to out.  Returns the number of source bytes converted
 *		(less than len when the character there cannot be represented).
 */
static int
sm_convert_run(Oid proc, const char *src, int len, StringInfo out)
{
	unsigned char *dst = palloc((Size) len * MAX_CONVERSION_GROWTH + 1);
	int			   n;

	n = pg_do_encoding_conversion_buf(proc, PG_UTF8, GetDatabaseEncoding(),
									  (unsigned char *) src, len, dst,
									  len * MAX_CONVERSION_GROWTH + 1, true);
	appendStringInfoString(out, (char *) dst);
	pfree(dst);
	return n;
}

/* The value of four hex digits at s, or -1. */
static int
sm_hex4(const char *s)
{
	int v = 0;

	for (int i = 0; i < 4; i++)
	{
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * sm_escape_len
 *		At s[0..len), a JSON string's backslash: the length of the escape
 *		(\uXXXX, a surrogate pair of them, or two bytes), and in *cp the
 *		code point of a \u escape (-1 for others and lone surrogates).
 */
static size_t
sm_escape_len(const char *s, size_t len, int *cp)
{
	int hi;
	int lo;

	*cp = -1;
	if (len < 6 || s[1] != 'u' || (hi = sm_hex4(s + 2)) < 0)
		return len < 2 ? len : 2;
	if (hi >= 0xD800 && hi <= 0xDBFF && len >= 12 && s[6] == '\\' &&
		s[7] == 'u' && (lo = sm_hex4(s + 8)) >= 0xDC00 && lo <= 0xDFFF)
	{
		*cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
		return 12;
	}
	if (hi < 0xD800 || hi > 0xDFFF)
		*cp = hi;
	return 6;
}

/*
 * sm_utf8_json_to_server
 *		UTF-8 JSON text as JSON text in the database encoding, for jsonb.
 *		A character the encoding cannot represent becomes \u001a inside a
 *		string (and '?' outside one, where no non-ASCII is valid JSON);
 *		*nsubst counts them.  The body is valid UTF-8 without NUL.
 */
static char *
sm_utf8_json_to_server(const char *body, size_t len, int *nsubst)
{
	int			   enc = GetDatabaseEncoding();
	Oid			   proc;
	StringInfoData out;
	bool		   in_string = false;
	size_t		   i = 0;

	*nsubst = 0;
	if (enc == PG_UTF8 || enc == PG_SQL_ASCII)
		return pnstrdup(body, len);
	proc = FindDefaultConversionProc(PG_UTF8, enc);
	if (!OidIsValid(proc))
		ereport(
			ERROR,
			(errcode(ERRCODE_UNDEFINED_FUNCTION),
			 errmsg("default conversion function for encoding \"%s\" to "
					"\"%s\" does not exist",
					pg_encoding_to_char(PG_UTF8), pg_encoding_to_char(enc))));
	initStringInfo(&out);
	while (i < len)
	{
		unsigned char c = (unsigned char) body[i];

		if (c >= 0x80)
		{
			size_t j = i;
			int	   n;

			while (j < len && (unsigned char) body[j] >= 0x80)
				j++;
			n = sm_convert_run(proc, body + i, (int) (j - i), &out);
			i += n;
			if (i < j)
			{
				/* body[i] starts a character the encoding lacks */
				i += pg_utf_mblen((const unsigned char *) body + i);
				appendStringInfoString(&out,
									   in_string ? SM_SUBSTITUTE_ESCAPE : "?");
				(*nsubst)++;
			}
			continue;
		}
		if (in_string && c == '\\')
		{
			int			   cp;
			size_t		   n = sm_escape_len(body + i, len - i, &cp);
			unsigned char  utf8[5] = {0};
			StringInfoData scratch;

			if (cp >= 0x80)
			{
				/* jsonb turns the escape into the character: can it? */
				initStringInfo(&scratch);
				unicode_to_utf8((pg_wchar) cp, utf8);
				if (sm_convert_run(proc, (char *) utf8, pg_utf_mblen(utf8),
								   &scratch) < pg_utf_mblen(utf8))
				{
					appendStringInfoString(&out, SM_SUBSTITUTE_ESCAPE);
					(*nsubst)++;
					i += n;
					pfree(scratch.data);
					continue;
				}
				pfree(scratch.data);
			}
			appendBinaryStringInfo(&out, body + i, (int) n);
			i += n;
			continue;
		}
		if (c == '"')
			in_string = !in_string;
		appendStringInfoChar(&out, (char) c);
		i++;
	}
	return out.data;
}

/* Whether s[0..len) holds the escape \u001a (any case). */
static bool
sm_has_substitute_escape(const char *s, size_t len)
{
	for (size_t i = 0; i + 6 <= len; i++)
		if (s[i] == '\\' && s[i + 1] == 'u' && s[i + 2] == '0' &&
			s[i + 3] == '0' && s[i + 4] == '1' &&
			(s[i + 5] == 'a' || s[i + 5] == 'A'))
			return true;
	return false;
}

/*
 * sm_reply_to_jsonb
 *		Check that a body is valid UTF-8 JSON that jsonb can hold, convert it
 *		to the database encoding and parse it.  Returns NULL and sets *result
 *		on success, or a sentence saying what is wrong.  Characters the
 *		database encoding cannot represent become U+001A inside strings
 *		(sm_reply_substituted is set then), so that the caller can tell
 *		which values they spoil; a reply that already holds U+001A is
 *		refused in that case, since the two could not be told apart.
 */
static const char *
sm_reply_to_jsonb(char *body, size_t len, Jsonb **result)
{
	char *converted;
	int	  nsubst;

	sm_reply_substituted = false;
	if (len == 0)
		return "The reply body is empty.";
	if (memchr(body, '\0', len) != NULL)
		return "The reply body contains a NUL byte.";
	if (!pg_verify_mbstr(PG_UTF8, body, (int) len, true))
		return "The reply body is not valid UTF-8.";
	if (!sm_json_depth_ok(body, len))
		return "The reply body is nested too deeply.";

	converted = sm_utf8_json_to_server(body, len, &nsubst);
	if (nsubst > 0)
	{
		if (sm_has_substitute_escape(body, len))
			return psprintf("The reply holds U+001A and characters that the "
							"database encoding \"%s\" cannot represent.",
							GetDatabaseEncodingName());
		sm_reply_substituted = true;
	}
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
		/* show at most 64 characters of the id, only if plain ASCII */
		int	 n = Min(idv->val.string.len, 64);
		bool plain = true;
		int	 i;

		for (i = 0; i < n; i++)
			if (!sm_ascii_alnum((unsigned char) idv->val.string.val[i]) &&
				idv->val.string.val[i] != '-')
				plain = false;
		*why = psprintf("The reply answers profile id \"%.*s\", which was not "
						"asked for in this request.",
						plain ? n : 0, idv->val.string.val);
		return -1;
	}
	if (answers[idx].kind != SM_ANSWER_NONE)
	{
		/* a valid id (lookup found it): 32 hex digits */
		*why =
			psprintf("The reply answers profile id \"%.*s\" more than once.",
					 Min(idv->val.string.len, 64), idv->val.string.val);
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
	{
		/* quote at most 32 characters, printable ASCII only */
		char shown[33];

		sm_text_sanitize(qr->val.string.val, qr->val.string.len, false, shown,
						 sizeof(shown));
		return psprintf("The reply has an unknown QueryResult \"%s\".", shown);
	}

	prof = sm_get_key(member, "Profile");
	if (prof != NULL && prof->type != jbvNull && !sm_is_object(prof))
		return "A Profile in the reply is not an object.";

	answer->kind = kind;
	if (prof != NULL && prof->type != jbvNull && sm_reply_substituted &&
		strstr(
			JsonbToCString(NULL, prof->val.binary.data, prof->val.binary.len),
			SM_SUBSTITUTE_ESCAPE) != NULL)
	{
		JsonbValue *idv = sm_get_key(member, "ProfileId");

		answer->kind = SM_ANSWER_UNREPRESENTABLE;
		answer->message = MemoryContextStrdup(
			answer_cxt, pnstrdup(idv->val.string.val, idv->val.string.len));
		return NULL;
	}
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
		/* characters the database encoding lacks (see sm_reply_to_jsonb) */
		if (sm_reply_substituted)
			for (char *p = answer->message; *p; p++)
				if (*p == '\x1a')
					*p = '?';
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
		!pg_verify_mbstr(PG_UTF8, body, (int) len, true) ||
		!sm_json_depth_ok(body, len))
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
