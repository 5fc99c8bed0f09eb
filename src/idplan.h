/*-------------------------------------------------------------------------
 *
 * idplan.h
 *		The plan of one get_segment_membership() call: the input ids
 *		deduplicated and split into requests of at most 100, and the rows
 *		emitted in input order as the requests' answers come in.
 *
 * IDENTIFICATION
 *		src/idplan.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_IDPLAN_H
#define SM_IDPLAN_H

#include "funcapi.h"
#include "utils/array.h"

/* The API's limit of ids per request. */
#define SM_REQUEST_MAX_IDS 100

/* One call's plan (private to idplan.c). */
typedef struct SmPlan SmPlan;

extern SmPlan *sm_plan_create(ArrayType *ids, int nitems,
							  ReturnSetInfo *rsinfo, int window);
extern int	   sm_plan_nrequests(const SmPlan *plan);
extern bool	   sm_plan_may_start(const SmPlan *plan, int req);
extern void	   sm_plan_request_body(SmPlan *plan, int req, const char **body,
									int *len);
extern const char *sm_plan_take_reply(SmPlan *plan, int req, char *body,
									  size_t len);
extern void sm_plan_fail_request(SmPlan *plan, int req, long http_status,
								 const char *message);
extern void sm_plan_emit_ready(SmPlan *plan);
extern int	sm_plan_rows_emitted(const SmPlan *plan);
extern void sm_plan_set_failure_rows(SmPlan *plan, bool failure_rows);
extern void sm_plan_finish(SmPlan *plan);

#endif /* SM_IDPLAN_H */
