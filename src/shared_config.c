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
 * The files are read afresh when needed (they are small); a buffer that held
 * the credentials file is zeroed before it is freed.
 *
 * IDENTIFICATION
 *		src/shared_config.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parse_util.h"
#include "shared_config.h"
#include "storage/fd.h"

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
 * sm_read_file
 *		Read a whole small file into a NUL-terminated palloc'd buffer.
 *		Returns NULL when the file does not exist; raises an error when it
 *		exists but cannot be read or is too large.
 */
static char *
sm_read_file(const char *path, size_t *len)
{
	FILE	   *f;
	char	   *buf;
	size_t		n;
	struct stat st;

	f = AllocateFile(path, "r");
	if (f == NULL)
	{
		if (errno == ENOENT || errno == ENOTDIR)
			return NULL;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open AWS shared file \"%s\": %m", path)));
	}
	if (fstat(fileno(f), &st) != 0 || st.st_size > SM_MAX_SHARED_FILE_SIZE)
	{
		FreeFile(f);
		ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR),
						errmsg("AWS shared file \"%s\" is too large", path),
						errdetail("The file must be smaller than %d bytes.",
								  SM_MAX_SHARED_FILE_SIZE)));
	}
	buf = palloc(st.st_size + 1);
	n = fread(buf, 1, st.st_size, f);
	if (ferror(f))
	{
		FreeFile(f);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read AWS shared file \"%s\": %m", path)));
	}
	FreeFile(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/*
 * sm_parse_section
 *		Collect the entries of the wanted section(s) of a file's text.  The
 *		entries point into buf, which is modified.
 */
static void
sm_parse_section(char *buf, const char *want, bool credentials_file,
				 bool want_raw, SmProfileSection *section)
{
	char *line = buf;
	bool  in_section = false;
	int	  max = 0;
	char *last_key = NULL;

	while (line != NULL && *line != '\0')
	{
		char	   *next = strchr(line, '\n');
		SmIniLine	l;
		SmIniEntry *e;

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
	buf = sm_read_file(path, &len);
	if (buf == NULL)
		return;
	section->buf = buf;
	section->buflen = len;
	sm_parse_section(buf, want, credentials_file, raw, section);
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
	if (section->buf != NULL)
	{
		explicit_bzero(section->buf, section->buflen);
		pfree(section->buf);
	}
	if (section->entries != NULL)
		pfree(section->entries);
	section->buf = NULL;
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
