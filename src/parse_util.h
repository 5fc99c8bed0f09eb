/*-------------------------------------------------------------------------
 *
 * parse_util.h
 *		Pure parsers of outside input (ISO 8601 times, STS XML elements,
 *		lines of the AWS INI files, endpoint URLs): plain C, no PostgreSQL
 *		headers, so that unit tests and fuzz targets can link them directly.
 *
 * IDENTIFICATION
 *		src/parse_util.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_PARSE_UTIL_H
#define SM_PARSE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What one line of an AWS INI file is. */
typedef enum SmIniLineKind
{
	SM_INI_BLANK,		   /* empty, or a comment */
	SM_INI_SECTION,		   /* "[name]": name is set */
	SM_INI_BROKEN_SECTION, /* '[' without a closing ']' */
	SM_INI_ENTRY,		   /* "key = value": key (lower-cased) and value set */
	SM_INI_OTHER		   /* anything else (ignored) */
} SmIniLineKind;

typedef struct SmIniLine
{
	SmIniLineKind kind;
	bool		  indented; /* started with a blank (a sub-property) */
	char		 *name;		/* SM_INI_SECTION: the header, trimmed */
	char		 *key;		/* SM_INI_ENTRY */
	char		 *value;	/* SM_INI_ENTRY, trimmed */
} SmIniLine;

/* Why an endpoint URL was refused (SM_URL_OK: it was not). */
typedef enum SmUrlError
{
	SM_URL_OK,
	SM_URL_BAD_SCHEME, /* not http:// or https:// */
	SM_URL_USERINFO,   /* user:password@ before the path */
	SM_URL_BAD_IPV6,   /* '[' without a well-formed literal and ']' */
	SM_URL_NO_HOST,
	SM_URL_BAD_PORT, /* not 1..65535 in decimal digits */
	SM_URL_EXTRA,	 /* anything but a path after the authority */
	SM_URL_BAD_PATH	 /* a character outside the path's alphabet */
} SmUrlError;

/*
 * The parts of an endpoint URL, as spans of the parsed string itself (not
 * NUL-terminated, not lower-cased).
 */
typedef struct SmUrlParts
{
	bool		https;
	const char *host; /* host name, or IPv6 literal with its brackets */
	size_t		host_len;
	bool		has_port;
	long		port;	  /* 1..65535 when has_port */
	const char *path;	  /* the path prefix, trailing '/' cut off */
	size_t		path_len; /* 0: no prefix */
} SmUrlParts;

extern char		  *sm_trim_space(char *s);
extern SmUrlError  sm_parse_url(const char *url, SmUrlParts *out);
extern const char *sm_url_error_text(SmUrlError err);
extern bool		   sm_parse_iso8601(const char *s, int64_t *unix_seconds);
extern int		   sm_days_in_month(int y, int mo);
extern bool		   sm_host_is_loopback(const char *host);
extern bool sm_xml_element(const char *xml, const char *tag, const char **text,
						   size_t *len);
extern size_t sm_xml_unescape(const char *src, size_t len, char *dst);
extern void	  sm_ini_parse_line(char *line, SmIniLine *out);
extern bool	  sm_ini_header_matches(const char *header, const char *want,
									bool credentials_file, bool want_raw);

#endif /* SM_PARSE_UTIL_H */
