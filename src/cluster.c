/*-------------------------------------------------------------------------
 *
 * cluster.c
 *		The whole server as one AWS client.
 *
 * One block of shared memory holds, for every backend of the server:
 *
 *	- the request-rate limit segment_membership.max_requests_per_second, a
 *	  token bucket (ratelimit.c);
 *	- the adaptive retry mode's client rate limiter (ratelimit.c, as the
 *	  AWS SDKs' adaptive mode): a throttling reply in any backend lowers the
 *	  rate of the whole server, successes raise it again;
 *	- one progress slot per call in progress (segment_membership_activity);
 *	- the totals since the last reset (segment_membership_totals), with a
 *	  histogram of the latency of successful requests.
 *
 * On PostgreSQL 17 and later the block is a named DSM segment created on
 * first use (the DSM registry), so nothing needs preloading.  Before 17 it
 * lives in the main shared memory segment and exists only when the library
 * is in shared_preload_libraries; without that, calls work as before, the
 * limits are not applied (a NOTICE says so) and the views raise an error
 * with a hint.
 *
 * Locking follows pg_stat_statements: one LWLock of a named tranche,
 * exclusive for updates and shared for the views, held for a few dozen
 * instructions and never across a wait or anything that can raise an
 * error.  sm_cluster_take_token() never waits: it says when a token will
 * be available and the request runner sleeps in its own event loop until
 * then, interruptibly, while its other requests proceed (with nothing in
 * flight it sleeps in sm_cluster_token_sleep(), which shows the rate
 * limit's wait event).
 *
 * This backend's counters (the request runner's and the transport's, read
 * through the SmClusterCountsFn that membership.c hands to
 * sm_cluster_init(), so that this file calls neither) are carried into the
 * totals as deltas when a reply is reported, when a call ends and when the
 * backend exits, so nothing is reported from inside a curl callback and
 * nothing is lost when a call ends in an error.
 *
 * IDENTIFICATION
 *		src/cluster.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <time.h>

#include "access/htup_details.h"
#include "catalog/pg_authid.h"
#include "cluster.h"
#include "compat.h"
#include "config.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "ratelimit.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#define SM_SHMEM_NAME	"segment_membership"
#define SM_TRANCHE_NAME "segment_membership"
#define SM_SHARED_MAGIC 0x534D0101 /* "SM", layout 1.1 */

/* Names are at most 64 characters (checked before a call starts). */
#define SM_NAME_LEN 65

/* Progress slots when the number of backends is not known yet (14). */
#define SM_FALLBACK_SLOTS 1024

/*
 * Latency histogram: bucket 0 holds replies under 100 us; bucket i >= 1
 * holds [100 us * 2^((i-1)/8), 100 us * 2^(i/8)), eight buckets per
 * doubling (9% wide) up to about 25 minutes.
 */
#define SM_LAT_BUCKETS	  192
#define SM_LAT_PER_OCTAVE 8
#define SM_LAT_FIRST_US	  100.0

/* Burst of the fixed rate limit: a tenth of a second's worth (at least 1). */
#define SM_FIXED_BURST_SECONDS 0.1

/* One call in progress. */
typedef struct SmProgressSlot
{
	int			pid; /* 0: free */
	Oid			userid;
	char		domain[SM_NAME_LEN];
	char		segment[SM_NAME_LEN];
	int64		ids_total;
	int64		ids_done;
	int64		requests_done;
	int64		requests_in_flight;
	int64		retries;
	int64		throttled;
	TimestampTz started_at;
} SmProgressSlot;

/* The shared state. */
typedef struct SmShared
{
	uint32 magic;
	int	   tranche_id;
	LWLock lock;

	/* rate limiting */
	double			  fixed_rate; /* rate of "fixed"; 0: never set up */
	SmTokenBucket	  fixed;
	SmAdaptiveLimiter adaptive;

	/* totals since stats_reset */
	int64		requests;
	int64		retries;
	int64		throttled;
	int64		failed;
	int64		bytes_received;
	int64		connections_opened;
	uint64		latency[SM_LAT_BUCKETS];
	TimestampTz stats_reset;

	int			   nslots;
	SmProgressSlot slots[FLEXIBLE_ARRAY_MEMBER];
} SmShared;

