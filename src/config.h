/*-------------------------------------------------------------------------
 *
 * config.h
 *		Settings of segment_membership: the GUCs, and where the region, the
 *		endpoint and the CA bundle of a call come from.
 *
 * IDENTIFICATION
 *		src/config.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_CONFIG_H
#define SM_CONFIG_H

/* Upper bound of segment_membership.max_concurrency. */
#define SM_MAX_CONCURRENCY_LIMIT 64

/* What to do with a batch that still fails after its attempts. */
typedef enum SmOnRequestFailure
{
	SM_ON_FAILURE_ERROR, /* fail the statement */
	SM_ON_FAILURE_ROWS	 /* return failure rows for that batch's ids */
} SmOnRequestFailure;

/* GUC variables */
extern char *sm_guc_region;
extern char *sm_guc_endpoint_url;
extern char *sm_guc_ca_file;
extern char *sm_guc_profile;
extern int	 sm_guc_max_concurrency;
extern int	 sm_guc_connect_timeout_ms;
extern int	 sm_guc_request_timeout_ms;
extern int	 sm_guc_max_attempts;
extern int	 sm_guc_max_reply_size_kb;
extern int	 sm_guc_on_request_failure;
extern int	 sm_guc_credential_timeout_ms;

/*
 * A parsed endpoint URL.  All strings are palloc'd.
 */
typedef struct SmEndpoint
{
	char *base_url;	   /* scheme://host[:port][/prefix], no trailing
								 * slash */
	char *host_header; /* lower-case host plus ":port" when the port
								 * is not the scheme's default: the signed
								 * Host header */
	char *path_prefix; /* "" or "/prefix" (no trailing slash) */
	bool  https;
} SmEndpoint;

/*
 * Everything one call needs to know about where to send requests.
 */
typedef struct SmTarget
{
	char	   *region;
	const char *region_source; /* which setting supplied it */
	SmEndpoint	endpoint;
	const char *endpoint_source;
	char	   *ca_file; /* NULL: the system's CAs */
	const char *ca_source;
	/* settings of the credential chain, read here so it reads no GUC */
	char *profile; /* segment_membership.profile, "" when unset */
	int	  credential_timeout_ms;
} SmTarget;

extern void	 sm_define_gucs(void);
extern void	 sm_resolve_target(SmTarget *target);
extern bool	 sm_parse_endpoint(const char *url, SmEndpoint *out,
							   const char **why);
extern bool	 sm_valid_region(const char *region);
extern char *sm_getenv(const char *name);

#endif /* SM_CONFIG_H */
