--
-- Basic answers: PRESENT, ABSENT, failure rows; order, duplicates, NULLs,
-- invalid ids; the profile jsonb exactly as sent; many ids.
--

-- one of each kind, in the order given, duplicates and NULLs included
SELECT ordinality AS n, m.profile_id, m.query_result, m.failure_status,
       m.failure_message, m.last_computed_at, m.profile IS NOT NULL AS has_profile
FROM get_segment_membership('demo-domain', 'high-value', ARRAY[
    '0123456789abcdef0123456789abcdef',   -- PRESENT, the rich profile
    md5('b'),                             -- ABSENT
    'ffffffffffffffffffffffffffffffff',   -- no such profile: Failures
    NULL,                                 -- not sent
    '0123456789ABCDEF0123456789ABCDEF',   -- upper case: invalid
    '0123456789abcdef',                   -- too short
    '',                                   -- empty
    md5('b'),                             -- duplicate
    'zz23456789abcdef0123456789abcdef',   -- non-hex
    '0123456789abcdef0123456789abcdef'    -- duplicate of the first
  ]) WITH ORDINALITY AS m
ORDER BY n;

-- the whole profile, exactly as the reply carried it (nested addresses,
-- attributes, found-by items, engagement preferences, non-ASCII text and
-- JSON escapes)
SELECT jsonb_pretty(profile)
FROM get_segment_membership('demo-domain', 'high-value',
                            ARRAY['0123456789abcdef0123456789abcdef']);

-- typed access into it
SELECT profile->>'FirstName' AS first_name,
       profile->'Address'->>'City' AS city,
       profile->'Attributes'->>'note' AS note,
       profile#>>'{EngagementPreferences,Email,0,KeyValue}' AS email_pref,
       jsonb_typeof(profile->'FoundByItems') AS found_by
FROM get_segment_membership('demo-domain', 'high-value',
                            ARRAY['0123456789abcdef0123456789abcdef']);

-- a generated profile with escapes and non-ASCII names
SELECT profile->'Attributes'->>'note' = E'Quote " backslash \\ newline \n tab \t party \U0001F389' AS note_ok,
       profile->>'ProfileId' = profile_id AS id_matches,
       length(profile::text) > 200 AS sizeable
FROM get_segment_membership('demo-domain', 'everyone', ARRAY[md5('a')]);

-- NULL or empty array: no rows
SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value', NULL);
SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value', '{}');
-- only invalid ids: failure rows, nothing is sent
SELECT profile_id, failure_status, failure_message
FROM get_segment_membership('demo-domain', 'high-value', ARRAY['x', NULL]);

-- 1,234 ids with duplicates (13 batches of at most 100 distinct ids):
-- one row per element, in order, each with the answer the mock gives
WITH input AS (
  SELECT i, md5((i % 1000)::text) AS id
  FROM generate_series(1, 1234) AS i
), result AS (
  SELECT m.*
  FROM get_segment_membership('demo-domain', 'churn_risk',
         ARRAY(SELECT id FROM input ORDER BY i)) WITH ORDINALITY AS m(profile_id, query_result, profile, failure_status, failure_message, last_computed_at, ord)
)
SELECT count(*) AS rows,
       count(*) FILTER (WHERE r.profile_id = input.id) AS in_order,
       count(*) FILTER (WHERE r.query_result IS NOT DISTINCT FROM expected_result('churn_risk', input.id)) AS correct,
       count(*) FILTER (WHERE r.query_result = 'PRESENT') AS present,
       count(*) FILTER (WHERE r.query_result = 'PRESENT' AND r.profile IS NULL) AS present_without_profile,
       count(*) FILTER (WHERE r.failure_status = 404) AS not_found,
       count(DISTINCT r.last_computed_at) AS computed_at_values
FROM result r JOIN input ON input.i = r.ord;

-- a repeated id gets exactly the answer of its first occurrence, profile
-- and all, however far apart they are (150 distinct ids, 1,000 elements)
WITH r AS (
  SELECT m.*
  FROM get_segment_membership('demo-domain', 'everyone',
         ARRAY(SELECT md5((i % 150)::text) FROM generate_series(1, 1000) i))
       WITH ORDINALITY AS m(profile_id, query_result, profile, failure_status, failure_message, last_computed_at, ord)
), firsts AS (
  SELECT DISTINCT ON (profile_id) * FROM r ORDER BY profile_id, ord
)
SELECT count(*) AS repeats,
       count(*) FILTER (WHERE (r.query_result, r.profile, r.failure_status, r.failure_message, r.last_computed_at)
                        IS NOT DISTINCT FROM
                        (f.query_result, f.profile, f.failure_status, f.failure_message, f.last_computed_at)) AS identical,
       count(*) FILTER (WHERE r.profile IS NOT NULL) AS with_profile
FROM r JOIN firsts f USING (profile_id)
WHERE r.ord > f.ord;

-- each distinct id is asked about once: 1000 distinct ids -> 10 requests
\! /usr/bin/python3 test/mockctl.py reset
SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value',
    ARRAY(SELECT md5((i % 1000)::text) FROM generate_series(1, 3000) i));
\! /usr/bin/python3 test/mockctl.py stats requests ids_answered signature_rejections

-- segments where everyone or nobody is a member
SELECT query_result, count(*)
FROM get_segment_membership('test-domain', 'everyone',
       ARRAY(SELECT md5(i::text) FROM generate_series(1, 250) i))
GROUP BY 1 ORDER BY 1;
SELECT query_result, count(*), count(profile) AS with_profile
FROM get_segment_membership('test-domain', 'nobody',
       ARRAY(SELECT md5(i::text) FROM generate_series(1, 250) i))
GROUP BY 1 ORDER BY 1;
