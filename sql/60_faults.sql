--
-- Faults: transient ones are retried (standard retry mode); the rest fail
-- cleanly; broken replies never become rows; every id is accounted for.
--
\getenv mock_http_port MOCK_HTTP_PORT
\set http_url 'http://127.0.0.1:' :mock_http_port
LOAD 'segment_membership';

-- answers check: rows in order, each correct or an explicit failure
CREATE FUNCTION check_rows(segment text, ids text[],
                           OUT rows bigint, OUT correct bigint, OUT failed bigint, OUT wrong bigint)
LANGUAGE sql AS $$
  SELECT count(*),
         count(*) FILTER (WHERE m.profile_id = ids[m.ord] AND m.query_result IS NOT DISTINCT FROM expected_result(segment, ids[m.ord])
                          AND (m.query_result IS NOT NULL OR m.failure_status = 404)),
         count(*) FILTER (WHERE m.profile_id = ids[m.ord] AND m.query_result IS NULL AND m.failure_status IS DISTINCT FROM 404),
         count(*) FILTER (WHERE m.profile_id <> ids[m.ord] OR (m.query_result IS NOT NULL AND m.query_result <> expected_result(segment, ids[m.ord])))
  FROM get_segment_membership('demo-domain', segment, ids)
       WITH ORDINALITY AS m(profile_id, query_result, profile, failure_status, failure_message, last_computed_at, ord)
$$;
CREATE FUNCTION ids(tag text, n int) RETURNS text[] LANGUAGE sql AS
$$ SELECT ARRAY(SELECT md5(tag || i) FROM generate_series(1, n) i) $$;
CREATE TEMP TABLE s0 AS SELECT * FROM segment_membership_stats();
CREATE FUNCTION retries_since() RETURNS bigint LANGUAGE sql AS
$$ SELECT s.retries - s0.retries FROM segment_membership_stats() s, s0 $$;
CREATE FUNCTION reset_since() RETURNS void LANGUAGE sql AS
$$ DELETE FROM s0; INSERT INTO s0 SELECT * FROM segment_membership_stats() $$;

-- transient faults on the first attempts are ridden through
\set u :http_url '/mock/fail=500/first=2'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM check_rows('high-value', ids('f500', 300));
SELECT retries_since() AS retries; SELECT reset_since();
\set u :http_url '/mock/fail=503/first=1'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM check_rows('high-value', ids('f503', 300));
SELECT retries_since() AS retries; SELECT reset_since();
\set u :http_url '/mock/fail=reset/first=2'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM check_rows('high-value', ids('freset', 300));
-- (libcurl itself retries a request once when a reused connection turns
-- out to be dead, so the count varies)
SELECT retries_since() > 0 AS retried; SELECT reset_since();
\set u :http_url '/mock/fail=truncate/first=1'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM check_rows('high-value', ids('ftrunc', 300));
SELECT retries_since() AS retries; SELECT reset_since();
\set u :http_url '/mock/fail=garbage/first=1'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM check_rows('high-value', ids('fgarbage', 300));
SELECT retries_since() AS retries; SELECT reset_since();
\set u :http_url '/mock/fail=throttle/first=1'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM check_rows('high-value', ids('fthrottle', 200));
SELECT retries_since() AS retries, throttled - (SELECT throttled FROM s0) AS throttled
FROM segment_membership_stats();
SELECT reset_since();

-- faults that persist: a clear error naming the error, the attempts and
-- the request id; the statement fails as a whole
\set u :http_url '/mock/fail=500'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('p500', 250))$$);
\set u :http_url '/mock/fail=502'
SET segment_membership.endpoint_url = :'u';
SET segment_membership.max_attempts = 2;
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('p502', 10))$$);
\set u :http_url '/mock/fail=throttle'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('pthrottle', 10))$$);
\set u :http_url '/mock/fail=reset'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('preset', 10))$$);
\set u :http_url '/mock/fail=garbage'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('pgarbage', 10))$$);
\set u :http_url '/mock/fail=truncate'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('ptrunc', 10))$$);
-- timeouts: a reply slower than request_timeout_ms, and one that never comes
\set u :http_url '/mock/fail=delay/delay=3000'
SET segment_membership.endpoint_url = :'u';
SET segment_membership.request_timeout_ms = 200;
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('pdelay', 10))$$);
\set u :http_url '/mock/fail=hang'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('phang', 10))$$);
RESET segment_membership.request_timeout_ms;
RESET segment_membership.max_attempts;
-- a client error is not retried
SELECT reset_since();
\set u :http_url '/mock/fail=400'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('p400', 10))$$);
SELECT retries_since() AS retries;

