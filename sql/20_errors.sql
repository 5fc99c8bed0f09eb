--
-- Bad arguments and API errors: clear errors with fitting SQLSTATEs.
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
-- 64 characters is the longest allowed name (the mock then says it does not exist)
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership(repeat('a', 64), 'high-value', ARRAY[md5('a')])$$);

-- NULL names
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership(NULL, 'high-value', ARRAY[md5('a')])$$);
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', NULL, ARRAY[md5('a')])$$);

-- unknown domain and segment: 404 ResourceNotFoundException -> 42704
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('no-such-domain', 'high-value', ARRAY[md5('a')])$$);
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'no-such-segment', ARRAY[md5('a')])$$);
-- arrays the function does not take
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ARRAY[[md5('a'), md5('b')], [md5('c'), md5('d')]])$$);

-- odd elements are failure rows, never errors or silent drops
SELECT length(profile_id) AS len, query_result, failure_status, failure_message
FROM get_segment_membership('demo-domain', 'high-value',
       ARRAY[repeat('a', 1000000), repeat('0', 31) || 'é', ' ' || md5('a'),
             md5('a') || ' ', E'\\x00', '0x' || repeat('1', 30), md5('a')]);

-- non-default lower bounds of the array do not matter
SELECT profile_id, query_result
FROM get_segment_membership('demo-domain', 'high-value',
       '[5:6]={0123456789abcdef0123456789abcdef,ffffffffffffffffffffffffffffffff}'::text[]);

