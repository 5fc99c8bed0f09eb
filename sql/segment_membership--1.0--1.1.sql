/* segment_membership--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION segment_membership UPDATE TO '1.1'" to load this file. \quit

-- A generic name in the extension's schema collides with users' own
-- objects: every object is named segment_membership* or
-- get_segment_membership*.  Renaming keeps the privileges granted on it.
ALTER FUNCTION @extschema@.credentials_info() RENAME TO segment_membership_credentials;

-- segment_membership_stats(): the first column counts attempts (HTTP
-- exchanges, retries included), so it is called attempts.  A changed OUT
-- column changes the result type, so the function is created anew:
-- privileges granted on it before the update must be granted again.
DROP FUNCTION @extschema@.segment_membership_stats();

CREATE FUNCTION @extschema@.segment_membership_stats(
    OUT attempts bigint,
    OUT retries bigint,
    OUT throttled bigint,
    OUT failed_requests bigint,
    OUT connections_opened bigint,
    OUT connections_open bigint,
    OUT bytes_received bigint,
    OUT clock_skew_corrections bigint,
    OUT credential_fetches bigint,
    OUT signing_keys_derived bigint,
    OUT retry_quota integer)
RETURNS record
AS 'MODULE_PATHNAME', 'sm_segment_membership_stats'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.segment_membership_stats() IS
'Counters of this session''s requests to Customer Profiles';

REVOKE ALL ON FUNCTION @extschema@.segment_membership_stats() FROM PUBLIC;


-- Cluster-wide state (src/cluster.c): progress of calls, totals, rate limits.
-- Before PostgreSQL 17 these need segment_membership in
-- shared_preload_libraries; without it they raise an error with a hint.

CREATE FUNCTION @extschema@.segment_membership_activity(
    OUT pid integer,
    OUT domain_name text,
    OUT segment_definition_name text,
    OUT ids_total bigint,
    OUT ids_done bigint,
    OUT requests_done bigint,
    OUT requests_in_flight bigint,
    OUT retries bigint,
    OUT throttled bigint,
    OUT started_at timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'sm_segment_membership_activity'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

CREATE VIEW @extschema@.segment_membership_activity AS
  SELECT * FROM @extschema@.segment_membership_activity();

COMMENT ON VIEW @extschema@.segment_membership_activity IS
'One row per get_segment_membership() call in progress in the server';

CREATE FUNCTION @extschema@.segment_membership_totals(
    OUT requests bigint,
    OUT retries bigint,
    OUT throttled bigint,
    OUT failed bigint,
    OUT bytes_received bigint,
    OUT connections_opened bigint,
    OUT latency_p50_ms double precision,
    OUT latency_p95_ms double precision,
    OUT latency_p99_ms double precision,
    OUT stats_reset timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'sm_segment_membership_totals'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

CREATE VIEW @extschema@.segment_membership_totals AS
  SELECT * FROM @extschema@.segment_membership_totals();

COMMENT ON VIEW @extschema@.segment_membership_totals IS
'Requests to Customer Profiles by every backend of the server since stats_reset';

CREATE FUNCTION @extschema@.segment_membership_totals_reset()
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'sm_segment_membership_totals_reset'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.segment_membership_totals_reset() IS
'Zeroes segment_membership_totals; returns the new stats_reset';

CREATE FUNCTION @extschema@.segment_membership_rate_limiter(
    OUT retry_mode text,
    OUT max_requests_per_second double precision,
    OUT adaptive_active boolean,
    OUT adaptive_rate double precision,
    OUT measured_rate double precision,
    OUT seconds_since_throttle double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'sm_segment_membership_rate_limiter'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.segment_membership_rate_limiter() IS
'The server''s request-rate limits: the fixed limit, and the adaptive retry mode''s current rate';

-- Not for everyone either: the views need SELECT on the view and EXECUTE on
-- its function.
REVOKE ALL ON FUNCTION @extschema@.segment_membership_activity() FROM PUBLIC;
REVOKE ALL ON @extschema@.segment_membership_activity FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.segment_membership_totals() FROM PUBLIC;
REVOKE ALL ON @extschema@.segment_membership_totals FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.segment_membership_totals_reset() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.segment_membership_rate_limiter() FROM PUBLIC;
