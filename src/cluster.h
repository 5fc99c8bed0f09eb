/*-------------------------------------------------------------------------
 *
 * cluster.h
 *		The whole server as one AWS client: shared request-rate limit,
 *		adaptive retry mode shared by every backend, live progress of calls
 *		and cluster-wide totals, in shared memory.
 *
 * The request runner (requests.c) asks for a token before each attempt
 * (never waiting here: it is told when one will be there and sleeps in its
 * own event loop), tells when an attempt went out and when its reply came
 * back; the SQL entry point (membership.c) marks the start of a call (its
 * end is the deletion of the memory context it was started in) and hands
 * over, at module load, the function that reads this backend's counters,
 * so that this file depends on neither requests.c nor transport.c.
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

/*
 * This backend's counters that the totals are made of; they only grow.
 * The caller's SmClusterCountsFn fills them in (the request runner's and
 * the transport's counters).
 */
typedef struct SmClusterCounts
{
	int64 retries;
	int64 throttled;
	int64 failed; /* requests that failed for good */
	int64 bytes_received;
	int64 connections_opened;
} SmClusterCounts;

typedef void (*SmClusterCountsFn)(SmClusterCounts *counts);

extern void sm_cluster_init(SmClusterCountsFn read_counts);

/* rate limiting (called by the request runner) */
extern bool sm_cluster_take_token(TimestampTz *available_at);
extern bool sm_cluster_token_sleep(long ms);
extern void sm_cluster_request_sent(void);
extern void sm_cluster_reply_received(TimestampTz sent_at, bool success);

/* progress of the current call (called by the SQL entry point) */
extern void sm_progress_begin(const char *domain, const char *segment,
							  int64 ids_total);
extern void sm_progress_ids_done(int64 ids_done);

#endif /* SM_CLUSTER_H */
