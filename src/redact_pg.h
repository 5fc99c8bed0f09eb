/*-------------------------------------------------------------------------
 *
 * redact_pg.h
 *		The backend's side of redaction: secrets remembered with an error
 *		on failure, palloc'd redacted copies of outside text.
 *
 * IDENTIFICATION
 *		src/redact_pg.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_REDACT_PG_H
#define SM_REDACT_PG_H

#include "redact.h"

/* Remember a secret; raises an error when out of memory. */
extern void sm_redact_register(const char *secret);

/* A palloc'd copy of text with every known secret redacted. */
extern char *sm_redact(const char *text);
extern char *sm_redact_len(const char *text, size_t len, size_t *outlen);

#endif /* SM_REDACT_PG_H */
