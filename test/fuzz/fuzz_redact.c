/*-------------------------------------------------------------------------
 *
 * fuzz_redact.c
 *		libFuzzer target: redaction of secrets from outside text
 *		(sm_redact_text, the registry), the message sanitizer
 *		(sm_text_sanitize) and character-boundary clipping (sm_utf8_clip).
 *
 * Input: 1 byte: number of secrets (low 2 bits), keep_utf8 (bit 2); 1 byte
 * sanitizer output size; then the secrets, each up to a NUL; then the text
 * (the rest, NULs included).
 *
 * Properties checked:
 *	- no secret of 8 bytes or more survives redaction, raw or
 *	  percent-encoded (secrets holding '[' or ']' or equal to "REDACTED"
 *	  are exempt: the replacement itself could spell them);
 *	- (for secrets without delimiters, see fuzz_secrets_delimited) after
 *	  every "x-amz-security-token:" / "=", "X-Amz-Signature=",
 *	  "Signature=", "Credential=", "WebIdentityToken=" (any case) in the
 *	  output comes nothing, a delimiter, or "[REDACTED]"; after
 *	  "authorization:" the rest of the line is "[REDACTED]";
 *	- valid UTF-8 in gives valid UTF-8 out; redaction is idempotent
 *	  (for secrets without delimiters, see below);
 *	- the registry (sm_redact_remember / sm_redact_known) redacts exactly
 *	  as the secrets given directly, and forgets them on sm_redact_clear;
 *	- the sanitizer writes within its exact-size buffer, NUL-terminates,
 *	  emits no control character, no leading, trailing or double space,
 *	  only ASCII (or, with keep_utf8, valid UTF-8 without C1 controls),
 *	  and a smaller buffer gets a prefix of what a larger one gets;
 *	- clipping keeps at most maxchars characters, exactly maxchars when
 *	  it cuts, and a valid UTF-8 prefix of valid UTF-8.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include "../../src/redact.c"

#include "fuzz_common.h"

/* Whether s[0..len) is valid UTF-8 (an independent, simple decoder). */
static int
fuzz_valid_utf8(const unsigned char *s, size_t len, size_t *nchars)
{
	size_t i = 0;
	size_t k = 0;

	while (i < len)
	{
		unsigned int c = s[i];
		size_t		 n;
		unsigned int cp;
		unsigned int min;

		if (c < 0x80)
			n = 1, cp = c, min = 0;
		else if ((c & 0xE0) == 0xC0)
			n = 2, cp = c & 0x1F, min = 0x80;
		else if ((c & 0xF0) == 0xE0)
			n = 3, cp = c & 0x0F, min = 0x800;
		else if ((c & 0xF8) == 0xF0)
			n = 4, cp = c & 0x07, min = 0x10000;
		else
			return 0;
		if (i + n > len)
			return 0;
		for (size_t j = 1; j < n; j++)
		{
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += n;
		k++;
	}
	if (nchars)
		*nchars = k;
	return 1;
}

/* memmem, ASCII case-insensitive for the needle's letters */
static const char *
fuzz_find_ci(const char *h, size_t hlen, const char *n, size_t from)
{
	size_t nlen = strlen(n);

	for (size_t i = from; i + nlen <= hlen; i++)
	{
		size_t j = 0;

		while (j < nlen && sm_ascii_lower((unsigned char) h[i + j]) == n[j])
			j++;
		if (j == nlen)
			return h + i;
	}
	return NULL;
}

static void
fuzz_check_names(const char *out, size_t len)
{
	static const struct
	{
		const char *name;
		char		sep;
		int			to_eol;
	} names[] = {
		{"x-amz-security-token", ':', 0}, {"x-amz-security-token", '=', 0},
		{"x-amz-signature", '=', 0},	  {"signature", '=', 0},
		{"credential", '=', 0},			  {"webidentitytoken", '=', 0},
		{"authorization", ':', 1},
	};

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
	{
		const char *p;
		size_t		from = 0;

		while ((p = fuzz_find_ci(out, len, names[k].name, from)) != NULL)
		{
			size_t v = (size_t) (p - out) + strlen(names[k].name);

			from = (size_t) (p - out) + 1;
			while (v < len && (out[v] == ' ' || out[v] == '\t'))
				v++;
			if (v >= len || out[v] != names[k].sep)
				continue;
			v++;
			while (v < len && (out[v] == ' ' || out[v] == '\t'))
				v++;
			if (v >= len)
				continue;
			if (names[k].to_eol)
			{
				size_t e = v;

				while (e < len && out[e] != '\n' && out[e] != '\r')
					e++;
				FUZZ_CHECK(e == v ||
							   (e - v == strlen(SM_REDACTED) &&
								memcmp(out + v, SM_REDACTED, e - v) == 0),
						   "%s line not redacted at %zu", names[k].name, v);
			}
			else
				FUZZ_CHECK(sm_value_end((unsigned char) out[v]) ||
							   (len - v >= strlen(SM_REDACTED) &&
								memcmp(out + v, SM_REDACTED,
									   strlen(SM_REDACTED)) == 0),
						   "%s value not redacted at %zu", names[k].name, v);
		}
	}
}

static int
fuzz_secret_exempt(const char *s)
{
	return strlen(s) < SM_REDACT_MIN_SECRET || strchr(s, '[') ||
		   strchr(s, ']') || strcmp(s, "REDACTED") == 0;
}

/*
 * Whether a secret could be spelt by the replacement or holds a value
 * delimiter (whitespace, line ends, '&', ',' ...: no real key or token
 * does).  Such a secret can swallow the end of a redacted value or line,
 * so that "name=[REDACTED]rest" or "authorization: [REDACTED]" followed by
 * the next line's text is left (nothing of a value remains, but a second
 * pass redacts "rest" as a value): the name and idempotence properties
 * are not checked then.
 */
static int
fuzz_secrets_delimited(char **secrets, int nsecrets)
{
	for (int i = 0; i < nsecrets; i++)
	{
		if (strchr(secrets[i], '[') || strchr(secrets[i], ']') ||
			strcmp(secrets[i], "REDACTED") == 0)
			return 1;
		for (const char *c = secrets[i]; *c; c++)
			if (sm_value_end((unsigned char) *c))
				return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzReader r;
	uint8_t	   flags;
	size_t	   dstlen;
	int		   nsecrets;
	int		   keep_utf8;
	char	  *secrets[3] = {NULL, NULL, NULL};
	uint8_t	  *text;
	size_t	   len;
	char	  *out;
	size_t	   outlen;
	char	  *again;
	size_t	   againlen;
	char	  *known;
	size_t	   knownlen;
	char	  *small;
	char	  *big;
	size_t	   nchars;
	size_t	   clip;
	size_t	   maxchars;

	fuzz_reader_init(&r, data, size);
	flags = fuzz_take_byte(&r);
	dstlen = fuzz_take_byte(&r);
	nsecrets = flags & 3;
	if (nsecrets > 3)
		nsecrets = 3;
	keep_utf8 = (flags >> 2) & 1;
	for (int i = 0; i < nsecrets; i++)
		secrets[i] = fuzz_take_field(&r, '\0');
	text = fuzz_take_rest(&r, &len);

	/* redaction */
	out = sm_redact_text((char *) text, len, (const char *const *) secrets,
						 nsecrets, &outlen);
	FUZZ_CHECK(out != NULL, "out of memory");
	FUZZ_CHECK(out[outlen] == '\0', "not NUL-terminated");
	for (int i = 0; i < nsecrets; i++)
	{
		size_t elen = 0;
		char  *enc;

		if (fuzz_secret_exempt(secrets[i]))
			continue;
		FUZZ_CHECK(memmem(out, outlen, secrets[i], strlen(secrets[i])) == NULL,
				   "secret %d survives", i);
		enc = sm_percent_encode(secrets[i], strlen(secrets[i]), &elen);
		if (enc != NULL)
		{
			FUZZ_CHECK(memmem(out, outlen, enc, elen) == NULL,
					   "percent-encoded secret %d survives", i);
			free(enc);
		}
	}
	if (!fuzz_secrets_delimited(secrets, nsecrets))
		fuzz_check_names(out, outlen);
	if (fuzz_valid_utf8(text, len, NULL))
		FUZZ_CHECK(fuzz_valid_utf8((unsigned char *) out, outlen, NULL),
				   "valid UTF-8 in, invalid out");

	/* idempotent (see fuzz_secrets_delimited) */
	{
		if (!fuzz_secrets_delimited(secrets, nsecrets))
		{
			again = sm_redact_text(out, outlen, (const char *const *) secrets,
								   nsecrets, &againlen);
			FUZZ_CHECK(again != NULL, "out of memory");
			FUZZ_CHECK(againlen == outlen && memcmp(again, out, outlen) == 0,
					   "redacting twice changes the text (%zu -> %zu bytes)",
					   outlen, againlen);
			free(again);
		}
	}

	/* the registry gives the same result, and forgets */
	for (int i = 0; i < nsecrets; i++)
		FUZZ_CHECK(sm_redact_remember(secrets[i]), "out of memory");
	known = sm_redact_known((char *) text, len, &knownlen);
	FUZZ_CHECK(known != NULL, "out of memory");
	FUZZ_CHECK(knownlen == outlen && memcmp(known, out, outlen) == 0,
			   "the registry redacts differently");
	free(known);
	sm_redact_clear();
	for (int i = 0; i < SM_REDACT_MAX_SECRETS; i++)
		FUZZ_CHECK(sm_known_secrets[i] == NULL, "secret %d not forgotten", i);
	free(out);

	/* the sanitizer */
	small = malloc(dstlen > 0 ? dstlen : 1);
	big = malloc(4096);
	small[0] = 'Z';
	sm_text_sanitize((char *) text, len, keep_utf8, small, dstlen);
	sm_text_sanitize((char *) text, len, keep_utf8, big, 4096);
	if (dstlen == 0)
		FUZZ_CHECK(small[0] == 'Z', "wrote into a buffer of size 0");
	else
	{
		size_t n;

		FUZZ_CHECK(memchr(small, '\0', dstlen) != NULL, "not NUL-terminated");
		n = strlen(small);
		FUZZ_CHECK(strncmp(small, big, n) == 0,
				   "a smaller buffer is not a prefix of a larger one");
		FUZZ_CHECK(n == 0 || (small[0] != ' ' && small[n - 1] != ' '),
				   "leading or trailing space");
		FUZZ_CHECK(strstr(small, "  ") == NULL, "double space");
		for (size_t i = 0; i < n; i++)
		{
			unsigned char c = (unsigned char) small[i];

			FUZZ_CHECK(c >= 0x20 && c != 0x7f, "control character 0x%02x", c);
			FUZZ_CHECK(keep_utf8 || c < 0x80, "non-ASCII byte 0x%02x", c);
			FUZZ_CHECK(!(c == 0xC2 && i + 1 < n &&
						 (unsigned char) small[i + 1] < 0xA0),
					   "C1 control");
		}
		FUZZ_CHECK(fuzz_valid_utf8((unsigned char *) small, n, NULL),
				   "invalid UTF-8 out");
	}
	free(small);
	free(big);

	/* clipping */
	maxchars = dstlen;
	clip = sm_utf8_clip((char *) text, len, maxchars);
	FUZZ_CHECK(clip <= len, "clip past the end");
	if (fuzz_valid_utf8(text, len, NULL))
	{
		FUZZ_CHECK(fuzz_valid_utf8(text, clip, &nchars),
				   "clipped valid UTF-8 mid-character");
		FUZZ_CHECK(nchars <= maxchars, "kept %zu > %zu characters", nchars,
				   maxchars);
		FUZZ_CHECK(clip == len || nchars == maxchars,
				   "cut at %zu of %zu characters", nchars, maxchars);
	}

	for (int i = 0; i < nsecrets; i++)
		free(secrets[i]);
	free(text);
	return 0;
}
