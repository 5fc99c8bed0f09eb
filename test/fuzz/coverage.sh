#!/bin/bash
# test/fuzz/coverage.sh -- how much of the code under test the fuzz targets
# reach ("make fuzz-coverage FUZZ_SECONDS=30"; not part of the test run).
#
# Each coverage build (test/fuzz/cov_NAME: libFuzzer plus clang's
# source-based coverage, no sanitizers) fuzzes for FUZZ_SECONDS from the
# seed corpus; then llvm-cov reports line, function and branch coverage of
# the src/ files the target includes (the harness itself is left out).
set -u
cd "$(dirname "$0")/../.."
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
PROFDATA=$(command -v llvm-profdata-14 || command -v llvm-profdata) || { echo "llvm-profdata not found (apt-get install llvm-14)"; exit 1; }
COV=$(command -v llvm-cov-14 || command -v llvm-cov) || { echo "llvm-cov not found"; exit 1; }
tmp=$(mktemp -d /tmp/segment_membership-fuzzcov.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
for t in "$@"; do
	bin=test/fuzz/cov_$t
	mkdir -p "$tmp/$t/corpus"
	LLVM_PROFILE_FILE="$tmp/$t/%p.profraw" "$bin" -max_total_time="$FUZZ_SECONDS" -max_len=4096 \
		"$tmp/$t/corpus" "test/fuzz/corpus/$t" >"$tmp/$t/log" 2>&1 ||
		{ echo "cov_$t: the run failed"; tail -n 20 "$tmp/$t/log"; continue; }
	"$PROFDATA" merge -sparse "$tmp/$t"/*.profraw -o "$tmp/$t/merged.profdata" || continue
	# columns: file, regions, missed, cover, functions, missed, cover, lines,
	# missed, cover, branches, missed, cover
	"$COV" report "$bin" -instr-profile="$tmp/$t/merged.profdata" -ignore-filename-regex='fuzz_[a-z0-9_]*\.[ch]$|^/usr/' |
		awk -v t="$t" -v s="$FUZZ_SECONDS" '$1 ~ /\.c$/ && NF >= 13 {
			printf "fuzz_%s (%s s): %s lines %s (%d of %d), functions %s, branches %s\n",
				t, s, $1, $10, $8 - $9, $8, $7, $13 }'
done
