#!/bin/bash
# test/t_load.sh -- load test (run by test/run-tests.sh).
#
# 1. pgbench, 8 client sessions, each calling get_segment_membership() for
#    10,000 ids five times against the mock injecting faults into 20% of
#    the requests: every call must return all rows correctly or fail with a
#    clear error; no backend may crash; no session may hold more
#    connections than max_concurrency.  (With 100 requests per call and a
#    0.8% chance that a request fails all 3 attempts, about half the calls
#    are expected to fail - cleanly.)
# 2. One session makes 1,000 calls in a row (faults included, some calls
#    failing) while its private memory (RssAnon) and memory contexts are
#    read at calls 100 and 1,000: they must stay flat.
#
# Prints the figures and "N passed, M failed".
set -u
cd "$(dirname "$0")/.."
: "${PGHOST:?run from test/run-tests.sh}" "${MOCK_HTTP_PORT:?}"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
passed=0 failed=0
check() {	# check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $what"; fi
}

URL="http://127.0.0.1:$MOCK_HTTP_PORT/mock/rate=0.2/faults=throttle.500.503.reset.truncate.garbage/seed=42"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -v url="$URL" <<'EOF2' >/dev/null || exit 1
CREATE EXTENSION IF NOT EXISTS segment_membership;
CREATE UNLOGGED TABLE load_results (
  pid int, ok bool, nrows bigint, correct bigint, wrong bigint, state text,
  message text, connections_open bigint, at timestamptz DEFAULT clock_timestamp());
