/*-------------------------------------------------------------------------
 *
 * redact.h
 *		Text from outside made safe to show: secrets redacted, control
 *		characters replaced, cut on character boundaries.
 *
 * The core (sm_redact_text, sm_text_sanitize, sm_utf8_clip) is plain C
 * without PostgreSQL headers, so that it can be fuzzed; the rest is the
 * backend's registry of known secrets and the palloc'ing wrapper.
 *
 * IDENTIFICATION
 *		src/redact.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_REDACT_H
#define SM_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#define SM_REDACTED "[REDACTED]"

/* secrets shorter than this are not looked for (no real secret is) */
#define SM_REDACT_MIN_SECRET 8

/* at most this many secrets are remembered; the oldest is forgotten first */
#define SM_REDACT_MAX_SECRETS 16

/*
 * A malloc'd copy of src[0..len) with every occurrence of each secret (and
 * of its percent-encoded form) and the values of credential-carrying
 * header lines and parameters replaced by "[REDACTED]"; *outlen is set to
 * its length (NUL-terminated too).  NULL when out of memory.  Valid UTF-8
 * in gives valid UTF-8 out.
 */
extern char *sm_redact_text(const char *src, size_t len,
							const char *const *secrets, int nsecrets,
							size_t *outlen);

/*
 * Copy text for use in a message into dst (dstlen bytes, NUL-terminated):
 * whitespace runs collapsed to one space, other control characters, DEL
 * and (unless keep_utf8) every non-ASCII byte replaced by '?', invalid
 * UTF-8 by '?', cut on a character boundary.
 */
extern void sm_text_sanitize(const char *src, size_t srclen, bool keep_utf8,
							 char *dst, size_t dstlen);

/* The longest prefix of s[0..len) of at most maxchars UTF-8 characters. */
extern size_t sm_utf8_clip(const char *s, size_t len, size_t maxchars);

/*
 * The backend's known secrets (malloc'd copies, zeroed when forgotten):
 * remember one (false when out of memory), forget all, redact with them.
 */
extern bool	 sm_redact_remember(const char *secret);
extern void	 sm_redact_clear(void);
extern char *sm_redact_known(const char *src, size_t len, size_t *outlen);

#endif /* SM_REDACT_H */
