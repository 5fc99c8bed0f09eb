/*-------------------------------------------------------------------------
 *
 * shared_config.c
 *		Reading the AWS shared config and credentials files.
 *
 * The files are the INI files every AWS SDK reads: AWS_CONFIG_FILE
 * (default ~/.aws/config, sections "[default]" and "[profile NAME]", plus
 * "[services NAME]") and AWS_SHARED_CREDENTIALS_FILE (default
 * ~/.aws/credentials, sections "[NAME]").  "~" is the home directory of the
 * server's OS user.  Lines starting with '#' or ';' are comments; an
 * indented "key = value" line under a key with an empty value is a
 * sub-property of that key (used by "services").  Section names are
 * case-sensitive, keys are not.  [default] is not inherited by other
 * profiles.
 *
 * The active profile is the one the caller names (segment_membership.profile,
 * passed in by the caller), else AWS_PROFILE, else AWS_DEFAULT_PROFILE, else
 * "default".  This file reads no setting of the extension: it depends on
 * nothing but the environment and the files.
 *
 * The files are read afresh when needed (they are small), never blocking
 * (sm_read_small_file: regular files only); a buffer that held a file is
 * zeroed when done, and by a memory-context reset callback on every other
 * exit (an error, a cancel).  A file the SDKs refuse (a byte order mark, a
 * NUL byte, a section twice) is an error naming the file and line.
 *
 * IDENTIFICATION
 *		src/shared_config.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parse_util.h"
#include "shared_config.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#define SM_MAX_SHARED_FILE_SIZE (1024 * 1024)

/*
 * sm_env
 *		An environment variable of the server process, NULL when unset or
 *		empty (the AWS SDKs' rule, as config.c's sm_getenv; kept here so that
 *		this file does not call back into config.c).
 */
static const char *
sm_env(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0') ? v : NULL;
}

/*
 * sm_shared_config_profile_name
 *		The name of the active AWS profile: chosen (the value of
 *		segment_membership.profile) when not empty, else AWS_PROFILE, else
 *		AWS_DEFAULT_PROFILE, else "default".
 */
const char *
sm_shared_config_profile_name(const char *chosen)
{
	const char *p;

	if (chosen != NULL && chosen[0] != '\0')
		return chosen;
	if ((p = sm_env("AWS_PROFILE")) != NULL)
		return p;
	if ((p = sm_env("AWS_DEFAULT_PROFILE")) != NULL)
		return p;
	return "default";
}

/* The home directory of the server's OS user, or NULL. */
static const char *
sm_home_dir(void)
{
	const char	  *home = sm_env("HOME");
	struct passwd *pw;

	if (home != NULL)
		return home;
	pw = getpwuid(geteuid());
	return (pw != NULL) ? pw->pw_dir : NULL;
}

/*
 * sm_shared_config_path
 *		The path of the config file (or of the credentials file), with a
 *		leading "~/" expanded; NULL when there is no home directory to put a
 *		default under.
 */
static char *
sm_shared_config_path(bool credentials_file)
{
	const char *v = sm_env(credentials_file ? "AWS_SHARED_CREDENTIALS_FILE"
											: "AWS_CONFIG_FILE");
	const char *home = sm_home_dir();

	if (v != NULL)
	{
		if (v[0] == '~' && v[1] == '/' && home != NULL)
			return psprintf("%s%s", home, v + 1);
		return pstrdup(v);
	}
	if (home == NULL)
		return NULL;
	return psprintf("%s/.aws/%s", home,
					credentials_file ? "credentials" : "config");
}

/*
 * A buffer that held a file which may hold secrets, zeroed by a reset
 * callback of the memory context it lives in: when the context goes away,
 * also during error cleanup or a cancel.  sm_profile_section_scrub() zeroes
 * it at once on the normal path and disarms the callback.
 */
typedef struct SmFileWipe
{
	MemoryContextCallback cb;
	char				 *buf;
	size_t				  len;
} SmFileWipe;

/* Reset callback: zero the buffer unless already done. */
static void
sm_file_wipe(void *arg)
{
	SmFileWipe *w = (SmFileWipe *) arg;

	if (w->buf != NULL)
		explicit_bzero(w->buf, w->len);
	w->buf = NULL;
}

