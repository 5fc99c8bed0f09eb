--
-- From PostgreSQL 15 on, a superuser may let a role set one of the
-- superuser-only settings (GRANT SET ON PARAMETER).  PostgreSQL 14 has no
-- such grant: expected/plain_grant_parameter_1.out is its output.
--
LOAD 'segment_membership';
CREATE ROLE regress_sm_tester;
GRANT SET ON PARAMETER segment_membership.endpoint_url TO regress_sm_tester;
SET ROLE regress_sm_tester;
-- granted: allowed
SET segment_membership.endpoint_url = 'http://127.0.0.1:1';
SHOW segment_membership.endpoint_url;
-- not granted: still refused
SET segment_membership.ca_file = '/tmp/other-ca.pem';
RESET ROLE;
RESET ALL;
REVOKE SET ON PARAMETER segment_membership.endpoint_url FROM regress_sm_tester;
DROP ROLE regress_sm_tester;
