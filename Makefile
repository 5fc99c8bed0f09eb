# segment_membership: Amazon Connect Customer Profiles segment membership as rows
#
#   make && make install          build and install (PG_CONFIG picks the server)
#   make sigv4-check              unit tests of the SigV4 signer (no server)
#   make fuzz / make fuzz-run     libFuzzer targets (see test/fuzz/fuzz.mk)
#   make installcheck             the tests that need no network (any running server)
#   make installcheck-mock        the tests that need the mock endpoint (run-tests.sh)
#   make matrix                   build and test on PostgreSQL 14, 16, 17, 18, 19
#   test/run-tests.sh             every test, against a throwaway cluster (see README)

EXTENSION = segment_membership
MODULE_big = segment_membership
OBJS = \
	src/membership.o \
	src/idplan.o \
	src/failure.o \
	src/requests.o \
	src/transport.o \
	src/aws_sign.o \
	src/config.o \
	src/shared_config.o \
	src/credentials.o \
	src/cred_fetch.o \
	src/cred_providers.o \
	src/sts.o \
	src/retry.o \
	src/reply.o \
	src/sigv4.o \
	src/parse_util.o \
	src/cluster.o \
	src/ratelimit.o \
	src/redact.o \
	src/redact_pg.o

# Every install and upgrade script; the version lives only in the control
# file's default_version (it also feeds the User-Agent and META.json).
DATA = $(wildcard sql/segment_membership--*.sql)
SM_VERSION := $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" \
	$(dir $(lastword $(MAKEFILE_LIST)))segment_membership.control)
PGFILEDESC = "segment_membership - Customer Profiles segment membership as rows"

# "make installcheck" (REGRESS): what needs no network, no mock and no AWS
# environment -- install, argument checks, settings and their permissions,
# privileges, planner estimates, the 1.0 -> 1.1 upgrade.  It passes against
# any running server with the extension installed.
REGRESS = plain_install plain_arguments plain_settings plain_grant_parameter \
	plain_planner plain_upgrade
# "make installcheck-mock" (REGRESS_MOCK): every other test; they need the
# mock AWS endpoint and the server environment test/run-tests.sh sets up.
REGRESS_MOCK = $(filter-out $(REGRESS),$(patsubst sql/%.sql,%,$(sort \
	$(filter-out sql/segment_membership--%.sql,$(wildcard sql/*.sql)))))
# SM_PSQL_BINDIR: where pg_regress finds psql when the server's own bindir
# has none (test/matrix.sh)
REGRESS_OPTS = --inputdir=. --outputdir=$(or $(SM_REGRESS_OUTDIR),.) \
	$(if $(SM_PSQL_BINDIR),--bindir=$(SM_PSQL_BINDIR))

# libcurl 7.87 or later (CURLOPT_QUICK_EXIT); src/transport.h checks too
SM_MIN_LIBCURL = 7.87.0
ifneq ($(shell pkg-config --atleast-version=$(SM_MIN_LIBCURL) libcurl && echo ok),ok)
$(error segment_membership requires libcurl $(SM_MIN_LIBCURL) or later (pkg-config libcurl: $(shell pkg-config --modversion libcurl 2>&1)))
endif

PG_CPPFLAGS += -Isrc -DSM_VERSION='"$(SM_VERSION)"' $(shell pkg-config --cflags libcurl libcrypto)
SHLIB_LINK += $(shell pkg-config --libs libcurl libcrypto)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

include test/sigv4-check.mk

EXTRA_CLEAN = test/sigv4_check test/retry_check test/ratelimit_check

# The tests that need the mock endpoint (see REGRESS_MOCK above).
installcheck-mock: submake $(REGRESS_PREP)
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS_MOCK)

# Build and test against PostgreSQL 14, 16, 17, 18 and 19 (test/matrix.sh).
matrix:
	test/matrix.sh

.PHONY: installcheck-mock matrix

# Unit tests of the retry policy (no server needed).
test/retry_check: test/retry_check.c src/retry.c src/retry.h
	$(CC) -O2 -Wall -Wextra -Werror -Isrc -o $@ test/retry_check.c src/retry.c \
		$(shell pkg-config --cflags --libs libcurl)

retry-check: test/retry_check
	test/retry_check

.PHONY: retry-check

include test/fuzz/fuzz.mk

# Unit tests of the rate limiters, and a cross-check against botocore's
# adaptive retry mode (no server needed).
test/ratelimit_check: test/ratelimit_check.c src/ratelimit.c src/ratelimit.h
	$(CC) -O2 -Wall -Wextra -Werror -Isrc -o $@ test/ratelimit_check.c \
		src/ratelimit.c -lm

ratelimit-check: test/ratelimit_check
	test/ratelimit_check
	/usr/bin/python3 test/ratelimit_botocore.py test/ratelimit_check

.PHONY: ratelimit-check

# PGXS knows nothing of our headers: rebuild every object when one changes.
$(OBJS): $(wildcard src/*.h)