/* GUC variables */
static double sm_guc_max_requests_per_second = 0;
static int	  sm_guc_retry_mode = SM_RETRY_MODE_UNSET;

static const struct config_enum_entry retry_mode_options[] = {
	{"", SM_RETRY_MODE_UNSET, true},
	{"standard", SM_RETRY_MODE_STANDARD, false},
	{"adaptive", SM_RETRY_MODE_ADAPTIVE, false},
	{NULL, 0, false}};

/* Per-backend state */
static SmShared *sm_shared = NULL;
static bool		 sm_attached = false;
static int		 sm_init_nslots = 0; /* for the initialization callback */
static int		 sm_my_slot = -1;
static uint64	 sm_call_seq = 0;
static int64	 sm_local_ids_done = 0;
static bool		 sm_token_denied = false;
static SmClusterCountsFn sm_read_counts = NULL; /* see sm_cluster_init() */
static SmClusterCounts	 sm_synced; /* the counts already carried over */

#ifndef SM_HAVE_DSM_REGISTRY
static bool					   sm_preloaded = false;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
#ifdef SM_HAVE_SHMEM_REQUEST_HOOK
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
#endif

PG_FUNCTION_INFO_V1(sm_segment_membership_activity);
PG_FUNCTION_INFO_V1(sm_segment_membership_totals);
PG_FUNCTION_INFO_V1(sm_segment_membership_totals_reset);
PG_FUNCTION_INFO_V1(sm_segment_membership_rate_limiter);

/* Seconds on the monotonic clock, the same in every process. */
static double
sm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
sm_slot_count(void)
{
	return MaxBackends > 0 ? MaxBackends : SM_FALLBACK_SLOTS;
}

static Size
sm_shared_size(int nslots)
{
	return add_size(offsetof(SmShared, slots),
					mul_size(nslots, sizeof(SmProgressSlot)));
}

/* Fill in a fresh shared state (its memory is zeroed by the caller). */
static void
sm_shared_init(SmShared *s, int nslots)
{
	double now = sm_now();

	s->tranche_id = sm_lwlock_new_tranche_id(SM_TRANCHE_NAME);
	LWLockInitialize(&s->lock, s->tranche_id);
	s->fixed_rate = 0;
	sm_adaptive_init(&s->adaptive, now);
	s->stats_reset = GetCurrentTimestamp();
	s->nslots = nslots;
	s->magic = SM_SHARED_MAGIC;
}

#ifdef SM_HAVE_DSM_REGISTRY
SM_DSM_INIT_CALLBACK(sm_dsm_init, ptr)
{
	memset(ptr, 0, sm_shared_size(sm_init_nslots));
	sm_shared_init((SmShared *) ptr, sm_init_nslots);
}
#else

static void
sm_shmem_request(void)
{
#ifdef SM_HAVE_SHMEM_REQUEST_HOOK
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	sm_init_nslots = sm_slot_count();
	RequestAddinShmemSpace(sm_shared_size(sm_init_nslots));
}

static void
sm_shmem_startup(void)
{
	bool found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	sm_shared =
		ShmemInitStruct(SM_SHMEM_NAME, sm_shared_size(sm_init_nslots), &found);
	if (!found)
	{
		memset(sm_shared, 0, sm_shared_size(sm_init_nslots));
		sm_shared_init(sm_shared, sm_init_nslots);
	}
	LWLockRelease(AddinShmemInitLock);
}
#endif

/* This backend's counters now. */
static void
sm_counts_now(SmClusterCounts *counts)
{
	memset(counts, 0, sizeof(*counts));
	if (sm_read_counts != NULL)
		sm_read_counts(counts);
}

