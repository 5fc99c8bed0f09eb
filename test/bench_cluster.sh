#!/bin/bash
# test/bench_cluster.sh -- the whole server as one AWS client (issue 12).
# A benchmark, not a test: it prints figures (takes a few minutes).
#
#   test/install-deps.sh && test/bench_cluster.sh
#
# The mock endpoint gets a request quota of 50 requests/s (a token bucket
# of 50; over-quota requests get 429 ThrottlingException) and 20 ms latency.
# 8 sessions at once each make one call of 10,000 ids (100 requests) at
# max_concurrency = 8, in three configurations:
#   standard   retry_mode = standard, no rate limit (today's behaviour)
#   limit      max_requests_per_second = 50
#   adaptive   retry_mode = adaptive, no fixed limit
# For each it prints the requests the mock saw, the share it throttled, the
# failed calls, the wall time and its ratio to the quota-bound ideal
# (800 requests / 50 per second = 16 s); samples of
# segment_membership_activity taken while the calls run (rows, ids done);
# and whether segment_membership_totals agrees with the mock's count.
#
# The mock needs the quota control (/_mock/config quota_rps); SM_MOCK_PY
# may point at another copy of test/mock_aws.py.
set -u
cd "$(dirname "$0")/.."
source test/lib.sh

QUOTA=${QUOTA:-50}
SESSIONS=${SESSIONS:-8}
IDS=${IDS:-10000}
ROWS=${ROWS:-standard limit adaptive}

sm_install >/dev/null || exit 1
sm_setup --latency-ms 20 || exit 1
sm_stop_postgres
sm_start_postgres -c shared_preload_libraries=segment_membership -c max_connections=50 || exit 1
psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION segment_membership' >/dev/null || exit 1

mockcfg() { "$SM_PYTHON" test/mockctl.py config "$1" >/dev/null; }
mockstat() { "$SM_PYTHON" test/mockctl.py stats "$@" | sed 's/^[^=]*=//'; }
mockcfg "{\"quota_rps\": $QUOTA}" || { echo "the mock has no request quota (quota_rps); set SM_MOCK_PY" >&2; exit 1; }

ideal=$(awk -v n="$SESSIONS" -v ids="$IDS" -v q="$QUOTA" 'BEGIN {printf "%.2f", n * ids / 100 / q}')
printf '%s sessions x %s ids, max_concurrency 8, mock quota %s/s, latency 20 ms; ideal %s s\n\n' \
	"$SESSIONS" "$IDS" "$QUOTA" "$ideal"
printf '%-9s %9s %10s %10s %7s %8s %7s %10s %s\n' row requests throttled 'thr %' failed 'wall s' ratio 'max 1s' 'activity samples (rows/ids done)'

run_row() {
	local row=$1 rps=0 mode=standard i t0 t1 wall failed samples="" pids=()
	case $row in
		limit) rps=$QUOTA ;;
		adaptive) mode=adaptive ;;
	esac
	psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL || return 1
ALTER SYSTEM SET segment_membership.max_requests_per_second = $rps;
ALTER SYSTEM SET segment_membership.retry_mode = '$mode';
SELECT pg_reload_conf();
SQL
	sleep 0.5
	"$SM_PYTHON" test/mockctl.py reset
	psql -X -q -c 'SELECT segment_membership_totals_reset()' >/dev/null
	rm -f "$SM_WORK"/call.*
	t0=$(date +%s.%N)
	for i in $(seq "$SESSIONS"); do
		psql -X -q -A -t -v ON_ERROR_STOP=1 >"$SM_WORK/call.$i" 2>&1 <<SQL &
SET segment_membership.max_concurrency = 8;
SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value',
  ARRAY(SELECT md5('$row' || $i || ':' || g) FROM generate_series(1, $IDS) g));
SQL
		pids+=($!)
	done
	running() { local p; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
	# sample the progress view while the calls run
	while running; do
		sleep 2
		s=$(psql -X -q -A -t -F/ -c "SELECT count(*), coalesce(sum(ids_done), 0) FROM segment_membership_activity" 2>&1)
		running && samples="$samples $s"
	done
	wait "${pids[@]}"
	t1=$(date +%s.%N)
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
	failed=0
	for i in $(seq "$SESSIONS"); do
		grep -qx "$IDS" "$SM_WORK/call.$i" || failed=$((failed + 1))
	done
	local req thr max1 tot
	req=$(mockstat requests); thr=$(mockstat quota.throttled); max1=$(mockstat send_rate.max_1s)
	tot=$(psql -X -q -A -t -F' ' -c "SELECT requests, throttled, failed, round(latency_p50_ms::numeric, 1), round(latency_p99_ms::numeric, 1) FROM segment_membership_totals")
	printf '%-9s %9s %10s %9s%% %7s %8s %6sx %10s %s\n' "$row" "$req" "$thr" \
		"$(awk -v t="$thr" -v r="$req" 'BEGIN {printf "%.1f", r ? 100 * t / r : 0}')" \
		"$failed" "$wall" "$(awk -v w="$wall" -v i="$ideal" 'BEGIN {printf "%.2f", w / i}')" "$max1" "$samples"
	set -- $tot
	printf '%-9s totals: requests %s (mock %s: %s), throttled %s (mock %s), failed %s, latency p50 %s ms p99 %s ms\n' \
		"" "$1" "$req" "$([ "$1" = "$req" ] && echo agree || echo DIFFER)" "$2" "$thr" "$3" "$4" "$5"
	[ "$failed" -gt 0 ] && for i in $(seq "$SESSIONS"); do grep -v -x "$IDS" "$SM_WORK/call.$i" | head -2 | sed "s/^/          session $i: /"; done | head -6
	return 0
}

for row in $ROWS; do
	run_row "$row"
done
