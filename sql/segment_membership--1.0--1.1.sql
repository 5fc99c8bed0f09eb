/* segment_membership--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION segment_membership UPDATE TO '1.1'" to load this file. \quit

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
