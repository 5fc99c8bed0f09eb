#!/bin/bash
# test/bench_waits.sh -- CPU of a fault-heavy, latency-bound call: how much
# of its wall time the backend spends on the CPU while it waits for slow
# replies and for retries (issue 8 #4: the wait loop must sleep until a
# socket event, curl's timer or the next retry is due, never spin).
# A benchmark, not a test: it prints figures (test/t_transport.sh holds the
# regression check).
#
#   test/install-deps.sh && test/bench_waits.sh [RUNS]
#
# Each run (RUNS, default 3, in one session after a warm-up call): 1,200 ids
# (12 requests) at max_concurrency 1, 2 and 4, max_attempts 6, against the mock
# answering 50% of the requests with 500/503, every answer after 300 ms and
# a tenth of them (the "delay" fault) after 1 s.  Backend CPU is utime +
# stime of /proc/self/stat before and after.
set -u
cd "$(dirname "$0")/.."
source test/lib.sh

RUNS=${1:-3}
sm_install || exit 1
sm_setup || exit 1
psql -X -q -c "CREATE EXTENSION segment_membership" >/dev/null || exit 1

printf '%-6s %-4s %-6s %10s %8s %8s %8s\n' run conc seed wall_s cpu_s cpu_pct attempts
total_cpu=0 total_wall=0
for run in $(seq "$RUNS"); do
	for conc in 1 2 4; do
		seed=$((run * 10 + conc))
		url="$MOCK_URL/mock/rate=0.5/faults=500.503.500.503.500.503.500.503.delay.delay/delay=1000/seed=$seed/latency=300"
		line=$(psql -X -q -A -t -v url="$url" -v conc="$conc" <<'EOF'
CREATE OR REPLACE FUNCTION pg_temp.cpu_s() RETURNS float8 LANGUAGE sql AS $$
  SELECT ((f[12])::bigint + (f[13])::bigint) / 100.0
  FROM (SELECT regexp_split_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) x $$;
SET segment_membership.endpoint_url = :'url';
SET segment_membership.max_concurrency = :conc;
SET segment_membership.max_attempts = 6;
SET segment_membership.on_request_failure = failure_rows;
SELECT 1 FROM get_segment_membership('demo-domain', 'everyone', ARRAY['warm-up']) \g /dev/null
SELECT pg_temp.cpu_s() AS c0, clock_timestamp() AS t0,
       (SELECT attempts FROM segment_membership_stats() AS s(attempts)) AS a0 \gset
SELECT count(*) FROM get_segment_membership('demo-domain', 'everyone',
  ARRAY(SELECT md5('bench' || g) FROM generate_series(1, 1200) g)) \g /dev/null
SELECT round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 2) || ' ' ||
       round((pg_temp.cpu_s() - :c0)::numeric, 2) || ' ' ||
       ((SELECT attempts FROM segment_membership_stats() AS s(attempts)) - :a0);
EOF
)
		read -r wall cpu attempts <<<"$line"
		pct=$(awk -v c="$cpu" -v w="$wall" 'BEGIN {printf "%.1f", (w > 0 ? 100 * c / w : 0)}')
		printf '%-6s %-4s %-6s %10s %8s %8s %8s\n' "$run" "$conc" "$seed" "$wall" "$cpu" "$pct" "$attempts"
		total_cpu=$(awk -v a="$total_cpu" -v b="$cpu" 'BEGIN {print a + b}')
		total_wall=$(awk -v a="$total_wall" -v b="$wall" 'BEGIN {print a + b}')
	done
done
awk -v c="$total_cpu" -v w="$total_wall" 'BEGIN {printf "total: %.2f s CPU over %.2f s wall = %.1f%% of wall\n", c, w, 100 * c / w}'