/*
 * sm_cluster_before_shmem_exit
 *		Backend exit: count what is not counted yet and free our slot.
 */
static void sm_sync_locked(SmShared *s);

static void
sm_cluster_before_shmem_exit(int code, Datum arg)
{
	SmShared *s = sm_shared;

	if (s == NULL || !sm_attached || LWLockHeldByMe(&s->lock))
		return;
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	sm_sync_locked(s);
	if (sm_my_slot >= 0 && s->slots[sm_my_slot].pid == MyProcPid)
		s->slots[sm_my_slot].pid = 0;
	sm_my_slot = -1;
	LWLockRelease(&s->lock);
}

/*
 * sm_attach
 *		The shared state, or NULL when it does not exist (before 17 without
 *		shared_preload_libraries).  May raise an error on 17+ (no room for
 *		a DSM segment).
 */
static SmShared *
sm_attach(void)
{
	if (sm_attached)
		return sm_shared;
#ifdef SM_HAVE_DSM_REGISTRY
	{
		bool found;

		sm_init_nslots = sm_slot_count();
		sm_shared = sm_get_named_dsm_segment(SM_SHMEM_NAME,
											 sm_shared_size(sm_init_nslots),
											 sm_dsm_init, &found);
	}
#endif
	if (sm_shared == NULL)
		return NULL;
	if (sm_shared->magic != SM_SHARED_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("segment_membership's shared state has an unknown "
						"layout"),
				 errdetail("Another version of the library created it."),
				 errhint("Restart the server after upgrading the library.")));
	sm_lwlock_register_tranche(sm_shared->tranche_id, SM_TRANCHE_NAME);
	/* what this backend did before attaching is not counted */
	sm_counts_now(&sm_synced);
	before_shmem_exit(sm_cluster_before_shmem_exit, (Datum) 0);
	sm_attached = true;
	return sm_shared;
}

/* The shared state, or an error saying why there is none. */
static SmShared *
sm_attach_or_error(void)
{
	SmShared *s = sm_attach();

	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("segment_membership's shared state is not available"),
				 errdetail("Before PostgreSQL 17 the library must be loaded "
						   "at server start for the cluster-wide views, "
						   "segment_membership.max_requests_per_second and "
						   "retry_mode = adaptive to work."),
				 errhint("Add segment_membership to shared_preload_libraries "
						 "and restart the server.")));
	return s;
}

/* segment_membership.retry_mode, or AWS_RETRY_MODE when it is not set */
static SmRetryMode
sm_retry_mode(void)
{
	const char *env;

	if (sm_guc_retry_mode != SM_RETRY_MODE_UNSET)
		return (SmRetryMode) sm_guc_retry_mode;
	env = sm_getenv("AWS_RETRY_MODE");
	if (env != NULL && pg_strcasecmp(env, "adaptive") == 0)
		return SM_RETRY_MODE_ADAPTIVE;
	return SM_RETRY_MODE_STANDARD;
}

/* Whether anything limits the rate of requests. */
static bool
sm_limits_configured(void)
{
	return sm_guc_max_requests_per_second > 0 ||
		   sm_retry_mode() == SM_RETRY_MODE_ADAPTIVE;
}

/*
 * sm_cluster_init
 *		From _PG_init, before the other settings are defined: our settings,
 *		and before 17 the shared memory hooks when preloading.  read_counts
 *		reads this backend's counters; it must not raise an error (it is
 *		called with the lock held).
 */
