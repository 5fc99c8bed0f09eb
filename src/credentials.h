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
#include "cred_types.h"
#include "sigv4.h"

/* What credentials_info() shows: never a secret. */
typedef struct SmCredentialsInfo
{
	const char *source; /* which provider, e.g. "environment" */
	const char *detail; /* e.g. the profile or role, or NULL */
	const char *access_key_id;
	bool		has_session_token;
	bool		expires;
	TimestampTz expiration; /* when expires */
} SmCredentialsInfo;

extern const SmCredentials *sm_credentials_get(const SmTarget *target);
extern uint64				sm_credentials_generation(void);
extern bool sm_credentials_refresh_after_rejection(const SmTarget *target,
												   uint64 signed_generation);
extern void sm_credentials_reset(void);
extern void sm_credentials_describe(const SmTarget	  *target,
									SmCredentialsInfo *info);

#endif /* SM_CREDENTIALS_H */
