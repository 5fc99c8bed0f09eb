--
-- Settings, who may change them, and who may call the functions.
--
LOAD 'segment_membership';

-- the settings; "superuser" ones redirect signed requests or change what
-- TLS trusts, so only superusers (or, from PostgreSQL 15, roles granted SET
-- on the parameter) may change them
SELECT name, context, vartype, unit
FROM pg_settings WHERE name LIKE 'segment\_membership.%' ORDER BY name;

-- values are checked when set
SELECT * FROM sm_try($$SET segment_membership.ca_file = 'relative.pem'$$);
SELECT * FROM sm_try($$SET segment_membership.max_concurrency = 0$$);
SELECT * FROM sm_try($$SET segment_membership.on_request_failure = 'ignore'$$);

-- privileges: EXECUTE is not granted to PUBLIC
CREATE ROLE regress_sm_nobody;
CREATE ROLE regress_sm_analyst;
GRANT EXECUTE ON FUNCTION get_segment_membership(text, text, text[]) TO regress_sm_analyst;
SET ROLE regress_sm_nobody;
SELECT * FROM get_segment_membership('demo-domain', 'high-value', ARRAY[md5('a')]);
SELECT * FROM segment_membership_stats();
SELECT * FROM segment_membership_credentials();
RESET ROLE;
-- a granted role may call it (only invalid ids here: nothing is sent)
SET ROLE regress_sm_analyst;
SELECT profile_id, failure_message FROM get_segment_membership('demo-domain', 'high-value', ARRAY['x']);
-- ordinary users cannot redirect signed requests or change what TLS trusts
SET segment_membership.endpoint_url = 'https://attacker.example';
SET segment_membership.ca_file = '/tmp/evil.pem';
SET segment_membership.profile = 'admin';
-- but they may tune their own calls
SET segment_membership.max_concurrency = 2;
SET segment_membership.region = 'eu-west-2';
SET segment_membership.on_request_failure = 'failure_rows';
RESET ROLE;
RESET ALL;
REVOKE EXECUTE ON FUNCTION get_segment_membership(text, text, text[]) FROM regress_sm_analyst;
DROP ROLE regress_sm_nobody;
DROP ROLE regress_sm_analyst;
