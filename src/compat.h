/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Every PostgreSQL major-version difference segment_membership cares
 *		about, in one place (PostgreSQL 14 to 19).
 *
 * Code elsewhere calls the sm_* names below and never tests
 * PG_VERSION_NUM itself.  (libcurl version tests, LIBCURL_VERSION_NUM,
 * stay next to the curl calls in transport.c.)
 *
 * IDENTIFICATION
 *		src/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_COMPAT_H
#define SM_COMPAT_H

#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/buffile.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/tuplestore.h"
#include "utils/wait_event.h"

#if PG_VERSION_NUM < 140000
#error "segment_membership requires PostgreSQL 14 or later"
#endif

#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"

#if PG_VERSION_NUM >= 150000
#include "common/pg_prng.h"
#endif
#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#endif

/*
 * GUC prefix reservation: MarkGUCPrefixReserved() appeared in 15; before
 * that the same job was done by EmitWarningsOnPlaceholders().
 */
#if PG_VERSION_NUM >= 150000
#define sm_reserve_guc_prefix(prefix) MarkGUCPrefixReserved(prefix)
#else
#define sm_reserve_guc_prefix(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/*
 * Wait event sets.  Up to 16 CreateWaitEventSet() takes a memory context; 17
 * takes a resource owner (NULL: untracked, allocated in TopMemoryContext).
 * We always free our sets explicitly, so both forms behave the same for us.
 */
#if PG_VERSION_NUM >= 170000
#define sm_create_wait_event_set(nevents) CreateWaitEventSet(NULL, (nevents))
#else
#define sm_create_wait_event_set(nevents)                                     \
	CreateWaitEventSet(TopMemoryContext, (nevents))
#endif

/*
 * The wait event our waits show in pg_stat_activity: a named custom event
 * on 17 and later, the generic "Extension" before.
 */
static inline uint32
sm_wait_event_info(void)
{
#if PG_VERSION_NUM >= 170000
	static uint32 we = 0;

	if (we == 0)
		we = WaitEventExtensionNew("SegmentMembershipRequest");
	return we;
#else
	return PG_WAIT_EXTENSION;
#endif
}

/*
 * Materialize-mode set-returning functions: InitMaterializedSRF() exists
 * from 15.1 (15.0 called it SetSingleFuncCall()); earlier releases get the
 * same set-up done by hand.
 */
static inline void
sm_init_materialized_srf(FunctionCallInfo fcinfo)
{
#if PG_VERSION_NUM >= 150001
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
#elif PG_VERSION_NUM >= 150000
	SetSingleFuncCall(fcinfo, SRF_SINGLE_USE_EXPECTED);
#else
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext  oldcxt;
	TupleDesc	   tupdesc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot "
						"accept a set")));
	if (!(rsinfo->allowedModes & SFRM_Materialize) ||
		rsinfo->expectedDesc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("materialize mode required, but it is not allowed "
						"in this context")));
	oldcxt = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	tupdesc = CreateTupleDescCopy(rsinfo->expectedDesc);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tuplestore_begin_heap(
		(rsinfo->allowedModes & SFRM_Materialize_Random) != 0, false,
		work_mem);
	rsinfo->setDesc = tupdesc;
	MemoryContextSwitchTo(oldcxt);
#endif
}

/*
 * BufFileWrite() raises its own errors (and returns void) in every
 * supported release; its buffer became const in 16.
 */
static inline void
sm_buffile_write(BufFile *file, const void *ptr, size_t size)
{
	BufFileWrite(file, unconstify(void *, ptr), size);
}

/* BufFileReadExact() appeared in 16; emulate it before. */
static inline void
sm_buffile_read_exact(BufFile *file, void *ptr, size_t size)
{
#if PG_VERSION_NUM >= 160000
	BufFileReadExact(file, ptr, size);
#else
	if (BufFileRead(file, ptr, size) != size)
		ereport(ERROR, (errcode_for_file_access(),
						errmsg("could not read from temporary file: %m")));
#endif
}

/* A uniform double in [0, 1) for retry jitter. */
static inline double
sm_random_fraction(void)
{
#if PG_VERSION_NUM >= 150000
	return pg_prng_double(&pg_global_prng_state);
#else
	return (double) random() / ((double) MAX_RANDOM_VALUE + 1.0);
#endif
}

