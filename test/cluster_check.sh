#!/bin/bash
# test/cluster_check.sh -- the whole server as one AWS client (issue 12):
# shared state with and without shared_preload_libraries, the progress and
# totals views, totals reset, privileges, the shared rate limit across
# sessions, interruptible waits for a token, and adaptive mode's slow-down
# and recovery.  Run by test/run-tests.sh (also with --quick); restarts the
# test cluster and leaves it as it found it.
#
# Prints "N passed, M failed".
set -u
cd "$(dirname "$0")/.."
source test/lib.sh
: "${SM_WORK:?run from test/run-tests.sh}" "${MOCK_HTTP_PORT:?}"

passed=0 failed=0
MOCK=http://127.0.0.1:$MOCK_HTTP_PORT
OUT=$SM_WORK/cluster
mkdir -p "$OUT"

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "FAILED - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/    /' | head -n 20; }
# sql ARGS...: psql as the superuser; output and errors, no empty lines
sql() { psql -X -q -A -t -d postgres "$@" 2>&1 | grep -v '^$'; }
# expect DESCRIPTION REGEX SQL [psql options]: SQL's output must match REGEX
expect() {
	local what=$1 re=$2 q=$3 out
	shift 3
	out=$(sql "$@" -c "$q")
	if printf '%s' "$out" | tr '\n' ' ' | grep -Eq -- "$re"; then ok "$what"; else not_ok "$what" "$out"; fi
}
# check DESCRIPTION COMMAND...: the command must succeed
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'; }
# le A B / ge A B: numeric comparisons
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a <= b)}'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a >= b)}'; }
mockstat() { /usr/bin/python3 test/mockctl.py stats "$1" | sed 's/^[^=]*=//'; }
setconf() {	# setconf NAME VALUE...: ALTER SYSTEM and reload
	local q=""
	while [ $# -ge 2 ]; do q="$q ALTER SYSTEM SET segment_membership.$1 = '$2';"; shift 2; done
	# before 17 ALTER SYSTEM knows only settings of loaded libraries
	sql -c "LOAD 'segment_membership'" -c "$q" >/dev/null
	sql -c "SELECT pg_reload_conf()" >/dev/null
	sleep 0.3
}
resetconf() {
	sql -c "LOAD 'segment_membership'" -c "ALTER SYSTEM RESET segment_membership.max_requests_per_second" \
		-c "ALTER SYSTEM RESET segment_membership.retry_mode" >/dev/null
	sql -c "SELECT pg_reload_conf()" >/dev/null
	sleep 0.3
}
restart() { sm_stop_postgres; sm_start_postgres "$@" || { not_ok "restart"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }; }
# a call of N ids (N/100 requests); prints its row count
call() { echo "SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value', ARRAY(SELECT md5('$2' || g) FROM generate_series(1, $1) g))"; }

sm_default_pg_env
sql -c "CREATE EXTENSION IF NOT EXISTS segment_membership" >/dev/null
sql -c "ALTER EXTENSION segment_membership UPDATE" >/dev/null
VERSION=$(sql -c "SHOW server_version_num")

echo "# 0. the 1.1 objects, fresh and by update from 1.0"
OBJECTS="SELECT string_agg(pg_describe_object(d.classid, d.objid, 0) || ' ' ||
  coalesce((SELECT proacl::text FROM pg_proc WHERE oid = d.objid AND d.classid = 'pg_proc'::regclass),
           (SELECT relacl::text FROM pg_class WHERE oid = d.objid AND d.classid = 'pg_class'::regclass), ''),
  ', ' ORDER BY pg_describe_object(d.classid, d.objid, 0))
FROM pg_depend d
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'segment_membership') AND d.deptype = 'e'"
sql -c "DROP DATABASE IF EXISTS sm_upgrade" -c "CREATE DATABASE sm_upgrade" >/dev/null
fresh=$(sql -c "$OBJECTS")
updated=$(sql -d sm_upgrade -c "CREATE EXTENSION segment_membership VERSION '1.0'" \
	-c "ALTER EXTENSION segment_membership UPDATE TO '1.1'" -c "$OBJECTS")
