/*-------------------------------------------------------------------------
 *
 * transport.c
 *		HTTP transport of segment_membership: libcurl multi handles driven
 *		from the backend's wait machinery, transfers, sm_http_fetch().
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
 * This file knows HTTP and curl, nothing of AWS: what to send, when to
 * retry and what a reply means are the callers' business (requests.c for
 * the main multi handle).  Credential endpoints use sm_http_fetch(), a
 * single exchange on a second multi handle, so that it can be used while
 * the main handle is busy (credentials are fetched while signing).
 *
 * IDENTIFICATION
 *		src/transport.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compat.h"
#include "config.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "transport.h"
#include "utils/memutils.h"

/* Sockets one multi handle may have at once: connections plus resolvers. */
#define SM_MAX_SOCKETS (2 * SM_MAX_CONCURRENCY_LIMIT + 8)

/*
 * Connection sockets we opened for curl (sm_open_socket_cb), with the
 * identity of what the descriptor was when we opened it.  libcurl 7.88
 * closes some of them with plain close() and never calls the close-socket
 * callback, so the table is reconciled against the kernel at safe points:
 * a descriptor that is gone (EBADF) or now names another file is released.
 */
#define SM_MAX_TRACKED (2 * SM_MAX_SOCKETS)

/*
 * External descriptors kept free for others while we size a run: our wait
 * event set's epoll descriptor, a credential fetch's connection and its
 * wait event set, and one for PostgreSQL.
 */
#define SM_FD_RESERVE 4

/* Descriptors a resolver thread of libcurl's opens per lookup in flight. */
#define SM_RESOLVER_FDS 2

typedef struct SmTrackedSocket
{
	curl_socket_t	fd;
	dev_t			dev;
	ino_t			ino;
	struct SmMulti *owner;
} SmTrackedSocket;

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
	int			  fd_budget;	/* external fds a run's transfers may use */
	int			  inflight_fds; /* what the transfers in flight hold */
	int			  next_cost;	/* what the next transfer is likely to need */
} SmMulti;

/* One HTTP exchange in flight. */
struct SmTransfer
{
	CURL			  *easy;
	struct curl_slist *headers;
	SmResponse		   resp;
	struct SmMulti	  *owner;
	int				   tag;			 /* the caller's number for it */
	int				   resolver_fds; /* external fds held for its lookup */
	int				   cost;		 /* its share of owner->inflight_fds */
	bool			   added;		 /* easy handle is in the multi handle */
};

/* Per-backend state */
static bool				   sm_curl_initialized = false;
static CURLSH			  *sm_share = NULL;
static SmMulti			   sm_main = {0};  /* sm_transfer_start() */
static SmMulti			   sm_fetch = {0}; /* sm_http_fetch() */
static SmTransportCounters sm_counters;
static SmTrackedSocket	   sm_tracked[SM_MAX_TRACKED];
static int				   sm_ntracked = 0;

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
static SmTransfer *sm_transfer_begin(SmMulti *m, const SmRequestSpec *spec,
									 MemoryContext cxt, int tag);
static void		   sm_transfer_setup(SmMulti *m, SmTransfer *xfer,
									 const SmRequestSpec *spec);
static void		   sm_transfer_finish(SmMulti *m, SmTransfer *xfer);
static void sm_transfer_collect(SmMulti *m, SmTransfer *xfer, CURLcode rc);
static long sm_ms_until(TimestampTz t);
static SmTransfer *sm_multi_next_done(SmMulti *m);

/*
 * Option-setting macros in the manner of libpq-oauth's: a failure names the
 * option.  They may only be used where raising an error is safe (never
 * inside a curl callback).
 */
