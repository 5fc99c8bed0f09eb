--
-- The README's worked examples ("Worked examples"), run against the mock.
-- test/check_packaging.py checks that every SQL block the README marks
-- with <!-- tested: sql/70_examples.sql --> appears here word for word.
--
\getenv mock_http_port MOCK_HTTP_PORT
\set http_url 'http://127.0.0.1:' :mock_http_port
CREATE SCHEMA examples;
SET search_path = examples, public;

-- 1. A materialized view over a join, refreshed concurrently
CREATE TABLE customers (
    customer_no integer PRIMARY KEY,
    profile_id  text NOT NULL UNIQUE,   -- the Customer Profiles ProfileId
    name        text
);

CREATE MATERIALIZED VIEW high_value_customers AS
SELECT c.customer_no, c.name,
       m.profile->>'EmailAddress' AS email,
       m.last_computed_at
FROM customers c
JOIN get_segment_membership('demo-domain', 'high-value',
                            ARRAY(SELECT profile_id FROM customers)) m
  USING (profile_id)
WHERE m.query_result = 'PRESENT';

-- REFRESH ... CONCURRENTLY needs a unique index on the materialized view
CREATE UNIQUE INDEX high_value_customers_key ON high_value_customers (customer_no);

-- (test: 300 customers, the view holds exactly the members among them)
INSERT INTO customers
SELECT i, md5('example' || i), 'Customer ' || i FROM generate_series(1, 300) i;
REFRESH MATERIALIZED VIEW high_value_customers;
SELECT count(*) AS members,
       count(*) = (SELECT count(*) FROM customers
                   WHERE expected_result('high-value', profile_id) = 'PRESENT') AS correct,
       count(email) = count(*) AS all_with_email
FROM high_value_customers;
-- (test: 700 more customers; the concurrent refresh brings them in)
INSERT INTO customers
SELECT i, md5('example' || i), 'Customer ' || i FROM generate_series(301, 1000) i;
REFRESH MATERIALIZED VIEW CONCURRENTLY high_value_customers;
SELECT count(*) AS members,
       count(*) = (SELECT count(*) FROM customers
                   WHERE expected_result('high-value', profile_id) = 'PRESENT') AS correct
FROM high_value_customers;

-- 2. A membership table refreshed in chunks, one COMMIT per chunk
CREATE TABLE segment_members (
    segment         text NOT NULL,
    profile_id      text NOT NULL,
    query_result    text,           -- PRESENT, ABSENT, or NULL for a failure row
    failure_message text,
    checked_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (segment, profile_id)
);

-- One segment's rows, chunk by chunk, each chunk committed: when a call
-- fails late in a long refresh, the chunks before it are kept.
CREATE PROCEDURE refresh_segment_members(p_domain text, p_segment text,
                                         chunk_size integer DEFAULT 10000)
LANGUAGE plpgsql AS $$
DECLARE
    last_no integer;
    next_no integer;
    ids     text[];
BEGIN
    LOOP
        SELECT array_agg(profile_id ORDER BY customer_no), max(customer_no)
          INTO ids, next_no
          FROM (SELECT customer_no, profile_id FROM customers
                 WHERE last_no IS NULL OR customer_no > last_no
                 ORDER BY customer_no LIMIT chunk_size) AS chunk;
        EXIT WHEN ids IS NULL;

        INSERT INTO segment_members AS s (segment, profile_id, query_result, failure_message)
        SELECT p_segment, m.profile_id, m.query_result, m.failure_message
          FROM get_segment_membership(p_domain, p_segment, ids) AS m
        ON CONFLICT (segment, profile_id) DO UPDATE
           SET query_result = excluded.query_result,
               failure_message = excluded.failure_message,
               checked_at = excluded.checked_at;

        last_no := next_no;
        COMMIT;
    END LOOP;
END
$$;

CALL refresh_segment_members('demo-domain', 'churn_risk');
SELECT count(*) AS rows,
       count(*) FILTER (WHERE query_result IS NOT DISTINCT FROM expected_result('churn_risk', profile_id)) AS correct
FROM segment_members WHERE segment = 'churn_risk';

-- (test: a refresh in chunks of 100 ids whose requests fail now and then,
-- with no retries: the call fails part-way, the chunks before it are kept)
\! /usr/bin/python3 test/mockctl.py reset
\set faulty_url :http_url '/mock/rate=0.15/faults=500/seed=11'
SET segment_membership.endpoint_url = :'faulty_url';
SET segment_membership.max_attempts = 1;
\set VERBOSITY sqlstate
CALL refresh_segment_members('demo-domain', 'high-value', 100);
\set VERBOSITY default
SELECT count(*) AS kept, count(*) % 100 = 0 AS whole_chunks,
       count(*) FILTER (WHERE query_result IS NOT DISTINCT FROM expected_result('high-value', profile_id)) AS correct
FROM segment_members WHERE segment = 'high-value';
RESET segment_membership.endpoint_url;
RESET segment_membership.max_attempts;
-- (test: calling it again completes the refresh)
CALL refresh_segment_members('demo-domain', 'high-value', 100);
SELECT count(*) AS rows,
       count(*) FILTER (WHERE query_result IS NOT DISTINCT FROM expected_result('high-value', profile_id)) AS correct
FROM segment_members WHERE segment = 'high-value';

RESET search_path;
DROP SCHEMA examples CASCADE;
