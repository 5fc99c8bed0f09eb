#!/bin/bash
# test/install-deps.sh -- install what building, the demo and the tests need
# on Debian 12, as root.  Safe to run again.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq \
	make gcc pkg-config \
	postgresql-15 postgresql-server-dev-15 postgresql-contrib \
	libcurl4-openssl-dev libssl-dev \
	python3-botocore python3-cryptography \
	openssl curl ca-certificates valgrind xz-utils \
	clang-14 libclang-rt-14-dev locales >/dev/null
# test/matrix.sh fetches PostgreSQL 14/16/17/18 server binaries with npm;
# keep a node/npm the machine already has (Debian's npm would replace it)
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
	apt-get install -y -qq nodejs npm >/dev/null
fi
# a single-byte locale for test/t_encoding.sh (isalnum() accepts 'é' there)
locale -a | grep -qix 'fr_FR.iso88591' || localedef -i fr_FR -f ISO-8859-1 fr_FR.ISO-8859-1
echo "dependencies installed"