#define SM_CURL_CHECK(call, ok, strerror_fn, opt)                             \
	do                                                                        \
	{                                                                         \
		int _rc = (int) (call);                                               \
		if (_rc != (int) (ok))                                                \
			ereport(ERROR, (errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),      \
							errmsg("could not set libcurl option %s: %s",     \
								   #opt, strerror_fn(_rc))));                 \
	} while (0)
#define SM_SETOPT(h, opt, val)                                                \
	SM_CURL_CHECK(curl_easy_setopt((h), (opt), (val)), CURLE_OK,              \
				  curl_easy_strerror, opt)
#define SM_MSETOPT(h, opt, val)                                               \
	SM_CURL_CHECK(curl_multi_setopt((h), (opt), (val)), CURLM_OK,             \
				  curl_multi_strerror, opt)

/*
 * sm_transport_check_libcurl
 *		At module load: refuse a libcurl older than the one we were built
 *		for the minimum of (7.87: CURLOPT_QUICK_EXIT, without which a
 *		cancel during a slow DNS lookup waits for the resolver thread).
 *		Only reads static version data; libcurl is not initialized.
 */
void
sm_transport_check_libcurl(void)
{
	curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);

	if (info->version_num < SM_MIN_LIBCURL_VERSION_NUM)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("segment_membership requires libcurl %s or later, "
						"but the server loaded libcurl %s",
						SM_MIN_LIBCURL_VERSION, info->version),
				 errdetail("Without CURLOPT_QUICK_EXIT (libcurl 7.87), a "
						   "cancel during a slow DNS lookup would wait for "
						   "the resolver thread.")));
}

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

/* ----------------------------------------------------------------
 * Exact accounting of the descriptors curl holds
 * ----------------------------------------------------------------
 */

/*
 * sm_fd_forget
 *		Drop entry i of the table: its descriptor is closed (by us or
 *		silently by curl), so release its external-fd reservation.
 */
static void
sm_fd_forget(int i)
{
	sm_tracked[i] = sm_tracked[--sm_ntracked];
	ReleaseExternalFD();
	sm_counters.connections_open = sm_ntracked;
}

/*
 * sm_fd_reconcile
 *		Forget every tracked socket that is no longer open as the socket we
 *		opened: fstat() fails with EBADF, or the number now names another
 *		file (it was closed behind our back and reused).  Never raises an
 *		error, so it is safe anywhere outside curl's own calls.
 */
static void
sm_fd_reconcile(void)
{
	int i = 0;

	while (i < sm_ntracked)
	{
		struct stat st;

		if (fstat(sm_tracked[i].fd, &st) != 0
				? errno == EBADF
				: (st.st_dev != sm_tracked[i].dev ||
				   st.st_ino != sm_tracked[i].ino))
			sm_fd_forget(i);
		else
			i++;
	}
}

/* Sockets of the table that belong to multi handle m. */
static int
sm_fd_owned_by(SmMulti *m)
{
	int i;
	int n = 0;

	for (i = 0; i < sm_ntracked; i++)
		if (sm_tracked[i].owner == m)
			n++;
	return n;
}

/*
 * sm_fd_available
 *		How many more external descriptors AcquireExternalFD() would grant
 *		now (at most limit): PostgreSQL keeps the count private, so ask it.
 */
static int
sm_fd_available(int limit)
{
	int n = 0;
	int i;

	while (n < limit && AcquireExternalFD())
		n++;
	for (i = 0; i < n; i++)
		ReleaseExternalFD();
	return n;
}

/*
 * sm_open_socket_cb / sm_close_socket_cb
 *		Open and close connection sockets on curl's behalf so that they are
 *		counted against max_files_per_process like any other file the
 *		backend holds (AcquireExternalFD), and counted in our statistics.
 *		A socket curl closes without calling sm_close_socket_cb() is found
 *		by sm_fd_reconcile(), or here when its number comes back.
 */
static curl_socket_t
sm_open_socket_cb(void *clientp, curlsocktype purpose,
				  struct curl_sockaddr *address)
{
	SmTransfer	 *xfer = (SmTransfer *) clientp;
	curl_socket_t fd;
	struct stat	  st;
	int			  i;

	if (sm_ntracked >= SM_MAX_TRACKED || !AcquireExternalFD())
	{
		xfer->resp.no_fd = true;
		errno = EMFILE;
		return CURL_SOCKET_BAD;
	}
	fd = socket(address->family, address->socktype, address->protocol);
	if (fd < 0 || fstat(fd, &st) != 0)
	{
		int save_errno = errno;

		if (fd >= 0)
			close(fd);
		ReleaseExternalFD();
		errno = save_errno;
		return CURL_SOCKET_BAD;
	}
	/* the kernel reuses a number only after a close we were not told of */
	for (i = 0; i < sm_ntracked; i++)
		if (sm_tracked[i].fd == fd)
		{
			sm_fd_forget(i);
			break;
		}
	sm_tracked[sm_ntracked].fd = fd;
	sm_tracked[sm_ntracked].dev = st.st_dev;
	sm_tracked[sm_ntracked].ino = st.st_ino;
	sm_tracked[sm_ntracked].owner = xfer->owner;
	sm_ntracked++;
	sm_counters.connections_opened++;
	sm_counters.connections_open = sm_ntracked;
	return fd;
}

