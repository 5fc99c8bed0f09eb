/*-------------------------------------------------------------------------
 *
 * transport.h
 *		HTTP transport of segment_membership: libcurl multi handles driven
 *		from the backend's wait machinery, a per-backend connection cache,
 *		transfers, and sm_http_fetch() for single exchanges.  No AWS
 *		knowledge: no retries, no error bodies, no signing.
 *
 * IDENTIFICATION
 *		src/transport.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_TRANSPORT_H
#define SM_TRANSPORT_H

#include <curl/curl.h>

#include "utils/timestamp.h"

/*
 * The oldest libcurl we work with: 7.87 has CURLOPT_QUICK_EXIT (a cancel
 * during a DNS lookup does not wait for the resolver thread) and
 * CURLOPT_PROTOCOLS_STR.  Checked here at build time and by
 * sm_transport_check_libcurl() at load time.
 */
#define SM_MIN_LIBCURL_VERSION	   "7.87.0"
#define SM_MIN_LIBCURL_VERSION_NUM 0x075700
#if LIBCURL_VERSION_NUM < SM_MIN_LIBCURL_VERSION_NUM
#error "segment_membership requires libcurl 7.87.0 or later"
#endif

#define SM_HEADER_VALUE_LEN	   128
#define SM_MAX_REQUEST_HEADERS 16

/*
 * One HTTP request to send (for a GetSegmentMembership request, what one
 * attempt sends).  Every pointer must stay
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
 * What came back for one HTTP request.  The body lives in the attempt's memory
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
	bool		  no_fd; /* a connection was refused for want of an fd */
	char		  request_id[SM_HEADER_VALUE_LEN];
	char		  error_type[SM_HEADER_VALUE_LEN]; /* x-amzn-ErrorType, raw */
	char		  date[SM_HEADER_VALUE_LEN];
	char		  retry_after[SM_HEADER_VALUE_LEN];
	char		  amz_retry_after[SM_HEADER_VALUE_LEN];
	char		  content_type[SM_HEADER_VALUE_LEN];
	char		  bad_encoding[SM_HEADER_VALUE_LEN]; /* refused coding */
	MemoryContext cxt; /* where the body is allocated */
} SmResponse;

/* A transfer: one HTTP exchange in flight (opaque). */
typedef struct SmTransfer SmTransfer;

/* Per-backend counters of the transport, for segment_membership_stats(). */
typedef struct SmTransportCounters
{
	int64 connections_opened;
	int64 connections_open;
	int64 bytes_received;
	int64 fetches; /* sm_http_fetch() calls: the credential endpoints */
} SmTransportCounters;

/* many exchanges at once, on the main multi handle */
extern void		   sm_transport_begin(int max_connections);
extern bool		   sm_transport_room(bool nothing_in_flight);
extern SmTransfer *sm_transfer_start(const SmRequestSpec *spec,
									 MemoryContext cxt, int tag);
extern void		   sm_transfer_abandon(SmTransfer *xfer);
extern int		   sm_transfer_tag(const SmTransfer *xfer);
extern SmResponse *sm_transfer_response(SmTransfer *xfer);
extern void		   sm_transport_wait(long max_wait_ms);
extern SmTransfer *sm_transport_next_done(void);
extern void		   sm_transport_sleep(long ms);
extern void		   sm_transport_end(void);
extern long		   sm_transport_ms_until(TimestampTz t);

extern void sm_transport_check_libcurl(void);

/* one exchange, on its own multi handle */
extern void sm_http_fetch(const SmRequestSpec *spec, SmResponse *resp);

extern const SmTransportCounters *sm_transport_counters(void);

#endif /* SM_TRANSPORT_H */
