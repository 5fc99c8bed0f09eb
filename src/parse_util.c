/*-------------------------------------------------------------------------
 *
 * parse_util.c
 *		Pure parsers of outside input: ISO 8601 times as AWS writes
 *		expirations, the text of an element of STS's flat XML replies, one
 *		line of the AWS shared config and credentials files, and the parts
 *		of an endpoint URL.
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
#include <arpa/inet.h>
#include <netinet/in.h>
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

static bool
sm_is_alnum(char c)
{
	return sm_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
sm_is_xdigit(char c)
{
	return sm_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
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
 * sm_digits
 *		Read exactly n ASCII digits at *p into *value, advancing *p.  Stops
 *		at the first byte that is not a digit, so it never reads past a
 *		terminating NUL.  Returns false when fewer than n digits are there.
 */
static bool
sm_digits(const char **p, int n, int *value)
{
	int v = 0;

	for (int i = 0; i < n; i++)
	{
		if (!sm_is_digit((*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*value = v;
	return true;
}

/* Whether *p is c; if so, step over it. */
static bool
sm_expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/* Days in month mo (1..12) of year y of the proleptic Gregorian calendar. */
int
sm_days_in_month(int y, int mo)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30,
								 31, 31, 30, 31, 30, 31};
	bool			 leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return (mo == 2 && leap) ? 29 : days[mo - 1];
}

/*
 * sm_parse_iso8601
 *		Parse "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)" as AWS writes
 *		expirations into seconds since the Unix epoch (the fraction is
 *		dropped).  Strict: every field has exactly its two (four) digits and
 *		is in range (the day within its month, leap years counted; no leap
 *		second), the offset is at most 18:00 either way, and nothing may
 *		follow.  The input is read one byte at a time up to the first byte
 *		that does not fit, never past its terminating NUL.  Returns false
 *		for anything else.
 */
bool
sm_parse_iso8601(const char *s, int64_t *unix_seconds)
{
	int			y, mo, d, h, mi, sec;
	int			oh = 0, om = 0;
	int			sign = 0;
	const char *p = s;

	if (s == NULL)
		return false;
	if (!sm_digits(&p, 4, &y) || !sm_expect(&p, '-') ||
		!sm_digits(&p, 2, &mo) || !sm_expect(&p, '-') ||
		!sm_digits(&p, 2, &d) || !sm_expect(&p, 'T') ||
		!sm_digits(&p, 2, &h) || !sm_expect(&p, ':') ||
		!sm_digits(&p, 2, &mi) || !sm_expect(&p, ':') ||
		!sm_digits(&p, 2, &sec))
		return false;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
		d > sm_days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return false;
	if (sm_expect(&p, '.'))
	{
		if (!sm_is_digit(*p))
			return false;
		while (sm_is_digit(*p))
			p++;
	}
	if (sm_expect(&p, 'Z'))
		;
	else if (*p == '+' || *p == '-')
	{
		sign = (*p == '+') ? 1 : -1;
		p++;
		if (!sm_digits(&p, 2, &oh) || !sm_expect(&p, ':') ||
			!sm_digits(&p, 2, &om))
			return false;
		if (om > 59 || oh * 60 + om > 18 * 60)
			return false;
	}
	else
		return false;
	if (*p != '\0')
		return false;

	*unix_seconds = sm_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
					sec - (int64_t) sign * (oh * 60 + om) * 60;
	return true;
}

/*
 * sm_host_is_loopback
 *		Whether a URL's host (lower-case, an IPv6 literal in brackets, no
 *		port) is a loopback address: "localhost" (which libcurl resolves to
 *		a loopback address itself), a numeric IPv4 address in 127.0.0.0/8
 *		in dotted-decimal form, or the IPv6 address ::1.  A name that only
 *		starts with "127." (127.attacker.example) is not.
 */
bool
sm_host_is_loopback(const char *host)
{
	struct in_addr	v4;
	struct in6_addr v6;
	char			buf[INET6_ADDRSTRLEN + 1];
	size_t			len = strlen(host);

	if (strcmp(host, "localhost") == 0)
		return true;
	if (host[0] == '[')
	{
		if (len < 3 || len - 2 > INET6_ADDRSTRLEN || host[len - 1] != ']')
			return false;
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		return inet_pton(AF_INET6, buf, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
	}
	return inet_pton(AF_INET, host, &v4) == 1 &&
		   (ntohl(v4.s_addr) >> 24) == 127;
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

/* Whether s starts with the lower-case ASCII prefix, in any case. */
static bool
sm_ascii_prefix_ci(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++)
	{
		char c = *s;

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != *prefix)
			return false;
	}
	return true;
}

/* Characters allowed in an endpoint's path prefix besides letters/digits. */
static bool
sm_url_path_char_ok(char c)
{
	return sm_is_alnum(c) ||
		   (c != '\0' && strchr("-._~/=,;+:@!$*", c) != NULL);
}

/*
 * sm_url_authority
 *		The host (name, or IPv6 literal in brackets) and optional port of an
 *		endpoint URL, from *p (just after "scheme://"); sets *p past them.
 */
static SmUrlError
sm_url_authority(const char **p, SmUrlParts *out)
{
	const char *s = *p;

	out->host = s;
	if (*s == '[')
	{
		s++;
		while (sm_is_xdigit(*s) || *s == ':' || *s == '.')
			s++;
		if (*s != ']' || s == out->host + 1)
			return SM_URL_BAD_IPV6;
		s++;
	}
	else
	{
		while (sm_is_alnum(*s) || *s == '-' || *s == '.')
			s++;
	}
	out->host_len = s - out->host;
	if (out->host_len == 0)
		return SM_URL_NO_HOST;
	if (*s == ':')
	{
		long port = 0;

		s++;
		if (!sm_is_digit(*s))
			return SM_URL_BAD_PORT;
		/* leading zeros are allowed, as strtol() allows them */
		for (; sm_is_digit(*s); s++)
		{
			port = port * 10 + (*s - '0');
			if (port > 65535)
				return SM_URL_BAD_PORT;
		}
		if (port < 1)
			return SM_URL_BAD_PORT;
		out->has_port = true;
		out->port = port;
	}
	*p = s;
	return SM_URL_OK;
}

/*
 * sm_parse_url
 *		Split an endpoint URL into its parts: http or https (any case), a
 *		host name or IPv6 literal, an optional port and an optional path
 *		prefix of a restricted alphabet; no user information, query or
 *		fragment.  Returns SM_URL_OK and fills *out, or the reason it was
 *		refused (*out is then undefined).  Whether plain http is allowed to
 *		the host is the caller's check (sm_host_is_loopback).
 */
SmUrlError
sm_parse_url(const char *url, SmUrlParts *out)
{
	const char *p;
	const char *at;
	SmUrlError	err;

	memset(out, 0, sizeof(*out));
	if (sm_ascii_prefix_ci(url, "https://"))
	{
		out->https = true;
		p = url + 8;
	}
	else if (sm_ascii_prefix_ci(url, "http://"))
		p = url + 7;
	else
		return SM_URL_BAD_SCHEME;

	at = strchr(p, '@');
	if (at != NULL && at < p + strcspn(p, "/?#"))
		return SM_URL_USERINFO;
	if ((err = sm_url_authority(&p, out)) != SM_URL_OK)
		return err;
	if (*p != '\0' && *p != '/')
		return SM_URL_EXTRA;

	out->path = p;
	for (; *p; p++)
	{
		if (!sm_url_path_char_ok(*p))
			return SM_URL_BAD_PATH;
	}
	out->path_len = p - out->path;
	while (out->path_len > 0 && out->path[out->path_len - 1] == '/')
		out->path_len--;
	return SM_URL_OK;
}

/*
 * sm_url_error_text
 *		The full sentence that says why sm_parse_url() refused a URL (an
 *		errdetail); NULL for SM_URL_OK.
 */
const char *
sm_url_error_text(SmUrlError err)
{
	switch (err)
	{
		case SM_URL_OK:
			return NULL;
		case SM_URL_BAD_SCHEME:
			return "The URL must start with https:// or http://.";
		case SM_URL_USERINFO:
			return "The URL contains a user name or password "
				   "(user:password@); "
				   "credentials in the URL are not supported.";
		case SM_URL_BAD_IPV6:
			return "The URL has a malformed IPv6 address.";
		case SM_URL_NO_HOST:
			return "The URL has no host name.";
		case SM_URL_BAD_PORT:
			return "The URL has an invalid port number.";
		case SM_URL_EXTRA:
			return "Only a host name, an optional port and an optional path "
				   "are allowed: no user name, query string or fragment.";
		case SM_URL_BAD_PATH:
			return "The URL path may only contain letters, digits and "
				   "-._~/=,;+:@!$* characters.";
	}
	return "The URL is malformed.";
}
