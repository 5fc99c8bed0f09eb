/*-------------------------------------------------------------------------
 *
 * cred_fetch.h
 *		Helpers of every credential source: fetches from credential
 *		endpoints, token files, expiration times, zeroing of secrets.
 *
 * IDENTIFICATION
 *		src/cred_fetch.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_CRED_FETCH_H
#define SM_CRED_FETCH_H

#include "cred_types.h"
#include "transport.h"

extern MemoryContext sm_secret_context_create(MemoryContext parent);
extern void			*sm_secret(void *ptr, size_t len);
extern char			*sm_secret_str(char *s);
extern bool			 sm_parse_time(const char *s, TimestampTz *out);
extern char			*sm_read_token_file(const char *path, const char **why);
extern char			*sm_remote_text(const char *s, size_t len);
extern bool			 sm_cred_fetch(const char *method, const char *url,
								   const char **headers, int nheaders, const char *body,
								   const char *ca_file, int timeout_ms,
								   SmResponse *resp, const char **why);

#endif /* SM_CRED_FETCH_H */
