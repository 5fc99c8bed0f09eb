--
-- Signatures, credentials and TLS.
--
\getenv mock_http_port MOCK_HTTP_PORT
\getenv mock_https_port MOCK_HTTPS_PORT
\getenv mock_dir MOCK_DIR
\set http_url 'http://127.0.0.1:' :mock_http_port
\set https_url 'https://127.0.0.1:' :mock_https_port
\set ca_file :mock_dir '/ca.pem'
\set wrong_ca_file :mock_dir '/wrong-ca.pem'
\set rotated_url :http_url '/mock/secret=rotated'
\set expired_url :http_url '/mock/token=expired'
\set invalid_url :http_url '/mock/token=invalid'
LOAD 'segment_membership';

-- HTTPS verified against the test CA, a session token, region eu-west-2,
-- a non-default port: 1,000 ids, all answered correctly, no signature
-- rejected by the mock's independent (botocore) check
\! /usr/bin/python3 test/mockctl.py reset
SET segment_membership.endpoint_url = :'https_url';
SET segment_membership.ca_file = :'ca_file';

SELECT count(*) AS rows,
       count(*) FILTER (WHERE query_result IS NOT DISTINCT FROM expected_result('high-value', profile_id)) AS correct,
       count(*) FILTER (WHERE query_result IS NULL AND failure_status = 404) AS not_found
FROM get_segment_membership('demo-domain', 'high-value',
       ARRAY(SELECT md5('tls' || i) FROM generate_series(1, 1000) i));
\! /usr/bin/python3 test/mockctl.py stats requests accepted signature_rejections auth_rejections

-- which credentials were used: never a secret
SELECT source, detail, access_key_id, has_session_token, expiration, region
FROM segment_membership_credentials();

-- a CA that did not sign the server's certificate: refused
SET segment_membership.ca_file = :'wrong_ca_file';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ARRAY[md5('a')])$$);
-- the system CAs do not know the test CA either
RESET segment_membership.ca_file;
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ARRAY[md5('a')])$$);
-- a CA file that does not exist
SET segment_membership.ca_file = '/nonexistent/ca.pem';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ARRAY[md5('a')])$$);
SELECT * FROM sm_try($$SET segment_membership.ca_file = 'relative.pem'$$);
RESET segment_membership.ca_file;

-- a secret the service does not know (the mock acts as if the secret
-- had been rotated): 403 -> 42501, and nothing secret in the message
SET segment_membership.endpoint_url = :'rotated_url';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ARRAY[md5('a')])$$);
-- an expired session token
SET segment_membership.endpoint_url = :'expired_url';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ARRAY[md5('a')])$$);
-- a session token the service does not know
SET segment_membership.endpoint_url = :'invalid_url';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ARRAY[md5('a')])$$);
-- a region the credentials are not scoped for (the signature covers it)
SET segment_membership.endpoint_url = :'http_url';
SET segment_membership.region = 'mars-north-1';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ARRAY[md5('a')])$$);
RESET segment_membership.region;
\! /usr/bin/python3 test/mockctl.py stats signature_rejections

-- AWS quotes the canonical request (with the x-amz-security-token line)
-- and the string to sign in a signature mismatch: the session token never
-- reaches a caller without superuser rights, nor the server log, even at
-- debug5 (issue 8 #2)
\getenv sm_work SM_WORK
\set echo_url :http_url '/mock/secret=rotated/sigecho=on'
SET segment_membership.endpoint_url = :'echo_url';
CREATE ROLE sm_redact_caller;
GRANT EXECUTE ON FUNCTION get_segment_membership(text, text, text[]) TO sm_redact_caller;
GRANT EXECUTE ON FUNCTION sm_try(text) TO sm_redact_caller;
SET log_min_messages = debug5;
SET ROLE sm_redact_caller;
CREATE TEMP TABLE redact_out AS
  SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ARRAY[md5('a')])$$) t;
-- uncaught: the error and its detail go to the server log
\set VERBOSITY terse
SELECT * FROM get_segment_membership('demo-domain', 'high-value', ARRAY[md5('a')]);
\set VERBOSITY default
RESET ROLE;
RESET log_min_messages;
SELECT count(*) FILTER (WHERE t LIKE '%smTestSessionToken%') AS token_shown,
       count(*) FILTER (WHERE t ~* 'x-amz-security-token:\[REDACTED\]') AS token_line_redacted,
       count(*) FILTER (WHERE t ~ 'Canonical String') AS quotes_canonical_request
FROM redact_out t;
\! grep -c smTestSessionToken "$SM_WORK/postgres.log" || true
\! grep -c 'x-amz-security-token:.REDACTED.' "$SM_WORK/postgres.log" || true
DROP TABLE redact_out;
REVOKE EXECUTE ON FUNCTION sm_try(text) FROM sm_redact_caller;
REVOKE EXECUTE ON FUNCTION get_segment_membership(text, text, text[]) FROM sm_redact_caller;
DROP ROLE sm_redact_caller;
RESET segment_membership.endpoint_url;

-- an endpoint where nothing listens (port 1 on loopback)
SET segment_membership.endpoint_url = 'http://127.0.0.1:1';
SET segment_membership.max_attempts = 1;
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ARRAY[md5('a')])$$);
RESET segment_membership.max_attempts;
RESET segment_membership.endpoint_url;
