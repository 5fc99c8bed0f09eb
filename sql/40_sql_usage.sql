--
-- The function in real SQL: joins, a materialized view, PL/pgSQL,
-- privileges, planner estimates.
--
CREATE TABLE customers (
  customer_no int PRIMARY KEY,
  profile_id text NOT NULL,
  name text
);
INSERT INTO customers
SELECT i, md5('customer' || i), 'Customer ' || i FROM generate_series(1, 300) i;

-- the join from the README
SELECT count(*) AS members,
       count(*) FILTER (WHERE m.profile->>'ProfileId' = c.profile_id) AS with_profile,
       bool_and(expected_result('high-value', c.profile_id) = 'PRESENT') AS all_correct
FROM customers c
JOIN get_segment_membership('demo-domain', 'high-value',
                            ARRAY(SELECT profile_id FROM customers)) m
  USING (profile_id)
WHERE m.query_result = 'PRESENT';

-- a materialized view of membership, refreshed
CREATE MATERIALIZED VIEW high_value_customers AS
SELECT c.customer_no, c.name, m.profile->>'EmailAddress' AS email
FROM customers c
JOIN get_segment_membership('demo-domain', 'high-value',
                            ARRAY(SELECT profile_id FROM customers ORDER BY customer_no)) m
  USING (profile_id)
WHERE m.query_result = 'PRESENT';
SELECT count(*) FROM high_value_customers;
INSERT INTO customers
SELECT i, md5('customer' || i), 'Customer ' || i FROM generate_series(301, 400) i;
REFRESH MATERIALIZED VIEW high_value_customers;
SELECT count(*) = (SELECT count(*) FROM customers WHERE expected_result('high-value', profile_id) = 'PRESENT') AS refreshed_correctly
FROM high_value_customers;

-- a stored procedure that records membership in a table
CREATE TABLE segment_members (
  segment text, profile_id text, checked_at timestamptz DEFAULT now(),
  PRIMARY KEY (segment, profile_id));
CREATE PROCEDURE record_members(seg text)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  n int := 0;
BEGIN
  DELETE FROM segment_members WHERE segment = seg;
  FOR r IN SELECT * FROM get_segment_membership('demo-domain', seg,
                                                ARRAY(SELECT profile_id FROM customers))
  LOOP
    IF r.query_result = 'PRESENT' THEN
      INSERT INTO segment_members (segment, profile_id) VALUES (seg, r.profile_id);
      n := n + 1;
    END IF;
  END LOOP;
  COMMIT;
  RAISE NOTICE 'segment %: % members', seg, n;
END
$$;
CALL record_members('churn_risk');
SELECT count(*) FROM segment_members WHERE segment = 'churn_risk';
-- an error inside the procedure's loop is caught like any other
DO $$
DECLARE det text;
BEGIN
  PERFORM * FROM get_segment_membership('demo-domain', 'missing-segment', ARRAY[md5('x')]);
EXCEPTION WHEN undefined_object THEN
  GET STACKED DIAGNOSTICS det = PG_EXCEPTION_DETAIL;
  RAISE NOTICE 'caught: %: %', SQLERRM, sm_mask(det);
END
$$;
-- and the session goes on working afterwards
SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value', ARRAY[md5('x')]);

-- (planner estimates and the parallel plan: plain_planner)

-- under a parallel plan (PARALLEL RESTRICTED keeps the call in the leader)
-- the answers are the same
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                  THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false);
SELECT count(*) FROM customers c
JOIN get_segment_membership('demo-domain', 'high-value',
                            ARRAY(SELECT profile_id FROM customers)) m USING (profile_id)
WHERE m.query_result = 'PRESENT';
RESET ALL;

-- (privileges and who may change which setting: plain_settings)
