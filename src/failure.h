/*-------------------------------------------------------------------------
 *
 * failure.h
 *		What becomes of a GetSegmentMembership request that failed for
 *		good: its SQLSTATE, the one error report, or the failure-row
 *		message; and the error context naming the domain and segment.
 *
 * IDENTIFICATION
 *		src/failure.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_FAILURE_H
#define SM_FAILURE_H

#include "config.h"
#include "requests.h"

/* The error context of one call: names its domain and segment. */
typedef struct SmErrorContext
{
	const char			*domain;
	const char			*segment;
	ErrorContextCallback callback;
} SmErrorContext;

extern bool	 sm_failure_wants_rows(const SmFailure	 *f,
								   SmOnRequestFailure policy);
extern void	 sm_failure_report(const SmFailure *f, const SmTarget *target);
extern char *sm_failure_row_message(const SmFailure *f);
extern void	 sm_error_context_push(SmErrorContext *ec, const char *domain,
								   const char *segment);
extern void	 sm_error_context_pop(SmErrorContext *ec);

#endif /* SM_FAILURE_H */