static int
sm_close_socket_cb(void *clientp, curl_socket_t fd)
{
	int i;

	for (i = 0; i < sm_ntracked; i++)
		if (sm_tracked[i].fd == fd)
		{
			sm_fd_forget(i);
			break;
		}
	return close(fd);
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

	sm_counters.bytes_received += len;
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
 * sm_encoding_allowed
 *		Whether a Content-Encoding header value names only codings we asked
 *		for (gzip; identity).  libcurl would decode any coding it was built
 *		with (zstd and brotli allocate up to 128 MB outside PostgreSQL's
 *		memory accounting), whatever Accept-Encoding said.
 */
static bool
sm_encoding_allowed(const char *value, size_t len)
{
	while (len > 0)
	{
		size_t n;

		while (len > 0 && (*value == ' ' || *value == '\t' || *value == ',' ||
						   *value == '\r' || *value == '\n'))
			value++, len--;
		for (n = 0; n < len && value[n] != ',' && value[n] != ' ' &&
					value[n] != '\t' && value[n] != '\r' && value[n] != '\n';
			 n++)
			;
		if (n == 0)
			break;
		if (!((n == 4 && pg_strncasecmp(value, "gzip", 4) == 0) ||
			  (n == 8 && pg_strncasecmp(value, "identity", 8) == 0)))
			return false;
		value += n, len -= n;
	}
	return true;
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
	if (namelen == 16 && pg_strncasecmp(data, "content-encoding", 16) == 0 &&
		!sm_encoding_allowed(colon + 1, len - namelen - 1))
	{
		/* we asked for gzip only: never let curl run another decoder */
		char *c;

		sm_copy_header_value(resp->bad_encoding, colon + 1, len - namelen - 1);
		for (c = resp->bad_encoding; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				*c = '?';
		return 0;
	}
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
 * sm_transfer_begin
 *		Build an easy handle for one exchange and add it to the multi
 *		handle.  The transfer and its response live in cxt.  If anything
 *		fails, the curl objects made so far are freed before the error
 *		propagates.
 */
static SmTransfer *
sm_transfer_begin(SmMulti *m, const SmRequestSpec *spec, MemoryContext cxt,
				  int tag)
{
	SmTransfer *xfer = MemoryContextAllocZero(cxt, sizeof(SmTransfer));

	xfer->tag = tag;
	xfer->owner = m;
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
	return xfer;
}

/*
 * sm_check_ca_file
 *		libcurl reads the CA file while every signal is blocked (inside
 *		curl_multi_socket_action()), so a FIFO or a device there would
 *		block the backend beyond cancel and terminate.  Refuse anything
 *		that is not a regular file; the check itself never blocks.
 */
static void
sm_check_ca_file(const char *path)
{
	struct stat st;
	int			fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	bool		ok;

	if (fd < 0)
		return; /* libcurl reports it, naming the setting */
	ok = (fstat(fd, &st) == 0 && S_ISREG(st.st_mode));
	close(fd);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("CA file \"%s\" is not a regular file", path),
				 errdetail("Certificates are read only from regular files; "
						   "a FIFO or a device could block the backend."),
				 errhint("Check segment_membership.ca_file, AWS_CA_BUNDLE "
						 "and the AWS profile's ca_bundle.")));
}

/*
 * sm_url_host
 *		The host of an http(s) URL into buf (brackets of an IPv6 literal
 *		kept), or "" if there is none.
 */
static void
sm_url_host(const char *url, char *buf, size_t size)
{
	const char *p = strstr(url, "://");
	const char *end;
	const char *at;

	buf[0] = '\0';
	if (p == NULL)
		return;
	p += 3;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', end - p);
	if (at != NULL)
		p = at + 1;
	if (*p == '[')
	{
		const char *close = memchr(p, ']', end - p);

		if (close != NULL)
			end = close + 1;
	}
	else
	{
		const char *colon = memchr(p, ':', end - p);

		if (colon != NULL)
			end = colon;
	}
	if ((size_t) (end - p) < size)
	{
		memcpy(buf, p, end - p);
		buf[end - p] = '\0';
	}
}

/* Whether host is a numeric address (no DNS lookup needed). */
static bool
sm_host_is_numeric(const char *host)
{
	unsigned char addr[16];
	char		  v6[64];
	size_t		  len = strlen(host);

	if (inet_pton(AF_INET, host, addr) == 1)
		return true;
	if (len > 2 && len < sizeof(v6) + 2 && host[0] == '[' &&
		host[len - 1] == ']')
	{
		memcpy(v6, host + 1, len - 2);
		v6[len - 2] = '\0';
		return inet_pton(AF_INET6, v6, addr) == 1;
	}
	return false;
}

/*
 * sm_no_proxy_match
 *		Whether host is exempt from proxies by a no_proxy list, as libcurl
 *		reads it: "*", or an entry equal to the host or to a domain it is
 *		in (a leading dot optional).
 */
static bool
sm_no_proxy_match(const char *list, const char *host)
{
	size_t hlen = strlen(host);

	while (*list)
	{
		size_t len;

		list += strspn(list, ", \t");
		len = strcspn(list, ", \t");
		if (len == 1 && list[0] == '*')
			return true;
		if (len > 0 && list[0] == '.')
			list++, len--;
		if (len > 0 && len <= hlen &&
			pg_strncasecmp(host + hlen - len, list, len) == 0 &&
			(len == hlen || host[hlen - len - 1] == '.'))
			return true;
		list += len;
	}
	return false;
}

/*
 * sm_proxy_for
 *		The proxy libcurl takes from the environment for url (we set no
 *		CURLOPT_PROXY), with the variable it came from; NULL if none.
 *		libcurl reads http_proxy only in lower case (HTTP_PROXY could be
 *		set by a CGI request), the others in either case.
 */
static const char *
sm_proxy_for(const char *url, const char **source)
{
	static const char *const https_vars[] = {"https_proxy", "HTTPS_PROXY",
											 "all_proxy", "ALL_PROXY"};
	static const char *const http_vars[] = {"http_proxy", "all_proxy",
											"ALL_PROXY"};
	bool					 https = pg_strncasecmp(url, "https:", 6) == 0;
	const char *const		*vars = https ? https_vars : http_vars;
	int			nvars = https ? lengthof(https_vars) : lengthof(http_vars);
	char		host[256];
	const char *no_proxy;
	int			i;

	sm_url_host(url, host, sizeof(host));
	no_proxy = getenv("no_proxy");
	if (no_proxy == NULL)
		no_proxy = getenv("NO_PROXY");
	if (no_proxy != NULL && host[0] != '\0' &&
		sm_no_proxy_match(no_proxy, host))
		return NULL;
	for (i = 0; i < nvars; i++)
	{
		const char *v = getenv(vars[i]);

		if (v != NULL && v[0] != '\0')
		{
			*source = vars[i];
			return v;
		}
	}
	return NULL;
}

/*
 * sm_transfer_reserve_fds
 *		A transfer to a host name may start a lookup on libcurl's threaded
 *		resolver, which opens a socket pair that never passes through the
 *		open-socket callback: reserve those descriptors for the transfer's
 *		lifetime so that PostgreSQL's count of external fds stays true.
 */
static void
sm_transfer_reserve_fds(SmMulti *m, SmTransfer *xfer,
						const SmRequestSpec *spec)
{
	char		host[256];
	const char *source;

	sm_url_host(spec->url, host, sizeof(host));
	if (!sm_host_is_numeric(host) || sm_proxy_for(spec->url, &source) != NULL)
	{
		while (xfer->resolver_fds < SM_RESOLVER_FDS && AcquireExternalFD())
			xfer->resolver_fds++;
	}
	xfer->cost = 1 + xfer->resolver_fds;
	m->next_cost = xfer->cost;
	m->inflight_fds += xfer->cost;
}

/*
 * sm_transfer_set_body
 *		The method and the body of an exchange.
 */
static void
sm_transfer_set_body(CURL *h, const SmRequestSpec *spec)
{
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
}

/*
 * sm_transfer_set_headers
 *		The request headers of an exchange (kept in xfer until it ends).
 */
static void
sm_transfer_set_headers(SmTransfer *xfer, const SmRequestSpec *spec)
{
	int i;

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
	SM_SETOPT(xfer->easy, CURLOPT_HTTPHEADER, xfer->headers);
}

/*
 * sm_transfer_setup
 *		The body of sm_transfer_begin(): every option, from scratch.
 */
static void
sm_transfer_setup(SmMulti *m, SmTransfer *xfer, const SmRequestSpec *spec)
{
	CURL	 *h;
	CURLMcode mrc;

	if (spec->ca_file != NULL)
		sm_check_ca_file(spec->ca_file);
	h = xfer->easy = curl_easy_init();
	if (h == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	SM_SETOPT(h, CURLOPT_PRIVATE, xfer);
	SM_SETOPT(h, CURLOPT_URL, spec->url);
	SM_SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
	SM_SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SM_SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
	SM_SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	/* do not wait for a resolver thread when a transfer is abandoned */
	SM_SETOPT(h, CURLOPT_QUICK_EXIT, 1L);
	SM_SETOPT(h, CURLOPT_SHARE, sm_share);
	SM_SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	SM_SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (spec->ca_file != NULL)
		SM_SETOPT(h, CURLOPT_CAINFO, spec->ca_file);
	SM_SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, spec->connect_timeout_ms);
	SM_SETOPT(h, CURLOPT_TIMEOUT_MS, spec->timeout_ms);
	SM_SETOPT(h, CURLOPT_TCP_KEEPALIVE, 1L);
	/* gzip or identity only: zstd and brotli allocate outside palloc */
	SM_SETOPT(h, CURLOPT_ACCEPT_ENCODING, "gzip");
	/* a declared length over the cap fails before any byte is read */
	SM_SETOPT(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) xfer->resp.max_body);
	SM_SETOPT(h, CURLOPT_USERAGENT,
			  "segment_membership/" SM_VERSION " (PostgreSQL " PG_VERSION ")");
	SM_SETOPT(h, CURLOPT_ERRORBUFFER, xfer->resp.curl_error);
	SM_SETOPT(h, CURLOPT_WRITEFUNCTION, sm_write_cb);
	SM_SETOPT(h, CURLOPT_WRITEDATA, &xfer->resp);
	SM_SETOPT(h, CURLOPT_HEADERFUNCTION, sm_header_cb);
	SM_SETOPT(h, CURLOPT_HEADERDATA, &xfer->resp);
	SM_SETOPT(h, CURLOPT_OPENSOCKETFUNCTION, sm_open_socket_cb);
	SM_SETOPT(h, CURLOPT_OPENSOCKETDATA, xfer);
	SM_SETOPT(h, CURLOPT_CLOSESOCKETFUNCTION, sm_close_socket_cb);
	sm_transfer_set_body(h, spec);
	sm_transfer_set_headers(xfer, spec);
	sm_transfer_reserve_fds(m, xfer, spec);

	mrc = curl_multi_add_handle(m->multi, h);
	if (mrc != CURLM_OK)
		ereport(ERROR, (errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
						errmsg("could not start HTTP request: %s",
							   curl_multi_strerror(mrc))));
	xfer->added = true;
}

