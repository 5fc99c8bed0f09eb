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
	openssl curl ca-certificates valgrind \
	clang-14 libclang-rt-14-dev locales >/dev/null
# a single-byte locale for test/t_encoding.sh (isalnum() accepts 'é' there)
locale -a | grep -qix 'fr_FR.iso88591' || localedef -i fr_FR -f ISO-8859-1 fr_FR.ISO-8859-1
echo "dependencies installed"
