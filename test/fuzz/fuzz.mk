# test/fuzz/fuzz.mk -- libFuzzer targets for the parsers that take outside
# input and need no server.  Included from the top-level (PGXS) Makefile and
# used from the repository root:
#
#   make fuzz                              build every target
#   make fuzz-run FUZZ_SECONDS=30          run each for 30 s (test/fuzz/run.sh)
#   make fuzz-run FUZZ_TARGETS=sigv4_uri   only some
#   make fuzz-coverage FUZZ_SECONDS=30     line/branch coverage of src/ reached
#   test/fuzz/fuzz_sigv4_uri CRASH-FILE    replay one input
#
# A target NAME is test/fuzz/fuzz_NAME.c (it #includes the src/*.c it
# tests, see fuzz_common.h) with its seeds in test/fuzz/corpus/NAME/.  To
# add one, write that file and add NAME to the list below.
#
# Built by clang (Debian's clang-14, package libclang-rt-14-dev for the
# runtime) with libFuzzer, AddressSanitizer and UBSan; any UBSan report
# aborts, so libFuzzer keeps the input.  Only FUZZ_* variables are defined
# here (plus the targets below).

FUZZ_ALL_TARGETS = \
	sigv4_uri \
	sigv4_query \
	sigv4_sign \
	retry_hint \
	retry_code \
	iso8601 \
	ini_line \
	sts_xml \
	endpoint_url \
	redact

FUZZ_TARGETS ?= $(FUZZ_ALL_TARGETS)
FUZZ_CC ?= $(or $(shell command -v clang-14 2>/dev/null),clang)
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror \
	-Wno-unused-function \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Isrc $(shell pkg-config --cflags libcurl libcrypto 2>/dev/null)
FUZZ_LIBS = $(or $(shell pkg-config --libs libcurl libcrypto 2>/dev/null),-lcurl -lcrypto)
FUZZ_SECONDS ?= 20
FUZZ_BINS = $(addprefix test/fuzz/fuzz_,$(FUZZ_ALL_TARGETS))

# -MMD: each binary depends on the src/*.c and headers its file includes
test/fuzz/fuzz_%: test/fuzz/fuzz_%.c test/fuzz/fuzz_common.h
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -o $@ $< $(FUZZ_LIBS)

-include $(addsuffix .d,$(FUZZ_BINS))

# the same targets with clang's source-based coverage instead of sanitizers
test/fuzz/cov_%: test/fuzz/fuzz_%.c test/fuzz/fuzz_common.h
	$(FUZZ_CC) $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(FUZZ_CFLAGS)) \
		-fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping \
		-o $@ $< $(FUZZ_LIBS)

fuzz: $(addprefix test/fuzz/fuzz_,$(FUZZ_TARGETS))

fuzz-run: fuzz
	FUZZ_SECONDS='$(FUZZ_SECONDS)' test/fuzz/run.sh $(FUZZ_TARGETS)

fuzz-coverage: $(addprefix test/fuzz/cov_,$(FUZZ_TARGETS))
	FUZZ_SECONDS='$(FUZZ_SECONDS)' test/fuzz/coverage.sh $(FUZZ_TARGETS)

fuzz-clean:
	rm -f $(FUZZ_BINS) $(addsuffix .d,$(FUZZ_BINS)) \
		$(addprefix test/fuzz/cov_,$(FUZZ_ALL_TARGETS))

.PHONY: fuzz fuzz-run fuzz-coverage fuzz-clean
