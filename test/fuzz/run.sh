#!/bin/bash
# test/fuzz/run.sh -- run libFuzzer targets for a while each and judge them
# (used by "make fuzz-run" and test/run-tests.sh; build them first with
# "make fuzz").
#
#   test/fuzz/run.sh [NAME...]        default: every test/fuzz/fuzz_* binary
#
#   FUZZ_SECONDS=20      time per target
#   FUZZ_BUDGET=S        instead of FUZZ_SECONDS: about S seconds of wall
#                        time in all, shared by the targets (10..30 s each)
#   FUZZ_JOBS=N          targets run side by side (default: the CPU count)
#   FUZZ_ARTIFACT_DIR=D  where logs, new corpus entries and crash inputs go
#                        (default: a mktemp -d under /tmp, removed when every
#                        target passed, kept otherwise)
#
# A target passes when libFuzzer ran it for the whole time without a crash,
# a leak, a timeout (10 s for one input) or running out of memory (2 GB),
# after first running every seed in test/fuzz/corpus/NAME/ (never modified:
# new inputs go to the artifact directory).  Prints one line per target with
# executions, executions per second and coverage, then "N passed, M failed".
# Replay a kept crash with: test/fuzz/fuzz_NAME CRASH-FILE
set -u
cd "$(dirname "$0")/../.."

FUZZ_JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for b in test/fuzz/fuzz_*; do
		[ -x "$b" ] && [ -f "$b.c" ] && targets+=("${b#test/fuzz/fuzz_}")
	done
fi
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets built (make fuzz)"; echo "0 passed, 1 failed"; exit 1; }
if [ -z "${FUZZ_SECONDS:-}" ] && [ -n "${FUZZ_BUDGET:-}" ]; then
	rounds=$(((${#targets[@]} + FUZZ_JOBS - 1) / FUZZ_JOBS))
	FUZZ_SECONDS=$((FUZZ_BUDGET / rounds))
	[ "$FUZZ_SECONDS" -gt 30 ] && FUZZ_SECONDS=30
	[ "$FUZZ_SECONDS" -lt 10 ] && FUZZ_SECONDS=10
fi
FUZZ_SECONDS=${FUZZ_SECONDS:-20}

own_dir=
if [ -z "${FUZZ_ARTIFACT_DIR:-}" ]; then
	FUZZ_ARTIFACT_DIR=$(mktemp -d /tmp/segment_membership-fuzz.XXXXXX)
	own_dir=1
fi
mkdir -p "$FUZZ_ARTIFACT_DIR"

pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; exit 130' INT TERM

# run_one NAME: fuzz one target; writes $dir/log and $dir/status
run_one() {
	local t=$1 dir=$FUZZ_ARTIFACT_DIR/$1 bin=test/fuzz/fuzz_$1 rc
	mkdir -p "$dir/corpus"
	if [ ! -x "$bin" ]; then
		echo "$bin is not built (make fuzz)" >"$dir/log"
		echo 1 >"$dir/status"
		return
	fi
	# UBSan aborts (built with -fno-sanitize-recover); ASan leak checks on
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:symbolize=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$bin" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		-timeout=10 -rss_limit_mb=2048 -max_len=4096 \
		-artifact_prefix="$dir/" "$dir/corpus" "test/fuzz/corpus/$t" \
		>"$dir/log" 2>&1
	rc=$?
	echo "$rc" >"$dir/status"
}

for t in "${targets[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$FUZZ_JOBS" ]; do
		wait -n
	done
	run_one "$t" &
	pids+=($!)
done
wait

passed=0 failed=0
for t in "${targets[@]}"; do
	dir=$FUZZ_ARTIFACT_DIR/$t
	rc=$(cat "$dir/status" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -n 1)
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$dir/log" | tail -n 1)
	cov=$(printf '%s' "$done_line" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9A-Za-z]+')
	seed=$(sed -n 's/^INFO: Seed: //p' "$dir/log" | head -n 1)
	nseeds=$(find "test/fuzz/corpus/$t" -type f 2>/dev/null | wc -l)
	artifacts=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'slow-unit-*' \) | grep -v slow-unit)
	if [ "$rc" = 0 ] && [ -z "$artifacts" ] && [ -n "$execs" ] && [ "$execs" -gt 0 ]; then
		passed=$((passed + 1))
		printf 'ok - fuzz_%s: %s runs in %ss (%s/s), %s, %s seeds, seed %s\n' \
			"$t" "$execs" "$FUZZ_SECONDS" "$rate" "${cov:-cov: ?}" "$nseeds" "$seed"
	else
		failed=$((failed + 1))
		printf 'FAILED - fuzz_%s (exit %s) after %s runs; inputs kept:\n' "$t" "$rc" "${execs:-?}"
		for a in $artifacts; do echo "    $a  (replay: test/fuzz/fuzz_$t $a)"; done
		grep -E -B2 -A12 'property violated|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$dir/log" |
			head -n 40 | sed 's/^/    /'
		[ -s "$dir/log" ] || echo "    (no output)"
	fi
done
if [ "$failed" -eq 0 ] && [ -n "$own_dir" ]; then
	rm -rf "$FUZZ_ARTIFACT_DIR"
elif [ "$failed" -gt 0 ]; then
	echo "fuzz logs and inputs kept in $FUZZ_ARTIFACT_DIR"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