case $fresh in
	*"view segment_membership_activity"*"view segment_membership_totals"*) ok "1.1 has the views" ;;
	*) not_ok "1.1 has the views" "$fresh" ;;
esac
if [ "$fresh" = "$updated" ]; then ok "1.0 updated to 1.1 has the same objects and privileges"; else not_ok "update 1.0 -> 1.1" "$fresh
vs
$updated"; fi
sql -c "DROP DATABASE sm_upgrade" >/dev/null

echo "# 1. without shared_preload_libraries (PostgreSQL $VERSION)"
if [ "$VERSION" -lt 170000 ]; then
	for v in segment_membership_totals segment_membership_activity; do
		expect "$v without preload: an error with a hint" \
			"shared state is not available.*HINT:.*shared_preload_libraries" \
			"SELECT * FROM $v" -v VERBOSITY=default
	done
	setconf max_requests_per_second 2
	t0=$(now)
	expect "a limit without preload: NOTICE that it is off, and the call works" \
		"NOTICE:.*not in effect.*HINT:.*shared_preload_libraries.* 1000$" "$(call 1000 nopreload)" -v VERBOSITY=default
	t1=$(now)
	check "... without waiting for the limit ($(elapsed "$t0" "$t1") s for 10 requests at 2/s)" le "$(elapsed "$t0" "$t1")" 2.5
	resetconf
else
	expect "DSM registry: the views work without preload" "^0 0$" \
		"SELECT (SELECT count(*) FROM segment_membership_activity), (SELECT count(*) FROM segment_membership_totals WHERE requests < 0)" -F' '
	setconf max_requests_per_second 5
	t0=$(now)
	expect "DSM registry: a limit without preload, no NOTICE" "^1000$" "$(call 1000 dsmlimit)"
	t1=$(now)
	check "... is in force (10 requests at 5/s took $(elapsed "$t0" "$t1") s)" ge "$(elapsed "$t0" "$t1")" 1.7
	resetconf
fi
expect "no limit configured: no NOTICE" "^1000$" "$(call 1000 nolimit)"

echo "# 2. with shared_preload_libraries"
SM_PG_ENV+=(AWS_RETRY_MODE=adaptive)
restart -c shared_preload_libraries=segment_membership
expect "retry_mode unset: AWS_RETRY_MODE decides" "^\|adaptive$" \
	"SELECT current_setting('segment_membership.retry_mode'), retry_mode FROM segment_membership_rate_limiter()"
sm_default_pg_env
restart -c shared_preload_libraries=segment_membership
expect "rate limiter: standard mode, no limit" "^standard\|0\|f\|$" \
	"SELECT retry_mode, max_requests_per_second, adaptive_active, adaptive_rate FROM segment_membership_rate_limiter()"
expect "activity: no call in progress" "^0$" "SELECT count(*) FROM segment_membership_activity"

# totals and their reset
/usr/bin/python3 test/mockctl.py reset
r0=$(sql -c "SELECT segment_membership_totals_reset()")
sql -c "$(call 1000 totals)" >/dev/null
sql -c "$(call 250 totals2)" >/dev/null
mreq=$(mockstat requests)
expect "totals: requests agree with the mock's count ($mreq)" "^$mreq\|0\|0\|0\|t\|t\|t\|t$" \
	"SELECT requests, retries, throttled, failed, bytes_received > 10000, latency_p50_ms > 0, latency_p50_ms <= latency_p95_ms AND latency_p95_ms <= latency_p99_ms, stats_reset = '$r0' FROM segment_membership_totals"
