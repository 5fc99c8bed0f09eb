#!/bin/bash
# test/run-tests.sh -- run every test of segment_membership.
#
# Run as root on Debian 12 with the packages of test/install-deps.sh:
#
#   test/install-deps.sh && test/run-tests.sh
#
# It builds and installs the extension, checks the architecture of src/
# (test/check_architecture.py), runs the signer's unit tests, the
# mock endpoint's self-test, then starts a throwaway PostgreSQL cluster and
# the mock AWS endpoint and runs the pg_regress suite and the other drivers
# against them; everything is removed on exit.  The last line is
# "N passed, M failed" over all tests; the exit status is non-zero on any
# failure.
#
# Options:
#   --valgrind    run the pg_regress suite and the credential tests with the
#                 backends under Valgrind memcheck (slow; see README)
#   --asan        run the pg_regress suite and the credential tests with the
#                 extension built with -fsanitize=address,undefined (see
#                 test/asan.sh); any sanitizer report fails
#   --quick       skip the fuzz targets, the fault matrix, the load test,
#                 the credential chain tests and the PostgreSQL 14/16/17/18/19
#                 matrix
#   --soak        with --quick: also run the soak test (test/t_soak.sh,
#                 about 3 minutes; the default run always runs it)
#
# The drivers test/t_*.sh run after pg_regress (not with --quick), among
# them test/t_hostile.sh, the randomized hostile-reply test through SQL
# (its own mock and cluster, about 2 minutes).
set -u
cd "$(dirname "$0")/.."
source test/lib.sh

SM_VALGRIND=
SM_ASAN=
SM_QUICK=
SM_SOAK=
for arg in "$@"; do
	case $arg in
		--valgrind) SM_VALGRIND=1 ;;
		--asan) SM_ASAN=1 ;;
		--quick) SM_QUICK=1 ;;
		--soak) SM_SOAK=1 ;;
		*) echo "usage: $0 [--valgrind] [--asan] [--quick] [--soak]" >&2; exit 2 ;;
	esac
done

[ "$(id -u)" = 0 ] || { echo "run-tests.sh must run as root (it starts PostgreSQL as the postgres user)" >&2; exit 2; }

TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY=()

