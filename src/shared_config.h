/*-------------------------------------------------------------------------
 *
 * shared_config.h
 *		The AWS shared config and credentials files (~/.aws/config and
 *		~/.aws/credentials of the server's OS user).
 *
 * IDENTIFICATION
 *		src/shared_config.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_SHARED_CONFIG_H
#define SM_SHARED_CONFIG_H

/* One "key = value" of a profile section. */
typedef struct SmIniEntry
{
	char *key; /* lower-case */
	char *value;
	char *parent; /* for a sub-property: its parent key */
} SmIniEntry;

/* One section of a profile in one of the files, as parsed. */
typedef struct SmProfileSection
{
	bool		found;
	int			nentries;
	SmIniEntry *entries;
	const char *file; /* path it came from */
	char	   *buf;  /* the file's text (scrubbed when done) */
	size_t		buflen;
	void	   *wipe; /* its wiping callback (sm_read_small_file) */
} SmProfileSection;

extern const char *sm_shared_config_profile_name(const char *chosen);
extern void		   sm_shared_config_read_profile(const char		  *profile,
												 bool			   credentials_file,
												 SmProfileSection *section);
extern const char *sm_profile_get(const SmProfileSection *section,
								  const char			 *key);
extern char *sm_shared_config_value(const char *profile, const char *key);
extern char *sm_shared_config_service_endpoint(const char *profile,
											   const char *service);
extern void	 sm_profile_section_scrub(SmProfileSection *section);
extern char *sm_read_small_file(const char *path, size_t max, size_t *len,
								bool *missing, char **why, void **wipe);
extern void	 sm_file_wipe_now(void *wipe);

#endif /* SM_SHARED_CONFIG_H */
