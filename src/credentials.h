/*-------------------------------------------------------------------------
 *
 * credentials.h
 *		AWS credentials the way the AWS SDKs find them, cached per backend.
 *
 * IDENTIFICATION
 *		src/credentials.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_CREDENTIALS_H
#define SM_CREDENTIALS_H

#include "config.h"
#include "sigv4.h"
#include "utils/timestamp.h"

/*
 * A set of credentials.  Lives in the credential cache's memory context;
 * secrets are scrubbed when the cache drops it.  Callers must not keep
 * pointers across a call that may refresh the cache.
 */
typedef struct SmCredentials
{
	char	   *access_key_id;
	char	   *secret_access_key;
	char	   *session_token; /* NULL when none */
	bool		expires;
	TimestampTz expiration; /* when expires */
	const char *source;		/* which provider, e.g. "environment" */
	char	   *detail;		/* e.g. the profile or role, or NULL */
} SmCredentials;

extern const SmCredentials *sm_credentials_get(const SmTarget *target);
extern bool sm_credentials_refresh_after_rejection(const SmTarget *target);
extern void sm_credentials_reset(void);

#endif /* SM_CREDENTIALS_H */