-- opt-in: failure rows for the ids of a batch that failed for good
SET segment_membership.on_request_failure = 'failure_rows';
\set u :http_url '/mock/fail=500'
SET segment_membership.endpoint_url = :'u';
SELECT failure_status, failure_message ~ '^request failed after 3 attempts: InternalServerException: An internal error occurred \(mock fault\)\. \(request id [0-9a-f-]{36}\)$' AS message_ok,
       count(*), count(query_result) AS answered
FROM get_segment_membership('demo-domain', 'high-value', ids('rows500', 150))
GROUP BY 1, 2;
-- half the batches fail, the other half answer: nothing lost, nothing wrong
\set u :http_url '/mock/rate=0.5/faults=500.reset/seed=11'
SET segment_membership.endpoint_url = :'u';
SET segment_membership.max_attempts = 1;
SELECT rows, correct + failed = rows AS all_accounted, correct > 0 AS some_answered,
       failed > 0 AS some_failed, wrong FROM check_rows('high-value', ids('half', 3000));
RESET segment_membership.max_attempts;
-- client errors still fail the statement
\set u :http_url '/mock/fail=400'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('rows400', 10))$$);
RESET segment_membership.on_request_failure;

-- replies that are not what the API promises are never turned into rows
SET segment_membership.max_attempts = 1;
\set u :http_url '/mock/reply=unknown-result'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('v', 20))$$);
\set u :http_url '/mock/reply=extra-id'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('v', 20))$$);
\set u :http_url '/mock/reply=duplicate'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('v', 20))$$);
\set u :http_url '/mock/reply=both'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('v', 20))$$);
\set u :http_url '/mock/reply=wrong-type'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('v', 20))$$);
\set u :http_url '/mock/reply=not-object'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('v', 20))$$);
\set u :http_url '/mock/reply=profiles-not-array'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('v', 20))$$);
\set u :http_url '/mock/reply=null-byte'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'everyone', ids('v', 20))$$);
\set u :http_url '/mock/reply=bad-utf8'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'everyone', ids('v', 20))$$);
\set u :http_url '/mock/reply=bad-status'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ARRAY['ffff' || md5('x')::text, md5('y')])$$);
\set u :http_url '/mock/reply=bad-time'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('v', 20))$$);
-- a reply over the size cap is refused without being retried
\set u :http_url '/mock/reply=huge/size=3000000'
SET segment_membership.endpoint_url = :'u';
SET segment_membership.max_reply_size = '1MB';
SET segment_membership.max_attempts = 3;
SELECT reset_since();
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('v', 20))$$);
SELECT retries_since() AS retries;
RESET segment_membership.max_reply_size;
-- ...and with the default cap the same reply is fine
SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value', ids('v', 20));
-- with retries, a broken reply is retried and the error says how often
\set u :http_url '/mock/reply=extra-id'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('v', 20))$$);
-- an empty object or a reply that leaves ids out: failure rows for those ids
\set u :http_url '/mock/reply=empty'
SET segment_membership.endpoint_url = :'u';
SELECT failure_message, count(*) FROM get_segment_membership('demo-domain', 'high-value', ids('v', 20)) GROUP BY 1;
\set u :http_url '/mock/reply=omit'
SET segment_membership.endpoint_url = :'u';
SELECT left(profile_id, 1) = '0' AS starts_with_0, query_result IS NOT NULL OR failure_status = 404 AS answered,
       failure_message, count(*)
FROM get_segment_membership('demo-domain', 'high-value', ids('omit', 300))
GROUP BY 1, 2, 3 ORDER BY 1, 2;
RESET segment_membership.max_attempts;

-- a skewed clock: AWS rejects the signature as expired; the request is
-- signed again with the server's time from the Date header, once
SELECT reset_since();
\set u :http_url '/mock/skew=900'
SET segment_membership.endpoint_url = :'u';
SELECT * FROM check_rows('high-value', ids('skew', 250));
SELECT clock_skew_corrections - (SELECT clock_skew_corrections FROM s0) AS corrections FROM segment_membership_stats();
-- back to a correct clock: corrected again
RESET segment_membership.endpoint_url;
SELECT * FROM check_rows('high-value', ids('noskew', 250));
SELECT clock_skew_corrections - (SELECT clock_skew_corrections FROM s0) AS corrections FROM segment_membership_stats();
\! /usr/bin/python3 test/mockctl.py stats signature_rejections

-- the retry quota (500 tokens, 14 per retry) stops a retry storm
\set u :http_url '/mock/fail=500'
SET segment_membership.endpoint_url = :'u';
SET segment_membership.max_attempts = 4;
SELECT x LIKE '%retry quota of this session is used up%' AS quota_used_up
FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ids('storm', 5000))$$) x
WHERE x LIKE 'DETAIL%';
SELECT retry_quota < 14 AS quota_low FROM segment_membership_stats();
