/*-------------------------------------------------------------------------
 *
 * cred_providers.h
 *		The credential sources of the provider chain.
 *
 * IDENTIFICATION
 *		src/cred_providers.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_CRED_PROVIDERS_H
#define SM_CRED_PROVIDERS_H

#include "config.h"
#include "cred_types.h"
#include "lib/stringinfo.h"

/* What a provider found. */
typedef enum SmProviderResult
{
	SM_PROVIDER_FOUND,
	SM_PROVIDER_NOT_CONFIGURED, /* why says what is missing */
	SM_PROVIDER_FAILED			/* configured, but why says what failed */
} SmProviderResult;

/*
 * A provider fills in *out (allocated in CurrentMemoryContext, the scratch
 * context of a credential lookup, secrets registered with sm_secret()) or
 * explains in why.
 */
typedef SmProviderResult (*SmProvider)(const SmTarget *target,
									   SmCredentials *out, StringInfo why);

extern SmProviderResult sm_provider_environment(const SmTarget *target,
												SmCredentials  *out,
												StringInfo		why);
extern SmProviderResult sm_provider_shared_files(const SmTarget *target,
												 SmCredentials	*out,
												 StringInfo		 why);
extern SmProviderResult sm_provider_web_identity(const SmTarget *target,
												 SmCredentials	*out,
												 StringInfo		 why);
extern SmProviderResult sm_provider_container(const SmTarget *target,
											  SmCredentials	 *out,
											  StringInfo	  why);
extern SmProviderResult sm_provider_imds(const SmTarget *target,
										 SmCredentials *out, StringInfo why);

#endif /* SM_CRED_PROVIDERS_H */
