#!/bin/bash
# test/bench.sh -- throughput, latency, CPU, connections and memory of
# get_segment_membership() against the mock endpoint with an added
# per-request latency.  A benchmark, not a test: it prints figures.
#
#   test/install-deps.sh && test/bench.sh [--quick]
#
# Runs (each in a fresh session, after a warm-up call):
#   N = 10,000 ids at 50 ms latency, max_concurrency 1 and 8
#   N = 1,000,000 ids at 0 ms latency, max_concurrency 8
#   cancel latency: pg_cancel_backend() during the 10,000 / 50 ms / 8 call
# and a baseline: the same 10,000 ids through a Python client that signs
# with botocore and sends sequentially (what a boto3 job would do, since
# Debian's botocore has no GetSegmentMembership model) and with 8 threads.
#
# For each run it prints wall time, ids/s, the ratio of wall time to the
# ideal ceil(N/100 / max_concurrency) * latency, backend CPU seconds per
# 10,000 ids, new connections opened, and peak backend memory growth
# (VmHWM after the call minus VmRSS before it; the peak is reset first).
set -u
cd "$(dirname "$0")/.."
source test/lib.sh

QUICK=
[ "${1:-}" = "--quick" ] && QUICK=1

sm_install || exit 1
sm_setup || exit 1
psql -X -q -v ON_ERROR_STOP=1 <<'EOF' >/dev/null || exit 1
CREATE EXTENSION segment_membership;
CREATE EXTENSION dblink;
-- this backend's CPU seconds, resident and peak memory (kB)
CREATE FUNCTION bench_proc(OUT cpu_s float8, OUT rss_kb bigint, OUT hwm_kb bigint)
LANGUAGE sql AS $$
  SELECT ((f[14])::bigint + (f[15])::bigint) / 100.0,
         (regexp_match(s, 'VmRSS:\s+(\d+)'))[1]::bigint,
         (regexp_match(s, 'VmHWM:\s+(\d+)'))[1]::bigint
  FROM (SELECT regexp_split_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f0,
               pg_read_file('/proc/self/status') AS s) x,
       LATERAL (SELECT ARRAY['', ''] || f0 AS f) y
$$;
-- reset this backend's peak RSS (VmHWM)
CREATE FUNCTION bench_reset_hwm() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('COPY (SELECT 1) TO PROGRAM %L',
                 format('cat >/dev/null; echo 5 > /proc/%s/clear_refs', pg_backend_pid()));
END $$;
CREATE TABLE bench_input (n int PRIMARY KEY, ids text[]);
INSERT INTO bench_input SELECT 10000, ARRAY(SELECT md5('bench' || i) FROM generate_series(1, 10000) i);
INSERT INTO bench_input SELECT 1000000, ARRAY(SELECT md5('bench' || i) FROM generate_series(1, 1000000) i);
EOF

# sample_private_memory PIDFILE STOPFILE OUTFILE: once PIDFILE names a
# backend, sample its private resident memory (RssAnon) every 10 ms until
# STOPFILE appears; write "baseline_kb peak_kb" to OUTFILE.  (VmHWM also
# counts the shared buffers the call touched; RssAnon is the backend's own.)
sample_private_memory() {
	local pidfile=$1 stopfile=$2 out=$3 pid base peak v
	while [ ! -s "$pidfile" ]; do sleep 0.01; done
	pid=$(tr -dc '0-9' <"$pidfile")
	base=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status")
	peak=$base
	while [ ! -e "$stopfile" ]; do
		v=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
		sleep 0.01
	done
	echo "$base $peak" >"$out"
}

