/*-------------------------------------------------------------------------
 *
 * aws_sign.h
 *		Signing AWS requests in the backend: the SigV4 headers of a request,
 *		the signing clock (corrected after a clock-skew rejection) and the
 *		backend's cache of derived signing keys.
 *
 * IDENTIFICATION
 *		src/aws_sign.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_AWS_SIGN_H
#define SM_AWS_SIGN_H

#include <time.h>

#include "cred_types.h"
#include "sigv4.h"

extern bool sm_sign_headers(const SmCredentials *cred, const char *host,
							const char *path, const char *content_type,
							const char *body, size_t body_len,
							const char *region, const char *service,
							SigV4KeyCache *cache, const char **headers,
							int *n);

/* the signing-key cache of this backend */
extern SigV4KeyCache *sm_sign_key_cache(void);
extern void			  sm_sign_forget_keys(void);
extern long			  sm_sign_keys_derived(void);

/* the signing clock */
extern int	sm_sign_clock_offset(void);
extern bool sm_sign_correct_clock(const char *http_date);
extern long sm_sign_clock_corrections(void);

#endif /* SM_AWS_SIGN_H */