/*
 * sm_jsonb_parse_safe
 *		Parse JSON text into jsonb, in one pass.  Returns NULL and sets
 *		*result, or, when the text is not valid JSON that jsonb can hold, a
 *		sentence saying why.  Errors PostgreSQL cannot recover from here (out
 *		of memory, stack depth, size limits) are raised as usual.
 *
 *		From 16 on this is jsonb_in's soft-error path.  Before that, jsonb_in
 *		raises its parse errors; it only allocates memory while parsing, so
 *		catching exactly those errors (22P02, 22P05, and 22003 for a number
 *		numeric cannot hold, such as 1e1000000) and going on is safe.
 */
static inline const char *
sm_jsonb_parse_safe(char *text, Jsonb **result)
{
#if PG_VERSION_NUM >= 160000
	ErrorSaveContext escontext = {T_ErrorSaveContext};
	Datum			 d;

	escontext.details_wanted = true;
	if (!DirectInputFunctionCallSafe(jsonb_in, text, InvalidOid, -1,
									 (Node *) &escontext, &d))
		return psprintf("The reply body is not valid JSON: %s",
						escontext.error_data ? escontext.error_data->message
											 : "unknown error");
	*result = DatumGetJsonbP(d);
	return NULL;
#else
	MemoryContext cxt = CurrentMemoryContext;
	const char *volatile why = NULL;

	PG_TRY();
	{
		*result = DatumGetJsonbP(
			DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	}
	PG_CATCH();
	{
		ErrorData *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_INVALID_TEXT_REPRESENTATION &&
			edata->sqlerrcode != ERRCODE_UNTRANSLATABLE_CHARACTER &&
			edata->sqlerrcode != ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE)
			PG_RE_THROW();
		FlushErrorState();
		why = psprintf("The reply body is not valid JSON: %s", edata->message);
	}
	PG_END_TRY();
	return why;
#endif
}

/* ======================================================================
 * Cluster-wide state (src/cluster.c): shared memory, its lock and the wait
 * event of the rate limit.  Kept together here to ease merging.
 * ====================================================================== */
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

/*
 * 17 and later: the DSM registry creates the shared state on first use, so
 * nothing needs preloading.  19 passes an extra argument to the
 * initialization callback.  Before 17 the state lives in the main shared
 * memory segment, which needs shared_preload_libraries.
 */
#if PG_VERSION_NUM >= 170000
#include "storage/dsm_registry.h"
#define SM_HAVE_DSM_REGISTRY 1
#endif

#if PG_VERSION_NUM >= 190000
#define SM_DSM_INIT_CALLBACK(fn, ptr)                                         \
	static void fn(void *ptr, void *sm_dsm_init_arg pg_attribute_unused())
#define sm_get_named_dsm_segment(name, size, init, found)                     \
	GetNamedDSMSegment((name), (size), (init), (found), NULL)
#elif PG_VERSION_NUM >= 170000
#define SM_DSM_INIT_CALLBACK(fn, ptr) static void fn(void *ptr)
#define sm_get_named_dsm_segment(name, size, init, found)                     \
	GetNamedDSMSegment((name), (size), (init), (found))
#endif

/*
 * 15 added shmem_request_hook, from which shared memory must be requested;
 * 14 requests it in _PG_init itself.
 */
#if PG_VERSION_NUM >= 150000
#define SM_HAVE_SHMEM_REQUEST_HOOK 1
#endif

/*
 * LWLock tranches: 19 names a tranche when allocating its id (in shared
 * memory, for every backend); before, every backend registers the name
 * itself.
 */
#if PG_VERSION_NUM >= 190000
#define sm_lwlock_new_tranche_id(name)		 LWLockNewTrancheId(name)
#define sm_lwlock_register_tranche(id, name) ((void) 0)
#else
#define sm_lwlock_new_tranche_id(name) LWLockNewTrancheId()
#define sm_lwlock_register_tranche(id, name)                                  \
	LWLockRegisterTranche((id), (name))
#endif

/*
 * The wait event of a request waiting for a token of the rate limit: a
 * named custom event on 17 and later, the generic "Extension" before.
 */
static inline uint32
sm_wait_event_rate_limit(void)
{
#if PG_VERSION_NUM >= 170000
	static uint32 we = 0;

	if (we == 0)
		we = WaitEventExtensionNew("SegmentMembershipRateLimit");
	return we;
#else
	return PG_WAIT_EXTENSION;
#endif
}

#endif /* SM_COMPAT_H */
