/*-------------------------------------------------------------------------
 *
 * redact_pg.c
 *		The backend's side of redaction (redact.c is the plain-C core):
 *		remembering secrets with errors on failure, and palloc'd redacted
 *		copies of outside text for messages.
 *
 * IDENTIFICATION
 *		src/redact_pg.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "redact_pg.h"
#include "utils/memutils.h"

/*
 * sm_redact_register
 *		Remember a secret so that sm_redact() hides it from now on (the
 *		pure registry is in redact.c).
 */
void
sm_redact_register(const char *secret)
{
	if (!sm_redact_remember(secret))
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
}

/*
 * sm_redact_len
 *		A palloc'd copy of text[0..len) with the values of credential
 *		headers and parameters and every known secret replaced by
 *		"[REDACTED]" (redact.c); *outlen is set to its length.
 */
char *
sm_redact_len(const char *text, size_t len, size_t *outlen)
{
	size_t n;
	char  *r = sm_redact_known(text, len, &n);
	char  *copy;

	if (r == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	copy = MemoryContextAllocExtended(CurrentMemoryContext, n + 1,
									  MCXT_ALLOC_NO_OOM);
	if (copy != NULL)
		memcpy(copy, r, n + 1);
	free(r);
	if (copy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	*outlen = n;
	return copy;
}

/* sm_redact_len() of a NUL-terminated string. */
char *
sm_redact(const char *text)
{
	size_t n;

	return sm_redact_len(text, strlen(text), &n);
}