/*
 * sm_strip_userinfo
 *		A proxy URL as it may be shown: without "user:password@".
 */
static void
sm_strip_userinfo(const char *url, char *buf, size_t size)
{
	const char *p = strstr(url, "://");
	const char *host = p ? p + 3 : url;
	const char *end = host + strcspn(host, "/?#");
	const char *at = NULL;
	const char *q;

	for (q = host; q < end; q++)
		if (*q == '@')
			at = q;
	if (at == NULL)
		snprintf(buf, size, "%s", url);
	else
		snprintf(buf, size, "%.*s%s", (int) (host - url), url, at + 1);
}

/*
 * sm_transfer_explain
 *		Make curl's message of a failed exchange name the real cause where
 *		curl's own does not: no descriptor left, a header over libcurl's
 *		size limit (which curl 7.88 reports as "Out of memory"), a proxy.
 */
static void
sm_transfer_explain(SmTransfer *xfer, CURLcode rc)
{
	SmResponse *resp = &xfer->resp;
	const char *proxy;
	const char *source = NULL;
	char	   *url = NULL;

	if (rc == CURLE_OK)
		return;
	if (rc == CURLE_FILESIZE_EXCEEDED)
		resp->body_too_large = true;
	if (resp->bad_encoding[0] != '\0')
		snprintf(resp->curl_error, sizeof(resp->curl_error),
				 "The reply used the content encoding \"%s\"; only gzip "
				 "was asked for.",
				 resp->bad_encoding);
	else if (resp->no_fd)
		snprintf(resp->curl_error, sizeof(resp->curl_error),
				 "No file descriptor was left for a connection "
				 "(max_files_per_process = %d).",
				 max_files_per_process);
	else if (rc == CURLE_OUT_OF_MEMORY && !resp->body_oom &&
			 resp->body_len == 0)
		snprintf(resp->curl_error, sizeof(resp->curl_error),
				 "A reply header exceeded libcurl's header size limit "
				 "(%d bytes).",
				 CURL_MAX_HTTP_HEADER);
	if (curl_easy_getinfo(xfer->easy, CURLINFO_EFFECTIVE_URL, &url) !=
			CURLE_OK ||
		url == NULL)
		return;
	proxy = sm_proxy_for(url, &source);
	if (proxy != NULL)
	{
		size_t len = strlen(resp->curl_error);
		char   shown[128];

		sm_strip_userinfo(proxy, shown, sizeof(shown));
		snprintf(resp->curl_error + len, sizeof(resp->curl_error) - len,
				 " (through the proxy %s from %s)", shown, source);
	}
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
	sm_transfer_explain(xfer, rc);
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
 *		Detach an attempt's curl objects and free them, release what it
 *		held and account for the sockets curl closed meanwhile.  Never
 *		raises an error, so it is safe in error clean-up.  If the transfer
 *		had not completed, its connection is closed by curl.
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
	m->inflight_fds -= xfer->cost;
	xfer->cost = 0;
	for (; xfer->resolver_fds > 0; xfer->resolver_fds--)
		ReleaseExternalFD();
	if (xfer->headers != NULL)
		curl_slist_free_all(xfer->headers);
	xfer->easy = NULL;
	xfer->headers = NULL;
	xfer->added = false;
	sm_fd_reconcile();
}

