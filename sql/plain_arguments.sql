--
-- Argument checks: everything here is decided before a request (or even a
-- credential look-up) would be made, so no network is needed.
--
\set VERBOSITY default

-- names are checked against the API's rule before anything is sent
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo domain', 'high-value', ARRAY[md5('a')])$$);
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', '../high-value', ARRAY[md5('a')])$$);
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain/x', 'high-value', ARRAY[md5('a')])$$);
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('', 'high-value', ARRAY[md5('a')])$$);
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high%20value', ARRAY[md5('a')])$$);
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'it''s', ARRAY[md5('a')])$$);
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('démo', 'high-value', ARRAY[md5('a')])$$);
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'x?y=1', ARRAY[md5('a')])$$);
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership(repeat('a', 65), 'high-value', ARRAY[md5('a')])$$);
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership(repeat('é', 100), 'high-value', ARRAY[md5('a')])$$);

-- NULL names
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership(NULL, 'high-value', ARRAY[md5('a')])$$);
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', NULL, ARRAY[md5('a')])$$);
-- arrays the function does not take
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ARRAY[[md5('a'), md5('b')], [md5('c'), md5('d')]])$$);

-- NULL or empty array: no rows
SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value', NULL);
SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value', '{}');

-- ids that cannot be profile ids are failure rows, in order, never errors
-- or silent drops; when no id is valid nothing is sent at all
SELECT ordinality AS n, length(m.profile_id) AS len, m.query_result,
       m.failure_status, m.failure_message
FROM get_segment_membership('demo-domain', 'high-value', ARRAY[
    'x', NULL,
    '0123456789ABCDEF0123456789ABCDEF',   -- upper case
    '0123456789abcdef',                   -- too short
    '',                                   -- empty
    'zz23456789abcdef0123456789abcdef',   -- non-hex
    repeat('a', 1000000), repeat('0', 31) || 'é', ' ' || md5('a'),
    md5('a') || ' ', E'\\x00', '0x' || repeat('1', 30)]) WITH ORDINALITY AS m
ORDER BY n;
-- the session's counters agree: no request was made
SELECT attempts, failed_requests, connections_opened, credential_fetches
FROM segment_membership_stats();