check "... and 13 requests were made" [ "$mreq" = 13 ]
expect "totals: connections counted" "^t$" "SELECT connections_opened BETWEEN 1 AND 16 FROM segment_membership_totals"
# faults: throttles and retries counted
sql -c "SET segment_membership.endpoint_url = '$MOCK/mock/fail=throttle/first=1'" -c "$(call 300 retries)" >/dev/null
expect "totals: throttles and retries counted (3 requests, 3 retries)" "^19\|3\|3\|0$" \
	"SELECT requests, retries, throttled, failed FROM segment_membership_totals"
sql -c "SET segment_membership.endpoint_url = '$MOCK/mock/fail=400'" -c "SET segment_membership.on_request_failure = failure_rows" -c "$(call 100 failed)" >/dev/null
expect "totals: failed requests counted" "^20\|1$" "SELECT requests, failed FROM segment_membership_totals"
sleep 0.05
expect "totals reset returns the new stats_reset" "^t$" "SELECT segment_membership_totals_reset() > '$r0'"
expect "totals reset: zero, no latency, a later stats_reset" "^0\|0\|0\|0\|0\|0\|\|\|\|t$" \
	"SELECT requests, retries, throttled, failed, bytes_received, connections_opened, latency_p50_ms, latency_p95_ms, latency_p99_ms, stats_reset > '$r0' FROM segment_membership_totals"

echo "# 3. privileges"
sql -c "DROP ROLE IF EXISTS sm_nobody" -c "DROP ROLE IF EXISTS sm_watcher" -c "DROP ROLE IF EXISTS sm_caller" >/dev/null
sql -c "CREATE ROLE sm_nobody LOGIN" -c "CREATE ROLE sm_watcher LOGIN" -c "CREATE ROLE sm_caller LOGIN" >/dev/null
for obj in "segment_membership_totals" "segment_membership_activity" "segment_membership_totals()" \
	"segment_membership_activity()" "segment_membership_rate_limiter()"; do
	expect "no PUBLIC access: $obj" "permission denied" "SELECT * FROM $obj" -U sm_nobody
done
expect "no PUBLIC access: segment_membership_totals_reset()" "permission denied" "SELECT segment_membership_totals_reset()" -U sm_nobody
sql -c "GRANT SELECT ON segment_membership_totals, segment_membership_activity TO sm_watcher" \
	-c "GRANT EXECUTE ON FUNCTION segment_membership_totals(), segment_membership_activity() TO sm_watcher" \
	-c "GRANT EXECUTE ON FUNCTION get_segment_membership(text, text, text[]) TO sm_caller" \
	-c "ALTER ROLE sm_caller SET segment_membership.endpoint_url = '$MOCK/mock/latency=1500'" >/dev/null
expect "granted: the views work" "^0\|0$" \
	"SELECT (SELECT requests FROM segment_membership_totals), (SELECT count(*) FROM segment_membership_activity)" -U sm_watcher
expect "granted SELECT, not reset" "permission denied" "SELECT segment_membership_totals_reset()" -U sm_watcher
# another role's call: counters visible, names only to its members and pg_read_all_stats
psql -X -q -A -t -d postgres -U sm_caller -c "$(call 100 other)" >"$OUT/other.out" 2>&1 &
bg=$!
sleep 0.7
expect "another role's call: a row without names" "^1\|\|\|100$" \
	"SELECT count(*), min(domain_name), min(segment_definition_name), min(ids_total) FROM segment_membership_activity" -U sm_watcher
sql -c "GRANT pg_read_all_stats TO sm_watcher" >/dev/null
expect "... with its names for pg_read_all_stats" "^demo-domain\|high-value$" \
	"SELECT domain_name, segment_definition_name FROM segment_membership_activity" -U sm_watcher
wait $bg
check "... and that call returned its rows" grep -qx 100 "$OUT/other.out"
sql -c "DROP OWNED BY sm_nobody, sm_watcher, sm_caller" -c "DROP ROLE sm_nobody" -c "DROP ROLE sm_watcher" -c "DROP ROLE sm_caller" >/dev/null