/* ----------------------------------------------------------------
 * The main multi handle, for callers that run many exchanges at once
 * ----------------------------------------------------------------
 */

/*
 * sm_transport_begin
 *		Get the main multi handle ready for a run of exchanges with at most
 *		max_connections connections open, and size the run to the
 *		descriptors left: what AcquireExternalFD() can still grant, plus
 *		the idle connections we hold (they are reused), less a reserve.
 */
void
sm_transport_begin(int max_connections)
{
	SmMulti *m = &sm_main;
	int		 want = max_connections * (1 + SM_RESOLVER_FDS) + SM_FD_RESERVE;

	sm_transport_init();
	sm_fd_reconcile();
	SM_MSETOPT(m->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
			   (long) max_connections);
	SM_MSETOPT(m->multi, CURLMOPT_MAXCONNECTS, (long) max_connections);
	m->inflight_fds = 0;
	/* learnt from the first transfer: a lookup's fds are reserved if free */
	m->next_cost = 1;
	m->fd_budget = sm_fd_available(want) + sm_fd_owned_by(m) - SM_FD_RESERVE;
}

/*
 * sm_transport_room
 *		Whether one more transfer fits in the run's descriptor budget.  With
 *		nothing in flight there must be room for one: otherwise the error
 *		names the limit (max_files_per_process), never a connect failure.
 */