# record NAME LOGFILE: add the last "N passed, M failed" line of LOGFILE
record() {
	local name=$1 log=$2 line p f
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		p=0 f=1
		sm_log "$name: no result line; counted as one failure"
	else
		p=${line%% passed*}
		f=${line#*, }
		f=${f%% failed}
	fi
	TOTAL_PASSED=$((TOTAL_PASSED + p))
	TOTAL_FAILED=$((TOTAL_FAILED + f))
	SUMMARY+=("$(printf '%-28s %5d passed, %d failed' "$name" "$p" "$f")")
	[ "$f" -eq 0 ] || { sm_log "--- $name failed; its output:"; tail -n 60 "$log" >&2; }
}

finish() {
	echo
	echo "Summary:"
	printf '  %s\n' "${SUMMARY[@]}"
	if [ "$TOTAL_FAILED" -eq 0 ]; then
		rm -rf "$LOGS"
	else
		[ -n "${SM_WORK:-}" ] && cp "$SM_WORK/postgres.log" "$SM_WORK/mock/mock.log" "$LOGS/" 2>/dev/null
		echo "logs kept in $LOGS"
	fi
	echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
	[ "$TOTAL_FAILED" -eq 0 ]
}

LOGS=$(mktemp -d /tmp/segment_membership-logs.XXXXXX)
# the summary line must stay the last line: no server log dump at exit
SM_QUIET_FAILURE=1

echo "== build and install"
if ! sm_install >"$LOGS/build.log" 2>&1; then
	cat "$LOGS/build.log"
	echo "build failed"
	echo "0 passed, 1 failed"
	exit 1
fi
if grep -q 'warning:' "$LOGS/build.log"; then
	grep 'warning:' "$LOGS/build.log" >&2
fi

echo "== architecture of src/ (test/check_architecture.py)"
# no cycles, header comments, function lengths, src/README.md in step; it
# reads the objects of the build above and fails on any older than its sources
"$SM_PYTHON" test/check_architecture.py >"$LOGS/architecture.log" 2>&1
grep '^FAIL' "$LOGS/architecture.log" || true
record "architecture" "$LOGS/architecture.log"

echo "== SigV4 signer (official vectors and botocore-generated cases)"
make -s PG_CONFIG="$PG_CONFIG" sigv4-check >"$LOGS/sigv4.log" 2>&1
# the fragment prints one result line per part; sum them
awk '/^[0-9]+ passed, [0-9]+ failed$/ {p += $1; f += $3} /skipping/ {print} END {print p " passed, " f " failed"}' \
	"$LOGS/sigv4.log" >"$LOGS/sigv4.sum"
grep -q skipping "$LOGS/sigv4.log" && grep skipping "$LOGS/sigv4.log"
record "sigv4" "$LOGS/sigv4.sum"

echo "== retry policy unit tests"
make -s PG_CONFIG="$PG_CONFIG" retry-check >"$LOGS/retry.log" 2>&1
record "retry policy" "$LOGS/retry.log"

echo "== packaging (META.json, LICENSE, CHANGELOG.md, versions, User-Agent)"
"$SM_PYTHON" test/check_packaging.py "$($PG_CONFIG --pkglibdir)/segment_membership.so" >"$LOGS/packaging.log" 2>&1
record "packaging" "$LOGS/packaging.log"

echo "== rate limiter unit tests (and botocore's adaptive mode)"
make -s PG_CONFIG="$PG_CONFIG" ratelimit-check >"$LOGS/ratelimit.log" 2>&1
awk '/^[0-9]+ passed, [0-9]+ failed$/ {p += $1; f += $3} END {print p " passed, " f " failed"}' \
	"$LOGS/ratelimit.log" >"$LOGS/ratelimit.sum"
record "rate limiter" "$LOGS/ratelimit.sum"

echo "== mock endpoint self-test"
"$SM_PYTHON" test/mock_selftest.py >"$LOGS/mock.log" 2>&1
record "mock self-test" "$LOGS/mock.log"

if [ -z "$SM_QUICK$SM_VALGRIND$SM_ASAN" ]; then
	# libFuzzer targets (test/fuzz/): about FUZZ_BUDGET seconds in all
	echo "== fuzz targets (libFuzzer with ASan and UBSan)"
	if make -s PG_CONFIG="$PG_CONFIG" fuzz >"$LOGS/fuzz.log" 2>&1; then
		FUZZ_ARTIFACT_DIR=$LOGS/fuzz FUZZ_BUDGET=${FUZZ_BUDGET:-120} test/fuzz/run.sh >>"$LOGS/fuzz.log" 2>&1
	else
		echo "0 passed, 1 failed" >>"$LOGS/fuzz.log"
	fi
	grep -E '^(ok|FAILED) - fuzz_' "$LOGS/fuzz.log" || true
	record "fuzz" "$LOGS/fuzz.log"
fi

echo "== start the mock endpoint and a throwaway cluster"
sm_setup || { echo "set-up failed"; echo "$TOTAL_PASSED passed, $((TOTAL_FAILED + 1)) failed"; exit 1; }
export SM_ROOT SM_WORK

if [ -n "$SM_VALGRIND" ]; then
	echo "== restart the cluster under Valgrind"
	sm_stop_postgres
	source test/valgrind.sh
	sm_start_postgres_valgrind || exit 1
fi
if [ -n "$SM_ASAN" ]; then
	echo "== rebuild with AddressSanitizer and UBSan, restart the cluster"
	sm_stop_postgres
	source test/asan.sh
	sm_start_postgres_asan || { echo "$TOTAL_PASSED passed, $((TOTAL_FAILED + 1)) failed"; exit 1; }
fi

echo "== pg_regress suite (make installcheck on a server with no AWS environment, then installcheck-mock)"
sm_regress_both "$LOGS/regress" >"$LOGS/regress.sum"
cat "$LOGS/regress.plain.log" "$LOGS/regress.mock.log" | grep -E '^ *(ok|not ok|test | ?[a-z0-9_]+ +\.\.\.)' || true
record "pg_regress" "$LOGS/regress.sum"
[ -s "$LOGS/regress.diffs" ] && head -n 200 "$LOGS/regress.diffs" >&2

if [ -n "$SM_VALGRIND" ]; then
	# the credential chain's code paths too (restarts keep Valgrind)
	echo "== t_credentials (under Valgrind)"
	bash test/t_credentials.sh >"$LOGS/t_credentials.log" 2>&1
	record "credentials" "$LOGS/t_credentials.log"
	sm_stop_postgres
	valgrind_report >"$LOGS/valgrind.log" 2>&1
	record "valgrind" "$LOGS/valgrind.log"
	finish
	exit
fi

if [ -n "$SM_ASAN" ]; then
	echo "== t_credentials (with ASan)"
	bash test/t_credentials.sh >"$LOGS/t_credentials.log" 2>&1
	record "credentials" "$LOGS/t_credentials.log"
	sm_stop_postgres
	asan_report >"$LOGS/asan.log" 2>&1
	record "asan" "$LOGS/asan.log"
	finish
	exit
fi

echo "== cluster-wide state: views, rate limit, adaptive mode"
bash test/cluster_check.sh >"$LOGS/cluster.log" 2>&1
record "cluster" "$LOGS/cluster.log"

if [ -z "$SM_QUICK" ]; then
	for t in test/t_*.sh; do
		[ -e "$t" ] || continue
		name=$(basename "$t" .sh)
		echo "== $name"
		# t_hostile sets up its own mock and cluster; the build is installed
		SM_SKIP_INSTALL=1 bash "$t" >"$LOGS/$name.log" 2>&1
		record "${name#t_}" "$LOGS/$name.log"
	done
elif [ -n "$SM_SOAK" ]; then
	echo "== t_soak"
	bash test/t_soak.sh >"$LOGS/t_soak.log" 2>&1
	record "soak" "$LOGS/t_soak.log"
fi

# PostgreSQL 14, 16, 17, 18 and 19 (15 is everything above): build and the
# signer, retry and pg_regress tests on each; says so when ../shared/pg is
# absent
if [ -z "$SM_QUICK" ]; then
	echo "== PostgreSQL matrix (test/matrix.sh)"
	bash test/matrix.sh >"$LOGS/matrix.log" 2>&1
	grep -E '^(matrix:|  PostgreSQL [0-9]+ +[0-9])' "$LOGS/matrix.log"
	record "matrix 14,16-19" "$LOGS/matrix.log"
fi

finish