echo "# 4. live progress"
# 2,000 ids = 20 requests, 2 at a time, 400 ms each: about 4 s
psql -X -q -A -t -d postgres -c "SET segment_membership.endpoint_url = '$MOCK/mock/latency=400'" \
	-c "SET segment_membership.max_concurrency = 2" -c "SELECT pg_backend_pid()" \
	-c "$(call 2000 progress)" >"$OUT/progress.out" 2>&1 &
bg=$!
sleep 1.2
s1=$(sql -F' ' -c "SELECT pid, domain_name, segment_definition_name, ids_total, ids_done, requests_done, requests_in_flight, retries, throttled, started_at <= now() FROM segment_membership_activity")
sleep 1.6
s2=$(sql -F' ' -c "SELECT pid, ids_done, requests_done, requests_in_flight FROM segment_membership_activity")
wait $bg
pid=$(head -1 "$OUT/progress.out")
set -- $s1
if [ "${1:-}" = "$pid" ] && [ "$2 $3 $4" = "demo-domain high-value 2000" ] && [ "$7" -ge 1 ] && [ "$7" -le 2 ] &&
	[ "$8 $9 ${10}" = "0 0 t" ] && [ "$6" -ge 2 ] && [ "$5" -ge 100 ]; then
	ok "activity: one row for the call, 1-2 requests in flight, ids done ($5) and requests done ($6) counted"
else
	not_ok "activity row while the call runs" "pid $pid: $s1"
fi
first_done=${5:-0}
set -- $s2
if [ "${1:-}" = "$pid" ] && [ "$2" -gt "$first_done" ] && [ "$2" -lt 2000 ]; then
	ok "activity: ids_done grows ($first_done, then $2)"
else
	not_ok "activity: ids_done grows" "$s1 / $s2"
fi
check "... the call returned its rows" grep -qx 2000 "$OUT/progress.out"
expect "activity: the row is gone when the call ends" "^0$" "SELECT count(*) FROM segment_membership_activity"
# an error frees the slot too
expect "a failed call ..." "ERROR" "$(call 100 fails)" -c "SET segment_membership.endpoint_url = '$MOCK/mock/fail=400'"
expect "... leaves no row behind" "^0$" "SELECT count(*) FROM segment_membership_activity"

echo "# 5. a rate limit shared by every session"
setconf max_requests_per_second 10
expect "rate limiter: the limit is in force" "^10$" "SELECT max_requests_per_second FROM segment_membership_rate_limiter()"
/usr/bin/python3 test/mockctl.py reset
t0=$(now)
for i in 1 2 3; do
	psql -X -q -A -t -d postgres -c "$(call 1500 shared$i)" >"$OUT/shared.$i" 2>&1 &
done
sleep 1
# while they wait, pg_stat_activity says so
if [ "$VERSION" -ge 170000 ]; then event=SegmentMembershipRateLimit; else event=Extension; fi
waits=$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Extension' AND wait_event = '$event' AND query LIKE '%get_segment_membership%'")
wait
t1=$(now)
wall=$(elapsed "$t0" "$t1")
total=$(mockstat requests)
check "3 sessions, 45 requests at 10/s: all rows" [ "$(cat "$OUT"/shared.* | sort -u)" = 1500 ]
check "... the mock saw 45 requests ($total)" [ "$total" = 45 ]
check "... which took at least 4.2 s ($wall s)" ge "$wall" 4.2
check "... and not much more (<= 6.5 s)" le "$wall" 6.5
max1=$(mockstat send_rate.max_1s)
if [ "$max1" != 0 ]; then
	# 10/s plus the burst of 1, plus 1 for the jitter of arrivals
	check "... at most 12 requests in any second at the mock ($max1)" le "$max1" 12
fi
check "... sessions waiting for a token show wait event $event ($waits)" [ "$waits" -ge 1 ]