bool
sm_transport_room(bool nothing_in_flight)
{
	SmMulti *m = &sm_main;

	if (m->inflight_fds + m->next_cost <= m->fd_budget)
		return true;
	if (!nothing_in_flight)
		return false;
	/*
	 * The budget was sized before and the idle connections may have gone;
	 * one connection is enough (a lookup's fds are reserved if free).
	 */
	sm_fd_reconcile();
	if (sm_fd_available(1 + SM_FD_RESERVE) - SM_FD_RESERVE +
			sm_fd_owned_by(m) >=
		1)
		return true;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
			 errmsg("too few file descriptors left for an HTTP connection"),
			 errdetail("This backend may hold only a limited number of files "
					   "and sockets other than its data files "
					   "(max_files_per_process = %d); %d sockets of "
					   "segment_membership are open.",
					   max_files_per_process, sm_ntracked),
			 errhint("Raise max_files_per_process, or free descriptors that "
					 "other extensions hold in this session.")));
	return false; /* keep compiler quiet */
}

/*
 * sm_transfer_start
 *		Start one exchange on the main multi handle; tag is the caller's
 *		number for it.  The transfer and its response live in cxt.
 */
SmTransfer *
sm_transfer_start(const SmRequestSpec *spec, MemoryContext cxt, int tag)
{
	return sm_transfer_begin(&sm_main, spec, cxt, tag);
}

