--
-- Hostile replies that once escaped as raw errors (issue 8 #5, #7): huge
-- numbers (22003), deep nesting (54001), unparsable 500 bodies, request
-- ids with control characters.  The mock's hostile mode mutates every
-- reply (hostile=1) in the given way, with fixed seeds; each call asks for
-- 5 ids with max_attempts = 1.  Allowed outcomes: ok (a mutation that
-- changes nothing the API promises), 08P01 (InvalidReply) and, for 5xx
-- replies, 38000 with the HTTP status and the x-amzn-ErrorType name.
--
\getenv mock_http_port MOCK_HTTP_PORT
\set http_url 'http://127.0.0.1:' :mock_http_port
LOAD 'segment_membership';
SET segment_membership.max_attempts = 1;

-- outcomes of n calls with hostile mutations of one kind: SQLSTATE (or ok)
-- and whether every error detail that quotes a 5xx names its status and
-- error type, and holds only printable characters
CREATE FUNCTION hostile_outcomes(kind text, n int, policy text,
                                 OUT outcomes text, OUT details_ok boolean)
LANGUAGE plpgsql AS $$
DECLARE
  seed int;
  line text;
  st text;
  sts text[] := '{}';
  ok boolean := true;
BEGIN
  PERFORM set_config('segment_membership.on_request_failure', policy, false);
  FOR seed IN 1..n LOOP
    PERFORM set_config('segment_membership.endpoint_url',
      current_setting('sm.url') || '/mock/hostile=1/hseed=' || seed || '/hkinds=' || kind, false);
    st := NULL;
    FOR line IN SELECT * FROM sm_try($q$SELECT * FROM get_segment_membership('demo-domain', 'high-value',
                  ARRAY(SELECT md5('hostile' || i) FROM generate_series(1, 5) i))$q$) LOOP
      IF st IS NULL THEN
        st := CASE WHEN line = 'ok' THEN 'ok' ELSE substring(line FROM '^ERROR (.....)') END;
      END IF;
      IF line ~ '[\x01-\x1f\x7f]' THEN ok := false; END IF;
      IF st = '38000' AND line LIKE 'DETAIL%' AND line !~ '^DETAIL: HTTP status 50[03] .*: [A-Za-z]+' THEN
        ok := false;
      END IF;
    END LOOP;
    IF NOT st = ANY (sts) THEN sts := sts || st; END IF;
  END LOOP;
  RESET segment_membership.on_request_failure;
  outcomes := array_to_string(ARRAY(SELECT unnest(sts) ORDER BY 1), ', ');
  details_ok := ok;
END
$$;
SELECT set_config('sm.url', :'http_url', false) IS NOT NULL AS url_set;

\! /usr/bin/python3 test/mockctl.py reset
SELECT 'huge-number' AS kind, * FROM hostile_outcomes('huge-number', 30, 'error');
SELECT 'deep-nesting' AS kind, * FROM hostile_outcomes('deep-nesting', 20, 'error');
SELECT 'error-500' AS kind, * FROM hostile_outcomes('error-500', 20, 'error');
SELECT 'hostile-headers' AS kind, * FROM hostile_outcomes('hostile-headers', 20, 'error');
-- under failure_rows none of them escapes
SELECT 'all four, failure_rows' AS kind, * FROM hostile_outcomes('huge-number.deep-nesting.error-500.hostile-headers', 40, 'failure_rows');
-- failure rows of hostile replies: printable messages, whole characters
SET segment_membership.on_request_failure = failure_rows;
SELECT set_config('segment_membership.endpoint_url', :'http_url' || '/mock/hostile=1/hseed=7/hkinds=error-500.hostile-headers', false) IS NOT NULL AS url_set;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE failure_message ~ '[\x01-\x1f\x7f]') AS with_controls,
       count(*) = count(*) FILTER (WHERE query_result IS NOT NULL OR failure_status = 404
                                   OR failure_message LIKE 'request failed after 1 attempt: %') AS accounted
FROM get_segment_membership('demo-domain', 'high-value', ARRAY(SELECT md5('hr' || i) FROM generate_series(1, 250) i));
RESET segment_membership.on_request_failure;
RESET segment_membership.endpoint_url;
DROP FUNCTION hostile_outcomes(text, int, text);
