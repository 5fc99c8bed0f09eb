/*-------------------------------------------------------------------------
 *
 * config.h
 *		Settings of segment_membership: the GUCs (owned by config.c and
 *		static there), resolved once per call into the structs below, which
 *		are passed down; no other module reads a GUC variable.
 *
 * IDENTIFICATION
 *		src/config.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SM_CONFIG_H
#define SM_CONFIG_H

/*
 * Upper bound of segment_membership.max_reply_size, in kB: a reply is
 * parsed into one jsonb value, which cannot hold more than 256 MB
 * (JENTRY_OFFLENMASK) and can take about twice the size of the text for
 * the members of a reply; parsing also holds the body, its converted copy
 * and the value tree at once.  Larger replies could never be accepted.
 */
#define SM_MAX_REPLY_SIZE_KB (128 * 1024)

/* Upper bound of segment_membership.max_concurrency. */
#define SM_MAX_CONCURRENCY_LIMIT 64

/* What to do with a request that still fails after its attempts. */
typedef enum SmOnRequestFailure
{
	SM_ON_FAILURE_ERROR, /* fail the statement */
	SM_ON_FAILURE_ROWS	 /* return failure rows for that request's ids */
} SmOnRequestFailure;

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
	char *host;		   /* lower-case host name or [IPv6] literal alone */
	bool  https;
} SmEndpoint;

/*
 * Everything one call needs to know about where to send requests and whose
 * credentials sign them.
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

/*
 * How one call runs its requests: the per-call limits, read from the
 * settings once when the call starts.
 */
typedef struct SmCallLimits
{
	int				   max_concurrency;
	int				   max_attempts; /* per request, the first included */
	long			   connect_timeout_ms;
	long			   request_timeout_ms;
	size_t			   max_reply_bytes;
	SmOnRequestFailure on_request_failure;
} SmCallLimits;

extern void	 sm_define_gucs(void);
extern void	 sm_resolve_target(SmTarget *target);
extern void	 sm_resolve_limits(SmCallLimits *limits);
extern void	 sm_endpoint_resource(const SmEndpoint *ep, const char *resource,
								  char **path, char **url);
extern bool	 sm_parse_endpoint(const char *url, SmEndpoint *out,
							   const char **why);
extern bool	 sm_endpoint_check_http(const SmEndpoint *ep, const char **why);
extern char *sm_getenv(const char *name);

#endif /* SM_CONFIG_H */
