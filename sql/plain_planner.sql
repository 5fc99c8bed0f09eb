--
-- Planner estimates and parallel plans (EXPLAIN only: nothing is called).
--
CREATE TABLE sm_customers (
  customer_no int PRIMARY KEY,
  profile_id text NOT NULL
);
INSERT INTO sm_customers SELECT i, md5('customer' || i) FROM generate_series(1, 300) i;
ANALYZE sm_customers;

-- the planner knows how many rows a constant array gives
CREATE FUNCTION plan_rows(q text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE j json;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO j;
  RETURN (j->0->'Plan'->>'Plan Rows')::numeric;
END
$$;
SELECT plan_rows($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ARRAY[md5('a'), md5('b'), md5('c')])$$);
SELECT plan_rows($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', '{a,b,c,d,e}')$$);
SELECT plan_rows($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', NULL)$$);
PREPARE q(text[]) AS SELECT * FROM get_segment_membership('demo-domain', 'high-value', $1);
SELECT plan_rows($$EXECUTE q('{a,b,c,d,e,f,g}')$$);
DEALLOCATE q;
-- otherwise the declared 1000
SELECT plan_rows($$SELECT * FROM get_segment_membership('demo-domain', 'high-value', ARRAY(SELECT profile_id FROM sm_customers))$$);

-- parallel plans keep the call in the leader (PARALLEL RESTRICTED): the
-- function scan stays above the Gather
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                  THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false);
EXPLAIN (COSTS OFF)
SELECT count(*) FROM sm_customers c
JOIN get_segment_membership('demo-domain', 'high-value',
                            ARRAY['0123456789abcdef0123456789abcdef']) m USING (profile_id);
RESET ALL;
DROP TABLE sm_customers;
