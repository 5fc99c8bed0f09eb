/*-------------------------------------------------------------------------
 *
 * cluster.h
 *		The whole server as one AWS client: shared request-rate limit,
 *		adaptive retry mode shared by every backend, live progress of calls
 *		and cluster-wide totals, in shared memory.
 *
 * The transport asks for a token before each request (never waiting
 * itself: it is told when one will be there and sleeps in its own event
 * loop), tells when a request went out and when its reply came back; the
 * SQL entry point marks the start of a call (its end is the deletion of the
 * memory context it was started in).
 *
 * IDENTIFICATION
 *		src/cluster.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_CLUSTER_H
#define SM_CLUSTER_H

#include "datatype/timestamp.h"

/* segment_membership.retry_mode */
typedef enum SmRetryMode
{
	SM_RETRY_MODE_UNSET, /* "": AWS_RETRY_MODE, else standard */
	SM_RETRY_MODE_STANDARD,
	SM_RETRY_MODE_ADAPTIVE
} SmRetryMode;

extern void sm_cluster_init(void);

/* rate limiting (called by the transport) */
extern bool	  sm_cluster_take_token(TimestampTz *available_at);
extern uint32 sm_cluster_wait_event_info(void);
extern void	  sm_cluster_request_sent(void);
extern void	  sm_cluster_reply_received(TimestampTz sent_at, bool success);

/* progress of the current call (called by the SQL entry point) */
extern void sm_progress_begin(const char *domain, const char *segment,
							  int64 ids_total);
extern void sm_progress_ids_done(int64 ids_done);

#endif /* SM_CLUSTER_H */
