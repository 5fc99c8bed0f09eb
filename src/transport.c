/*-------------------------------------------------------------------------
 *
 * transport.c
 *		HTTP transport of segment_membership.
 *
 * One libcurl multi handle per backend carries every GetSegmentMembership
 * request.  It is created on first use and lives until the backend exits,
 * so its connection cache (and, through a share handle, TLS sessions and
 * DNS answers) is reused by later statements of the session.  Easy handles
 * are built fresh for every attempt from a complete option set, so no state
 * leaks from one request into the next.
 *
 * The multi handle is driven by curl's socket and timer callbacks: the
 * sockets curl cares about are kept in a WaitEventSet together with the
 * process latch and postmaster death, and we sleep in WaitEventSetWait().
 * A cancel, statement_timeout or pg_terminate_backend() therefore wakes us
 * at once; CHECK_FOR_INTERRUPTS() then raises the proper error and the
 * PG_CATCH block in sm_run_jobs() removes and frees every transfer, which
 * closes its connection (a half-used connection can never be reused).
 *
 * No curl callback ever raises an error or allocates with palloc in a way
 * that could: longjmp'ing through libcurl would corrupt it.
 *
 * sm_run_jobs() also owns the retry policy (see retry.c): which failures
 * are retried, backoff, server hints, the per-backend retry quota, one
 * extra attempt after a clock-skew correction and one after a credential
 * refresh.  Credential endpoints use sm_http_fetch(), a single request on
 * a second multi handle so that it can be used while sm_run_jobs() is
 * waiting on the first.
 *
 * IDENTIFICATION
 *		src/transport.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster.h"
#include "compat.h"
#include "config.h"
#include "miscadmin.h"
#include "reply.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "transport.h"
#include "utils/memutils.h"

/* Sockets one multi handle may have at once: connections plus resolvers. */
#define SM_MAX_SOCKETS (2 * SM_MAX_CONCURRENCY_LIMIT + 8)

/* A socket curl asked us to watch. */
typedef struct SmSocket
{
	curl_socket_t fd;
	int			  what;	   /* CURL_POLL_IN / _OUT / _INOUT */
	int			  pos;	   /* position in the wait event set, or -1 */
	bool		  changed; /* "what" changed since the set was built */
} SmSocket;

/*
 * A multi handle plus what is needed to wait on it.
 */
typedef struct SmMulti
{
	CURLM		 *multi;
	SmSocket	  socks[SM_MAX_SOCKETS];
	int			  nsocks;
	bool		  rebuild; /* the set of sockets changed */
	bool		  changed; /* some socket's "what" changed */
	WaitEventSet *wes;
	bool		  timer_set;
	TimestampTz	  timer_deadline;
} SmMulti;

/* One attempt in flight. */
typedef struct SmTransfer
{
	CURL			  *easy;
	struct curl_slist *headers;
	SmResponse		   resp;
	int				   job;
	bool			   added; /* easy handle is in the multi handle */
} SmTransfer;

typedef enum SmJobPhase
{
	SM_JOB_NEW,
	SM_JOB_RUNNING,
	SM_JOB_WAITING, /* for its retry time */
	SM_JOB_DONE
} SmJobPhase;

/* sm_run_jobs()'s record of one job. */
typedef struct SmJobState
{
	SmJobPhase	  phase;
	int			  attempts; /* attempts started */
	int			  retries;	/* retries started after backoff */
	int			  last_retry_cost;
	bool		  skew_retry_used;
	bool		  token_retry_used;
	int			  signed_offset; /* clock offset the attempt was signed with */
	TimestampTz	  retry_at;
	TimestampTz	  sent_at; /* when the current attempt started */
	SmTransfer	 *xfer;
	MemoryContext attempt_cxt;
} SmJobState;

/* Per-backend state */
static bool			sm_curl_initialized = false;
static CURLSH	   *sm_share = NULL;
static SmMulti		sm_main = {0};	/* membership requests */
static SmMulti		sm_fetch = {0}; /* credential endpoints */
static SmRetryQuota sm_quota;
static int			sm_clock_offset = 0; /* seconds to add to our clock */
SmTransportStats	sm_transport_stats;

static void sm_transport_init(void);
static void sm_transport_shutdown(int code, Datum arg);
static void sm_multi_init(SmMulti *m);
static int	sm_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
						 void *socketp);
static int	sm_timer_cb(CURLM *multi, long timeout_ms, void *userp);
static curl_socket_t sm_open_socket_cb(void *clientp, curlsocktype purpose,
									   struct curl_sockaddr *address);
static int			 sm_close_socket_cb(void *clientp, curl_socket_t fd);
static size_t sm_write_cb(char *data, size_t size, size_t nmemb, void *userp);
static size_t sm_header_cb(char *data, size_t size, size_t nmemb, void *userp);
static void	  sm_socket_action(SmMulti *m, curl_socket_t fd, int ev);
static void	  sm_multi_wait(SmMulti *m, long max_wait_ms);
static void	  sm_multi_release_wes(SmMulti *m);
static SmTransfer *sm_transfer_start(SmMulti *m, const SmRequestSpec *spec,
									 MemoryContext cxt, int job, bool count);
static void		   sm_transfer_setup(SmMulti *m, SmTransfer *xfer,
									 const SmRequestSpec *spec);
