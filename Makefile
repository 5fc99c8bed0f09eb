# segment_membership: Amazon Connect Customer Profiles segment membership as rows
#
#   make && make install          build and install (PG_CONFIG picks the server)
#   make sigv4-check              unit tests of the SigV4 signer (no server)
#   make fuzz / make fuzz-run     libFuzzer targets (see test/fuzz/fuzz.mk)
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
	src/redact.o \
	src/redact_pg.o

DATA = sql/segment_membership--1.0.sql
PGFILEDESC = "segment_membership - Customer Profiles segment membership as rows"

REGRESS = $(patsubst sql/%.sql,%,$(sort $(filter-out sql/segment_membership--%.sql,$(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --outputdir=$(or $(SM_REGRESS_OUTDIR),.)

PG_CPPFLAGS += -Isrc $(shell pkg-config --cflags libcurl libcrypto)
SHLIB_LINK += $(shell pkg-config --libs libcurl libcrypto)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

include test/sigv4-check.mk

EXTRA_CLEAN = test/sigv4_check test/retry_check

# Unit tests of the retry policy (no server needed).
test/retry_check: test/retry_check.c src/retry.c src/retry.h
	$(CC) -O2 -Wall -Wextra -Werror -Isrc -o $@ test/retry_check.c src/retry.c \
		$(shell pkg-config --cflags --libs libcurl)

retry-check: test/retry_check
	test/retry_check

.PHONY: retry-check
include test/fuzz/fuzz.mk
