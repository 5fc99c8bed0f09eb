/*
 * fuzz_ini_line.c -- libFuzzer target for the line parser of the AWS shared
 * config and credentials files (sm_ini_parse_line, sm_ini_header_matches in
 * src/parse_util.c).  The file reader around it (shared_config.c: BOM, NUL
 * and duplicate-section checks) needs the server and is tested through SQL
 * (test/t_credentials.sh).
 *
 * Input: byte 0 picks the header-matching mode (bit 0 credentials file,
 * bit 1 raw header); then a wanted profile name up to '\n'; the rest is the
 * file text, cut into lines at '\n' (each an exact-size copy).
 *
 * Properties of every line:
 *  - every pointer the parser returns points into the line's own buffer;
 *  - a blank line is empty or a comment after trimming; a section name, a
 *    key and a value are trimmed (no ASCII blank at either end); a key has
 *    no '=' and no upper-case letter; an indented line is never a section;
 *  - a section header matches a wanted name exactly as the reference rule
 *    here says ("profile NAME" / "default" in the config file, NAME in the
 *    credentials file or a raw header).
 */
#include "../../src/parse_util.c"

#include "fuzz_common.h"

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
		   c == '\f';
}

static int
within(const char *p, const char *buf, size_t len)
{
	return p >= buf && p <= buf + len;
}

static void
check_trimmed(const char *s, const char *what)
{
	size_t n = strlen(s);

	FUZZ_CHECK(n == 0 || (!is_blank(s[0]) && !is_blank(s[n - 1])),
			   "%s \"%s\" not trimmed", what, s);
}

/* The reference rule of sm_ini_header_matches. */
static int
ref_matches(const char *h, const char *want, int creds, int raw)
{
	if (raw || creds)
		return strcmp(h, want) == 0;
	if (strncmp(h, "profile", 7) == 0 && (h[7] == ' ' || h[7] == '\t'))
	{
		size_t i = 7;

		while (h[i] == ' ' || h[i] == '\t')
			i++;
		return strcmp(h + i, want) == 0;
	}
	return strcmp(h, "default") == 0 && strcmp(want, "default") == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzReader r;
	uint8_t	   mode;
	char	  *want;

	fuzz_reader_init(&r, data, size);
	mode = fuzz_take_byte(&r);
	want = fuzz_take_field(&r, '\n');
	while (r.pos < r.len)
	{
		char	 *line = fuzz_take_field(&r, '\n');
		size_t	  len = strlen(line);
		char	 *orig = strdup(line);
		SmIniLine l;
		int		  indented = line[0] == ' ' || line[0] == '\t';

		sm_ini_parse_line(line, &l);
		FUZZ_CHECK(l.indented == indented, "indented flag of \"%s\"", orig);
		switch (l.kind)
		{
			case SM_INI_BLANK:
			{
				const char *t = orig;

				while (is_blank(*t))
					t++;
				FUZZ_CHECK(*t == '\0' || *t == '#' || *t == ';',
						   "\"%s\" called blank", orig);
				break;
			}
			case SM_INI_SECTION:
				FUZZ_CHECK(!indented, "indented section \"%s\"", orig);
				FUZZ_CHECK(within(l.name, line, len), "name outside");
				check_trimmed(l.name, "section name");
				FUZZ_CHECK(sm_ini_header_matches(l.name, want, mode & 1,
												 (mode & 2) != 0) ==
							   ref_matches(l.name, want, mode & 1, mode & 2),
						   "header \"%s\" vs \"%s\" mode %d", l.name, want,
						   mode & 3);
				break;
			case SM_INI_ENTRY:
				FUZZ_CHECK(within(l.key, line, len) &&
							   within(l.value, line, len),
						   "entry outside its line");
				check_trimmed(l.key, "key");
				check_trimmed(l.value, "value");
				FUZZ_CHECK(strchr(l.key, '=') == NULL,
						   "key \"%s\" has =", l.key);
				for (const char *c = l.key; *c; c++)
					FUZZ_CHECK(!(*c >= 'A' && *c <= 'Z'),
							   "key \"%s\" not lower-cased", l.key);
				break;
			case SM_INI_BROKEN_SECTION:
				FUZZ_CHECK(!indented && strchr(orig, ']') == NULL,
						   "\"%s\" called a broken section", orig);
				break;
			case SM_INI_OTHER:
				FUZZ_CHECK(strchr(orig, '=') == NULL,
						   "\"%s\" with '=' called other", orig);
				break;
		}
		free(orig);
		free(line);
	}
	free(want);
	return 0;
}
