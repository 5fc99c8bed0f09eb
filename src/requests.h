/*-------------------------------------------------------------------------
 *
 * requests.h
 *		Running GetSegmentMembership requests: at most max_concurrency in
 *		flight, each retried in attempts as the retry policy decides.
 *
 * Vocabulary: a "request" is one GetSegmentMembership call for at most 100
 * profile ids; it is sent in one or more "attempts" (HTTP exchanges).
 *
 * IDENTIFICATION
 *		src/requests.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_REQUESTS_H
#define SM_REQUESTS_H

#include "retry.h"
#include "transport.h"

#define SM_MESSAGE_LEN 512

/*
 * How a request ended when it did not succeed.
 */
typedef struct SmFailure
{
	SmRetryClass cls;			  /* SM_RETRY_NO: not retryable */
	bool		 quota_exhausted; /* retryable, but the retry quota was
									 * empty */
	int			 attempts;
	long		 http_status; /* 0: no HTTP response */
	CURLcode	 curl_code;
	bool		 too_large;		/* the reply exceeded the size cap */
	bool		 invalid_reply; /* a 2xx reply that could not be used: its
								 * status is no failure status */
	char		 code[SM_HEADER_VALUE_LEN]; /* AWS error code, or "" */
	char		 message[SM_MESSAGE_LEN];	/* AWS or curl message */
	char		 request_id[SM_HEADER_VALUE_LEN];
} SmFailure;

/*
 * Callbacks through which sm_run_requests() asks its caller about
 * requests.  Requests are numbered 0..nrequests-1 and started in that
 * order.
 */
typedef struct SmRequestOps
{
	/* May request req start now?  (It must eventually say yes to the
	 * lowest one.) */
	bool (*may_start)(void *arg, int req);
	/* Fill in what the next attempt sends; signs it; may ereport. */
	void (*build)(void *arg, int req, SmRequestSpec *spec);

	/*
	 * A 2xx reply arrived: consume it.  Returns NULL when accepted, else a
	 * sentence saying why the reply is unusable (then it is retried like a
	 * transient error).  May ereport.
	 */
	const char *(*accept)(void *arg, int req, SmResponse *resp);
	/* The request failed for good; may ereport (and usually does). */
	void (*give_up)(void *arg, int req, const SmFailure *failure);

	/*
	 * An attempt was refused because the credentials' session token expired
	 * or became invalid: refresh them.  Returns true when fresh credentials
	 * are in place and the request should be retried once.
	 */
	bool (*refresh_credentials)(void *arg, int req);
} SmRequestOps;

/* Per-backend counters, for segment_membership_stats(). */
typedef struct SmRequestCounters
{
	int64 attempts;
	int64 retries;
	int64 throttled;
	int64 failed_requests;
} SmRequestCounters;

extern void			 sm_run_requests(int nrequests, int max_concurrency,
									 int max_attempts, const SmRequestOps *ops,
									 void *arg);
extern SmRetryAction sm_retry_decide(const SmRetryFacts *facts);
extern int			 sm_retry_quota_available(void);
extern const SmRequestCounters *sm_request_counters(void);

#endif /* SM_REQUESTS_H */
