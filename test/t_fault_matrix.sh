#!/bin/bash
# test/t_fault_matrix.sh -- the fault matrix (run by test/run-tests.sh).
#
# Every run asks for 1,000 ids (10 requests, 8 in flight) while the mock
# injects one kind of fault into 20% of the requests (seeded, so runs are
# reproducible).  A run passes when it either returns every row correctly
# or fails with a clear error (a SQLSTATE of the documented set and a
# message); a wrong row, a lost row, a crash or a hang fails it.  With the
# default 3 attempts most runs must succeed.  A second pass uses
# on_request_failure = failure_rows with a single attempt: every row is
# then either correct or an explicit failure row.
#
# Prints the figures and "N passed, M failed" (one test per run, plus the
# "most runs succeed" and "no crash" checks).
set -u
cd "$(dirname "$0")/.."
: "${PGHOST:?run from test/run-tests.sh}" "${MOCK_HTTP_PORT:?}"

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'EOF2' >/dev/null || exit 1
CREATE EXTENSION IF NOT EXISTS segment_membership;
CREATE OR REPLACE FUNCTION fm_expected(segment text, id text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN left(id, 1) = 'f' THEN NULL
    WHEN left(md5(segment || ':' || id), 1) < '8' THEN 'PRESENT'
    ELSE 'ABSENT' END
$$;
-- one run: outcome, rows, correct, explicit failure rows, wrong rows,
-- SQLSTATE and message of an error
CREATE OR REPLACE FUNCTION fm_run(tag text, n int,
  OUT outcome text, OUT nrows bigint, OUT correct bigint, OUT failure_rows bigint,
  OUT wrong bigint, OUT state text, OUT message text)
LANGUAGE plpgsql AS $$
DECLARE
  ids text[] := ARRAY(SELECT md5(tag || i) FROM generate_series(1, n) i);
BEGIN
  SELECT count(*),
         count(*) FILTER (WHERE m.profile_id = ids[m.ord]
                          AND m.query_result IS NOT DISTINCT FROM fm_expected('high-value', ids[m.ord])
                          AND (m.query_result IS NOT NULL OR m.failure_status = 404)),
         count(*) FILTER (WHERE m.profile_id = ids[m.ord] AND m.query_result IS NULL
                          AND m.failure_status IS DISTINCT FROM 404 AND m.failure_message IS NOT NULL),
         count(*) FILTER (WHERE m.profile_id IS DISTINCT FROM ids[m.ord]
                          OR (m.query_result IS NOT NULL AND m.query_result IS DISTINCT FROM fm_expected('high-value', ids[m.ord]))
                          OR (m.query_result IS NULL AND m.failure_message IS NULL))
    INTO nrows, correct, failure_rows, wrong
  FROM get_segment_membership('demo-domain', 'high-value', ids)
       WITH ORDINALITY AS m(profile_id, query_result, profile, failure_status, failure_message, last_computed_at, ord);
  outcome := 'rows';
  wrong := wrong + (n - nrows);		-- a lost row is a wrong row
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
  outcome := 'error';
END
$$;
EOF2

kinds="throttle 500 502 503 504 reset truncate garbage delay hang throttle.500.503.reset.truncate.garbage"
seeds="1 2 3 4 5"
passed=0 failed=0 runs=0 succeeded=0 errors=0 wrong_total=0 retries_total=0
/usr/bin/python3 test/mockctl.py reset

run_one() {	# run_one KIND SEED ON_FAILURE MAX_ATTEMPTS
	local kind=$1 seed=$2 onfail=$3 attempts=$4 url line
	url="http://127.0.0.1:$MOCK_HTTP_PORT/mock/rate=0.2/faults=$kind/seed=$seed/delay=1500"
	line=$(psql -X -q -A -t -F '|' -d postgres -v url="$url" -v onfail="$onfail" -v attempts="$attempts" \
		-v tag="fm-$kind-$seed-$onfail" 2>&1 <<'EOF2'
SET statement_timeout = '120s';
SET segment_membership.endpoint_url = :'url';
SET segment_membership.request_timeout_ms = 1000;
SET segment_membership.on_request_failure = :'onfail';
SET segment_membership.max_attempts = :attempts;
SELECT r.*, s.retries FROM fm_run(:'tag', 1000) r, segment_membership_stats() s;
EOF2
)
	echo "$line"
}

# the documented SQLSTATEs of a request that failed for good
clean_states='^(08001|08006|08P01|38000|53400|22023|42501|42704|54000)$'

for pass in error failure_rows; do
	attempts=3
	[ $pass = failure_rows ] && attempts=1
	for kind in $kinds; do
		for seed in $seeds; do
			runs=$((runs + 1))
			line=$(run_one "$kind" "$seed" "$pass" "$attempts")
			IFS='|' read -r outcome nrows correct frows wrong state message retries <<<"$line"
			[[ "$retries" =~ ^[0-9]+$ ]] && retries_total=$((retries_total + retries))
			ok=1
			case $outcome in
				rows)
					[ "$wrong" = 0 ] || ok=0
					if [ $pass = error ]; then
						[ "$correct" = 1000 ] || ok=0
						[ "$correct" = 1000 ] && succeeded=$((succeeded + 1))
					else
						[ $((correct + frows)) = 1000 ] || ok=0
						[ "$frows" = 0 ] && succeeded=$((succeeded + 1))
					fi
					wrong_total=$((wrong_total + wrong))
					;;
				error)
					errors=$((errors + 1))
					[[ "$state" =~ $clean_states ]] && [ -n "$message" ] || ok=0
					;;
				*) ok=0 ;;
			esac
			if [ $ok = 1 ]; then
				passed=$((passed + 1))
			else
				failed=$((failed + 1))
				echo "FAILED run: on_request_failure=$pass faults=$kind seed=$seed: $line"
			fi
		done
	done
	if [ $pass = error ]; then
		pass1_runs=$runs pass1_succeeded=$succeeded
	fi
done

faults=$(/usr/bin/python3 test/mockctl.py stats faults | sed -n 's/^faults=//p')
injected=$(/usr/bin/python3 - <<'EOF2'
import json, os, urllib.request
s = json.load(urllib.request.urlopen("http://127.0.0.1:%s/_mock/stats" % os.environ["MOCK_HTTP_PORT"]))
print(sum(s["faults"].values()), s["requests"], json.dumps(s["faults"], sort_keys=True))
EOF2
)
echo "fault matrix: $runs runs; faults injected/requests: ${injected}"
echo "  default attempts: $pass1_succeeded of $pass1_runs runs returned every row correctly, the rest failed cleanly"
echo "  statements failed cleanly: $errors; retries made: $retries_total; wrong rows: $wrong_total"

# most runs succeed with the default attempts
if [ $((pass1_succeeded * 10)) -ge $((pass1_runs * 7)) ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: only $pass1_succeeded of $pass1_runs runs succeeded"; fi
# no backend crashed
if grep -qE 'terminated by signal|server process .* was terminated' "$SM_WORK/postgres.log"; then
	failed=$((failed + 1)); echo "FAILED: a backend crashed"; grep -E 'terminated by signal' "$SM_WORK/postgres.log"
else
	passed=$((passed + 1))
fi
echo "$passed passed, $failed failed"
