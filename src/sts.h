/*-------------------------------------------------------------------------
 *
 * sts.h
 *		The STS client of the credential chain.
 *
 * IDENTIFICATION
 *		src/sts.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_STS_H
#define SM_STS_H

#include "config.h"
#include "cred_types.h"
#include "lib/stringinfo.h"

extern bool sm_sts_assume_role(const SmTarget *target, const char *role_arn,
							   const char *session_name,
							   const char *external_id, const char *duration,
							   const SmCredentials *source, SmCredentials *out,
							   StringInfo why);
extern bool sm_sts_assume_role_with_web_identity(
	const SmTarget *target, const char *role_arn, const char *token_file,
	const char *session_name, SmCredentials *out, StringInfo why);

#endif /* SM_STS_H */
