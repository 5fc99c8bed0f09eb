--
-- Bad arguments and API errors: clear errors with fitting SQLSTATEs.
--
\set VERBOSITY default

-- (names checked before anything is sent, NULL names, arrays the
-- function does not take: plain_arguments)

-- 64 characters is the longest allowed name (the mock then says it does not exist)
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership(repeat('a', 64), 'high-value', ARRAY[md5('a')])$$);

-- unknown domain and segment: 404 ResourceNotFoundException -> 42704
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('no-such-domain', 'high-value', ARRAY[md5('a')])$$);
SELECT * FROM sm_try($$SELECT * FROM get_segment_membership('demo-domain', 'no-such-segment', ARRAY[md5('a')])$$);

-- odd elements are failure rows, never errors or silent drops
SELECT length(profile_id) AS len, query_result, failure_status, failure_message
FROM get_segment_membership('demo-domain', 'high-value',
       ARRAY[repeat('a', 1000000), repeat('0', 31) || 'é', ' ' || md5('a'),
             md5('a') || ' ', E'\\x00', '0x' || repeat('1', 30), md5('a')]);

-- non-default lower bounds of the array do not matter
SELECT profile_id, query_result
FROM get_segment_membership('demo-domain', 'high-value',
       '[5:6]={0123456789abcdef0123456789abcdef,ffffffffffffffffffffffffffffffff}'::text[]);