static void		   sm_transfer_finish(SmMulti *m, SmTransfer *xfer);
static void sm_transfer_collect(SmMulti *m, SmTransfer *xfer, CURLcode rc);
struct SmRun;
static void sm_job_decide(struct SmRun *run, SmTransfer *xfer);
static long sm_ms_until(TimestampTz t);

/*
 * Option-setting macros in the manner of libpq-oauth's: a failure names the
 * option.  They may only be used where raising an error is safe (never
 * inside a curl callback).
 */
#define SM_SETOPT(h, opt, val)                                                \
	do                                                                        \
	{                                                                         \
		CURLcode _rc = curl_easy_setopt((h), (opt), (val));                   \
		if (_rc != CURLE_OK)                                                  \
			ereport(ERROR, (errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),      \
							errmsg("could not set libcurl option %s: %s",     \
								   #opt, curl_easy_strerror(_rc))));          \
	} while (0)

#define SM_MSETOPT(h, opt, val)                                               \
	do                                                                        \
	{                                                                         \
		CURLMcode _rc = curl_multi_setopt((h), (opt), (val));                 \
		if (_rc != CURLM_OK)                                                  \
			ereport(ERROR, (errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),      \
							errmsg("could not set libcurl option %s: %s",     \
								   #opt, curl_multi_strerror(_rc))));         \
	} while (0)

/*
 * sm_transport_init
 *		Global curl set-up, once per process, on first use (never in the
 *		postmaster).  Checks that libcurl can resolve names asynchronously:
 *		otherwise a DNS lookup could neither time out nor be cancelled.
 */
static void
sm_transport_init(void)
{
	curl_version_info_data *info;
	CURLSHcode				src;

	if (sm_curl_initialized)
		return;

	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		ereport(ERROR, (errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
						errmsg("could not initialize libcurl")));
	info = curl_version_info(CURLVERSION_NOW);
	if (!(info->features & CURL_VERSION_ASYNCHDNS))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("libcurl %s cannot resolve host names asynchronously",
						info->version),
				 errdetail("Without an asynchronous resolver, a DNS lookup "
						   "could neither time out nor be cancelled."),
				 errhint("Use a libcurl built with the threaded resolver or "
						 "c-ares.")));
	if (!(info->features & CURL_VERSION_SSL))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("libcurl %s has no TLS support", info->version)));

	sm_share = curl_share_init();
	if (sm_share == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	src = curl_share_setopt(sm_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	if (src == CURLSHE_OK)
		src = curl_share_setopt(sm_share, CURLSHOPT_SHARE,
								CURL_LOCK_DATA_SSL_SESSION);
	if (src != CURLSHE_OK)
		ereport(ERROR, (errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
						errmsg("could not configure libcurl share handle: %s",
							   curl_share_strerror(src))));

	sm_multi_init(&sm_main);
	sm_retry_quota_init(&sm_quota);
	on_proc_exit(sm_transport_shutdown, (Datum) 0);
	sm_curl_initialized = true;
}

/*
 * sm_transport_shutdown
 *		Backend exit: close cached connections politely.
 */
static void
sm_transport_shutdown(int code, Datum arg)
{
	sm_multi_release_wes(&sm_main);
	sm_multi_release_wes(&sm_fetch);
	if (sm_main.multi)
		curl_multi_cleanup(sm_main.multi);
	if (sm_fetch.multi)
		curl_multi_cleanup(sm_fetch.multi);
	sm_main.multi = sm_fetch.multi = NULL;
	if (sm_share)
		curl_share_cleanup(sm_share);
	sm_share = NULL;
}

/*
 * sm_multi_init
 *		Create a multi handle wired to our socket and timer callbacks.
 */
static void
sm_multi_init(SmMulti *m)
{
	memset(m, 0, sizeof(*m));
	m->multi = curl_multi_init();
	if (m->multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
#if LIBCURL_VERSION_NUM >= 0x074400
	/* libcurl 7.68+ keeps a wake-up socket pair per multi handle */
	ReserveExternalFD();
	ReserveExternalFD();
#endif
	SM_MSETOPT(m->multi, CURLMOPT_SOCKETFUNCTION, sm_socket_cb);
	SM_MSETOPT(m->multi, CURLMOPT_SOCKETDATA, m);
	SM_MSETOPT(m->multi, CURLMOPT_TIMERFUNCTION, sm_timer_cb);
	SM_MSETOPT(m->multi, CURLMOPT_TIMERDATA, m);
}

/*
 * sm_socket_cb
 *		curl tells us which sockets to watch for what.  Must not raise
 *		errors; returns -1 (failing the transfer) if the table is full.
 */
static int
sm_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	SmMulti *m = (SmMulti *) userp;
	int		 i;

	for (i = 0; i < m->nsocks; i++)
		if (m->socks[i].fd == s)
			break;

	if (what == CURL_POLL_REMOVE || what == CURL_POLL_NONE)
	{
		if (i < m->nsocks)
		{
			m->socks[i] = m->socks[m->nsocks - 1];
			m->nsocks--;
			m->rebuild = true;
		}
		return 0;
	}

	if (i == m->nsocks)
	{
		if (m->nsocks >= SM_MAX_SOCKETS)
			return -1;
		m->socks[i].fd = s;
		m->socks[i].pos = -1;
		m->socks[i].changed = false;
		m->nsocks++;
		m->rebuild = true;
	}
	else if (m->socks[i].what != what)
	{
		/* applied by sm_multi_wait(): ModifyWaitEvent() may raise errors */
		m->socks[i].changed = true;
		m->changed = true;
	}
	m->socks[i].what = what;
	return 0;
}

/*
 * sm_timer_cb
 *		curl tells us when it next wants to be called without socket
 *		activity (-1: never).
 */
static int
sm_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	SmMulti *m = (SmMulti *) userp;

	if (timeout_ms < 0)
		m->timer_set = false;
	else
	{
		m->timer_set = true;
		m->timer_deadline =
			TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	}
	return 0;
}

/*
 * sm_open_socket_cb / sm_close_socket_cb
 *		Open and close connection sockets on curl's behalf so that they are
 *		counted against max_files_per_process like any other file the
 *		backend holds (AcquireExternalFD), and counted in our statistics.
 */
static curl_socket_t
sm_open_socket_cb(void *clientp, curlsocktype purpose,
				  struct curl_sockaddr *address)
{
	curl_socket_t fd;

	if (!AcquireExternalFD())
	{
		errno = EMFILE;
		return CURL_SOCKET_BAD;
	}
	fd = socket(address->family, address->socktype, address->protocol);
	if (fd < 0)
	{
		int save_errno = errno;

		ReleaseExternalFD();
		errno = save_errno;
		return CURL_SOCKET_BAD;
	}
	sm_transport_stats.connections_opened++;
	sm_transport_stats.connections_open++;
	return fd;
}

static int
sm_close_socket_cb(void *clientp, curl_socket_t fd)
{
	int rc = close(fd);

	ReleaseExternalFD();
	sm_transport_stats.connections_open--;
	return rc;
}

/*
 * sm_write_cb
 *		Append reply bytes to the response body, up to the size cap.  On
 *		overflow or out-of-memory returns 0, which makes curl abort the
 *		transfer with CURLE_WRITE_ERROR; never raises an error.
 */
static size_t
sm_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	SmResponse *resp = (SmResponse *) userp;
	size_t		len = size * nmemb;

	sm_transport_stats.bytes_received += len;
	if (resp->body_len + len > resp->max_body)
	{
		resp->body_too_large = true;
		return 0;
	}
	if (resp->body_len + len + 1 > resp->body_cap)
	{
		size_t newcap = Max(resp->body_cap * 2, 16384);
		char  *newbuf;

		while (newcap < resp->body_len + len + 1)
			newcap *= 2;
		if (newcap > resp->max_body + 1)
			newcap = resp->max_body + 1;
		newbuf = MemoryContextAllocExtended(
			resp->cxt, newcap, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
		if (newbuf == NULL)
		{
			resp->body_oom = true;
			return 0;
		}
		if (resp->body_len > 0)
			memcpy(newbuf, resp->body, resp->body_len);
		if (resp->body)
			pfree(resp->body);
		resp->body = newbuf;
		resp->body_cap = newcap;
	}
	memcpy(resp->body + resp->body_len, data, len);
	resp->body_len += len;
	resp->body[resp->body_len] = '\0';
	return len;
}

/*
 * sm_copy_header_value
 *		Copy a header value, trimmed, into a fixed buffer (truncating).
 */
static void
sm_copy_header_value(char *dst, const char *src, size_t len)
{
	size_t n;

	while (len > 0 && (*src == ' ' || *src == '\t'))
		src++, len--;
	while (len > 0 && (src[len - 1] == '\r' || src[len - 1] == '\n' ||
					   src[len - 1] == ' ' || src[len - 1] == '\t'))
		len--;
	n = Min(len, SM_HEADER_VALUE_LEN - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * sm_header_cb
 *		Pick the reply headers we use out of the header stream.  A new
 *		status line (after a 100 Continue, say) starts over.
 */
static size_t
sm_header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	SmResponse *resp = (SmResponse *) userp;
	size_t		len = size * nmemb;
	static const struct
	{
		const char *name;
		size_t		offset;
	} wanted[] = {
		{"x-amzn-requestid", offsetof(SmResponse, request_id)},
		{"x-amz-request-id", offsetof(SmResponse, request_id)},
		{"x-amzn-errortype", offsetof(SmResponse, error_type)},
		{"date", offsetof(SmResponse, date)},
		{"retry-after", offsetof(SmResponse, retry_after)},
		{"x-amz-retry-after", offsetof(SmResponse, amz_retry_after)},
		{"content-type", offsetof(SmResponse, content_type)},
	};
	const char *colon;
	size_t		namelen;
	int			i;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
	{
		resp->request_id[0] = resp->error_type[0] = resp->date[0] = '\0';
		resp->retry_after[0] = resp->amz_retry_after[0] = '\0';
		resp->content_type[0] = '\0';
		return len;
	}
	colon = memchr(data, ':', len);
	if (colon == NULL)
		return len;
	namelen = colon - data;
	for (i = 0; i < lengthof(wanted); i++)
	{
		if (strlen(wanted[i].name) == namelen &&
			pg_strncasecmp(data, wanted[i].name, namelen) == 0)
		{
			sm_copy_header_value((char *) resp + wanted[i].offset, colon + 1,
								 len - namelen - 1);
			break;
		}
	}
	return len;
}

/*
 * sm_socket_action
 *		Let curl act on a socket event or timeout.  All signals are blocked
 *		meanwhile: curl may start resolver threads here, and they inherit
 *		the mask, so PostgreSQL's signal handlers only ever run in the main
 *		thread.
 */
static void
sm_socket_action(SmMulti *m, curl_socket_t fd, int ev)
{
	sigset_t all;
	sigset_t old;
	int		 running;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	(void) curl_multi_socket_action(m->multi, fd, ev, &running);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Milliseconds from now until t (0 if past). */
static long
sm_ms_until(TimestampTz t)
{
	TimestampTz now = GetCurrentTimestamp();

	if (t <= now)
		return 0;
	return (long) ((t - now + 999) / 1000);
}

/*
 * sm_multi_release_wes
 *		Free the wait event set (it holds an epoll descriptor).
 */
static void
sm_multi_release_wes(SmMulti *m)
{
	int i;

	if (m->wes != NULL)
	{
		FreeWaitEventSet(m->wes);
		m->wes = NULL;
	}
	for (i = 0; i < m->nsocks; i++)
		m->socks[i].pos = -1;
	m->rebuild = true;
}

/* The wait events for what curl wants of a socket. */
static uint32
sm_poll_to_events(int what)
{
	uint32 ev = 0;

	if (what & CURL_POLL_IN)
		ev |= WL_SOCKET_READABLE;
	if (what & CURL_POLL_OUT)
		ev |= WL_SOCKET_WRITEABLE;
	return ev;
}

/*
 * sm_multi_build_wes
 *		(Re)create the wait event set: latch, postmaster death, and every
 *		socket curl watches.
 */
static void
sm_multi_build_wes(SmMulti *m)
{
	int i;

	sm_multi_release_wes(m);
	m->wes = sm_create_wait_event_set(m->nsocks + 2);
	AddWaitEventToSet(m->wes, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(m->wes, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL,
					  NULL);
	for (i = 0; i < m->nsocks; i++)
	{
		m->socks[i].pos =
			AddWaitEventToSet(m->wes, sm_poll_to_events(m->socks[i].what),
							  m->socks[i].fd, NULL, NULL);
		m->socks[i].changed = false;
	}
	m->rebuild = false;
	m->changed = false;
}

/*
 * sm_multi_wait
 *		Sleep until a watched socket is ready, curl's timer fires, the latch
 *		is set or max_wait_ms (-1: no limit) passes; then let curl act.
 *		Interrupts are serviced here.
 */
static void
sm_multi_wait(SmMulti *m, long max_wait_ms)
{
	WaitEvent events[SM_MAX_SOCKETS + 2];
	long	  timeout = max_wait_ms;
	int		  nev;
	int		  i;

	if (m->timer_set)
	{
		long t = sm_ms_until(m->timer_deadline);

		if (t == 0)
		{
			m->timer_set = false;
			sm_socket_action(m, CURL_SOCKET_TIMEOUT, 0);
			return;
		}
		timeout = (timeout < 0) ? t : Min(timeout, t);
	}

	if (m->rebuild || m->wes == NULL)
		sm_multi_build_wes(m);
	else if (m->changed)
	{
		for (i = 0; i < m->nsocks; i++)
		{
			if (!m->socks[i].changed)
				continue;
			ModifyWaitEvent(m->wes, m->socks[i].pos,
							sm_poll_to_events(m->socks[i].what), NULL);
			m->socks[i].changed = false;
		}
		m->changed = false;
	}

	nev = WaitEventSetWait(m->wes, timeout, events, lengthof(events),
						   sm_wait_event_info());
	for (i = 0; i < nev; i++)
	{
		if (events[i].events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		else if (events[i].events & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE))
		{
			int ev = 0;

			if (events[i].events & WL_SOCKET_READABLE)
				ev |= CURL_CSELECT_IN;
			if (events[i].events & WL_SOCKET_WRITEABLE)
				ev |= CURL_CSELECT_OUT;
			sm_socket_action(m, events[i].fd, ev);
		}
	}
	if (m->timer_set && sm_ms_until(m->timer_deadline) == 0)
	{
		m->timer_set = false;
		sm_socket_action(m, CURL_SOCKET_TIMEOUT, 0);
	}
}

/*
 * sm_transfer_start
 *		Build an easy handle for one attempt and add it to the multi handle.
 *		The transfer and its response live in cxt.  If anything fails, the
 *		curl objects made so far are freed before the error propagates.
 */
static SmTransfer *
sm_transfer_start(SmMulti *m, const SmRequestSpec *spec, MemoryContext cxt,
				  int job, bool count)
{
	SmTransfer *xfer = MemoryContextAllocZero(cxt, sizeof(SmTransfer));

	xfer->job = job;
	xfer->resp.cxt = cxt;
	xfer->resp.max_body = spec->max_body > 0 ? spec->max_body : 1024 * 1024;
	PG_TRY();
	{
		sm_transfer_setup(m, xfer, spec);
	}
	PG_CATCH();
	{
		sm_transfer_finish(m, xfer);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (count)
		sm_transport_stats.attempts++;
	return xfer;
}

/*
 * sm_transfer_setup
 *		The body of sm_transfer_start(): every option, from scratch.
 */
static void
sm_transfer_setup(SmMulti *m, SmTransfer *xfer, const SmRequestSpec *spec)
{
	CURL	 *h;
	int		  i;
	CURLMcode mrc;

	h = xfer->easy = curl_easy_init();
	if (h == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	SM_SETOPT(h, CURLOPT_PRIVATE, xfer);
	SM_SETOPT(h, CURLOPT_URL, spec->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SM_SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
	SM_SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
	SM_SETOPT(h, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SM_SETOPT(h, CURLOPT_REDIR_PROTOCOLS, (long) CURLPROTO_HTTPS);
#endif
	SM_SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
	SM_SETOPT(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075700
	/* do not wait for a resolver thread when a transfer is abandoned */
	SM_SETOPT(h, CURLOPT_QUICK_EXIT, 1L);
#endif
	SM_SETOPT(h, CURLOPT_SHARE, sm_share);
	SM_SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	SM_SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (spec->ca_file != NULL)
		SM_SETOPT(h, CURLOPT_CAINFO, spec->ca_file);
	SM_SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, spec->connect_timeout_ms);
	SM_SETOPT(h, CURLOPT_TIMEOUT_MS, spec->timeout_ms);
	SM_SETOPT(h, CURLOPT_TCP_KEEPALIVE, 1L);
	SM_SETOPT(h, CURLOPT_ACCEPT_ENCODING, "");
	SM_SETOPT(h, CURLOPT_USERAGENT,
			  "segment_membership/1.0 (PostgreSQL " PG_VERSION ")");
	SM_SETOPT(h, CURLOPT_ERRORBUFFER, xfer->resp.curl_error);
	SM_SETOPT(h, CURLOPT_WRITEFUNCTION, sm_write_cb);
	SM_SETOPT(h, CURLOPT_WRITEDATA, &xfer->resp);
	SM_SETOPT(h, CURLOPT_HEADERFUNCTION, sm_header_cb);
	SM_SETOPT(h, CURLOPT_HEADERDATA, &xfer->resp);
	SM_SETOPT(h, CURLOPT_OPENSOCKETFUNCTION, sm_open_socket_cb);
	SM_SETOPT(h, CURLOPT_CLOSESOCKETFUNCTION, sm_close_socket_cb);

	if (strcmp(spec->method, "POST") == 0)
	{
		SM_SETOPT(h, CURLOPT_POST, 1L);
		SM_SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE,
				  (curl_off_t) (spec->body ? spec->body_len : 0));
		SM_SETOPT(h, CURLOPT_POSTFIELDS, spec->body ? spec->body : "");
	}
	else if (strcmp(spec->method, "PUT") == 0)
	{
		SM_SETOPT(h, CURLOPT_CUSTOMREQUEST, "PUT");
		SM_SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE,
				  (curl_off_t) (spec->body ? spec->body_len : 0));
		SM_SETOPT(h, CURLOPT_POSTFIELDS, spec->body ? spec->body : "");
	}
	else
		SM_SETOPT(h, CURLOPT_HTTPGET, 1L);

	/* no "Expect: 100-continue" round trip, and it must never be signed */
	xfer->headers = curl_slist_append(NULL, "Expect:");
	for (i = 0; i < spec->nheaders && xfer->headers != NULL; i++)
	{
		struct curl_slist *n =
			curl_slist_append(xfer->headers, spec->headers[i]);

		if (n == NULL)
		{
			curl_slist_free_all(xfer->headers);
			xfer->headers = NULL;
		}
	}
	if (xfer->headers == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	SM_SETOPT(h, CURLOPT_HTTPHEADER, xfer->headers);

	mrc = curl_multi_add_handle(m->multi, h);
	if (mrc != CURLM_OK)
		ereport(ERROR, (errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
						errmsg("could not start HTTP request: %s",
							   curl_multi_strerror(mrc))));
	xfer->added = true;
}

/*
 * sm_transfer_collect
 *		A transfer completed: record its outcome in its response and free its
 *		curl objects (returning the connection to the cache).
 */
static void
sm_transfer_collect(SmMulti *m, SmTransfer *xfer, CURLcode rc)
{
	SmResponse *resp = &xfer->resp;

	resp->curl_code = rc;
	if (curl_easy_getinfo(xfer->easy, CURLINFO_RESPONSE_CODE,
						  &resp->http_status) != CURLE_OK ||
		rc != CURLE_OK)
		resp->http_status = 0;
	sm_transfer_finish(m, xfer);
	if (resp->body == NULL)
	{
		/* never returns NULL: MCXT_ALLOC_NO_OOM is not given */
		resp->body = MemoryContextAllocZero(resp->cxt, 1);
		resp->body_len = 0;
	}
}

/*
 * sm_transfer_finish
 *		Detach an attempt's curl objects and free them.  Never raises an
 *		error, so it is safe in error clean-up.  If the transfer had not
 *		completed, its connection is closed by curl.
 */
static void
sm_transfer_finish(SmMulti *m, SmTransfer *xfer)
{
	if (xfer->easy != NULL)
	{
		if (xfer->added)
			curl_multi_remove_handle(m->multi, xfer->easy);
		curl_easy_cleanup(xfer->easy);
	}
	if (xfer->headers != NULL)
		curl_slist_free_all(xfer->headers);
	xfer->easy = NULL;
	xfer->headers = NULL;
	xfer->added = false;
}

/*
 * sm_signing_time
 *		The time to put in signatures: our clock corrected by the offset
 *		learnt from the service after a clock-skew rejection.
 */
time_t
sm_signing_time(void)
{
	return time(NULL) + sm_clock_offset;
}

/* The retry quota left in this backend. */
int
sm_retry_quota_available(void)
{
	if (!sm_curl_initialized)
		return SM_RETRY_QUOTA_CAPACITY;
	return sm_quota.available;
}

/*
 * sm_curl_retry_class
 *		Classify a transfer that ended without a usable HTTP response.
 */
static SmRetryClass
sm_curl_retry_class(CURLcode rc)
{
	switch (rc)
	{
		case CURLE_OPERATION_TIMEDOUT:
			return SM_RETRY_TIMEOUT;
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_CONNECT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
		case CURLE_WEIRD_SERVER_REPLY:
		case CURLE_BAD_CONTENT_ENCODING:
		case CURLE_READ_ERROR:
			return SM_RETRY_TRANSIENT;
		default:
			return SM_RETRY_NO;
	}
}

/*
 * sm_transport_describe_failure
 *		Fill in code, message, status and request id of a failure from an
 *		attempt's response.
 */
static void
sm_transport_describe_failure(const SmResponse *resp, SmFailure *failure)
{
	failure->http_status = resp->http_status;
	failure->curl_code = resp->curl_code;
	failure->too_large = resp->body_too_large;
	strlcpy(failure->request_id, resp->request_id,
			sizeof(failure->request_id));
	failure->code[0] = failure->message[0] = '\0';

	if (resp->body_too_large)
	{
		snprintf(failure->message, sizeof(failure->message),
				 "The reply was larger than segment_membership.max_reply_size "
				 "(%zu bytes).",
				 resp->max_body);
		return;
	}
	if (resp->curl_code != CURLE_OK)
	{
		const char *detail = resp->curl_error[0]
								 ? resp->curl_error
								 : curl_easy_strerror(resp->curl_code);

		snprintf(failure->message, sizeof(failure->message), "%s", detail);
		return;
	}
	sm_reply_parse_error(resp->body, resp->body_len, resp->error_type,
						 failure->code, sizeof(failure->code),
						 failure->message, sizeof(failure->message));
}

/*
 * sm_is_token_error
 *		Whether an error code says the session token expired or is unknown
 *		(which happens when temporary credentials rotated underneath us).
 */
static bool
sm_is_token_error(const char *code)
{
	return strcmp(code, "ExpiredTokenException") == 0 ||
		   strcmp(code, "ExpiredToken") == 0 ||
		   strcmp(code, "RequestExpired") == 0 ||
		   strcmp(code, "UnrecognizedClientException") == 0 ||
		   strcmp(code, "InvalidClientTokenId") == 0;
}

/*
 * sm_try_clock_skew_correction
 *		After an authentication failure that a skewed clock can cause, take
 *		the service's clock from the Date header.  Returns true when the
 *		offset changed by at least the SDKs' threshold (then the request
 *		deserves one more attempt).
 */
static bool
sm_try_clock_skew_correction(const SmResponse *resp, const SmFailure *f)
{
	time_t server;
	time_t now;
	long   new_offset;

	if (resp->http_status != 400 && resp->http_status != 401 &&
		resp->http_status != 403)
		return false;
	if (!sm_retry_is_clock_skew_code(f->code) || resp->date[0] == '\0')
		return false;
	server = curl_getdate(resp->date, NULL);
	if (server == (time_t) -1)
		return false;
	now = time(NULL);
	new_offset = (long) (server - now);
	if (labs(new_offset - sm_clock_offset) < SM_CLOCK_SKEW_THRESHOLD_S)
		return false;
	if (labs(new_offset) > 7L * 24 * 3600)
		return false; /* not believable */
	sm_clock_offset = (int) new_offset;
	sm_transport_stats.clock_skew_corrections++;
	return true;
}

/*
 * The state of one sm_run_jobs() call.
 */
typedef struct SmRun
{
	const SmJobOps *ops;
	void		   *arg;
	int				njobs;
	int				max_concurrency;
	SmJobState	   *jobs;
	int			   *waiting; /* jobs in SM_JOB_WAITING */
	int				nwaiting;
	int				next_new; /* lowest job never started */
	int				nrunning;
	int				ndone;
	MemoryContext	run_cxt;
} SmRun;

/*
 * sm_job_start_attempt
 *		Build, sign and start the next attempt of a job.
 */
static void
sm_job_start_attempt(SmRun *run, int j)
{
	SmJobState	 *js = &run->jobs[j];
	SmRequestSpec spec;
	MemoryContext oldcxt;

	if (js->attempt_cxt == NULL)
		js->attempt_cxt =
			AllocSetContextCreate(run->run_cxt, "segment_membership attempt",
								  ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(js->attempt_cxt);
	oldcxt = MemoryContextSwitchTo(js->attempt_cxt);
	memset(&spec, 0, sizeof(spec));
	run->ops->build(run->arg, j, &spec);
	js->signed_offset = sm_clock_offset;
	js->xfer = sm_transfer_start(&sm_main, &spec, js->attempt_cxt, j, true);
	MemoryContextSwitchTo(oldcxt);
	/* cluster.c: totals and progress count the request */
	js->sent_at = GetCurrentTimestamp();
	sm_cluster_request_sent();
	js->attempts++;
	js->phase = SM_JOB_RUNNING;
	run->nrunning++;
}

/*
 * sm_job_schedule_retry
 *		Put a job on the waiting list until delay_ms from now.
 */
static void
sm_job_schedule_retry(SmRun *run, int j, long delay_ms)
{
	SmJobState *js = &run->jobs[j];

	js->phase = SM_JOB_WAITING;
	js->retry_at =
		TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay_ms);
	run->waiting[run->nwaiting++] = j;
	sm_transport_stats.retries++;
}

/*
 * sm_job_completed
 *		Decide what a finished attempt means: accept the reply, retry, or
 *		give up on the job.  The attempt's curl objects are already freed.
 */
static void
sm_job_completed(SmRun *run, SmTransfer *xfer)
{
	SmJobState	 *js = &run->jobs[xfer->job];
	MemoryContext oldcxt;
	bool		  success =
		(xfer->resp.curl_code == CURLE_OK && xfer->resp.http_status >= 200 &&
		 xfer->resp.http_status < 300);

	/* whatever parsing the reply allocates goes away with the attempt */
	oldcxt = MemoryContextSwitchTo(js->attempt_cxt);
	sm_job_decide(run, xfer);
	MemoryContextSwitchTo(oldcxt);
	/* cluster.c: totals, progress and the adaptive rate learn the outcome */
	sm_cluster_reply_received(js->sent_at, success);
	if (js->phase == SM_JOB_DONE)
	{
		MemoryContextDelete(js->attempt_cxt);
		js->attempt_cxt = NULL;
	}
}

/*
 * sm_job_decide
 *		The body of sm_job_completed(), running in the attempt's context.
 */
static void
sm_job_decide(SmRun *run, SmTransfer *xfer)
{
	SmJobState	*js = &run->jobs[xfer->job];
	SmResponse	*resp = &xfer->resp;
	SmFailure	 failure;
	SmRetryClass cls;

	js->xfer = NULL;
	js->phase = SM_JOB_DONE; /* unless retried below */
	run->nrunning--;

	if (resp->body_oom)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
				 errdetail("Failed while receiving a reply of %zu bytes.",
						   resp->body_len)));

	memset(&failure, 0, sizeof(failure));
	if (resp->curl_code == CURLE_OK && resp->http_status >= 200 &&
		resp->http_status < 300)
	{
		const char *why = run->ops->accept(run->arg, xfer->job, resp);

		if (why == NULL)
		{
			sm_retry_quota_release(&sm_quota, js->last_retry_cost);
			run->ndone++;
			return;
		}
		/* an unusable reply: retried like a transient failure */
		cls = SM_RETRY_TRANSIENT;
		failure.http_status = resp->http_status;
		strlcpy(failure.request_id, resp->request_id,
				sizeof(failure.request_id));
		strlcpy(failure.code, "InvalidReply", sizeof(failure.code));
		strlcpy(failure.message, why, sizeof(failure.message));
	}
	else
	{
		sm_transport_describe_failure(resp, &failure);
		if (resp->body_too_large)
			cls = SM_RETRY_NO;
		else if (resp->curl_code != CURLE_OK)
			cls = sm_curl_retry_class(resp->curl_code);
		else
			cls = sm_retry_classify_http(resp->http_status, failure.code);

		if (cls == SM_RETRY_NO && !js->skew_retry_used &&
			(sm_try_clock_skew_correction(resp, &failure) ||
			 (js->signed_offset != sm_clock_offset &&
			  sm_retry_is_clock_skew_code(failure.code))))
		{
			/*
			 * One extra attempt, signed with the corrected clock: either this
			 * reply taught us the offset, or another request's did after this
			 * one was signed.
			 */
			js->skew_retry_used = true;
			sm_job_schedule_retry(run, xfer->job, 0);
			return;
		}
		if (cls == SM_RETRY_NO && !js->token_retry_used &&
			resp->http_status == 403 && sm_is_token_error(failure.code) &&
			run->ops->refresh_credentials != NULL &&
			run->ops->refresh_credentials(run->arg))
		{
			/* one extra attempt with refreshed credentials */
			js->token_retry_used = true;
			sm_job_schedule_retry(run, xfer->job, 0);
			return;
		}
	}
	failure.cls = cls;
	failure.attempts = js->attempts;
	if (cls == SM_RETRY_THROTTLING)
		sm_transport_stats.throttled++;

	if (cls != SM_RETRY_NO && js->attempts < sm_guc_max_attempts)
	{
		int cost = sm_retry_quota_acquire(&sm_quota, cls);

		if (cost > 0)
		{
			long delay;

			js->retries++;
			js->last_retry_cost = cost;
			delay =
				sm_retry_backoff_ms(cls, js->retries, sm_random_fraction());
			delay = sm_retry_apply_hint(
				delay, sm_retry_parse_hint(resp->amz_retry_after,
										   resp->retry_after, time(NULL)));
			sm_job_schedule_retry(run, xfer->job, delay);
			return;
		}
		failure.quota_exhausted = true;
	}

	/* give up on this job */
	sm_transport_stats.failed_jobs++;
	run->ndone++;
	run->ops->give_up(run->arg, xfer->job, &failure);
}

/*
 * sm_run_start_due
 *		Start the retries that are due and then new jobs, while there is
 *		room.  Returns the time of the earliest retry not yet due.
 */
static TimestampTz
sm_run_start_due(SmRun *run)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz next_retry = DT_NOEND;
	TimestampTz token_at;
	int			i = 0;

	while (i < run->nwaiting)
	{
		int j = run->waiting[i];

		if (run->jobs[j].retry_at > now ||
			run->nrunning >= run->max_concurrency)
		{
			next_retry = Min(next_retry, run->jobs[j].retry_at);
			i++;
			continue;
		}
		/* cluster.c: the shared rate limit; no token yet, come back then */
		if (!sm_cluster_take_token(&token_at))
			return Min(next_retry, token_at);
		run->waiting[i] = run->waiting[--run->nwaiting];
		sm_job_start_attempt(run, j);
	}
	while (run->next_new < run->njobs &&
		   run->nrunning < run->max_concurrency &&
		   run->ops->may_start(run->arg, run->next_new))
	{
		/* cluster.c: the shared rate limit; no token yet, come back then */
		if (!sm_cluster_take_token(&token_at))
			return Min(next_retry, token_at);
		sm_job_start_attempt(run, run->next_new++);
	}
	return next_retry;
}

/*
 * sm_run_jobs
 *		Run njobs requests with at most max_concurrency in flight, retrying
 *		each as the retry policy allows, and report every outcome through
 *		ops.  Returns when every job has been accepted or given up on.  On
 *		any error (including a cancel) every transfer in flight is removed
 *		and freed before the error propagates.
 */
void
sm_run_jobs(int njobs, int max_concurrency, const SmJobOps *ops, void *arg)
{
	SmMulti *m = &sm_main;
	SmRun	 run;

	sm_transport_init();
	SM_MSETOPT(m->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
			   (long) max_concurrency);
	SM_MSETOPT(m->multi, CURLMOPT_MAXCONNECTS, (long) max_concurrency);

	memset(&run, 0, sizeof(run));
	run.ops = ops;
	run.arg = arg;
	run.njobs = njobs;
	run.max_concurrency = max_concurrency;
	run.run_cxt = AllocSetContextCreate(CurrentMemoryContext,
										"segment_membership transfers",
										ALLOCSET_DEFAULT_SIZES);
	run.jobs = MemoryContextAllocZero(run.run_cxt,
									  sizeof(SmJobState) * Max(njobs, 1));
	run.waiting = MemoryContextAlloc(run.run_cxt, sizeof(int) * Max(njobs, 1));

	PG_TRY();
	{
		while (run.ndone < njobs)
		{
			TimestampTz next_retry;
			long		wait_ms;
			CURLMsg	   *msg;
			int			msgs_left;

			CHECK_FOR_INTERRUPTS();
			next_retry = sm_run_start_due(&run);
			if (run.nrunning == 0 && run.nwaiting == 0 &&
				next_retry == DT_NOEND)
				elog(ERROR, "segment_membership: no job can make progress");

			wait_ms = (next_retry == DT_NOEND) ? -1 : sm_ms_until(next_retry);
			if (run.nrunning == 0)
			{
				/*
				 * only retries or a rate-limit token pending: sleep on the
				 * latch alone (cluster.c picks the wait event)
				 */
				int rc = WaitLatch(
					MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					Max(wait_ms, 1), sm_cluster_wait_event_info());

				if (rc & WL_LATCH_SET)
				{
					ResetLatch(MyLatch);
					CHECK_FOR_INTERRUPTS();
				}
				continue;
			}
			sm_multi_wait(m, wait_ms);

			while ((msg = curl_multi_info_read(m->multi, &msgs_left)) != NULL)
			{
				SmTransfer *xfer = NULL;

				if (msg->msg != CURLMSG_DONE)
					continue;
				if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
									  (char **) &xfer) != CURLE_OK ||
					xfer == NULL)
					elog(ERROR, "segment_membership: transfer without owner");
				sm_transfer_collect(m, xfer, msg->data.result);
				sm_job_completed(&run, xfer);
			}
		}
	}
	PG_CATCH();
	{
		int j;

		for (j = 0; j < njobs; j++)
			if (run.jobs[j].xfer != NULL)
				sm_transfer_finish(m, run.jobs[j].xfer);
		sm_multi_release_wes(m);
		PG_RE_THROW();
	}
	PG_END_TRY();

	sm_multi_release_wes(m);
	MemoryContextDelete(run.run_cxt);
}

/*
 * sm_http_fetch
 *		Send one request and wait for its reply, interruptibly; used for the
 *		credential endpoints.  Never retries and never raises an error for
 *		network failures: resp->curl_code and resp->http_status tell.  The
 *		body is allocated in CurrentMemoryContext.
 */
void
sm_http_fetch(const SmRequestSpec *spec, SmResponse *resp)
{
	SmMulti *m = &sm_fetch;
	SmTransfer *volatile xfer = NULL;

	sm_transport_init();
	if (m->multi == NULL)
		sm_multi_init(m); /* only backends that fetch credentials */
	sm_transport_stats.credential_fetches++;
	PG_TRY();
	{
		CURLMsg *msg = NULL;
		int		 msgs_left;

		xfer = sm_transfer_start(m, spec, CurrentMemoryContext, 0, false);
		for (;;)
		{
			CHECK_FOR_INTERRUPTS();
			while ((msg = curl_multi_info_read(m->multi, &msgs_left)) != NULL)
				if (msg->msg == CURLMSG_DONE)
					break;
			if (msg != NULL)
				break;
			sm_multi_wait(m, -1);
		}
		sm_transfer_collect(m, xfer, msg->data.result);
	}
	PG_CATCH();
	{
		if (xfer != NULL)
			sm_transfer_finish(m, xfer);
		sm_multi_release_wes(m);
		PG_RE_THROW();
	}
	PG_END_TRY();
	sm_multi_release_wes(m);
	*resp = xfer->resp;
}
