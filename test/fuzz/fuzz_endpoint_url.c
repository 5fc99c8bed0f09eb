/*
 * fuzz_endpoint_url.c -- libFuzzer target for the endpoint URL parser
 * (sm_parse_url and sm_host_is_loopback in src/parse_util.c; the palloc
 * wrapper sm_parse_endpoint in src/config.c lower-cases the host and puts
 * the parts together as this target's assemble() does).
 *
 * Input: the URL text up to the first NUL.
 *
 * Properties of an accepted URL:
 *  - it starts with "http://" or "https://" in any case, and https is set
 *    exactly when it is "https://";
 *  - it is exactly scheme, host, optional ":digits", path, then only '/':
 *    every span points into the input where that layout says;
 *  - the host is letters, digits, '-' and '.', or '[' hex digits, ':' and
 *    '.' ']'; the port is 1..65535 and its digits say so; the path is empty
 *    or starts with '/', never ends with '/', and has only the path
 *    alphabet: no userinfo ('@' before the path), query ('?') or fragment
 *    ('#') can be in an accepted URL;
 *  - the URL assembled from the parts (lower-case host, the port when it is
 *    not the scheme's default) parses again to the same parts, and
 *    assembling those gives the same URL (a fixed point);
 *  - plain http passes the loopback check only for "localhost", a
 *    dotted-decimal IPv4 address in 127.0.0.0/8 (checked against a
 *    reference written here) or an IPv6 literal of ::1 (only 0, 1, ':' and
 *    '.' in it).
 * A refused URL has a reason, and the reason is true of it: no scheme
 * prefix, an '@' before the path, a '[' host, no host, a ':' port, a
 * character after the authority that is not '/', a path character outside
 * the alphabet.
 */
#include "../../src/parse_util.c"

#include "fuzz_common.h"

#include <ctype.h>
#include <strings.h>

#define PATH_EXTRA "-._~/=,;+:@!$*"

static int
path_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		   (c >= '0' && c <= '9') || (c != '\0' && strchr(PATH_EXTRA, c));
}

static int
prefix_ci(const char *s, const char *p)
{
	return strncasecmp(s, p, strlen(p)) == 0;
}

/* scheme://host[:port]path, as sm_parse_endpoint builds base_url */
static char *
assemble(const SmUrlParts *u)
{
	size_t n = u->host_len + u->path_len + 32;
	char  *out = malloc(n);
	size_t len;

	len = snprintf(out, n, "%s://", u->https ? "https" : "http");
	for (size_t i = 0; i < u->host_len; i++)
		out[len++] = (char) tolower((unsigned char) u->host[i]);
	if (u->has_port && u->port != (u->https ? 443 : 80))
		len += snprintf(out + len, n - len, ":%ld", u->port);
	memcpy(out + len, u->path, u->path_len);
	out[len + u->path_len] = '\0';
	return out;
}

/* Reference: dotted-decimal IPv4 (4 parts, 0..255, no leading zeros), 127/8 */
static int
ref_ipv4_loopback(const char *h)
{
	int parts = 0;
	int first = -1;

	for (;;)
	{
		int v = 0, digits = 0;

		if (h[0] == '0' && h[1] >= '0' && h[1] <= '9')
			return 0;
		while (*h >= '0' && *h <= '9' && digits < 4)
			v = v * 10 + (*h++ - '0'), digits++;
		if (digits == 0 || digits > 3 || v > 255)
			return 0;
		if (parts++ == 0)
			first = v;
		if (*h == '\0')
			break;
		if (*h++ != '.' || parts == 4)
			return 0;
	}
	return parts == 4 && first == 127;
}

