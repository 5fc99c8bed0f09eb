/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Every PostgreSQL major-version difference segment_membership cares
 *		about, in one place (PostgreSQL 14 to 19).
 *
 * Code elsewhere calls the sm_* names below and never tests
 * PG_VERSION_NUM itself.
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

#if PG_VERSION_NUM >= 150000
#include "common/pg_prng.h"
#endif

/*
 * Soft errors (ErrorSaveContext, DirectInputFunctionCallSafe) appeared in
 * 16; SM_HAVE_SOFT_ERRORS tells reply.c which JSON parse path to use.
 */
#if PG_VERSION_NUM >= 160000
#define SM_HAVE_SOFT_ERRORS 1
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
 * BufFileWrite() returns void and raises its own errors from 14 on (13
 * returned the byte count); its buffer argument became const in 16.
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

#endif /* SM_COMPAT_H */