void
sm_cluster_init(SmClusterCountsFn read_counts)
{
	sm_read_counts = read_counts;
	DefineCustomRealVariable(
		"segment_membership.max_requests_per_second",
		"Sets the most Customer Profiles requests per second the whole "
		"server sends.",
		"Every backend takes its requests from one shared token bucket; "
		"retries count too.  0 means no limit.",
		&sm_guc_max_requests_per_second, 0, 0, 1000000, PGC_SIGHUP, 0, NULL,
		NULL, NULL);

	DefineCustomEnumVariable(
		"segment_membership.retry_mode",
		"Sets the AWS retry mode: standard or adaptive.",
		"Empty means AWS_RETRY_MODE, else standard.  In adaptive mode a "
		"throttling reply in any backend lowers the request rate of the "
		"whole server, as the AWS SDKs' adaptive mode does for one "
		"client, and successes raise it again.",
		&sm_guc_retry_mode, SM_RETRY_MODE_UNSET, retry_mode_options,
		PGC_SIGHUP, 0, NULL, NULL, NULL);

#ifndef SM_HAVE_DSM_REGISTRY
	if (process_shared_preload_libraries_in_progress)
	{
#ifdef SM_HAVE_SHMEM_REQUEST_HOOK
		prev_shmem_request_hook = shmem_request_hook;
		shmem_request_hook = sm_shmem_request;
#else
		sm_shmem_request();
#endif
		prev_shmem_startup_hook = shmem_startup_hook;
		shmem_startup_hook = sm_shmem_startup;
		sm_preloaded = true;
	}
#endif
}

/*
 * sm_sync_locked
 *		Carry this backend's counters into the totals and its slot.  The
 *		lock is held exclusively.
 */
static void
sm_sync_locked(SmShared *s)
{
	SmClusterCounts t;
	int64			retries;
	int64			throttled;

	sm_counts_now(&t);
	retries = t.retries - sm_synced.retries;
	throttled = t.throttled - sm_synced.throttled;
	s->retries += retries;
	s->throttled += throttled;
	s->failed += t.failed - sm_synced.failed;
	s->bytes_received += t.bytes_received - sm_synced.bytes_received;
	s->connections_opened +=
		t.connections_opened - sm_synced.connections_opened;
	if (sm_my_slot >= 0)
	{
		SmProgressSlot *slot = &s->slots[sm_my_slot];

		slot->retries += retries;
		slot->throttled += throttled;
		slot->ids_done = sm_local_ids_done;
	}
	sm_synced = t;
}

/*
 * sm_cluster_take_token
 *		Before sending a request: true when it may go now (a token was
 *		taken, or nothing limits the rate); else false, with the time at
 *		which to ask again in *available_at.  Never waits.
 */
bool
sm_cluster_take_token(TimestampTz *available_at)
{
	double	  rate = sm_guc_max_requests_per_second;
	bool	  adaptive = (sm_retry_mode() == SM_RETRY_MODE_ADAPTIVE);
	SmShared *s;
	double	  now;
	double	  wait = 0;

	sm_token_denied = false;
	if (rate <= 0 && !adaptive)
		return true;
	if ((s = sm_attach()) == NULL)
		return true; /* off; sm_progress_begin() said so */

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	now = sm_now();
	if (rate > 0)
	{
		double burst = Max(1.0, rate * SM_FIXED_BURST_SECONDS);

		if (s->fixed_rate == 0)
			sm_bucket_init(&s->fixed, rate, burst, now);
		else if (s->fixed_rate != rate)
			sm_bucket_set_rate(&s->fixed, rate, burst, now);
		s->fixed_rate = rate;
		wait = sm_bucket_wait(&s->fixed, now);
	}
	if (adaptive)
		wait = Max(wait, sm_adaptive_wait(&s->adaptive, now));
	if (wait <= 0)
	{
		if (rate > 0)
			sm_bucket_take(&s->fixed);
		if (adaptive)
			sm_adaptive_take(&s->adaptive);
	}
	LWLockRelease(&s->lock);

	if (wait <= 0)
		return true;
	sm_token_denied = true;
	*available_at = GetCurrentTimestamp() + (TimestampTz) ceil(wait * 1e6);
	return false;
}