static void
check_accepted(const char *url, const SmUrlParts *u)
{
	size_t		pre = u->https ? 8 : 7;
	const char *s;
	char	   *host;
	char	   *again_url;
	char	   *third;
	SmUrlParts	again;

	FUZZ_CHECK(prefix_ci(url, u->https ? "https://" : "http://"),
			   "scheme of \"%s\" (https %d)", url, u->https);
	FUZZ_CHECK(u->host == url + pre && u->host_len > 0, "host span of \"%s\"",
			   url);
	if (u->host[0] == '[')
	{
		FUZZ_CHECK(u->host_len >= 3 && u->host[u->host_len - 1] == ']',
				   "IPv6 literal of \"%s\"", url);
		for (size_t i = 1; i + 1 < u->host_len; i++)
			FUZZ_CHECK(isxdigit((unsigned char) u->host[i]) ||
						   u->host[i] == ':' || u->host[i] == '.',
					   "IPv6 character %#x in \"%s\"", u->host[i], url);
	}
	else
		for (size_t i = 0; i < u->host_len; i++)
			FUZZ_CHECK(isalnum((unsigned char) u->host[i]) ||
						   u->host[i] == '-' || u->host[i] == '.',
					   "host character %#x in \"%s\"", u->host[i], url);
	s = u->host + u->host_len;
	if (u->has_port)
	{
		char *end;
		long  v;

		FUZZ_CHECK(*s == ':' && isdigit((unsigned char) s[1]),
				   "port of \"%s\"", url);
		v = strtol(s + 1, &end, 10);
		FUZZ_CHECK(v == u->port && v >= 1 && v <= 65535,
				   "port %ld vs %ld in \"%s\"", u->port, v, url);
		s = end;
	}
	else
		FUZZ_CHECK(*s != ':', "port not seen in \"%s\"", url);
	FUZZ_CHECK(u->path == s, "path span of \"%s\"", url);
	FUZZ_CHECK(u->path_len == 0 ||
				   (u->path[0] == '/' && u->path[u->path_len - 1] != '/'),
			   "path prefix of \"%s\"", url);
	for (s = u->path; s < u->path + u->path_len; s++)
		FUZZ_CHECK(path_char(*s), "path character %#x in \"%s\"", *s, url);
	for (; *s; s++)
		FUZZ_CHECK(*s == '/', "after the path prefix: %#x in \"%s\"", *s, url);
	s = strchr(url + pre, '@');
	FUZZ_CHECK(s == NULL || s >= u->path, "userinfo accepted: \"%s\"", url);
	FUZZ_CHECK(strchr(url, '?') == NULL && strchr(url, '#') == NULL,
			   "query or fragment accepted: \"%s\"", url);

	/* round trip: the assembled URL is a fixed point */
	again_url = assemble(u);
	FUZZ_CHECK(sm_parse_url(again_url, &again) == SM_URL_OK,
			   "assembled \"%s\" of \"%s\" refused", again_url, url);
	FUZZ_CHECK(again.https == u->https && again.host_len == u->host_len &&
				   strncasecmp(again.host, u->host, u->host_len) == 0 &&
				   again.path_len == u->path_len &&
				   memcmp(again.path, u->path, u->path_len) == 0,
			   "\"%s\" -> \"%s\" changed the parts", url, again_url);
	FUZZ_CHECK(again.has_port ==
					   (u->has_port && u->port != (u->https ? 443 : 80)) &&
				   (!again.has_port || again.port == u->port),
			   "\"%s\" -> \"%s\" changed the port", url, again_url);
	third = assemble(&again);
	FUZZ_CHECK(strcmp(third, again_url) == 0, "\"%s\" -> \"%s\" -> \"%s\"",
			   url, again_url, third);

	/* plain http: only to loopback */
	host = strndup(again.host, again.host_len);
	if (sm_host_is_loopback(host))
	{
		if (host[0] == '[')
			FUZZ_CHECK(strspn(host + 1, "01:.") == strlen(host) - 2,
					   "IPv6 loopback \"%s\"", host);
		else
			FUZZ_CHECK(strcmp(host, "localhost") == 0 ||
						   ref_ipv4_loopback(host),
					   "loopback \"%s\"", host);
	}
	else
		FUZZ_CHECK(host[0] == '[' || strcmp(host, "localhost") != 0,
				   "localhost not loopback");
	if (host[0] != '[' && strcmp(host, "localhost") != 0)
		FUZZ_CHECK(sm_host_is_loopback(host) == ref_ipv4_loopback(host),
				   "loopback of \"%s\" differs from the reference", host);
	free(host);
	free(third);
	free(again_url);
}

/* Reference: the end of a host as written (name, or a '[' literal's ']'+1) */
static const char *
ref_host_end(const char *p)
{
	if (*p == '[')
	{
		const char *e = strchr(p, ']');

		return e ? e + 1 : p;
	}
	while (isalnum((unsigned char) *p) || *p == '-' || *p == '.')
		p++;
	return p;
}

static void
check_refused(const char *url, SmUrlError err)
{
	const char *why = sm_url_error_text(err);
	int			https = prefix_ci(url, "https://");
	const char *p = url + (https ? 8 : 7);
	const char *at;

	FUZZ_CHECK(why != NULL && why[strlen(why) - 1] == '.',
			   "reason of %d for \"%s\"", err, url);
	if (err == SM_URL_BAD_SCHEME)
	{
		FUZZ_CHECK(!https && !prefix_ci(url, "http://"),
				   "scheme refused: \"%s\"", url);
		return;
	}
	FUZZ_CHECK(https || prefix_ci(url, "http://"), "no scheme: \"%s\"", url);
	at = strchr(p, '@');
	if (err == SM_URL_USERINFO)
		FUZZ_CHECK(at != NULL && at < p + strcspn(p, "/?#"),
				   "userinfo? \"%s\"", url);
	else if (err == SM_URL_BAD_IPV6)
		FUZZ_CHECK(p[0] == '[', "IPv6? \"%s\"", url);
	else if (err == SM_URL_NO_HOST)
		FUZZ_CHECK(!isalnum((unsigned char) p[0]) && p[0] != '-' &&
					   p[0] != '.' && p[0] != '[',
				   "no host? \"%s\"", url);
	else if (err == SM_URL_BAD_PORT)
	{
		const char *h = ref_host_end(p);
		size_t		nd = h[0] == ':' ? strspn(h + 1, "0123456789") : 0;
		size_t		z = h[0] == ':' ? strspn(h + 1, "0") : 0;

		/* no digits, all zeros, or more than 65535 */
		FUZZ_CHECK(h[0] == ':' && (nd == 0 || z == nd || nd - z > 5 ||
								   (nd - z == 5 && atol(h + 1 + z) > 65535)),
				   "port? \"%s\"", url);
	}
	else if (err == SM_URL_EXTRA)
	{
		const char *e = ref_host_end(p);

		if (*e == ':')
			e += 1 + strspn(e + 1, "0123456789");
		FUZZ_CHECK(*e != '\0' && *e != '/', "extra? \"%s\"", url);
	}
	else if (err == SM_URL_BAD_PATH)
	{
		const char *slash = strchr(p, '/');
		int			bad = 0;

		FUZZ_CHECK(slash != NULL, "path? \"%s\"", url);
		for (const char *c = slash; c && *c; c++)
			bad |= !path_char(*c);
		FUZZ_CHECK(bad, "bad path? \"%s\"", url);
	}
	else
		FUZZ_CHECK(0, "unknown error %d for \"%s\"", err, url);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzReader r;
	char	  *url;
	SmUrlParts u;
	SmUrlError err;

	fuzz_reader_init(&r, data, size);
	url = fuzz_take_field(&r, '\0');
	err = sm_parse_url(url, &u);
	if (err == SM_URL_OK)
		check_accepted(url, &u);
	else
		check_refused(url, err);
	free(url);
	return 0;
}
