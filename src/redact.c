/*-------------------------------------------------------------------------
 *
 * redact.c
 *		Text from outside made safe to show: secrets redacted, control
 *		characters replaced, cut on character boundaries.  Plain C without
 *		PostgreSQL headers (fuzzed by test/fuzz/fuzz_redact.c); the palloc
 *		wrapper sm_redact() is in redact_pg.c.
 *
 * AWS quotes the canonical request and the string to sign in an
 * InvalidSignatureException, and a hostile or careless endpoint (STS, a
 * container credential server) may echo anything it was sent.  So before
 * any outside text is shown, two things are replaced by "[REDACTED]":
 *
 *	 - the values of credential-carrying names wherever they appear, the
 *	   name matched without regard to case: "x-amz-security-token:" (a header
 *	   line) or "X-Amz-Security-Token=" (a query or form parameter), the
 *	   rest of an "authorization:" line, and "Credential=", "Signature=",
 *	   "X-Amz-Credential=", "X-Amz-Signature=" and "WebIdentityToken="
 *	   values;
 *	 - every occurrence of each secret the backend knows (the current
 *	   secret key and session token, container, IMDS and web identity
 *	   tokens: sm_redact_register), and of its percent-encoded form.
 *
 * Redaction works on a mask of the bytes to hide, widened to whole UTF-8
 * characters, so overlapping matches cannot leave a piece of a secret
 * behind and valid UTF-8 stays valid.
 *
 * IDENTIFICATION
 *		src/redact.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

/* ASCII lower case, whatever the locale */
static unsigned char
sm_ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char) (c + ('a' - 'A')) : c;
}

/* Whether s[0..n) equals the lower-case ASCII word w, ignoring case. */
static bool
sm_ascii_ieq(const char *s, const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (sm_ascii_lower((unsigned char) s[i]) != (unsigned char) w[i])
			return false;
	return true;
}

/* Whether a byte ends a parameter value (query, form, Authorization). */
static bool
sm_value_end(unsigned char c)
{
	return c <= ' ' || c == '&' || c == ',' || c == ';' || c == '"' ||
		   c == '\'' || c == '<' || c == '>' || c == 0x7f;
}

/* Mark [from, to) of the mask. */
static void
sm_mark(bool *mask, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		mask[i] = true;
}

/*
 * The names whose values are credentials.  sep is the separator that must
 * follow (spaces allowed before it); to_eol: the value runs to the end of
 * the line, else to the first sm_value_end() byte.
 */
typedef struct SmRedactName
{
	const char *name;
	char		sep;
	bool		to_eol;
} SmRedactName;

static const SmRedactName sm_redact_names[] = {
	{"x-amz-security-token", ':', false},
	{"x-amz-security-token", '=', false},
	{"authorization", ':', true},
	{"x-amz-credential", '=', false},
	{"x-amz-signature", '=', false},
	{"credential", '=', false},
	{"signature", '=', false},
	{"webidentitytoken", '=', false},
};

/* Mark the values of credential-carrying names. */
static void
sm_mark_names(const char *s, size_t len, bool *mask)
{
	for (size_t k = 0;
		 k < sizeof(sm_redact_names) / sizeof(sm_redact_names[0]); k++)
	{
		const SmRedactName *rn = &sm_redact_names[k];
		size_t				nlen = strlen(rn->name);

		for (size_t i = 0; i + nlen < len; i++)
		{
			size_t v;
			size_t e;

			if (!sm_ascii_ieq(s + i, rn->name, nlen))
				continue;
			v = i + nlen;
			while (v < len && (s[v] == ' ' || s[v] == '\t'))
				v++;
			if (v >= len || s[v] != rn->sep)
				continue;
			v++;
			while (v < len && (s[v] == ' ' || s[v] == '\t'))
				v++;
			e = v;
			if (rn->to_eol)
				while (e < len && s[e] != '\n' && s[e] != '\r')
					e++;
			else
				while (e < len && !sm_value_end((unsigned char) s[e]))
					e++;
			/* nothing to hide in an empty value */
			if (e == v)
				continue;
			sm_mark(mask, v, e);
		}
	}
}

/* Mark every occurrence of needle[0..nlen). */
static void
sm_mark_occurrences(const char *s, size_t len, const char *needle, size_t nlen,
					bool *mask)
{
	if (nlen == 0 || nlen > len)
		return;
	for (size_t i = 0; i + nlen <= len; i++)
		if (s[i] == needle[0] && memcmp(s + i, needle, nlen) == 0)
			sm_mark(mask, i, i + nlen);
}

/*
 * The percent-encoded form of a secret (RFC 3986 unreserved kept, upper
 * case hex, as SigV4 encodes), malloc'd, or NULL when it is the same.
 */
static char *
sm_percent_encode(const char *s, size_t len, size_t *outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	char			 *out;
	size_t			  n = 0;
	bool			  changed = false;

	out = malloc(len * 3 + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
			c == '~')
			out[n++] = (char) c;
		else
		{
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
			changed = true;
		}
	}
	out[n] = '\0';
	if (!changed)
	{
		free(out);
		return NULL;
	}
	*outlen = n;
	return out;
}

/* Whether a byte is a UTF-8 continuation byte. */
static bool
sm_utf8_cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

