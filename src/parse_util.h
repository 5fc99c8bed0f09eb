/*-------------------------------------------------------------------------
 *
 * parse_util.h
 *		Pure parsers of the credential chain's inputs (ISO 8601 times, STS
 *		XML elements, lines of the AWS INI files): plain C, no PostgreSQL
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

extern char *sm_trim_space(char *s);
extern bool	 sm_parse_iso8601(const char *s, int64_t *unix_seconds);
extern int	 sm_days_in_month(int y, int mo);
extern bool	 sm_host_is_loopback(const char *host);
extern bool sm_xml_element(const char *xml, const char *tag, const char **text,
						   size_t *len);
extern size_t sm_xml_unescape(const char *src, size_t len, char *dst);
extern void	  sm_ini_parse_line(char *line, SmIniLine *out);
extern bool	  sm_ini_header_matches(const char *header, const char *want,
									bool credentials_file, bool want_raw);

#endif /* SM_PARSE_UTIL_H */
