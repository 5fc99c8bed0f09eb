/*-------------------------------------------------------------------------
 *
 * cred_types.h
 *		The credentials type, shared by the provider chain, the STS client
 *		and the signing helper.
 *
 * IDENTIFICATION
 *		src/cred_types.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_CRED_TYPES_H
#define SM_CRED_TYPES_H

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

#endif /* SM_CRED_TYPES_H */