char *
sm_redact_text(const char *src, size_t len, const char *const *secrets,
			   int nsecrets, size_t *outlen)
{
	static const char rep[] = SM_REDACTED;
	bool			 *mask;
	char			 *out;
	size_t			  runs = 0;
	size_t			  n = 0;

	mask = calloc(len + 1, sizeof(bool));
	if (mask == NULL)
		return NULL;
	sm_mark_names(src, len, mask);
	for (int k = 0; k < nsecrets; k++)
	{
		size_t slen;
		size_t elen = 0;
		char  *enc;

		if (secrets[k] == NULL)
			continue;
		slen = strlen(secrets[k]);
		if (slen < SM_REDACT_MIN_SECRET)
			continue;
		sm_mark_occurrences(src, len, secrets[k], slen, mask);
		enc = sm_percent_encode(secrets[k], slen, &elen);
		if (enc != NULL)
		{
			sm_mark_occurrences(src, len, enc, elen, mask);
			free(enc);
		}
	}
	/* widen marked runs to whole UTF-8 characters, and count them */
	for (size_t i = 0; i < len; i++)
	{
		if (!mask[i] || (i > 0 && mask[i - 1]))
			continue;
		for (size_t j = i; j > 0 && sm_utf8_cont((unsigned char) src[j]); j--)
			mask[j - 1] = true;
	}
	for (size_t i = 0; i < len; i++)
	{
		if (mask[i] && i + 1 < len && !mask[i + 1] &&
			sm_utf8_cont((unsigned char) src[i + 1]))
			mask[i + 1] = true;
	}
	for (size_t i = 0; i < len; i++)
		if (mask[i] && (i == 0 || !mask[i - 1]))
			runs++;

	out = malloc(len + runs * (sizeof(rep) - 1) + 1);
	if (out == NULL)
	{
		free(mask);
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
	{
		if (!mask[i])
			out[n++] = src[i];
		else if (i == 0 || !mask[i - 1])
		{
			memcpy(out + n, rep, sizeof(rep) - 1);
			n += sizeof(rep) - 1;
		}
	}
	out[n] = '\0';
	free(mask);
	*outlen = n;
	return out;
}

/*
 * The length of the valid UTF-8 character at s[0..len), or 0 when the bytes
 * there are not one (overlong forms, surrogates and code points past
 * U+10FFFF are not).
 */
static size_t
sm_utf8_char_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t		  n;
	unsigned int  cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++)
	{
		if (!sm_utf8_cont(s[i]))
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		(cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

size_t
sm_utf8_clip(const char *s, size_t len, size_t maxchars)
{
	size_t i = 0;

	for (size_t k = 0; k < maxchars && i < len; k++)
	{
		size_t n = sm_utf8_char_len((const unsigned char *) s + i, len - i);

		i += n > 0 ? n : 1;
	}
	return i;
}

void
sm_text_sanitize(const char *src, size_t srclen, bool keep_utf8, char *dst,
				 size_t dstlen)
{
	size_t n = 0;
	size_t i = 0;
	bool   space = false;

	if (dstlen == 0)
		return;
	while (i < srclen)
	{
		unsigned char c = (unsigned char) src[i];
		size_t		  clen = 1;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
		{
			space = (n > 0);
			i++;
			continue;
		}
		if (c >= 0x80 && keep_utf8)
		{
			clen =
				sm_utf8_char_len((const unsigned char *) src + i, srclen - i);
			/* C1 controls (U+0080..U+009F) are controls too */
			if (clen == 2 && c == 0xC2 && (unsigned char) src[i + 1] < 0xA0)
				clen = 0;
		}
		if (n + (space ? 1 : 0) + (clen ? clen : 1) + 1 > dstlen)
			break;
		if (space)
			dst[n++] = ' ';
		space = false;
		if (c >= 0x21 && c < 0x7f)
			dst[n++] = (char) c;
		else if (c >= 0x80 && keep_utf8 && clen > 0)
		{
			memcpy(dst + n, src + i, clen);
			n += clen;
			i += clen;
			continue;
		}
		else
			dst[n++] = '?';
		i++;
	}
	dst[n] = '\0';
}

/*
 * The backend's known secrets: malloc'd copies, zeroed when forgotten.  A
 * fixed ring: the oldest goes when a new one comes.
 */
static char *sm_known_secrets[SM_REDACT_MAX_SECRETS];
static int	 sm_known_next = 0;

/* Zero and free one remembered secret. */
static void
sm_forget_secret(int i)
{
	if (sm_known_secrets[i] != NULL)
	{
		volatile char *p = sm_known_secrets[i];

		while (*p)
			*p++ = '\0';
		free(sm_known_secrets[i]);
		sm_known_secrets[i] = NULL;
	}
}

/*
 * sm_redact_remember
 *		Remember a secret; false when out of memory.  Short strings and ones
 *		already known are ignored.
 */
bool
sm_redact_remember(const char *secret)
{
	size_t len;
	char  *copy;

	if (secret == NULL || (len = strlen(secret)) < SM_REDACT_MIN_SECRET)
		return true;
	for (int i = 0; i < SM_REDACT_MAX_SECRETS; i++)
		if (sm_known_secrets[i] != NULL &&
			strcmp(sm_known_secrets[i], secret) == 0)
			return true;
	copy = malloc(len + 1);
	if (copy == NULL)
		return false;
	memcpy(copy, secret, len + 1);
	sm_forget_secret(sm_known_next);
	sm_known_secrets[sm_known_next] = copy;
	sm_known_next = (sm_known_next + 1) % SM_REDACT_MAX_SECRETS;
	return true;
}

void
sm_redact_clear(void)
{
	for (int i = 0; i < SM_REDACT_MAX_SECRETS; i++)
		sm_forget_secret(i);
	sm_known_next = 0;
}

/* sm_redact_text() with the remembered secrets. */
char *
sm_redact_known(const char *src, size_t len, size_t *outlen)
{
	return sm_redact_text(src, len, (const char *const *) sm_known_secrets,
						  SM_REDACT_MAX_SECRETS, outlen);
}