/*
 * sm_transfer_abandon
 *		Stop an exchange that has not completed and free its curl objects
 *		(its connection is closed).  Never raises an error.
 */
void
sm_transfer_abandon(SmTransfer *xfer)
{
	sm_transfer_finish(&sm_main, xfer);
}

/* The caller's number of a transfer. */
int
sm_transfer_tag(const SmTransfer *xfer)
{
	return xfer->tag;
}

/* What came back for a completed transfer. */
SmResponse *
sm_transfer_response(SmTransfer *xfer)
{
	return &xfer->resp;
}

/*
 * sm_transport_wait
 *		Sleep until there is network work, curl's timer fires, the latch is
 *		set or max_wait_ms (-1: no limit) passes, and let curl act.
 */
void
sm_transport_wait(long max_wait_ms)
{
	sm_multi_wait(&sm_main, max_wait_ms);
}

/*
 * sm_transport_next_done
 *		A transfer of the main multi handle that has completed (its curl
 *		objects already freed), or NULL.  Several may complete at once.
 */
SmTransfer *
sm_transport_next_done(void)
{
	return sm_multi_next_done(&sm_main);
}

/*
 * sm_multi_next_done
 *		A transfer of m that has completed (its outcome collected and its
 *		curl objects freed), or NULL.
 */
static SmTransfer *
sm_multi_next_done(SmMulti *m)
{
	CURLMsg *msg;
	int		 msgs_left;

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
		return xfer;
	}
	return NULL;
}

/*
 * sm_transport_sleep
 *		Sleep on the latch alone for up to ms milliseconds (when nothing is
 *		in flight); interrupts are serviced.
 */
void
sm_transport_sleep(long ms)
{
	int rc =
		WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
				  Max(ms, 1), sm_wait_event_info());

	if (rc & WL_LATCH_SET)
	{
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * sm_transport_end
 *		A run of exchanges is over (or failed): free the wait event set.
 *		The multi handle and its connection cache stay.
 */
void
sm_transport_end(void)
{
	sm_multi_release_wes(&sm_main);
	sm_fd_reconcile();
}

/* Milliseconds from now until t (0 if past); for callers' deadlines. */
long
sm_transport_ms_until(TimestampTz t)
{
	return sm_ms_until(t);
}

/* This backend's transport counters. */
const SmTransportCounters *
sm_transport_counters(void)
{
	sm_fd_reconcile();
	return &sm_counters;
}

/* ----------------------------------------------------------------
 * One exchange on its own multi handle
 * ----------------------------------------------------------------
 */

/*
 * sm_http_fetch
 *		Send one HTTP request and wait for its reply, interruptibly; used
 *		for the credential endpoints.  Never retries and never raises an error for
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
	{
		sm_multi_init(m); /* only backends that fetch credentials */
		/* its one cached connection is counted in connections_open */
		SM_MSETOPT(m->multi, CURLMOPT_MAXCONNECTS, 1L);
	}
	sm_fd_reconcile();
	sm_counters.fetches++;
	PG_TRY();
	{
		xfer = sm_transfer_begin(m, spec, CurrentMemoryContext, 0);
		for (;;)
		{
			CHECK_FOR_INTERRUPTS();
			if (sm_multi_next_done(m) != NULL)
				break;
			sm_multi_wait(m, -1);
		}
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
	sm_fd_reconcile();
	*resp = xfer->resp;
}