/*
 * sm_cluster_token_sleep
 *		With nothing in flight: when the last attempt was refused a token,
 *		sleep on the latch for up to ms milliseconds under the rate limit's
 *		wait event (interrupts are serviced) and return true; else return
 *		false and let the caller sleep as usual.
 */
bool
sm_cluster_token_sleep(long ms)
{
	int rc;

	if (!sm_token_denied)
		return false;
	rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
				   Max(ms, 1), sm_wait_event_rate_limit());
	if (rc & WL_LATCH_SET)
	{
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	return true;
}

/*
 * sm_cluster_request_sent
 *		A request (first attempt or retry) went out.
 */
void
sm_cluster_request_sent(void)
{
	SmShared *s = sm_attach();

	if (s == NULL)
		return;
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	s->requests++;
	if (sm_my_slot >= 0)
		s->slots[sm_my_slot].requests_in_flight++;
	LWLockRelease(&s->lock);
}

/* The histogram bucket of a latency. */
static int
sm_latency_bucket(int64 us)
{
	int b;

	if (us < SM_LAT_FIRST_US)
		return 0;
	b = 1 +
		(int) floor(SM_LAT_PER_OCTAVE * log2((double) us / SM_LAT_FIRST_US));
	return Min(b, SM_LAT_BUCKETS - 1);
}

/*
 * sm_cluster_reply_received
 *		An attempt ended (any reply, or a transport failure) and the
 *		request runner has counted and decided on it: update the totals, the
 *		progress of this call and, in adaptive mode, the shared rate (a
 *		throttle just counted lowers it, anything else raises it).
 */
void
sm_cluster_reply_received(TimestampTz sent_at, bool success)
{
	SmShared	   *s = sm_attach();
	bool			throttled;
	TimestampTz		now = GetCurrentTimestamp();
	SmClusterCounts counts;

	if (s == NULL)
		return;
	sm_counts_now(&counts);
	throttled = (counts.throttled != sm_synced.throttled);
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	sm_sync_locked(s);
	if (sm_my_slot >= 0)
	{
		SmProgressSlot *slot = &s->slots[sm_my_slot];

		slot->requests_done++;
		if (slot->requests_in_flight > 0)
			slot->requests_in_flight--;
	}
	if (success)
		s->latency[sm_latency_bucket(Max(now - sent_at, 0))]++;
	if (sm_retry_mode() == SM_RETRY_MODE_ADAPTIVE)
		sm_adaptive_on_response(&s->adaptive, throttled, sm_now());
	LWLockRelease(&s->lock);
}

/*
 * sm_progress_end
 *		The call ended (its memory context is going away: normal end or
 *		error clean-up): free its slot.  Never raises an error.
 */
static void
sm_progress_end(void *arg)
{
	uint64	  seq = *(uint64 *) arg;
	SmShared *s = sm_shared;

	if (seq != sm_call_seq || sm_my_slot < 0 || s == NULL ||
		LWLockHeldByMe(&s->lock))
		return;
	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	sm_sync_locked(s);
	if (s->slots[sm_my_slot].pid == MyProcPid)
		s->slots[sm_my_slot].pid = 0;
	LWLockRelease(&s->lock);
	sm_my_slot = -1;
}

/*
 * sm_progress_begin
 *		A call starts: take a progress slot until CurrentMemoryContext (the
 *		call's context) is reset or deleted.  Says in a NOTICE when limits
 *		are configured but cannot be applied.
 */