/*
 * sm_read_small_file
 *		Read a whole file of at most max bytes into a NUL-terminated buffer
 *		in CurrentMemoryContext that is zeroed when that context goes away
 *		(*wipe, for sm_file_wipe_now()).  Never blocks: the file is opened
 *		with O_NONBLOCK and must be a regular file (a FIFO or a device would
 *		otherwise hold the backend in open() or read(), deaf to cancels).
 *		Returns NULL with *missing set when the file does not exist; NULL
 *		with *why set when it cannot be used.
 */
char *
sm_read_small_file(const char *path, size_t max, size_t *len, bool *missing,
				   char **why, void **wipe)
{
	int			fd;
	struct stat st;
	SmFileWipe *w;
	size_t		n = 0;

	*missing = false;
	*why = NULL;
	fd = OpenTransientFile(path, O_RDONLY | O_NONBLOCK | PG_BINARY);
	if (fd < 0)
	{
		if (errno == ENOENT || errno == ENOTDIR)
			*missing = true;
		else
			*why = psprintf("could not open \"%s\": %m", path);
		return NULL;
	}
	if (fstat(fd, &st) != 0)
		*why = psprintf("could not stat \"%s\": %m", path);
	else if (!S_ISREG(st.st_mode))
		*why = psprintf("\"%s\" is not a regular file", path);
	else if ((size_t) st.st_size > max)
		*why = psprintf("\"%s\" is larger than %zu bytes", path, max);
	if (*why != NULL)
	{
		CloseTransientFile(fd);
		return NULL;
	}

	/* room for one byte more than fstat() saw, to notice a growing file */
	max = (size_t) st.st_size;
	w = palloc0(sizeof(SmFileWipe));
	w->len = max + 1;
	w->buf = palloc(w->len);
	w->cb.func = sm_file_wipe;
	w->cb.arg = w;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &w->cb);
	while (n <= max)
	{
		ssize_t r = read(fd, w->buf + n, max + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
		{
			*why = psprintf("could not read \"%s\": %m", path);
			break;
		}
		if (r == 0)
			break;
		n += r;
	}
	CloseTransientFile(fd);
	if (*why == NULL && n > max)
		*why = psprintf("\"%s\" changed while it was read", path);
	if (*why != NULL)
	{
		sm_file_wipe_now(w);
		return NULL;
	}
	w->buf[n] = '\0';
	*len = n;
	*wipe = w;
	return w->buf;
}

/*
 * sm_file_wipe_now
 *		Zero and free a buffer of sm_read_small_file() now (wipe may be
 *		NULL).
 */
void
sm_file_wipe_now(void *wipe)
{
	SmFileWipe *w = (SmFileWipe *) wipe;

	if (w == NULL || w->buf == NULL)
		return;
	explicit_bzero(w->buf, w->len);
	pfree(w->buf);
	w->buf = NULL;
}

/*
 * sm_read_file
 *		Read a whole shared file.  Returns NULL when the file does not
 *		exist; raises an error when it exists but cannot be used.
 */
static char *
sm_read_file(const char *path, size_t *len, void **wipe)
{
	bool  missing;
	char *why;
	char *buf = sm_read_small_file(path, SM_MAX_SHARED_FILE_SIZE, len,
								   &missing, &why, wipe);

	if (buf == NULL && !missing)
		ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR),
						errmsg("could not read AWS shared file \"%s\"", path),
						errdetail("%s.", why)));
	return buf;
}

/* The line number (from 1) of position pos of buf. */
static int
sm_line_of(const char *buf, size_t pos)
{
	int line = 1;

	for (size_t i = 0; i < pos; i++)
		if (buf[i] == '\n')
			line++;
	return line;
}

/* ereport a malformed shared file, naming the file and line. */
static void
sm_file_error(const char *path, int line, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_CONFIG_FILE_ERROR),
			 errmsg("invalid AWS shared file \"%s\" at line %d", path, line),
			 errdetail("%s", detail),
			 errhint("The AWS SDKs refuse this file too; correct it.")));
}

/*
 * sm_check_file_text
 *		Refuse what the AWS SDKs refuse and would otherwise silently yield
 *		other credentials: a UTF-8 byte order mark (it would make the first
 *		section header unrecognised), a NUL byte (it would cut the file).
 */
