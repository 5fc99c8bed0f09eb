/*-------------------------------------------------------------------------
 *
 * ascii.h
 *		Character classes of plain ASCII, the same in every locale.
 *
 * <ctype.h>'s isalnum() and friends follow the backend's LC_CTYPE: in a
 * database whose LC_CTYPE is a single-byte locale (fr_FR.ISO-8859-1, say)
 * isalnum(0xE9) is true, so 'é' would pass a check of a name that goes
 * into a URL.  Every check of names, ids, regions and hosts uses these.
 *
 * IDENTIFICATION
 *		src/ascii.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_ASCII_H
#define SM_ASCII_H

#include <stdbool.h>

static inline bool
sm_ascii_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
sm_ascii_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool
sm_ascii_alnum(unsigned char c)
{
	return sm_ascii_alpha(c) || sm_ascii_digit(c);
}

static inline bool
sm_ascii_xdigit(unsigned char c)
{
	return sm_ascii_digit(c) || (c >= 'a' && c <= 'f') ||
		   (c >= 'A' && c <= 'F');
}

#endif /* SM_ASCII_H */
