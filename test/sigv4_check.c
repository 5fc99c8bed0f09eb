/*-------------------------------------------------------------------------
 *
 * sigv4_check.c
 *	  Standalone test program for src/sigv4.c.
 *
 * Usage: sigv4_check [--no-builtin] [DIR ...]
 *
 * Every DIR is a folder of case folders in the layout of the aws-c-auth
 * SigV4 test suite (context.json, request.txt, header-canonical-request.txt,
 * header-string-to-sign.txt, header-signature.txt).  Each case is signed with
 * sigv4_sign() and the canonical request, string to sign and signature are
 * compared byte for byte with the expected files.  Query-signing files
 * (query-*.txt) are ignored: the signer only does header signing.
 *
 * Unless --no-builtin is given, a few built-in checks run first: the
 * GetSegmentMembership golden example of aws-notes 3.5 (with and without a
 * session token), the signing-key cache, input validation, URI encoding and
 * some canonicalisation corner cases.
 *
 * The last line printed is "N passed, M failed"; the exit status is 1 when
 * M > 0 or N == 0.
 *
 *-------------------------------------------------------------------------
 */
#include "sigv4.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ----------------------------------------------------------------------
 * Generic helpers
 * ----------------------------------------------------------------------
 */

static int n_passed = 0;
static int n_failed = 0;

/*
 * xmalloc
 *		malloc that exits the program when out of memory.
 */
static void *
xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);

	if (p == NULL)
	{
		fprintf(stderr, "sigv4_check: out of memory\n");
		exit(2);
	}
	return p;
}

/*
 * xstrndup
 *		Copy n bytes of s into a new NUL-terminated string.
 */
static char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/*
 * path_join
 *		Return a new string "dir/name".
 */
static char *
path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	size_t nl = strlen(name);
	char  *p = xmalloc(dl + nl + 2);

	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	return p;
}

/*
 * read_file
 *		Read a whole file into a new NUL-terminated buffer, its length into
 *		*len.  Returns NULL if the file cannot be read.
 */
static char *
read_file(const char *path, size_t *len)
{
	FILE  *f = fopen(path, "rb");
	char  *buf;
	size_t cap = 4096;
	size_t n = 0;

	if (f == NULL)
		return NULL;
	buf = xmalloc(cap);
	for (;;)
	{
		size_t got;

		if (cap - n < 2)
		{
			char *nb = xmalloc(cap * 2);

			memcpy(nb, buf, n);
			free(buf);
			buf = nb;
			cap *= 2;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
	{
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/*
 * report_mismatch
 *		Print an expected/actual pair for a failed comparison.
 */
static void
report_mismatch(const char *casename, const char *what, const char *expected,
				const char *actual)
{
	printf("FAIL %s: %s differs\n--- expected:\n%s\n--- got:\n%s\n---\n",
		   casename, what, expected ? expected : "(none)",
		   actual ? actual : "(none)");
}

/*
 * record
 *		Count one case as passed or failed.
 */
static void
record(bool ok)
{
	if (ok)
		n_passed++;
	else
		n_failed++;
}

/*
 * days_from_civil
 *		Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
 */
static long long
days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned  yoe;
	unsigned  doy;
	unsigned  doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned) (y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long) doe - 719468;
}

/*
 * parse_iso_timestamp
 *		Parse "YYYY-MM-DDTHH:MM:SSZ" into seconds since the epoch.  Returns
 *		false if the text does not have that form.
 */
static bool
parse_iso_timestamp(const char *s, time_t *out)
{
	int	 y, mo, d, h, mi, se;
	char z;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se,
			   &z) != 7 ||
		z != 'Z' || strlen(s) != 20 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
		h > 23 || mi > 59 || se > 60)
		return false;
	*out = (time_t) (days_from_civil(y, (unsigned) mo, (unsigned) d) * 86400 +
					 h * 3600 + mi * 60 + se);
	return true;
}

/* ----------------------------------------------------------------------
 * Minimal JSON reader (objects, arrays, strings, numbers, booleans, null)
 * ----------------------------------------------------------------------
 */

typedef enum JsonType
{
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_OBJECT,
	JSON_ARRAY
} JsonType;

typedef struct JsonValue
{
	JsonType		   type;
	bool			   boolean;
	double			   number;
	char			  *string;
	int				   count; /* members of an object / array */
	char			 **keys;  /* object member names (NULL for arrays) */
	struct JsonValue **items; /* member values */
} JsonValue;

typedef struct JsonParser
{
	const char *p;
	const char *end;
	const char *error;
} JsonParser;

static JsonValue *json_parse_value(JsonParser *jp, int depth);

/*
 * json_free
 *		Release a parsed value and everything below it.
 */
static void
json_free(JsonValue *v)
{
	int i;

	if (v == NULL)
		return;
	for (i = 0; i < v->count; i++)
	{
		if (v->keys != NULL)
			free(v->keys[i]);
		json_free(v->items[i]);
	}
	free(v->keys);
	free(v->items);
	free(v->string);
	free(v);
}

/*
 * json_skip_ws
 *		Advance past JSON whitespace.
 */