echo "# 6. a wait for a token is interruptible"
setconf max_requests_per_second 0.5
sql -c "$(call 100 drain)" >/dev/null	# takes the one token of the burst
t0=$(now)
expect "statement_timeout during a token wait" "canceling statement due to statement timeout" \
	"$(call 1000 timeout)" -c "SET statement_timeout = '700ms'"
t1=$(now)
check "... returns at once ($(elapsed "$t0" "$t1") s)" le "$(elapsed "$t0" "$t1")" 1.6
psql -X -q -A -t -d postgres -c "SELECT pg_backend_pid()" -c "$(call 1000 cancel)" >"$OUT/cancel.out" 2>&1 &
bg=$!
sleep 0.8
pid=$(head -1 "$OUT/cancel.out")
t0=$(now)
sql -c "SELECT pg_cancel_backend($pid)" >/dev/null
wait $bg
t1=$(now)
check "pg_cancel_backend during a token wait" grep -q "canceling statement due to user request" "$OUT/cancel.out"
check "... returns at once ($(elapsed "$t0" "$t1") s)" le "$(elapsed "$t0" "$t1")" 0.6
expect "... and leaves no activity row" "^0$" "SELECT count(*) FROM segment_membership_activity"

echo "# 7. adaptive mode: throttles slow the whole server down, successes speed it up"
resetconf
setconf retry_mode adaptive
expect "rate limiter: adaptive, not active before a throttle" "^adaptive\|f$" \
	"SELECT retry_mode, adaptive_active FROM segment_membership_rate_limiter()"
# warm up (a measured rate to cut from)
sql -c "SELECT segment_membership_totals_reset()" >/dev/null
t0=$(now)
sql -c "$(call 3000 warm)" >/dev/null
t1=$(now)
base=$(elapsed "$t0" "$t1")
# session A: the first attempt of each of its 10 requests is throttled
psql -X -q -A -t -d postgres -c "SET segment_membership.endpoint_url = '$MOCK/mock/fail=throttle/first=1'" \
	-c "$(call 1000 throttled)" >"$OUT/throttled.out" 2>&1 &
bg=$!
sleep 0.4
r1=$(sql -F' ' -c "SELECT adaptive_active, round(adaptive_rate::numeric, 2), seconds_since_throttle < 1 FROM segment_membership_rate_limiter()")
set -- $r1
check "after throttles: active, lately throttled ($r1)" [ "${1:-} ${3:-}" = "t t" ]
rate1=${2:-99}
check "... the rate is cut (to $rate1/s, from about $(awk -v b="$base" 'BEGIN {printf "%.0f", 30 / b}')/s)" le "$rate1" 5
# session B, not throttled itself, obeys the same rate meanwhile
t0=$(now)
sql -c "$(call 1000 slow)" >/dev/null
t1=$(now)
check "another session is slowed down too ($(elapsed "$t0" "$t1") s for 10 requests; 30 took $base s before)" \
	ge "$(elapsed "$t0" "$t1")" "$(awk -v b="$base" 'BEGIN {print (b > 1 ? b : 1)}')"
wait $bg
check "... and the throttled call returned its rows" grep -qx 1000 "$OUT/throttled.out"
# recovery: successes raise the rate again
for i in 1 2 3 4 5 6; do sql -c "$(call 1000 recover$i)" >/dev/null; done
rate2=$(sql -c "SELECT round(adaptive_rate::numeric, 2) FROM segment_membership_rate_limiter()")
check "recovery: the rate rose again ($rate1 -> $rate2)" ge "$rate2" "$(awk -v r="$rate1" 'BEGIN {print (r * 2 > 5 ? r * 2 : 5)}')"
check "... and with no more throttles, 0 failed requests" [ "$(sql -c "SELECT failed FROM segment_membership_totals")" = 0 ]

echo "# back to the cluster as it was"
resetconf
restart
echo "$passed passed, $failed failed"
