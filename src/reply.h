/*-------------------------------------------------------------------------
 *
 * reply.h
 *		Turning GetSegmentMembership reply bodies into per-id answers, and
 *		AWS error bodies into an error code and message.
 *
 * IDENTIFICATION
 *		src/reply.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_REPLY_H
#define SM_REPLY_H

#include "utils/jsonb.h"
#include "utils/timestamp.h"

typedef enum SmAnswerKind
{
	SM_ANSWER_NONE = 0, /* the reply said nothing about the id */
	SM_ANSWER_PRESENT,
	SM_ANSWER_ABSENT,
	SM_ANSWER_FAILURE,
	SM_ANSWER_UNREPRESENTABLE /* PRESENT, but the Profile has characters
							   * the database encoding lacks; message holds
							   * the id (idplan.c decides) */
} SmAnswerKind;

/* What the reply says about one id. */
typedef struct SmAnswer
{
	SmAnswerKind kind;
	bool		 has_status; /* FAILURE: Status was given */
	int32		 status;
	Jsonb		*profile; /* PRESENT/ABSENT: the Profile object, or
								 * NULL */
	char		*message; /* FAILURE: Message, or NULL */
	bool		 local;	  /* made up here, not taken from a reply */
} SmAnswer;

/*
 * Maps an id found in a reply to its index in the request, or -1 when the id
 * was not asked for in this request.
 */
typedef int (*SmIdLookup)(void *arg, const char *id, int len);

extern const char *sm_reply_parse_membership(char *body, size_t len,
											 SmIdLookup	   lookup,
											 void		  *lookup_arg,
											 SmAnswer	  *answers,
											 MemoryContext answer_cxt,
											 bool *has_lca, TimestampTz *lca);
extern void		   sm_reply_parse_error(const char *body, size_t len,
										const char *header_type, char *code,
										size_t codelen, char *message, size_t msglen);
extern const char *sm_json_parse_object(char *body, size_t len, Jsonb **out);
extern char		  *sm_jsonb_get_text(Jsonb *jb, const char *key);
extern void		   sm_reply_sanitize(const char *src, size_t srclen, char *dst,
									 size_t dstlen);

#endif /* SM_REPLY_H */