CREATE OR REPLACE FUNCTION load_expected(id text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN left(id, 1) = 'f' THEN NULL
              WHEN left(md5('high-value:' || id), 1) < '8' THEN 'PRESENT' ELSE 'ABSENT' END
$$;
-- one call of n ids; the outcome goes into load_results
CREATE OR REPLACE FUNCTION load_call(n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  ids text[] := ARRAY(SELECT md5(random()::text) FROM generate_series(1, n));
  r load_results;
BEGIN
  r.pid := pg_backend_pid();
  BEGIN
    SELECT count(*),
           count(*) FILTER (WHERE m.profile_id = ids[m.ord]
                            AND m.query_result IS NOT DISTINCT FROM load_expected(ids[m.ord])
                            AND (m.query_result IS NOT NULL OR m.failure_status = 404)),
           count(*) FILTER (WHERE m.profile_id IS DISTINCT FROM ids[m.ord]
                            OR m.query_result IS DISTINCT FROM load_expected(ids[m.ord])
                            OR (m.query_result IS NULL AND m.failure_status IS DISTINCT FROM 404))
      INTO r.nrows, r.correct, r.wrong
    FROM get_segment_membership('demo-domain', 'high-value', ids)
         WITH ORDINALITY AS m(profile_id, query_result, profile, failure_status, failure_message, last_computed_at, ord);
    r.wrong := r.wrong + (n - r.nrows);
    r.ok := true;
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS r.state = RETURNED_SQLSTATE, r.message = MESSAGE_TEXT;
    r.ok := false;
  END;
  SELECT connections_open INTO r.connections_open FROM segment_membership_stats();
  r.at := clock_timestamp();
  INSERT INTO load_results SELECT r.*;
END
$$;
-- this backend's private resident memory (kB) and memory-context total
CREATE OR REPLACE FUNCTION load_memory(OUT rss_anon_kb bigint, OUT contexts_kb bigint)
LANGUAGE sql AS $$
  SELECT (regexp_match(pg_read_file('/proc/self/status'), 'RssAnon:\s+(\d+)'))[1]::bigint,
         (SELECT sum(total_bytes) / 1024 FROM pg_backend_memory_contexts)::bigint
$$;
EOF2

/usr/bin/python3 test/mockctl.py reset
echo "SELECT load_call(10000);" >"$SM_WORK/load.sql"
t0=$(date +%s.%N)
PGOPTIONS="-c segment_membership.endpoint_url=$URL" \
	"$PGBIN/pgbench" -n -d postgres -c 8 -j 2 -t 5 -f "$SM_WORK/load.sql" >"$SM_WORK/pgbench.log" 2>&1
rc=$?
t1=$(date +%s.%N)
check "pgbench ran without client errors" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -n 20 "$SM_WORK/pgbench.log"

IFS='|' read -r calls ok_calls failed_calls wrong clean max_conns sessions ids <<<"$(psql -X -A -t -d postgres -c "
  SELECT count(*), count(*) FILTER (WHERE ok), count(*) FILTER (WHERE NOT ok),
         coalesce(sum(wrong), 0),
         count(*) FILTER (WHERE NOT ok AND state ~ '^(08001|08006|08P01|38000|53400)$' AND message <> ''),
         max(connections_open), count(DISTINCT pid), coalesce(sum(nrows), 0)
  FROM load_results")"
stats=$(/usr/bin/python3 test/mockctl.py stats requests faults max_in_flight | tr '\n' ' ')
echo "load: 8 sessions x 5 calls x 10,000 ids in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s:" \
	"$calls calls, $ok_calls returned all rows ($ids rows), $failed_calls failed cleanly ($clean with a documented SQLSTATE), wrong rows $wrong," \
	"max connections per session $max_conns; mock: $stats"
check "40 calls made by 8 sessions" [ "$calls" = 40 ] && [ "$sessions" = 8 ]
check "no wrong rows" [ "$wrong" = 0 ]
check "every failed call failed cleanly" [ "$failed_calls" = "$clean" ]
check "some calls return all rows despite the faults" [ "$ok_calls" -ge 1 ]
check "no session holds more than max_concurrency connections" [ "$max_conns" -le 8 ]
if grep -qE 'terminated by signal' "$SM_WORK/postgres.log"; then
	check "no backend crashed" false
else
	check "no backend crashed" true
fi

# memory over 1,000 calls in one session (100 ids each, faults included)
psql -X -q -A -t -d postgres -v url="$URL" >"$SM_WORK/mem.log" 2>&1 <<'EOF2'
SET segment_membership.endpoint_url = :'url';
SET segment_membership.max_attempts = 2;
SELECT load_call(100) FROM generate_series(1, 100) \g /dev/null
SELECT 'after100', * FROM load_memory();
SELECT format('SELECT load_call(100)') FROM generate_series(1, 900) \gexec
SELECT 'after1000', * FROM load_memory();
SELECT 'calls', count(*), count(*) FILTER (WHERE NOT ok), sum(wrong) FROM load_results WHERE pid = pg_backend_pid();
EOF2
read -r _ rss100 ctx100 <<<"$(grep '^after100|' "$SM_WORK/mem.log" | tr '|' ' ')"
read -r _ rss1000 ctx1000 <<<"$(grep '^after1000|' "$SM_WORK/mem.log" | tr '|' ' ')"
read -r _ ncalls nfailed nwrong <<<"$(grep '^calls|' "$SM_WORK/mem.log" | tr '|' ' ')"
echo "memory over 1,000 calls ($nfailed failed cleanly, wrong rows $nwrong): private RSS ${rss100} kB after 100 calls, ${rss1000} kB after 1,000;" \
	"memory contexts ${ctx100} kB and ${ctx1000} kB"
check "1,000 calls made" [ "${ncalls:-0}" = 1000 ]
check "no wrong rows in 1,000 calls" [ "${nwrong:-1}" = 0 ]
check "private memory flat (< 1 MB growth from call 100 to 1,000)" [ $(( ${rss1000:-999999} - ${rss100:-0} )) -lt 1024 ]
check "memory contexts flat (< 256 kB growth)" [ $(( ${ctx1000:-999999} - ${ctx100:-0} )) -lt 256 ]
echo "$passed passed, $failed failed"
