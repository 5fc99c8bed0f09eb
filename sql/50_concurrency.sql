--
-- Concurrency: batches in flight at once, results still in input order;
-- connections reused; cancellation and timeouts take effect at once and
-- leave the session clean.
--
\getenv mock_http_port MOCK_HTTP_PORT
\getenv pghost PGHOST
\getenv pgport PGPORT
\set http_url 'http://127.0.0.1:' :mock_http_port
-- a third of the requests answer 100 ms late, so replies arrive out of order
\set jitter_url :http_url '/mock/rate=0.33/faults=delay/delay=100/seed=7'
\set slow_url :http_url '/mock/latency=2000'
LOAD 'segment_membership';

-- the sockets and epoll instances this backend holds
CREATE FUNCTION backend_fds(OUT sockets int, OUT epolls int) LANGUAGE plpgsql AS $$
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS fd_list (line text);
  TRUNCATE fd_list;
  -- ls exits 1 when an fd closes while it lists them (not an error here)
  EXECUTE format('COPY fd_list FROM PROGRAM %L',
                 format('ls -l /proc/%s/fd 2>/dev/null || [ $? -eq 1 ]', pg_backend_pid()));
  SELECT count(*) FILTER (WHERE line LIKE '%socket:%'),
         count(*) FILTER (WHERE line LIKE '%eventpoll%')
    INTO sockets, epolls FROM fd_list;
END
$$;
CREATE TEMP TABLE stats0 AS SELECT * FROM segment_membership_stats();
SELECT sockets AS sockets_before, epolls AS epolls_before FROM backend_fds() \gset

-- 2,500 ids (25 requests), 8 in flight, replies out of order: every row in
-- input order with its own answer
\! /usr/bin/python3 test/mockctl.py reset
SET segment_membership.endpoint_url = :'jitter_url';
SET segment_membership.max_concurrency = 8;
WITH input AS (
  SELECT i, md5('order' || i) AS id FROM generate_series(1, 2500) i
)
SELECT count(*) AS rows,
       count(*) FILTER (WHERE m.profile_id = input.id) AS in_order,
       count(*) FILTER (WHERE m.query_result IS NOT DISTINCT FROM expected_result('high-value', input.id)) AS correct
FROM get_segment_membership('demo-domain', 'high-value',
       ARRAY(SELECT id FROM input ORDER BY i)) WITH ORDINALITY AS m(profile_id, query_result, profile, failure_status, failure_message, last_computed_at, ord)
JOIN input ON input.i = m.ord;
\! /usr/bin/python3 test/mockctl.py stats requests faults.delay
-- the mock saw several requests at once, but never more than 8
\! /usr/bin/python3 -c "import json,os,urllib.request as u; s=json.load(u.urlopen('http://127.0.0.1:%s/_mock/stats' % os.environ['MOCK_HTTP_PORT'])); print('concurrent:', 1 < s['max_in_flight'] <= 8)"

-- connections: at most max_concurrency opened, and a repeated call in the
-- same session opens none
SELECT connections_opened - (SELECT connections_opened FROM stats0) <= 8 AS at_most_8,
       connections_open <= 8 AS open_at_most_8
FROM segment_membership_stats();
CREATE TEMP TABLE stats1 AS SELECT * FROM segment_membership_stats();
SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value',
       ARRAY(SELECT md5('again' || i) FROM generate_series(1, 2500) i));
SELECT s.connections_opened - s1.connections_opened AS new_connections,
       s.attempts - s1.attempts AS attempts,
       s.signing_keys_derived AS signing_keys_derived_in_session
FROM segment_membership_stats() s, stats1 s1;

-- max_concurrency = 1: strictly one request at a time
\! /usr/bin/python3 test/mockctl.py reset
SET segment_membership.max_concurrency = 1;
SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value',
       ARRAY(SELECT md5('seq' || i) FROM generate_series(1, 500) i));
\! /usr/bin/python3 test/mockctl.py stats max_in_flight requests
RESET segment_membership.max_concurrency;

-- statement_timeout interrupts the wait for slow replies at once
SET segment_membership.endpoint_url = :'slow_url';
SET statement_timeout = '300ms';
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value',
       ARRAY(SELECT md5('slow' || i) FROM generate_series(1, 1000) i));
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1.5 s' AS returned_promptly;
-- the session is fine afterwards: same number of open files, calls work
RESET segment_membership.endpoint_url;
SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value', ARRAY[md5('after')]);
-- every socket the calls added is a cached connection, apart from the
-- wake-up socket pair libcurl keeps per multi handle; no wait event set
-- was left behind
SELECT f.sockets - :sockets_before - s.connections_open AS unaccounted_sockets,
       f.epolls - :epolls_before AS extra_epolls,
       s.connections_open <= 8 AS at_most_8_open
FROM backend_fds() f, segment_membership_stats() s;

-- pg_cancel_backend() from another session, while 8 requests are in flight
CREATE EXTENSION dblink;
SELECT dblink_connect('other', format('host=%s port=%s dbname=%s user=postgres',
                                      :'pghost', :'pgport', current_database()));
SELECT pid AS other_pid FROM dblink('other', 'SELECT pg_backend_pid()') AS t(pid int) \gset
SET sm.other_pid = :other_pid;
SELECT dblink_exec('other', format('SET segment_membership.endpoint_url = %L', :'slow_url'));
SELECT dblink_send_query('other', $$SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value', ARRAY(SELECT md5('c' || i) FROM generate_series(1, 5000) i))$$);
-- wait until it is waiting on the network (at most 10 s)
DO $$
BEGIN
  FOR i IN 1..100 LOOP
    EXIT WHEN EXISTS (SELECT FROM pg_stat_activity
                      WHERE pid = current_setting('sm.other_pid')::int
                        AND wait_event_type = 'Extension');
    PERFORM pg_sleep(0.1);
  END LOOP;
END
$$;
SELECT wait_event_type, state FROM pg_stat_activity WHERE pid = :other_pid;
SELECT clock_timestamp() AS t0 \gset
SELECT pg_cancel_backend(:other_pid);
SELECT * FROM dblink_get_result('other') AS t(n bigint);
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1 s' AS cancelled_promptly;
SELECT * FROM dblink_get_result('other') AS t(n bigint);
-- that session goes on working
SELECT * FROM dblink('other', $$SET segment_membership.endpoint_url = ''; SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value', ARRAY[md5('x')])$$) AS t(n bigint);
SELECT * FROM dblink('other', $$SELECT connections_open <= 8 FROM segment_membership_stats()$$) AS t(ok bool);

-- pg_terminate_backend() ends it promptly too
SELECT dblink_exec('other', format('SET segment_membership.endpoint_url = %L', :'slow_url'));
SELECT dblink_send_query('other', $$SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value', ARRAY(SELECT md5('t' || i) FROM generate_series(1, 5000) i))$$);
SELECT pg_sleep(0.3);
SELECT pg_terminate_backend(:other_pid, 1000);
SELECT count(*) AS still_there FROM pg_stat_activity WHERE pid = :other_pid;
SELECT dblink_disconnect('other');
