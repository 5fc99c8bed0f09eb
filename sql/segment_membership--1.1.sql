/* segment_membership--1.1.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION segment_membership" to load this file. \quit

CREATE FUNCTION @extschema@.get_segment_membership_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'sm_get_segment_membership_support'
LANGUAGE C STRICT;

CREATE FUNCTION @extschema@.get_segment_membership(
    domain_name text,
    segment_definition_name text,
    profile_ids text[])
RETURNS TABLE (
    profile_id text,
    query_result text,
    profile jsonb,
    failure_status integer,
    failure_message text,
    last_computed_at timestamptz)
AS 'MODULE_PATHNAME', 'sm_get_segment_membership'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT
COST 10000 ROWS 1000
SUPPORT @extschema@.get_segment_membership_support;

COMMENT ON FUNCTION @extschema@.get_segment_membership(text, text, text[]) IS
'Asks Amazon Connect Customer Profiles (GetSegmentMembership) whether each profile id belongs to a segment; one row per array element, in order';

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

CREATE FUNCTION @extschema@.segment_membership_credentials(
    OUT source text,
    OUT detail text,
    OUT access_key_id text,
    OUT has_session_token boolean,
    OUT expiration timestamptz,
    OUT region text)
RETURNS record
AS 'MODULE_PATHNAME', 'sm_credentials_info'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.segment_membership_credentials() IS
'Which AWS credentials this session signs with (source, access key id, expiry); never a secret';

-- Nothing here is for everyone: calls are billed, and they are signed with
-- the server's AWS credentials.  Grant EXECUTE to the roles that need it.
REVOKE ALL ON FUNCTION @extschema@.get_segment_membership_support(internal) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.get_segment_membership(text, text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.segment_membership_stats() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.segment_membership_credentials() FROM PUBLIC;
