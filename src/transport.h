/*-------------------------------------------------------------------------
 *
 * transport.h
 *		HTTP transport of segment_membership: libcurl multi driven from the
 *		backend's wait machinery, a per-backend connection cache, retries.
 *
 * IDENTIFICATION
 *		src/transport.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_TRANSPORT_H
#define SM_TRANSPORT_H

#include <curl/curl.h>

#include "retry.h"
#include "utils/timestamp.h"

#define SM_HEADER_VALUE_LEN	   128
#define SM_MAX_REQUEST_HEADERS 16
#define SM_MESSAGE_LEN		   512

/*
 * One request to send, as built for one attempt.  Every pointer must stay
 * valid until the attempt completes (they live in the attempt's memory
 * context).
 */
typedef struct SmRequestSpec
{
	const char *method; /* "GET", "PUT" or "POST" */
	const char *url;
	const char *body; /* NULL for none */
	size_t		body_len;
	int			nheaders;
	const char *headers[SM_MAX_REQUEST_HEADERS]; /* "Name: value" */
	const char *ca_file;						 /* NULL: system CAs */
	long		connect_timeout_ms;
	long		timeout_ms;
	size_t		max_body; /* reply size cap in bytes */
} SmRequestSpec;

/*
 * What came back for one attempt.  The body lives in the attempt's memory
 * context and is NUL-terminated.
 */
typedef struct SmResponse
{
	CURLcode	  curl_code;
	long		  http_status; /* 0 when no status line was received */
	char		  curl_error[CURL_ERROR_SIZE];
	char		 *body;
	size_t		  body_len;
	size_t		  body_cap;
	size_t		  max_body;
	bool		  body_too_large;
	bool		  body_oom;
	char		  request_id[SM_HEADER_VALUE_LEN];
	char		  error_type[SM_HEADER_VALUE_LEN]; /* x-amzn-ErrorType, raw */
	char		  date[SM_HEADER_VALUE_LEN];
	char		  retry_after[SM_HEADER_VALUE_LEN];
	char		  amz_retry_after[SM_HEADER_VALUE_LEN];
	char		  content_type[SM_HEADER_VALUE_LEN];
	MemoryContext cxt; /* where the body is allocated */
} SmResponse;

/*
 * How a job ended when it did not succeed.
 */
typedef struct SmFailure
{
	SmRetryClass cls;			  /* SM_RETRY_NO: not retryable */
	bool		 quota_exhausted; /* retryable, but the retry quota was
									 * empty */
	int			 attempts;
	long		 http_status; /* 0: no HTTP response */
	CURLcode	 curl_code;
	bool		 too_large; /* the reply exceeded the size cap */
	char		 code[SM_HEADER_VALUE_LEN]; /* AWS error code, or "" */
	char		 message[SM_MESSAGE_LEN];	/* AWS or curl message */
	char		 request_id[SM_HEADER_VALUE_LEN];
} SmFailure;

/*
 * Callbacks through which sm_run_jobs() asks its caller about jobs.  Jobs
 * are numbered 0..njobs-1 and started in that order.
 */
typedef struct SmJobOps
{
	/* May job start now?  (It must eventually say yes to the lowest one.) */
	bool (*may_start)(void *arg, int job);
	/* Fill in the request of the next attempt; signs it; may ereport. */
	void (*build)(void *arg, int job, SmRequestSpec *spec);

	/*
	 * A 2xx reply arrived: consume it.  Returns NULL when accepted, else a
	 * sentence saying why the reply is unusable (then it is retried like a
	 * transient error).  May ereport.
	 */
	const char *(*accept)(void *arg, int job, SmResponse *resp);
	/* The job failed for good; may ereport (and usually does). */
	void (*give_up)(void *arg, int job, const SmFailure *failure);

	/*
	 * An attempt was refused because the credentials' session token expired
	 * or became invalid: refresh them.  Returns true when fresh credentials
	 * are in place and the job should be retried once.
	 */
	bool (*refresh_credentials)(void *arg);
} SmJobOps;

/* Per-backend counters, shown by segment_membership_stats(). */
typedef struct SmTransportStats
{
	int64 attempts;
	int64 retries;
	int64 throttled;
	int64 failed_jobs;
	int64 connections_opened;
	int64 connections_open;
	int64 bytes_received;
	int64 clock_skew_corrections;
	int64 credential_fetches;
	int64 signing_keys_derived;
} SmTransportStats;

extern SmTransportStats sm_transport_stats;

extern void	  sm_run_jobs(int njobs, int max_concurrency, const SmJobOps *ops,
						  void *arg);
extern void	  sm_http_fetch(const SmRequestSpec *spec, SmResponse *resp);
extern time_t sm_signing_time(void);
extern int	  sm_retry_quota_available(void);

#endif /* SM_TRANSPORT_H */