static void
json_skip_ws(JsonParser *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' ||
							   *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

/*
 * json_put_utf8
 *		Append code point cp as UTF-8 to buf at *o.
 */
static void
json_put_utf8(char *buf, size_t *o, unsigned long cp)
{
	if (cp < 0x80)
		buf[(*o)++] = (char) cp;
	else if (cp < 0x800)
	{
		buf[(*o)++] = (char) (0xC0 | (cp >> 6));
		buf[(*o)++] = (char) (0x80 | (cp & 0x3F));
	}
	else if (cp < 0x10000)
	{
		buf[(*o)++] = (char) (0xE0 | (cp >> 12));
		buf[(*o)++] = (char) (0x80 | ((cp >> 6) & 0x3F));
		buf[(*o)++] = (char) (0x80 | (cp & 0x3F));
	}
	else
	{
		buf[(*o)++] = (char) (0xF0 | (cp >> 18));
		buf[(*o)++] = (char) (0x80 | ((cp >> 12) & 0x3F));
		buf[(*o)++] = (char) (0x80 | ((cp >> 6) & 0x3F));
		buf[(*o)++] = (char) (0x80 | (cp & 0x3F));
	}
}

/*
 * json_parse_hex4
 *		Parse four hex digits at jp->p.  Returns -1 on error.
 */
static long
json_parse_hex4(JsonParser *jp)
{
	long v = 0;
	int	 i;

	if (jp->end - jp->p < 4)
		return -1;
	for (i = 0; i < 4; i++)
	{
		char c = jp->p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	jp->p += 4;
	return v;
}

/*
 * json_parse_string
 *		Parse a JSON string at jp->p (which is at the opening quote) into a
 *		new NUL-terminated UTF-8 string.  Returns NULL on error.
 */
static char *
json_parse_string(JsonParser *jp)
{
	/* the decoded text is never longer than the encoded one */
	char  *buf = xmalloc((size_t) (jp->end - jp->p) + 1);
	size_t o = 0;

	jp->p++;
	while (jp->p < jp->end && *jp->p != '"')
	{
		unsigned char c = (unsigned char) *jp->p++;

		if (c < 0x20)
			goto bad;
		if (c != '\\')
		{
			buf[o++] = (char) c;
			continue;
		}
		if (jp->p >= jp->end)
			goto bad;
		c = (unsigned char) *jp->p++;
		switch (c)
		{
			case '"':
			case '\\':
			case '/':
				buf[o++] = (char) c;
				break;
			case 'b':
				buf[o++] = '\b';
				break;
			case 'f':
				buf[o++] = '\f';
				break;
			case 'n':
				buf[o++] = '\n';
				break;
			case 'r':
				buf[o++] = '\r';
				break;
			case 't':
				buf[o++] = '\t';
				break;
			case 'u':
			{
				long cp = json_parse_hex4(jp);

				if (cp < 0)
					goto bad;
				if (cp >= 0xD800 && cp <= 0xDBFF)
				{
					long lo;

					if (jp->end - jp->p < 2 || jp->p[0] != '\\' ||
						jp->p[1] != 'u')
						goto bad;
					jp->p += 2;
					lo = json_parse_hex4(jp);
					if (lo < 0xDC00 || lo > 0xDFFF)
						goto bad;
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				}
				else if (cp >= 0xDC00 && cp <= 0xDFFF)
					goto bad;
				json_put_utf8(buf, &o, (unsigned long) cp);
				break;
			}
			default:
				goto bad;
		}
	}
	if (jp->p >= jp->end)
		goto bad;
	jp->p++;
	buf[o] = '\0';
	return buf;

bad:
	free(buf);
	jp->error = "bad string";
	return NULL;
}

/*
 * json_parse_container
 *		Parse an object (is_object) or array at jp->p (at '{' or '[') into v.
 *		Returns false on error.
 */
static bool
json_parse_container(JsonParser *jp, JsonValue *v, bool is_object, int depth)
{
	char close = is_object ? '}' : ']';
	int	 cap = 0;

	jp->p++;
	json_skip_ws(jp);
	if (jp->p < jp->end && *jp->p == close)
	{
		jp->p++;
		return true;
	}
	for (;;)
	{
		char	  *key = NULL;
		JsonValue *item;

		json_skip_ws(jp);
		if (is_object)
		{
			if (jp->p >= jp->end || *jp->p != '"')
			{
				jp->error = "expected a member name";
				return false;
			}
			key = json_parse_string(jp);
			if (key == NULL)
				return false;
			json_skip_ws(jp);
			if (jp->p >= jp->end || *jp->p != ':')
			{
				free(key);
				jp->error = "expected ':'";
				return false;
			}
			jp->p++;
		}
		item = json_parse_value(jp, depth + 1);
		if (item == NULL)
		{
			free(key);
			return false;
		}
		if (v->count == cap)
		{
			int			newcap = cap == 0 ? 8 : cap * 2;
			JsonValue **ni = xmalloc(sizeof(JsonValue *) * (size_t) newcap);
			char	  **nk = xmalloc(sizeof(char *) * (size_t) newcap);

			if (v->count > 0)
			{
				memcpy(ni, v->items, sizeof(JsonValue *) * (size_t) v->count);
				memcpy(nk, v->keys, sizeof(char *) * (size_t) v->count);
			}
			free(v->items);
			free(v->keys);
			v->items = ni;
			v->keys = nk;
			cap = newcap;
		}
		v->keys[v->count] = key;
		v->items[v->count] = item;
		v->count++;

		json_skip_ws(jp);
		if (jp->p < jp->end && *jp->p == ',')
		{
			jp->p++;
			continue;
		}
		if (jp->p < jp->end && *jp->p == close)
		{
			jp->p++;
			return true;
		}
		jp->error = "expected ',' or the end of a container";
		return false;
	}
}

/*
 * json_parse_value
 *		Parse any JSON value at jp->p.  Returns NULL (with jp->error set) on
 *		error.
 */
static JsonValue *
json_parse_value(JsonParser *jp, int depth)
{
	JsonValue *v;

	if (depth > 64)
	{
		jp->error = "nested too deeply";
		return NULL;
	}
	json_skip_ws(jp);
	if (jp->p >= jp->end)
	{
		jp->error = "unexpected end of input";
		return NULL;
	}
	v = xmalloc(sizeof(JsonValue));
	memset(v, 0, sizeof(JsonValue));

	if (*jp->p == '{' || *jp->p == '[')
	{
		v->type = *jp->p == '{' ? JSON_OBJECT : JSON_ARRAY;
		if (!json_parse_container(jp, v, v->type == JSON_OBJECT, depth))
			goto bad;
	}
	else if (*jp->p == '"')
	{
		v->type = JSON_STRING;
		v->string = json_parse_string(jp);
		if (v->string == NULL)
			goto bad;
	}
	else if (jp->end - jp->p >= 4 && memcmp(jp->p, "true", 4) == 0)
	{
		v->type = JSON_BOOL;
		v->boolean = true;
		jp->p += 4;
	}
	else if (jp->end - jp->p >= 5 && memcmp(jp->p, "false", 5) == 0)
	{
		v->type = JSON_BOOL;
		jp->p += 5;
	}
	else if (jp->end - jp->p >= 4 && memcmp(jp->p, "null", 4) == 0)
	{
		v->type = JSON_NULL;
		jp->p += 4;
	}
	else if (*jp->p == '-' || (*jp->p >= '0' && *jp->p <= '9'))
	{
		const char *start = jp->p;
		char	   *tmp;
		char	   *endp;

		while (jp->p < jp->end && strchr("+-.eE0123456789", *jp->p) != NULL)
			jp->p++;
		tmp = xstrndup(start, (size_t) (jp->p - start));
		v->type = JSON_NUMBER;
		v->number = strtod(tmp, &endp);
		if (*endp != '\0')
		{
			free(tmp);
			jp->error = "bad number";
			goto bad;
		}
		free(tmp);
	}
	else
	{
		jp->error = "unexpected character";
		goto bad;
	}
	return v;

bad:
	json_free(v);
	return NULL;
}

/*
 * json_parse
 *		Parse a complete JSON text.  Returns NULL and sets *error on error.
 */
static JsonValue *
json_parse(const char *text, size_t len, const char **error)
{
	JsonParser jp;
	JsonValue *v;

	jp.p = text;
	jp.end = text + len;
	jp.error = NULL;
	v = json_parse_value(&jp, 0);
	if (v != NULL)
	{
		json_skip_ws(&jp);
		if (jp.p != jp.end)
		{
			json_free(v);
			v = NULL;
			jp.error = "trailing garbage";
		}
	}
	*error = jp.error;
	return v;
}

/*
 * json_get
 *		Member "key" of object v, or NULL.
 */
static const JsonValue *
json_get(const JsonValue *v, const char *key)
{
	int i;

	if (v == NULL || v->type != JSON_OBJECT)
		return NULL;
	for (i = 0; i < v->count; i++)
	{
		if (strcmp(v->keys[i], key) == 0)
			return v->items[i];
	}
	return NULL;
}

/*
 * json_get_string
 *		String member "key" of object v, or NULL if absent or not a string.
 */
static const char *
json_get_string(const JsonValue *v, const char *key)
{
	const JsonValue *m = json_get(v, key);

	return (m != NULL && m->type == JSON_STRING) ? m->string : NULL;
}

/*
 * json_get_bool
 *		Boolean member "key" of object v, or dflt if absent.
 */
static bool
json_get_bool(const JsonValue *v, const char *key, bool dflt)
{
	const JsonValue *m = json_get(v, key);

	return (m != NULL && m->type == JSON_BOOL) ? m->boolean : dflt;
}

/* ----------------------------------------------------------------------
 * request.txt parser
 * ----------------------------------------------------------------------
 */

typedef struct ParsedRequest
{
	char		*method;
	char		*path;
	char		*query; /* NULL when the target has no '?' */
	SigV4Header *headers;
	int			 nheaders;
	char		*body;
	size_t		 body_len;
} ParsedRequest;

/*
 * free_request
 *		Release everything parse_request allocated.
 */
static void
free_request(ParsedRequest *r)
{
	int i;

	for (i = 0; i < r->nheaders; i++)
	{
		free((char *) r->headers[i].name);
		free((char *) r->headers[i].value);
	}
	free(r->headers);
	free(r->method);
	free(r->path);
	free(r->query);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/*
 * parse_request
 *		Parse request.txt: "METHOD TARGET HTTP/1.1", then "Name:value" lines
 *		(a line starting with SP/HT continues the previous value and is
 *		joined to it with a space), an empty line, and the body (the rest of
 *		the file, verbatim).  Returns false with *error set on bad input.
 */
static bool
parse_request(const char *text, size_t len, ParsedRequest *r,
			  const char **error)
{
	const char *p = text;
	const char *end = text + len;
	const char *eol;
	const char *sp;
	const char *target_end;
	const char *q;
	const char *t;
	size_t		line_len;
	int			cap = 0;

	memset(r, 0, sizeof(*r));

	/* request line */
	eol = memchr(p, '\n', (size_t) (end - p));
	if (eol == NULL)
		eol = end;
	line_len = (size_t) (eol - p);
	if (line_len > 0 && p[line_len - 1] == '\r')
		line_len--;
	sp = memchr(p, ' ', line_len);
	if (sp == NULL)
	{
		*error = "request line has no space";
		return false;
	}
	r->method = xstrndup(p, (size_t) (sp - p));
	/* the target runs up to the last " HTTP/" */
	target_end = p + line_len;
	for (t = sp + 1; t + 6 <= p + line_len; t++)
	{
		if (memcmp(t, " HTTP/", 6) == 0)
			target_end = t;
	}
	q = memchr(sp + 1, '?', (size_t) (target_end - (sp + 1)));
	if (q != NULL)
	{
		r->path = xstrndup(sp + 1, (size_t) (q - (sp + 1)));
		r->query = xstrndup(q + 1, (size_t) (target_end - (q + 1)));
	}
	else
		r->path = xstrndup(sp + 1, (size_t) (target_end - (sp + 1)));
	p = eol < end ? eol + 1 : end;

	/* header lines, up to an empty line or the end of the file */
	while (p < end)
	{
		const char *colon;

		eol = memchr(p, '\n', (size_t) (end - p));
		if (eol == NULL)
			eol = end;
		line_len = (size_t) (eol - p);
		if (line_len > 0 && p[line_len - 1] == '\r')
			line_len--;
		if (line_len == 0)
		{
			p = eol < end ? eol + 1 : end;
			break;
		}
		if (*p == ' ' || *p == '\t')
		{
			char  *old;
			size_t ol;

			if (r->nheaders == 0)
			{
				*error = "continuation line before any header";
				return false;
			}
			old = (char *) r->headers[r->nheaders - 1].value;
			ol = strlen(old);
			r->headers[r->nheaders - 1].value = xmalloc(ol + 1 + line_len + 1);
			memcpy((char *) r->headers[r->nheaders - 1].value, old, ol);
			((char *) r->headers[r->nheaders - 1].value)[ol] = ' ';
			memcpy((char *) r->headers[r->nheaders - 1].value + ol + 1, p,
				   line_len);
			((char *) r->headers[r->nheaders - 1].value)[ol + 1 + line_len] =
				'\0';
			free(old);
		}
		else
		{
			colon = memchr(p, ':', line_len);
			if (colon == NULL)
			{
				*error = "header line without ':'";
				return false;
			}
			if (r->nheaders == cap)
			{
				int			 newcap = cap == 0 ? 8 : cap * 2;
				SigV4Header *nh =
					xmalloc(sizeof(SigV4Header) * (size_t) newcap);

				if (r->nheaders > 0)
					memcpy(nh, r->headers,
						   sizeof(SigV4Header) * (size_t) r->nheaders);
				free(r->headers);
				r->headers = nh;
				cap = newcap;
			}
			r->headers[r->nheaders].name = xstrndup(p, (size_t) (colon - p));
			r->headers[r->nheaders].value =
				xstrndup(colon + 1, line_len - (size_t) (colon + 1 - p));
			r->nheaders++;
		}
		p = eol < end ? eol + 1 : end;
	}

	r->body_len = (size_t) (end - p);
	r->body = xstrndup(p, r->body_len);
	return true;
}

/* ----------------------------------------------------------------------
 * Suite cases
 * ----------------------------------------------------------------------
 */

/*
 * compare_file
 *		Compare actual with the contents of dir/file; report a mismatch.
 *		Returns true when they are equal.
 */
static bool
compare_file(const char *casename, const char *dir, const char *file,
			 const char *actual)
{
	char  *path = path_join(dir, file);
	size_t len;
	char  *expected = read_file(path, &len);
	bool   ok;

	if (expected == NULL)
	{
		printf("FAIL %s: cannot read %s\n", casename, path);
		free(path);
		return false;
	}
	ok = actual != NULL && strlen(actual) == len &&
		 memcmp(expected, actual, len) == 0;
	if (!ok)
		report_mismatch(casename, file, expected, actual);
	free(expected);
	free(path);
	return ok;
}

/*
 * run_case
 *		Sign one case folder and compare with its expected header-* files.
 *		Returns true when the case passes.
 */
static bool
run_case(const char *casedir, const char *casename)
{
	char			*ctx_path = path_join(casedir, "context.json");
	char			*req_path = path_join(casedir, "request.txt");
	char			*ctx_text = NULL;
	char			*req_text = NULL;
	size_t			 ctx_len;
	size_t			 req_len;
	JsonValue		*ctx = NULL;
	const JsonValue *jcreds;
	const char		*error = NULL;
	const char		*ts;
	ParsedRequest	 pr;
	SigV4Request	 req;
	SigV4Credentials creds;
	SigV4Result		 res;
	bool			 ok = false;
	int				 rc;

	memset(&pr, 0, sizeof(pr));
	memset(&res, 0, sizeof(res));
	ctx_text = read_file(ctx_path, &ctx_len);
	req_text = read_file(req_path, &req_len);
	if (ctx_text == NULL || req_text == NULL)
	{
		printf("FAIL %s: cannot read context.json or request.txt\n", casename);
		goto done;
	}
	ctx = json_parse(ctx_text, ctx_len, &error);
	if (ctx == NULL || ctx->type != JSON_OBJECT)
	{
		printf("FAIL %s: context.json: %s\n", casename,
			   error ? error : "not an object");
		goto done;
	}
	if (!parse_request(req_text, req_len, &pr, &error))
	{
		printf("FAIL %s: request.txt: %s\n", casename, error);
		goto done;
	}

	memset(&req, 0, sizeof(req));
	memset(&creds, 0, sizeof(creds));
	jcreds = json_get(ctx, "credentials");
	creds.access_key_id = json_get_string(jcreds, "access_key_id");
	creds.secret_access_key = json_get_string(jcreds, "secret_access_key");
	creds.session_token = json_get_string(jcreds, "token");
	req.method = pr.method;
	req.path = pr.path;
	req.query = pr.query;
	req.headers = pr.headers;
	req.nheaders = pr.nheaders;
	req.body = pr.body;
	req.body_len = pr.body_len;
	req.region = json_get_string(ctx, "region");
	req.service = json_get_string(ctx, "service");
	req.normalize_path = json_get_bool(ctx, "normalize", true);
	req.sign_body = json_get_bool(ctx, "sign_body", false);
	req.omit_session_token = json_get_bool(ctx, "omit_session_token", false);
	ts = json_get_string(ctx, "timestamp");
	if (ts == NULL || !parse_iso_timestamp(ts, &req.timestamp))
	{
		printf("FAIL %s: context.json: bad or missing timestamp\n", casename);
		goto done;
	}

	rc = sigv4_sign(&req, &creds, NULL, true, &res);
	if (rc != 0)
	{
		printf("FAIL %s: sigv4_sign returned %d (%s)\n", casename, rc,
			   strerror(rc));
		goto done;
	}
	ok = true;
	if (!compare_file(casename, casedir, "header-canonical-request.txt",
					  res.canonical_request))
		ok = false;
	if (!compare_file(casename, casedir, "header-string-to-sign.txt",
					  res.string_to_sign))
		ok = false;
	if (!compare_file(casename, casedir, "header-signature.txt",
					  res.signature))
		ok = false;

done:
	sigv4_result_free(&res);
	free_request(&pr);
	json_free(ctx);
	free(ctx_text);
	free(req_text);
	free(ctx_path);
	free(req_path);
	return ok;
}

/*
 * cmp_names
 *		qsort comparator for an array of strings.
 */
static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * run_dir
 *		Run every case folder (a subfolder holding context.json) of dir, in
 *		name order.  An unreadable dir counts as one failure.
 */
static void
run_dir(const char *dir)
{
	DIR			  *d = opendir(dir);
	struct dirent *de;
	char		 **names = NULL;
	int			   n = 0;
	int			   cap = 0;
	int			   i;

	if (d == NULL)
	{
		printf("FAIL %s: cannot open: %s\n", dir, strerror(errno));
		record(false);
		return;
	}
	while ((de = readdir(d)) != NULL)
	{
		char	   *casedir;
		char	   *ctx;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		casedir = path_join(dir, de->d_name);
		ctx = path_join(casedir, "context.json");
		if (stat(ctx, &st) == 0 && S_ISREG(st.st_mode))
		{
			if (n == cap)
			{
				int	   newcap = cap == 0 ? 64 : cap * 2;
				char **nn = xmalloc(sizeof(char *) * (size_t) newcap);

				if (n > 0)
					memcpy(nn, names, sizeof(char *) * (size_t) n);
				free(names);
				names = nn;
				cap = newcap;
			}
			names[n++] = xstrndup(de->d_name, strlen(de->d_name));
		}
		free(ctx);
		free(casedir);
	}
	closedir(d);

	if (n > 1)
		qsort(names, (size_t) n, sizeof(char *), cmp_names);
	for (i = 0; i < n; i++)
	{
		char *casedir = path_join(dir, names[i]);

		record(run_case(casedir, names[i]));
		free(casedir);
		free(names[i]);
	}
	free(names);
}

/* ----------------------------------------------------------------------
 * Built-in checks
 * ----------------------------------------------------------------------
 */

#define GOLDEN_AKID	  "AKIDEXAMPLE"
#define GOLDEN_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define GOLDEN_BODY                                                           \
	"{\"ProfileIds\":[\"0123456789abcdef0123456789abcdef\","                  \
	"\"ffffffffffffffffffffffffffffffff\"]}"
/* 2024-01-15T12:00:00Z */
#define GOLDEN_TIME ((time_t) 1705320000)

static const SigV4Header golden_headers[] = {
	{"Content-Type", "application/json"},
	{"Host", "profile.us-east-1.amazonaws.com"},
};

/*
 * golden_request
 *		Fill *req with the GetSegmentMembership example of aws-notes 3.5.
 */
static void
golden_request(SigV4Request *req)
{
	memset(req, 0, sizeof(*req));
	req->method = "POST";
	req->path = "/domains/my-domain/segments/high_value/membership";
	req->query = NULL;
	req->headers = golden_headers;
	req->nheaders = 2;
	req->body = GOLDEN_BODY;
	req->body_len = strlen(GOLDEN_BODY);
	req->region = "us-east-1";
	req->service = "profile";
	req->timestamp = GOLDEN_TIME;
	req->normalize_path = true;
}

/*
 * check_str
 *		Compare two strings; report a mismatch under casename/what.
 */
static bool
check_str(const char *casename, const char *what, const char *expected,
		  const char *actual)
{
	if (actual != NULL && strcmp(expected, actual) == 0)
		return true;
	report_mismatch(casename, what, expected, actual);
	return false;
}

/*
 * check_golden
 *		The GetSegmentMembership golden example, without (token == NULL) or
 *		with a session token.
 */
static void
check_golden(const char *token)
{
	const char	*name = token ? "builtin/golden-with-token" : "builtin/golden";
	SigV4Request req;
	SigV4Credentials creds = {GOLDEN_AKID, GOLDEN_SECRET, token};
	SigV4Result		 res;
	bool			 ok = true;
	int				 rc;

	golden_request(&req);
	rc = sigv4_sign(&req, &creds, NULL, true, &res);
	if (rc != 0)
	{
		printf("FAIL %s: sigv4_sign returned %d\n", name, rc);
		record(false);
		return;
	}
	if (token == NULL)
	{
		ok &= check_str(
			name, "canonical request",
			"POST\n"
			"/domains/my-domain/segments/high_value/membership\n"
			"\n"
			"content-type:application/json\n"
			"host:profile.us-east-1.amazonaws.com\n"
			"x-amz-date:20240115T120000Z\n"
			"\n"
			"content-type;host;x-amz-date\n"
			"19558ed51dcf71ba894c1b188840dff882de4dd4409700950b6f0980072b1888",
			res.canonical_request);
		ok &= check_str(
			name, "string to sign",
			"AWS4-HMAC-SHA256\n"
			"20240115T120000Z\n"
			"20240115/us-east-1/profile/aws4_request\n"
			"81c7f565797f83e1a05a05b9f950d4f47c9853e1df3a5089b410efa4066e60c8",
			res.string_to_sign);
		ok &= check_str(
			name, "signature",
			"9df7077a14c8a4c72a11f1ffd672004693a9b3947beb6e63e30a7b341f0ee90e",
			res.signature);
		ok &= check_str(
			name, "authorization",
			"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-east-1/"
			"profile/aws4_request, SignedHeaders=content-type;host;"
			"x-amz-date, Signature=9df7077a14c8a4c72a11f1ffd672004693a9b3947b"
			"eb6e63e30a7b341f0ee90e",
			res.authorization);
	}
	else
	{
		ok &= check_str(
			name, "signature",
			"6612a25f2dbb53a39198521317d4af5f2875830a342d29ac16e2833e40c38473",
			res.signature);
		ok &= check_str(
			name, "authorization",
			"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-east-1/"
			"profile/aws4_request, SignedHeaders=content-type;host;"
			"x-amz-date;x-amz-security-token, Signature=6612a25f2dbb53a391985"
			"21317d4af5f2875830a342d29ac16e2833e40c38473",
			res.authorization);
	}
	ok &= check_str(name, "amz_date", "20240115T120000Z", res.amz_date);
	ok &= check_str(
		name, "payload_hash",
		"19558ed51dcf71ba894c1b188840dff882de4dd4409700950b6f0980072b1888",
		res.payload_hash);
	sigv4_result_free(&res);
	record(ok);
}

/*
 * contains_bytes
 *		True if needle (nlen bytes) occurs in hay (hlen bytes).
 */
static bool
contains_bytes(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
	const unsigned char *h = hay;
	size_t				 i;

	if (nlen == 0 || nlen > hlen)
		return false;
	for (i = 0; i + nlen <= hlen; i++)
	{
		if (memcmp(h + i, needle, nlen) == 0)
			return true;
	}
	return false;
}

/*
 * check_key_cache
 *		1000 signatures with the same credentials/date/region/service derive
 *		the key once; a new date or region re-derives; results equal those
 *		without a cache; the cache never holds the secret; clear wipes it.
 */
static void
check_key_cache(void)
{
	const char			*name = "builtin/key-cache";
	SigV4KeyCache		 cache;
	SigV4Request		 req;
	SigV4Credentials	 creds = {GOLDEN_AKID, GOLDEN_SECRET, NULL};
	SigV4Credentials	 creds2 = {GOLDEN_AKID, "another-secret", NULL};
	SigV4Result			 res;
	SigV4Result			 ref;
	bool				 ok = true;
	unsigned long		 d;
	int					 i;
	size_t				 j;
	const unsigned char *raw;

	sigv4_key_cache_init(&cache);
	golden_request(&req);
	for (i = 0; i < 1000; i++)
	{
		req.timestamp = GOLDEN_TIME + i; /* same day, different seconds */
		if (sigv4_sign(&req, &creds, &cache, false, &res) != 0 ||
			sigv4_sign(&req, &creds, NULL, false, &ref) != 0)
		{
			printf("FAIL %s: sigv4_sign failed\n", name);
			ok = false;
			break;
		}
		if (strcmp(res.signature, ref.signature) != 0 ||
			res.canonical_request != NULL)
		{
			printf("FAIL %s: cached signature differs at %d\n", name, i);
			ok = false;
		}
		sigv4_result_free(&res);
		sigv4_result_free(&ref);
		if (!ok)
			break;
	}
	if (ok && (d = sigv4_key_cache_derivations(&cache)) != 1)
	{
		printf("FAIL %s: %lu derivations for 1000 signatures\n", name, d);
		ok = false;
	}

	/* next day: re-derive once */
	req.timestamp = GOLDEN_TIME + 86400;
	for (i = 0; ok && i < 3; i++)
	{
		if (sigv4_sign(&req, &creds, &cache, false, &res) != 0)
			ok = false;
		sigv4_result_free(&res);
	}
	if (ok && (d = sigv4_key_cache_derivations(&cache)) != 2)
	{
		printf("FAIL %s: %lu derivations after a date change\n", name, d);
		ok = false;
	}

	/* another region: re-derive once */
	req.region = "eu-west-1";
	for (i = 0; ok && i < 3; i++)
	{
		if (sigv4_sign(&req, &creds, &cache, false, &res) != 0)
			ok = false;
		sigv4_result_free(&res);
	}
	if (ok && (d = sigv4_key_cache_derivations(&cache)) != 3)
	{
		printf("FAIL %s: %lu derivations after a region change\n", name, d);
		ok = false;
	}

	/* other credentials: re-derive; back to the first ones: cached */
	if (ok && (sigv4_sign(&req, &creds2, &cache, false, &res) != 0 ||
			   sigv4_key_cache_derivations(&cache) != 4))
	{
		printf("FAIL %s: a new secret did not re-derive\n", name);
		ok = false;
	}
	sigv4_result_free(&res);
	req.region = "us-east-1";
	req.timestamp = GOLDEN_TIME;
	if (ok && (sigv4_sign(&req, &creds, &cache, false, &res) != 0 ||
			   sigv4_key_cache_derivations(&cache) != 4 ||
			   strcmp(res.signature, "9df7077a14c8a4c72a11f1ffd672004693a9b394"
									 "7beb6e63e30a7b341f0ee90e") != 0))
	{
		printf("FAIL %s: the first key was not kept\n", name);
		ok = false;
	}
	sigv4_result_free(&res);

	/* LRU: fill the cache with other regions, the oldest entry goes */
	if (ok)
	{
		static const char *const regions[] = {
			"r-0", "r-1", "r-2", "r-3", "r-4", "r-5", "r-6", "r-7", "r-8"};
		unsigned long before = sigv4_key_cache_derivations(&cache);

		for (j = 0; j < sizeof(regions) / sizeof(regions[0]); j++)
		{
			req.region = regions[j];
			if (sigv4_sign(&req, &creds, &cache, false, &res) != 0)
				ok = false;
			sigv4_result_free(&res);
		}
		/* r-8 is cached, r-0 was evicted */
		req.region = "r-8";
		if (sigv4_sign(&req, &creds, &cache, false, &res) != 0)
			ok = false;
		sigv4_result_free(&res);
		if (sigv4_key_cache_derivations(&cache) != before + 9)
		{
			printf("FAIL %s: LRU hit not taken\n", name);
			ok = false;
		}
		req.region = "r-0";
		if (sigv4_sign(&req, &creds, &cache, false, &res) != 0)
			ok = false;
		sigv4_result_free(&res);
		if (sigv4_key_cache_derivations(&cache) != before + 10)
		{
			printf("FAIL %s: LRU eviction not done\n", name);
			ok = false;
		}
	}

	/* the secret itself is never stored */
	if (contains_bytes(&cache, sizeof(cache), GOLDEN_SECRET,
					   strlen(GOLDEN_SECRET)) ||
		contains_bytes(&cache, sizeof(cache), "another-secret", 14))
	{
		printf("FAIL %s: the cache holds the secret\n", name);
		ok = false;
	}

	sigv4_key_cache_clear(&cache);
	raw = (const unsigned char *) &cache;
	for (j = 0; j < sizeof(cache); j++)
	{
		if (raw[j] != 0)
		{
			printf("FAIL %s: cache not wiped by clear\n", name);
			ok = false;
			break;
		}
	}
	record(ok);
}

/*
 * expect_einval
 *		Sign and expect EINVAL with a zeroed result.  Returns true if so.
 */
static bool
expect_einval(const char *what, const SigV4Request *req,
			  const SigV4Credentials *creds)
{
	SigV4Result				 res;
	static const SigV4Result zero;
	int						 rc;

	memset(&res, 0x5A, sizeof(res));
	rc = sigv4_sign(req, creds, NULL, true, &res);
	if (rc != EINVAL || memcmp(&res, &zero, sizeof(res)) != 0)
	{
		printf("FAIL builtin/invalid-input: %s: got %d, expected EINVAL and "
			   "a zeroed result\n",
			   what, rc);
		if (rc == 0)
			sigv4_result_free(&res);
		return false;
	}
	return true;
}

/*
 * check_invalid_input
 *		Bad input is refused with EINVAL.
 */
static void
check_invalid_input(void)
{
	SigV4Request	 req;
	SigV4Credentials creds = {GOLDEN_AKID, GOLDEN_SECRET, NULL};
	SigV4Credentials bad;
	SigV4Header		 h[3];
	SigV4Result		 res;
	bool			 ok = true;

	golden_request(&req);
	ok &= expect_einval("NULL request", NULL, &creds);
	ok &= expect_einval("NULL credentials", &req, NULL);
	req.method = NULL;
	ok &= expect_einval("NULL method", &req, &creds);
	req.method = "PO ST";
	ok &= expect_einval("method with a space", &req, &creds);
	golden_request(&req);
	req.path = NULL;
	ok &= expect_einval("NULL path", &req, &creds);
	req.path = "/a\r\nX-Evil: 1";
	ok &= expect_einval("CR/LF in path", &req, &creds);
	golden_request(&req);
	req.query = "a=1\n";
	ok &= expect_einval("LF in query", &req, &creds);
	req.query = "a=%zz";
	ok &= expect_einval("bad escape in query", &req, &creds);
	req.query = "a=%4";
	ok &= expect_einval("short escape in query", &req, &creds);
	golden_request(&req);
	req.region = NULL;
	ok &= expect_einval("NULL region", &req, &creds);
	req.region = "us-east-1/x";
	ok &= expect_einval("slash in region", &req, &creds);
	golden_request(&req);
	req.service = "";
	ok &= expect_einval("empty service", &req, &creds);
	golden_request(&req);
	req.body = NULL;
	ok &= expect_einval("NULL body with a length", &req, &creds);
	golden_request(&req);
	req.nheaders = -1;
	ok &= expect_einval("negative nheaders", &req, &creds);
	req.headers = NULL;
	req.nheaders = 1;
	ok &= expect_einval("NULL headers", &req, &creds);
	req.nheaders = 0;
	ok &= expect_einval("no Host header", &req, &creds);

	h[0].name = "Host";
	h[0].value = "example.amazonaws.com";
	req.headers = h;
	req.nheaders = 2;
	h[1].name = "X-Test";
	h[1].value = "a\r\nX-Evil: 1";
	ok &= expect_einval("CR/LF in a header value", &req, &creds);
	h[1].value = "a\nb";
	ok &= expect_einval("LF in a header value", &req, &creds);
	h[1].name = "X-Te\nst";
	h[1].value = "x";
	ok &= expect_einval("LF in a header name", &req, &creds);
	h[1].name = "X Test";
	ok &= expect_einval("space in a header name", &req, &creds);
	h[1].name = "";
	ok &= expect_einval("empty header name", &req, &creds);
	h[1].name = NULL;
	ok &= expect_einval("NULL header name", &req, &creds);
	h[1].name = "X-Test";
	h[1].value = NULL;
	ok &= expect_einval("NULL header value", &req, &creds);
	h[1].value = "v";
	h[1].name = "X-Amz-Date";
	ok &= expect_einval("caller x-amz-date", &req, &creds);
	h[1].name = "authorization";
	ok &= expect_einval("caller authorization", &req, &creds);
	h[1].name = "X-AMZ-SECURITY-TOKEN";
	ok &= expect_einval("caller x-amz-security-token", &req, &creds);
	h[1].name = "x-amz-content-sha256";
	ok &= expect_einval("caller x-amz-content-sha256", &req, &creds);
	h[1].name = "HOST";
	ok &= expect_einval("two Host headers", &req, &creds);
	golden_request(&req);

	bad = creds;
	bad.access_key_id = NULL;
	ok &= expect_einval("NULL access key id", &req, &bad);
	bad.access_key_id = "AKID/X";
	ok &= expect_einval("slash in access key id", &req, &bad);
	bad = creds;
	bad.secret_access_key = NULL;
	ok &= expect_einval("NULL secret", &req, &bad);
	bad = creds;
	bad.session_token = "tok\r\nen";
	ok &= expect_einval("CR/LF in the token", &req, &bad);

	req.timestamp = (time_t) 253402300800LL; /* year 10000 */
	if (sizeof(time_t) >= 8)
		ok &= expect_einval("timestamp after 9999", &req, &creds);
	req.timestamp = (time_t) 253402300799LL; /* 9999-12-31T23:59:59Z */
	if (sizeof(time_t) >= 8)
	{
		if (sigv4_sign(&req, &creds, NULL, false, &res) != 0 ||
			strcmp(res.amz_date, "99991231T235959Z") != 0)
		{
			printf("FAIL builtin/invalid-input: last second of 9999\n");
			ok = false;
		}
		sigv4_result_free(&res);
	}
	req.timestamp = (time_t) 951782400; /* 2000-02-29T00:00:00Z */
	if (sigv4_sign(&req, &creds, NULL, false, &res) != 0 ||
		strcmp(res.amz_date, "20000229T000000Z") != 0)
	{
		printf("FAIL builtin/invalid-input: leap day\n");
		ok = false;
	}
	sigv4_result_free(&res);
	req.timestamp = (time_t) -1; /* 1969-12-31T23:59:59Z */
	if (sigv4_sign(&req, &creds, NULL, false, &res) != 0 ||
		strcmp(res.amz_date, "19691231T235959Z") != 0)
	{
		printf("FAIL builtin/invalid-input: negative timestamp\n");
		ok = false;
	}
	sigv4_result_free(&res);
	sigv4_result_free(&res); /* twice is safe */
	record(ok);
}

/*
 * check_uri_encode
 *		sigv4_uri_encode: encoding, slash handling, truncation, lengths.
 */
static void
check_uri_encode(void)
{
	const char *name = "builtin/uri-encode";
	const char *in = "a b/\xE1\x88\xB4~-_.%+=";
	char		buf[80];
	size_t		n;
	bool		ok = true;

	n = sigv4_uri_encode(in, strlen(in), true, buf, sizeof(buf));
	ok &= check_str(name, "keep slash", "a%20b/%E1%88%B4~-_.%25%2B%3D", buf);
	ok &= (n == strlen(buf));
	n = sigv4_uri_encode(in, strlen(in), false, buf, sizeof(buf));
	ok &=
		check_str(name, "encode slash", "a%20b%2F%E1%88%B4~-_.%25%2B%3D", buf);
	ok &= (n == strlen(buf));
	/* truncation never splits an escape; returns the full length */
	n = sigv4_uri_encode("ab c", 4, false, buf, 4);
	ok &= check_str(name, "truncated", "ab", buf);
	ok &= (n == 6);
	n = sigv4_uri_encode("ab c", 4, false, buf, 6);
	ok &= check_str(name, "truncated 2", "ab%20", buf);
	n = sigv4_uri_encode("ab c", 4, false, buf, 7);
	ok &= check_str(name, "exact", "ab%20c", buf);
	ok &= (sigv4_uri_encode("ab c", 4, false, NULL, 0) == 6);
	ok &= (sigv4_uri_encode("", 0, false, buf, 1) == 0 && buf[0] == '\0');
	/* embedded NUL bytes are encoded, not treated as the end */
	n = sigv4_uri_encode("a\0b", 3, false, buf, sizeof(buf));
	ok &= check_str(name, "NUL byte", "a%00b", buf);
	sigv4_hex_sha256(NULL, 0, buf);
	ok &= check_str(
		name, "empty sha256",
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		buf);
	if (!ok)
		printf("FAIL %s\n", name);
	record(ok);
}

/*
 * canonical_of
 *		Sign a GET of host example.amazonaws.com with the given path, query,
 *		normalisation flag and extra headers; return the canonical request
 *		(malloc'd) or NULL on error.
 */
static char *
canonical_of(const char *path, const char *query, bool normalize,
			 const SigV4Header *extra, int nextra, bool sign_body,
			 const char *token)
{
	SigV4Header		 h[16];
	SigV4Request	 req;
	SigV4Credentials creds = {GOLDEN_AKID, GOLDEN_SECRET, token};
	SigV4Result		 res;
	char			*cr;
	int				 i;

	memset(&req, 0, sizeof(req));
	h[0].name = "host";
	h[0].value = "example.amazonaws.com";
	for (i = 0; i < nextra && i < 15; i++)
		h[i + 1] = extra[i];
	req.method = "GET";
	req.path = path;
	req.query = query;
	req.headers = h;
	req.nheaders = 1 + i;
	req.body = sign_body ? "hello" : NULL;
	req.body_len = sign_body ? 5 : 0;
	req.region = "us-east-1";
	req.service = "service";
	req.timestamp = (time_t) 1440938160; /* 2015-08-30T12:36:00Z */
	req.normalize_path = normalize;
	req.sign_body = sign_body;
	if (sigv4_sign(&req, &creds, NULL, true, &res) != 0)
		return NULL;
	cr = res.canonical_request;
	res.canonical_request = NULL;
	sigv4_result_free(&res);
	return cr;
}

/*
 * check_cr
 *		Compare a canonical request from canonical_of with the expectation.
 */
static bool
check_cr(const char *what, char *actual, const char *expected)
{
	bool ok = check_str("builtin/canonicalisation", what, expected, actual);

	free(actual);
	return ok;
}

#define CR_TAIL                                                               \
	"host:example.amazonaws.com\n"                                            \
	"x-amz-date:20150830T123600Z\n"                                           \
	"\n"                                                                      \
	"host;x-amz-date\n"                                                       \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/*
 * check_canonicalisation
 *		Corner cases of path normalisation, query and header handling that
 *		the official suite does not cover.
 */
static void
check_canonicalisation(void)
{
	static const SigV4Header hop[] = {
		{"Connection", "keep-alive"},  {"User-Agent", "x"},
		{"Expect", "100-continue"},	   {"Transfer-Encoding", "chunked"},
		{"X-Amzn-Trace-Id", "Root=1"}, {"TE", "trailers"},
	};
	static const SigV4Header ws[] = {
		{"X-B", " \t a \t\t b  c\t "},
		{"x-a", ""},
		{"X-b", "   "},
		{"X-B", "d"},
	};
	bool ok = true;

	ok &= check_cr("dot-dot without trailing slash",
				   canonical_of("/a/b/..", NULL, true, NULL, 0, false, NULL),
				   "GET\n/a\n\n" CR_TAIL);
	ok &= check_cr("dot-dot with trailing slash",
				   canonical_of("/a/b/../", NULL, true, NULL, 0, false, NULL),
				   "GET\n/a/\n\n" CR_TAIL);
	ok &= check_cr(
		"dot-dot above the root",
		canonical_of("/../../a//./b/", NULL, true, NULL, 0, false, NULL),
		"GET\n/a/b/\n\n" CR_TAIL);
	ok &= check_cr("empty path",
				   canonical_of("", NULL, true, NULL, 0, false, NULL),
				   "GET\n/\n\n" CR_TAIL);
	ok &= check_cr("empty path unnormalised",
				   canonical_of("", NULL, false, NULL, 0, false, NULL),
				   "GET\n/\n\n" CR_TAIL);
	ok &= check_cr(
		"percent and plus in the path",
		canonical_of("/a%20b/c+d=e@f:g", NULL, true, NULL, 0, false, NULL),
		"GET\n/a%2520b/c%2Bd%3De%40f%3Ag\n\n" CR_TAIL);
	ok &= check_cr(
		"query decode and re-encode",
		canonical_of("/", "b=%e1%88%b4&a=x+y&a=%41&c&d=&e=1=2&&f%20g=h%2Fi/j",
					 true, NULL, 0, false, NULL),
		"GET\n/"
		"\na=A&a=x%2By&b=%E1%88%B4&c=&d=&e=1%3D2&f%20g=h%2Fi%2Fj\n" CR_TAIL);
	ok &= check_cr("query sort by encoded key then value",
				   canonical_of("/", "k=b&K=a&k=a&k-=z&k_=y&k.=x&k~=w", true,
								NULL, 0, false, NULL),
				   "GET\n/\nK=a&k=a&k=b&k-=z&k.=x&k_=y&k~=w\n" CR_TAIL);
	ok &= check_cr("hop-by-hop headers are not signed",
				   canonical_of("/", NULL, true, hop, 6, false, NULL),
				   "GET\n/\n\n" CR_TAIL);
	ok &= check_cr(
		"whitespace and repeated headers",
		canonical_of("/", NULL, true, ws, 4, false, NULL),
		"GET\n/\n\n"
		"host:example.amazonaws.com\n"
		"x-a:\n"
		"x-amz-date:20150830T123600Z\n"
		"x-b:a b c,,d\n"
		"\n"
		"host;x-a;x-amz-date;x-b\n"
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	ok &= check_cr(
		"sign_body and token",
		canonical_of("/", NULL, true, NULL, 0, true, " tok "),
		"GET\n/\n\n"
		"host:example.amazonaws.com\n"
		"x-amz-content-sha256:"
		"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n"
		"x-amz-date:20150830T123600Z\n"
		"x-amz-security-token:tok\n"
		"\n"
		"host;x-amz-content-sha256;x-amz-date;x-amz-security-token\n"
		"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
	record(ok);
}

/*
 * run_builtins
 *		All built-in checks.
 */
static void
run_builtins(void)
{
	check_golden(NULL);
	check_golden("TOKEN123");
	check_key_cache();
	check_invalid_input();
	check_uri_encode();
	check_canonicalisation();
}

/*
 * main
 *		sigv4_check [--no-builtin] [DIR ...]
 */
int
main(int argc, char **argv)
{
	bool builtin = true;
	int	 i;

	for (i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--no-builtin") == 0)
			builtin = false;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
		{
			printf("usage: %s [--no-builtin] [DIR ...]\n", argv[0]);
			return 0;
		}
	}
	if (builtin)
		run_builtins();
	for (i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--no-builtin") != 0)
			run_dir(argv[i]);
	}
	printf("%d passed, %d failed\n", n_passed, n_failed);
	return (n_failed > 0 || n_passed == 0) ? 1 : 0;
}
