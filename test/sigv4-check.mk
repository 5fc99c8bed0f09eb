# test/sigv4-check.mk -- build and run the SigV4 signer tests.
#
# Included from the top-level (PGXS) Makefile and used from the repository
# root:
#
#   make sigv4-check                     # suite + 300 random botocore cases
#   make sigv4-check SIGV4_SEED=1234     # reproduce a botocore run
#   make sigv4-check SIGV4_SUITE=/path/to/sigv4-suite SIGV4_BOTOCORE_COUNT=50
#
# Only SIGV4_* variables are defined here (plus the two targets below).

SIGV4_MK_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
SIGV4_ROOT := $(abspath $(SIGV4_MK_DIR)..)

# Official aws-c-auth vectors; skipped with a message when absent.
SIGV4_SUITE ?= $(abspath $(SIGV4_ROOT)/../shared/sigv4-suite)
# Debian's python3 with python3-botocore.
SIGV4_PYTHON ?= /usr/bin/python3
SIGV4_BOTOCORE_COUNT ?= 300
# Empty: a random seed, printed by the generator.
SIGV4_SEED ?=

SIGV4_CFLAGS = -O2 -Wall -Wextra -Werror
SIGV4_CRYPTO_CFLAGS = $(shell pkg-config --cflags libcrypto 2>/dev/null)
SIGV4_CRYPTO_LIBS = $(or $(shell pkg-config --libs libcrypto 2>/dev/null),-lcrypto)

test/sigv4_check: test/sigv4_check.c src/sigv4.c src/sigv4.h
	$(CC) $(SIGV4_CFLAGS) $(SIGV4_CRYPTO_CFLAGS) -Isrc -o $@ \
		test/sigv4_check.c src/sigv4.c $(SIGV4_CRYPTO_LIBS)

# Each part prints its own "N passed, M failed" line; the target fails if
# any part fails.  The botocore cases live in a mktemp -d folder that is
# removed afterwards, also on failure or interruption.
sigv4-check: test/sigv4_check
	@status=0; \
	if [ -d '$(SIGV4_SUITE)' ]; then \
		echo 'sigv4 suite: $(SIGV4_SUITE) (plus built-in checks)'; \
		test/sigv4_check '$(SIGV4_SUITE)' || status=1; \
	else \
		echo 'sigv4 suite: $(SIGV4_SUITE) not found, skipping the official vectors'; \
		echo 'sigv4 built-in checks:'; \
		test/sigv4_check || status=1; \
	fi; \
	tmp=$$(mktemp -d) || exit 1; \
	trap 'rm -rf "$$tmp"' EXIT; \
	trap 'exit 1' HUP INT TERM; \
	echo 'sigv4 botocore cases:'; \
	if '$(SIGV4_PYTHON)' test/sigv4_botocore.py --out "$$tmp" \
			--count '$(SIGV4_BOTOCORE_COUNT)' \
			$(if $(SIGV4_SEED),--seed '$(SIGV4_SEED)'); then \
		test/sigv4_check --no-builtin "$$tmp" || status=1; \
	else \
		echo 'sigv4 botocore: generator failed'; status=1; \
	fi; \
	exit $$status

.PHONY: sigv4-check