# bench_run N LATENCY_MS CONCURRENCY
bench_run() {
	local n=$1 lat=$2 conc=$3 pidfile=$SM_WORK/bench.pid stopfile=$SM_WORK/bench.stop memfile=$SM_WORK/bench.mem
	rm -f "$pidfile" "$stopfile" "$memfile"
	sample_private_memory "$pidfile" "$stopfile" "$memfile" &
	local sampler=$!
	psql -X -q -A -t -v ON_ERROR_STOP=1 -v n="$n" -v lat="$lat" -v conc="$conc" -v mock="$MOCK_URL" \
		-v pidfile="$pidfile" -v stopfile="$stopfile" >"$SM_WORK/bench.out" <<'EOF'
\set url :mock '/mock/latency=' :lat
SET segment_membership.endpoint_url = :'url';
SET segment_membership.max_concurrency = :conc;
SET work_mem = '4MB';
-- warm-up: loads the library and opens connections, as a session would
SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value', ARRAY[md5('warm')]) \gset warm_
\o :pidfile
SELECT pg_backend_pid();
\o
SELECT pg_sleep(0.2);
SELECT * FROM bench_proc() \gset b_
SELECT connections_opened AS b_conns FROM segment_membership_stats() \gset
SELECT bench_reset_hwm();
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT count(*) AS rows, count(*) FILTER (WHERE query_result IS NOT NULL OR failure_status = 404) AS answered
FROM bench_input, get_segment_membership('demo-domain', 'high-value', ids) WHERE n = :n \gset r_
SELECT extract(epoch FROM clock_timestamp()) AS t1 \gset
\o :stopfile
SELECT 1;
\o
SELECT * FROM bench_proc() \gset a_
SELECT connections_opened AS a_conns FROM segment_membership_stats() \gset
SELECT format('N=%s latency=%s ms max_concurrency=%s: rows=%s answered=%s wall=%s s ids/s=%s ideal=%s s ratio=%s cpu=%s s per 10k ids, new connections=%s, peak RSS growth=%s MB',
              :n, :lat, :conc, :r_rows, :r_answered,
              round((:t1 - :t0)::numeric, 3),
              round(:n / (:t1 - :t0)),
              round(ceil(:n / 100.0 / :conc) * :lat / 1000.0, 3),
              CASE WHEN :lat > 0 THEN round(((:t1 - :t0) / (ceil(:n / 100.0 / :conc) * :lat / 1000.0))::numeric, 3)::text ELSE 'n/a' END,
              round(((:a_cpu_s - :b_cpu_s) * 10000.0 / :n)::numeric, 3),
              :a_conns - :b_conns,
              round((:a_hwm_kb - :b_rss_kb) / 1024.0, 1));
EOF
	local rc=$?
	touch "$stopfile"
	wait "$sampler"
	if [ $rc -eq 0 ]; then
		read -r base peak <"$memfile"
		printf '%s, peak private memory growth=%s MB\n' "$(tail -n 1 "$SM_WORK/bench.out")" \
			"$(awk -v b="$base" -v p="$peak" 'BEGIN {printf "%.1f", (p - b) / 1024}')"
	else
		cat "$SM_WORK/bench.out"
	fi
}

# bench_cancel: cancel a 10,000-id call at 50 ms latency, 8 in flight, from
# another session; the time from pg_cancel_backend() to the call's return
bench_cancel() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -v mock="$MOCK_URL" -v host="$PGHOST" -v port="$PGPORT" <<'EOF'
\set url :mock '/mock/latency=50'
SELECT dblink_connect('victim', format('host=%s port=%s dbname=postgres user=postgres', :'host', :'port')) \gset x_
SELECT pid FROM dblink('victim', 'SELECT pg_backend_pid()') AS t(pid int) \gset
SELECT set_config('bench.pid', :'pid', false) \gset x_
SELECT dblink_exec('victim', format('SET segment_membership.endpoint_url = %L', :'url')) \gset x_
SELECT dblink_exec('victim', 'SET segment_membership.max_concurrency = 8') \gset x_
DO $$
DECLARE t0 timestamptz; t1 timestamptz; lat float8[] := '{}';
BEGIN
  FOR i IN 1..5 LOOP
    PERFORM dblink_send_query('victim', 'SELECT count(*) FROM bench_input, get_segment_membership(''demo-domain'', ''high-value'', ids) WHERE n = 10000');
    PERFORM pg_sleep(0.2 + random() * 0.2);
    t0 := clock_timestamp();
    PERFORM pg_cancel_backend(current_setting('bench.pid')::int);
    BEGIN
      PERFORM * FROM dblink_get_result('victim') AS t(n bigint);
    EXCEPTION WHEN query_canceled THEN
      t1 := clock_timestamp();
    END;
    PERFORM * FROM dblink_get_result('victim') AS t(n bigint);
    lat := lat || extract(epoch FROM t1 - t0) * 1000;
  END LOOP;
  RAISE NOTICE 'cancel latency over 5 cancels during a 10000-id call (50 ms, 8 in flight): max % ms, values % ms',
    round((SELECT max(x) FROM unnest(lat) x)::numeric, 1),
    (SELECT string_agg(round(x::numeric, 1)::text, ', ') FROM unnest(lat) x);
END $$;
EOF
}

echo "segment_membership benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, mock on the same machine)"
bench_run 10000 50 1
bench_run 10000 50 8
bench_cancel 2>&1 | sed -n 's/^.*NOTICE: *//p'
if [ -z "$QUICK" ]; then
	bench_run 1000000 0 8
fi
echo "baseline: a Python client signing with botocore (python3-botocore), same mock:"
"$SM_PYTHON" test/bench_python.py --port "$MOCK_HTTP_PORT" --ids 10000 --latency 50 --concurrency 1
"$SM_PYTHON" test/bench_python.py --port "$MOCK_HTTP_PORT" --ids 10000 --latency 50 --concurrency 8
