/*-------------------------------------------------------------------------
 *
 * parse_util.c
 *		Pure parsers of the credential chain's inputs: ISO 8601 times as AWS
 *		writes expirations, the text of an element of STS's flat XML replies,
 *		and one line of the AWS shared config and credentials files.
 *
 * Plain C with no PostgreSQL headers and no allocation: callers own every
 * buffer, so that unit tests and fuzz targets can link this file alone.
 * Nothing here reads before the start or past the terminating NUL of its
 * input.
 *
 * IDENTIFICATION
 *		src/parse_util.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "parse_util.h"

/* ASCII whitespace, as isspace() in the C locale. */
static bool
sm_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
		   c == '\f';
}

static bool
sm_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * sm_trim_space
 *		Trim ASCII whitespace at both ends of s, in place; returns the new
 *		start.
 */
char *
sm_trim_space(char *s)
{
	char *end;

	while (sm_is_space(*s))
		s++;
	end = s + strlen(s);
	while (end > s && sm_is_space(end[-1]))
		*--end = '\0';
	return s;
}

/*
 * sm_days_from_civil
 *		Days since 1970-01-01 of a proleptic Gregorian date (Howard
 *		Hinnant's algorithm).
 */
static int64_t
sm_days_from_civil(int y, int mo, int d)
{
	int yy = y - (mo <= 2);
	int era = yy / 400;
	int yoe = yy - era * 400;
	int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (int64_t) era * 146097 + doe - 719468;
}

/*
 * sm_parse_iso8601
 *		Parse "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)" as AWS writes
 *		expirations into seconds since the Unix epoch.  Returns false for
 *		anything else.
 */
bool
sm_parse_iso8601(const char *s, int64_t *unix_seconds)
{
	int			y, mo, d, h, mi, sec;
	int			n = 0;
	const char *p;
	long		offset = 0;

	if (s == NULL ||
		sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
			   &n) != 6 ||
		n != 19)
		return false;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
		h > 23 || mi > 59 || sec > 60)
		return false;
	p = s + n;
	if (*p == '.')
	{
		p++;
		while (sm_is_digit(*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-')
	{
		int oh, om;
		int used = 0;

		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &used) != 2)
			return false;
		offset = (oh * 60L + om) * 60L * (*p == '+' ? 1 : -1);
		/* step over what was read, never past the end */
		p += 1 + used;
	}
	else
		return false;
	if (*p != '\0')
		return false;

	*unix_seconds = sm_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
					sec - offset;
	return true;
}

/* Find "<prefix><tag>>" in s, or NULL. */
static const char *
sm_xml_find_tag(const char *s, const char *prefix, const char *tag)
{
	size_t plen = strlen(prefix);
	size_t tlen = strlen(tag);

	for (const char *p = strstr(s, prefix); p != NULL;
		 p = strstr(p + 1, prefix))
	{
		if (strncmp(p + plen, tag, tlen) == 0 && p[plen + tlen] == '>')
			return p;
	}
	return NULL;
}

/*
 * sm_xml_element
 *		Find the first <tag>...</tag> of xml: *text points at its raw
 *		content (entities not decoded), *len is its length.  Returns false
 *		when there is none.  Enough for the flat STS responses.
 */
bool
sm_xml_element(const char *xml, const char *tag, const char **text,
			   size_t *len)
{
	const char *start = sm_xml_find_tag(xml, "<", tag);
	const char *end;

	if (start == NULL)
		return false;
	start += strlen(tag) + 2;
	end = sm_xml_find_tag(start, "</", tag);
	if (end == NULL)
		return false;
	*text = start;
	*len = (size_t) (end - start);
	return true;
}

/*
 * sm_xml_unescape
 *		Copy len bytes of XML text to dst, decoding the five predefined
 *		entities (anything else is copied as it is).  dst must have room for
 *		len + 1 bytes; it is NUL-terminated.  Returns the decoded length.
 */
size_t
sm_xml_unescape(const char *src, size_t len, char *dst)
{
	static const struct
	{
		const char *ent;
		char		c;
	} ents[] = {{"&amp;", '&'},
				{"&lt;", '<'},
				{"&gt;", '>'},
				{"&quot;", '"'},
				{"&apos;", '\''}};
	size_t n = 0;
	size_t i = 0;

	while (i < len)
	{
		size_t e;

		for (e = 0; src[i] == '&' && e < sizeof(ents) / sizeof(ents[0]); e++)
		{
			size_t l = strlen(ents[e].ent);

			if (len - i >= l && strncmp(src + i, ents[e].ent, l) == 0)
				break;
		}
		if (src[i] == '&' && e < sizeof(ents) / sizeof(ents[0]))
		{
			dst[n++] = ents[e].c;
			i += strlen(ents[e].ent);
		}
		else
			dst[n++] = src[i++];
	}
	dst[n] = '\0';
	return n;
}

/*
 * sm_ini_parse_line
 *		Classify one line (without its newline) of an AWS INI file.  The
 *		line is modified: the pointers of *out point into it.  A '[' line
 *		that is indented is not a section header.
 */
void
sm_ini_parse_line(char *line, SmIniLine *out)
{
	char *t;
	char *eq;

	memset(out, 0, sizeof(*out));
	out->indented = (line[0] == ' ' || line[0] == '\t');
	t = sm_trim_space(line);
	if (t[0] == '\0' || t[0] == '#' || t[0] == ';')
	{
		out->kind = SM_INI_BLANK;
		return;
	}
	if (t[0] == '[' && !out->indented)
	{
		char *close = strrchr(t, ']');

		if (close == NULL)
		{
			out->kind = SM_INI_BROKEN_SECTION;
			return;
		}
		*close = '\0';
		out->kind = SM_INI_SECTION;
		out->name = sm_trim_space(t + 1);
		return;
	}
	eq = strchr(t, '=');
	if (eq == NULL)
	{
		out->kind = SM_INI_OTHER;
		return;
	}
	*eq = '\0';
	out->kind = SM_INI_ENTRY;
	out->key = sm_trim_space(t);
	for (char *c = out->key; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c += 'a' - 'A';
	out->value = sm_trim_space(eq + 1);
}

/*
 * sm_ini_header_matches
 *		Whether a section header (the text between the brackets, trimmed)
 *		is the wanted one: for the config file "profile NAME" (any blanks
 *		between), or "default" for the default profile; for the credentials
 *		file just NAME.  want_raw asks for an exact header instead.
 */
bool
sm_ini_header_matches(const char *header, const char *want,
					  bool credentials_file, bool want_raw)
{
	if (want_raw || credentials_file)
		return strcmp(header, want) == 0;
	if (strncmp(header, "profile", 7) == 0 &&
		(header[7] == ' ' || header[7] == '\t'))
	{
		const char *name = header + 7;

		while (*name == ' ' || *name == '\t')
			name++;
		return strcmp(name, want) == 0;
	}
	return strcmp(want, "default") == 0 && strcmp(header, "default") == 0;
}