void
sm_progress_begin(const char *domain, const char *segment, int64 ids_total)
{
	SmShared			  *s = sm_attach();
	MemoryContextCallback *cb;
	uint64				  *seq;
	int					   i;

	sm_local_ids_done = 0;
	if (s == NULL)
	{
		if (sm_limits_configured())
			ereport(NOTICE,
					(errmsg("segment_membership.max_requests_per_second and "
							"retry_mode = adaptive are not in effect"),
					 errdetail("Before PostgreSQL 17 they need the library "
							   "loaded at server start; this call runs "
							   "without a shared rate limit."),
					 errhint("Add segment_membership to "
							 "shared_preload_libraries and restart the "
							 "server.")));
		return;
	}

	seq = MemoryContextAlloc(CurrentMemoryContext, sizeof(uint64));
	*seq = ++sm_call_seq;
	cb = MemoryContextAlloc(CurrentMemoryContext,
							sizeof(MemoryContextCallback));
	cb->func = sm_progress_end;
	cb->arg = seq;

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	sm_my_slot = -1; /* counters before this call are not the call's */
	sm_sync_locked(s);
	for (i = 0; i < s->nslots; i++)
	{
		if (s->slots[i].pid == 0 || s->slots[i].pid == MyProcPid)
		{
			SmProgressSlot *slot = &s->slots[i];

			memset(slot, 0, sizeof(*slot));
			slot->pid = MyProcPid;
			slot->userid = GetUserId();
			strlcpy(slot->domain, domain, sizeof(slot->domain));
			strlcpy(slot->segment, segment, sizeof(slot->segment));
			slot->ids_total = ids_total;
			slot->started_at = GetCurrentTimestamp();
			sm_my_slot = i;
			break;
		}
	}
	LWLockRelease(&s->lock);
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
}

/* How many rows of the current call are out (pushed with the next reply). */
void
sm_progress_ids_done(int64 ids_done)
{
	sm_local_ids_done = ids_done;
}

/*
 * segment_membership_activity()
 *		One row per call in progress.  The names of other roles' calls are
 *		shown only to members of those roles and of pg_read_all_stats.
 */
Datum
sm_segment_membership_activity(PG_FUNCTION_ARGS)
{
	ReturnSetInfo  *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SmShared	   *s = sm_attach_or_error();
	SmProgressSlot *copy;
	int				n = 0;
	int				i;
	bool read_all = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	sm_init_materialized_srf(fcinfo);
	copy = palloc(sizeof(SmProgressSlot) * s->nslots);
	LWLockAcquire(&s->lock, LW_SHARED);
	for (i = 0; i < s->nslots; i++)
		if (s->slots[i].pid != 0)
			copy[n++] = s->slots[i];
	LWLockRelease(&s->lock);

	for (i = 0; i < n; i++)
	{
		Datum values[10];
		bool  nulls[10];
		bool  visible =
			read_all || has_privs_of_role(GetUserId(), copy[i].userid);

		memset(nulls, false, sizeof(nulls));
		values[0] = Int32GetDatum(copy[i].pid);
		if (visible)
		{
			values[1] = CStringGetTextDatum(copy[i].domain);
			values[2] = CStringGetTextDatum(copy[i].segment);
		}
		else
			nulls[1] = nulls[2] = true;
		values[3] = Int64GetDatum(copy[i].ids_total);
		values[4] = Int64GetDatum(copy[i].ids_done);
		values[5] = Int64GetDatum(copy[i].requests_done);
		values[6] = Int64GetDatum(copy[i].requests_in_flight);
		values[7] = Int64GetDatum(copy[i].retries);
		values[8] = Int64GetDatum(copy[i].throttled);
		values[9] = TimestampTzGetDatum(copy[i].started_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values,
							 nulls);
	}
	return (Datum) 0;
}

/*
 * sm_latency_percentile
 *		The p-quantile of the histogram in milliseconds (the geometric middle
 *		of its bucket), or -1 when it is empty.
 */
static double
sm_latency_percentile(const uint64 *hist, uint64 total, double p)
{
	uint64 rank;
	uint64 seen = 0;
	int	   b;

	if (total == 0)
		return -1;
	rank = (uint64) ceil(p * (double) total);
	if (rank < 1)
		rank = 1;
	for (b = 0; b < SM_LAT_BUCKETS; b++)
	{
		seen += hist[b];
		if (seen >= rank)
			break;
	}
	if (b == 0)
		return SM_LAT_FIRST_US / 2 / 1000.0;
	return SM_LAT_FIRST_US * pow(2.0, ((double) b - 0.5) / SM_LAT_PER_OCTAVE) /
		   1000.0;
}