static void
sm_check_file_text(const char *path, const char *buf, size_t len)
{
	const char *nul = memchr(buf, '\0', len);

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		sm_file_error(path, 1,
					  "The file starts with a UTF-8 byte order mark (BOM).");
	if (nul != NULL)
		sm_file_error(path, sm_line_of(buf, nul - buf),
					  "The file contains a NUL byte.");
}

/* A section header seen, for the check for duplicates. */
typedef struct SmSeenSection
{
	const char *name;
	int			line;
} SmSeenSection;

static int
sm_seen_cmp(const void *a, const void *b)
{
	const SmSeenSection *x = a;
	const SmSeenSection *y = b;
	int					 c = strcmp(x->name, y->name);

	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/*
 * sm_check_duplicates
 *		Refuse a section header that appears twice (botocore's
 *		DuplicateSectionError): reading either copy alone would pair keys
 *		of one with keys of the other.
 */
static void
sm_check_duplicates(const char *path, SmSeenSection *seen, int nseen)
{
	qsort(seen, nseen, sizeof(SmSeenSection), sm_seen_cmp);
	for (int i = 1; i < nseen; i++)
		if (strcmp(seen[i].name, seen[i - 1].name) == 0)
			sm_file_error(path, seen[i].line,
						  psprintf("The section [%s] appears more than once.",
								   seen[i].name));
}

/*
 * sm_parse_section
 *		Collect the entries of the wanted section(s) of a file's text, after
 *		checking the whole file (sm_check_file_text, sm_check_duplicates).
 *		The entries point into buf, which is modified.
 */
static void
sm_parse_section(const char *path, char *buf, size_t len, const char *want,
				 bool credentials_file, bool want_raw,
				 SmProfileSection *section)
{
	char		  *line = buf;
	bool		   in_section = false;
	int			   max = 0;
	char		  *last_key = NULL;
	int			   lineno = 0;
	SmSeenSection *seen = NULL;
	int			   nseen = 0;
	int			   maxseen = 0;

	sm_check_file_text(path, buf, len);
	while (line != NULL && *line != '\0')
	{
		char	   *next = strchr(line, '\n');
		SmIniLine	l;
		SmIniEntry *e;

		lineno++;
		if (next != NULL)
			*next++ = '\0';
		sm_ini_parse_line(line, &l);
		line = next;

		if (l.kind == SM_INI_SECTION || l.kind == SM_INI_BROKEN_SECTION)
		{
			in_section = l.kind == SM_INI_SECTION &&
						 sm_ini_header_matches(l.name, want, credentials_file,
											   want_raw);
			if (in_section)
				section->found = true;
			last_key = NULL;
			if (l.kind == SM_INI_SECTION)
			{
				if (nseen >= maxseen)
				{
					maxseen = Max(16, maxseen * 2);
					seen =
						seen == NULL
							? palloc(sizeof(SmSeenSection) * maxseen)
							: repalloc(seen, sizeof(SmSeenSection) * maxseen);
				}
				seen[nseen].name = l.name;
				seen[nseen++].line = lineno;
			}
			continue;
		}
		if (!in_section || l.kind != SM_INI_ENTRY)
			continue;
		if (section->nentries >= max)
		{
			max = Max(16, max * 2);
			section->entries =
				section->entries == NULL
					? palloc(sizeof(SmIniEntry) * max)
					: repalloc(section->entries, sizeof(SmIniEntry) * max);
		}
		e = &section->entries[section->nentries++];
		e->key = l.key;
		e->value = l.value;
		e->parent = (l.indented && last_key != NULL) ? last_key : NULL;
		if (!l.indented)
			last_key = l.key;
	}
	sm_check_duplicates(path, seen, nseen);
	if (seen != NULL)
		pfree(seen);
}

/*
 * sm_read_section_common
 *		Read one file and collect a section of it.
 */
static void
sm_read_section_common(const char *want, bool credentials_file, bool raw,
					   SmProfileSection *section)
{
	char  *path = sm_shared_config_path(credentials_file);
	size_t len;
	char  *buf;

	memset(section, 0, sizeof(*section));
	if (path == NULL)
		return;
	section->file = path;
	buf = sm_read_file(path, &len, &section->wipe);
	if (buf == NULL)
		return;
	section->buf = buf;
	section->buflen = len;
	sm_parse_section(path, buf, len, want, credentials_file, raw, section);
}

/*
 * sm_shared_config_read_profile
 *		Collect the entries of a profile from the config file (or from the
 *		credentials file).  A missing file or profile gives found = false.
 *		Call sm_profile_section_scrub() when done if it may hold secrets.
 */
void
sm_shared_config_read_profile(const char *profile, bool credentials_file,
							  SmProfileSection *section)
{
	sm_read_section_common(profile, credentials_file, false, section);
}

/*
 * sm_shared_config_read_section
 *		Collect the entries of a section given by its exact header, such as
 *		"services my-services", from the config file.
 */
static void
sm_shared_config_read_section(const char *header, bool credentials_file,
							  SmProfileSection *section)
{
	sm_read_section_common(header, credentials_file, true, section);
}

/*
 * sm_profile_get
 *		The value of a top-level key of a section (the last one wins), or
 *		NULL.  An empty value counts as absent.
 */
const char *
sm_profile_get(const SmProfileSection *section, const char *key)
{
	const char *v = NULL;
	int			i;

	for (i = 0; i < section->nentries; i++)
		if (section->entries[i].parent == NULL &&
			strcmp(section->entries[i].key, key) == 0)
			v = section->entries[i].value;
	return (v != NULL && v[0] != '\0') ? v : NULL;
}

/* The value of a sub-property parent.key of a section, or NULL. */
static const char *
sm_profile_get_sub(const SmProfileSection *section, const char *parent,
				   const char *key)
{
	const char *v = NULL;
	int			i;

	for (i = 0; i < section->nentries; i++)
		if (section->entries[i].parent != NULL &&
			strcmp(section->entries[i].parent, parent) == 0 &&
			strcmp(section->entries[i].key, key) == 0)
			v = section->entries[i].value;
	return (v != NULL && v[0] != '\0') ? v : NULL;
}

/*
 * sm_profile_section_scrub
 *		Zero the file text a section was parsed from and free it.
 */
void
sm_profile_section_scrub(SmProfileSection *section)
{
	sm_file_wipe_now(section->wipe);
	if (section->entries != NULL)
		pfree(section->entries);
	section->buf = NULL;
	section->wipe = NULL;
	section->entries = NULL;
	section->nentries = 0;
}

/*
 * sm_shared_config_value
 *		A setting of a profile in the config file, palloc'd, or NULL.
 */
char *
sm_shared_config_value(const char *profile, const char *key)
{
	SmProfileSection section;
	const char		*v;
	char			*result = NULL;

	sm_shared_config_read_profile(profile, false, &section);
	v = sm_profile_get(&section, key);
	if (v != NULL)
		result = pstrdup(v);
	sm_profile_section_scrub(&section);
	return result;
}

/*
 * sm_shared_config_service_endpoint
 *		The endpoint URL the config file's profile profile_name sets for a
 *		service (its key in a "[services NAME]" section, NAME given by the
 *		profile's "services"),
 *		else the profile's own endpoint_url, else NULL.  Nothing when the
 *		profile sets ignore_configured_endpoint_urls.
 */
char *
sm_shared_config_service_endpoint(const char *profile_name,
								  const char *service)
{
	SmProfileSection profile;
	const char		*v;
	char			*result = NULL;

	sm_shared_config_read_profile(profile_name, false, &profile);
	v = sm_profile_get(&profile, "ignore_configured_endpoint_urls");
	if (v != NULL && pg_strcasecmp(v, "true") == 0)
	{
		sm_profile_section_scrub(&profile);
		return NULL;
	}
	v = sm_profile_get(&profile, "services");
	if (v != NULL)
	{
		SmProfileSection services;
		char			*header = psprintf("services %s", v);
		const char		*url;

		sm_shared_config_read_section(header, false, &services);
		url = sm_profile_get_sub(&services, service, "endpoint_url");
		if (url != NULL)
			result = pstrdup(url);
		sm_profile_section_scrub(&services);
	}
	if (result == NULL &&
		(v = sm_profile_get(&profile, "endpoint_url")) != NULL)
		result = pstrdup(v);
	sm_profile_section_scrub(&profile);
	return result;
}
