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