/*
 * segment_membership_totals()
 *		Cluster-wide counters since stats_reset.
 */
Datum
sm_segment_membership_totals(PG_FUNCTION_ARGS)
{
	SmShared   *s = sm_attach_or_error();
	TupleDesc	tupdesc;
	Datum		values[10];
	bool		nulls[10];
	uint64		hist[SM_LAT_BUCKETS];
	uint64		total = 0;
	int64		counters[6];
	TimestampTz reset;
	int			i;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	sm_sync_locked(s); /* this backend's own latest counts */
	counters[0] = s->requests;
	counters[1] = s->retries;
	counters[2] = s->throttled;
	counters[3] = s->failed;
	counters[4] = s->bytes_received;
	counters[5] = s->connections_opened;
	memcpy(hist, s->latency, sizeof(hist));
	reset = s->stats_reset;
	LWLockRelease(&s->lock);

	memset(nulls, false, sizeof(nulls));
	for (i = 0; i < 6; i++)
		values[i] = Int64GetDatum(counters[i]);
	for (i = 0; i < SM_LAT_BUCKETS; i++)
		total += hist[i];
	for (i = 0; i < 3; i++)
	{
		static const double q[] = {0.5, 0.95, 0.99};
		double				v = sm_latency_percentile(hist, total, q[i]);

		if (v < 0)
			nulls[6 + i] = true;
		else
			values[6 + i] = Float8GetDatum(v);
	}
	values[9] = TimestampTzGetDatum(reset);
	PG_RETURN_DATUM(HeapTupleGetDatum(
		heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * segment_membership_totals_reset()
 *		Zero the totals; returns the new stats_reset.
 */
Datum
sm_segment_membership_totals_reset(PG_FUNCTION_ARGS)
{
	SmShared   *s = sm_attach_or_error();
	TimestampTz now = GetCurrentTimestamp();

	LWLockAcquire(&s->lock, LW_EXCLUSIVE);
	sm_sync_locked(s);
	s->requests = s->retries = s->throttled = s->failed = 0;
	s->bytes_received = s->connections_opened = 0;
	memset(s->latency, 0, sizeof(s->latency));
	s->stats_reset = now;
	LWLockRelease(&s->lock);
	PG_RETURN_TIMESTAMPTZ(now);
}

/*
 * segment_membership_rate_limiter()
 *		The rate limits in force and the adaptive limiter's state.
 */
Datum
sm_segment_membership_rate_limiter(PG_FUNCTION_ARGS)
{
	SmShared		 *s = sm_attach_or_error();
	TupleDesc		  tupdesc;
	Datum			  values[6];
	bool			  nulls[6];
	SmAdaptiveLimiter a;
	double			  now;
	SmRetryMode		  mode = sm_retry_mode();

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	LWLockAcquire(&s->lock, LW_SHARED);
	a = s->adaptive;
	LWLockRelease(&s->lock);
	now = sm_now();

	memset(nulls, false, sizeof(nulls));
	values[0] = CStringGetTextDatum(
		mode == SM_RETRY_MODE_ADAPTIVE ? "adaptive" : "standard");
	values[1] = Float8GetDatum(sm_guc_max_requests_per_second);
	values[2] = BoolGetDatum(a.enabled);
	if (a.enabled)
		values[3] = Float8GetDatum(a.bucket.fill_rate);
	else
		nulls[3] = true;
	values[4] = Float8GetDatum(a.clocker.measured_rate);
	if (a.enabled)
		values[5] = Float8GetDatum(Max(now - a.cubic.last_fail, 0));
	else
		nulls[5] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(
		heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
