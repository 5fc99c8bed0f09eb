# test/lib.sh -- shared set-up for the test driver, the demo and the
# benchmarks: a throwaway PostgreSQL cluster and the mock AWS endpoint, both
# removed on exit.  Source it from bash as root; then call sm_setup.
#
# After sm_setup:
#   SM_WORK            private directory under /tmp (owned by postgres)
#   PGHOST PGPORT PGUSER PGDATABASE   point psql at the cluster (unix socket)
#   MOCK_HTTP_PORT MOCK_HTTPS_PORT    the mock's ports on 127.0.0.1
#   MOCK_DIR           the mock's state dir (ca.pem, wrong-ca.pem, ...)
#   MOCK_URL           http://127.0.0.1:$MOCK_HTTP_PORT
#
# The cluster's environment is what a production server would have: AWS
# credentials, a region and the endpoint override (here the mock), set by
# sm_start_postgres from SM_PG_ENV (an array of NAME=value).

set -u

SM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# SM_PRIVATE_PG=DIR: build, install and run against a private copy of
# Debian's PostgreSQL 15 under DIR (made on first use), so that several
# clones can run their tests at once without installing into each other's
# server.  Unset (CI, users), the system installation is used.
if [ -n "${SM_PRIVATE_PG:-}" ]; then
	if [ ! -x "$SM_PRIVATE_PG/usr/lib/postgresql/15/bin/pg_config" ]; then
		mkdir -p "$SM_PRIVATE_PG/usr/lib/postgresql" "$SM_PRIVATE_PG/usr/share/postgresql" "$SM_PRIVATE_PG/usr/include"
		cp -a /usr/lib/postgresql/15 "$SM_PRIVATE_PG/usr/lib/postgresql/"
		cp -a /usr/share/postgresql/15 "$SM_PRIVATE_PG/usr/share/postgresql/"
		ln -sfn /usr/include/postgresql "$SM_PRIVATE_PG/usr/include/postgresql"
		chmod -R a+rX "$SM_PRIVATE_PG"
	fi
	PG_CONFIG=$SM_PRIVATE_PG/usr/lib/postgresql/15/bin/pg_config
fi
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PG_CONFIG
PGBIN=$($PG_CONFIG --bindir)
SM_PYTHON=/usr/bin/python3

# Test credentials (fake, only meaningful to the mock).
SM_TEST_AKID=AKIDSEGMENTMEMBERSHIP1
SM_TEST_SECRET=smTestSecretKey/0123456789abcdefghijklmnopqrstu
SM_TEST_TOKEN=smTestSessionToken0123456789
SM_TEST_REGION=eu-west-2

sm_log() { printf '%s\n' "$*" >&2; }

sm_cleanup() {
	local rc=$?
	set +e
	if [ -n "${MOCK_PID:-}" ]; then
		kill "$MOCK_PID" 2>/dev/null
		wait "$MOCK_PID" 2>/dev/null
	fi
	if [ -n "${SM_WORK:-}" ] && [ -f "$SM_WORK/data/postmaster.pid" ]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$SM_WORK/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			runuser -u postgres -- "$PGBIN/pg_ctl" -D "$SM_WORK/data" -m immediate stop >/dev/null 2>&1
	fi
	if [ $rc -ne 0 ] && [ -n "${SM_WORK:-}" ] && [ -z "${SM_QUIET_FAILURE:-}" ]; then
		[ -f "$SM_WORK/postgres.log" ] && { sm_log "--- last lines of the server log:"; tail -n 40 "$SM_WORK/postgres.log" >&2; }
	fi
	if [ -n "${SM_WORK:-}" ] && [ -z "${SM_KEEP:-}" ]; then
		rm -rf "$SM_WORK"
	fi
	exit $rc
}

# sm_start_mock [extra mock arguments...]
sm_start_mock() {
	MOCK_DIR=$SM_WORK/mock
	mkdir -p "$MOCK_DIR"
	cat > "$MOCK_DIR/credentials.json" <<EOF
[{"access_key_id": "$SM_TEST_AKID", "secret_access_key": "$SM_TEST_SECRET",
  "session_token": "$SM_TEST_TOKEN", "expires": null, "source": "static-env"}]
EOF
	"$SM_PYTHON" "${SM_MOCK_PY:-$SM_ROOT/test/mock_aws.py}" --state-dir "$MOCK_DIR" \
		--credentials-file "$MOCK_DIR/credentials.json" --regions "$SM_TEST_REGION" \
		--log "$MOCK_DIR/mock.log" "$@" </dev/null >"$MOCK_DIR/stdout" 2>&1 &
	MOCK_PID=$!
	local i
	for i in $(seq 200); do
		[ -s "$MOCK_DIR/mock.pid" ] && break
		kill -0 "$MOCK_PID" 2>/dev/null || { cat "$MOCK_DIR/stdout" >&2; sm_log "mock endpoint failed to start"; return 1; }
		sleep 0.05
	done
	[ -s "$MOCK_DIR/mock.pid" ] || { sm_log "mock endpoint did not become ready"; return 1; }
	MOCK_HTTP_PORT=$(cat "$MOCK_DIR/http.port")
	MOCK_HTTPS_PORT=$(cat "$MOCK_DIR/https.port")
	MOCK_URL=http://127.0.0.1:$MOCK_HTTP_PORT
	chmod -R a+rX "$MOCK_DIR"
	export MOCK_DIR MOCK_HTTP_PORT MOCK_HTTPS_PORT MOCK_URL
}

# sm_init_cluster: initdb into $SM_WORK/data
sm_init_cluster() {
	(cd "$SM_WORK" && runuser -u postgres -- "$PGBIN/initdb" -D "$SM_WORK/data" -U postgres \
		-A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$SM_WORK/initdb.log" 2>&1) ||
		{ cat "$SM_WORK/initdb.log" >&2; return 1; }
	export PGHOST=$SM_WORK PGPORT=54329 PGUSER=postgres PGDATABASE=postgres
}

# sm_start_postgres [extra server options...]: start with the environment
# in SM_PG_ENV (the server process's environment is what the extension
# sees; nothing else of root's environment leaks in).  SM_PG_WRAPPER, when
# set, is run instead of postgres (Valgrind); SM_PG_EXTRA_OPTS adds options.
sm_start_postgres() {
	(cd "$SM_WORK" && runuser -u postgres -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 \
		HOME="$SM_WORK/home" ${SM_PG_LIBRARY_PATH:+LD_LIBRARY_PATH="$SM_PG_LIBRARY_PATH"} "${SM_PG_ENV[@]}" \
		"$PGBIN/pg_ctl" -D "$SM_WORK/data" -l "$SM_WORK/postgres.log" -w -t 300 \
		${SM_PG_WRAPPER:+-p "$SM_PG_WRAPPER"} \
		-o "-p $PGPORT -k $SM_WORK -c listen_addresses='' -c fsync=off -c jit=off $* ${SM_PG_EXTRA_OPTS:-}" start >/dev/null) ||
		{ tail -n 30 "$SM_WORK/postgres.log" >&2; return 1; }
}

sm_stop_postgres() {
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$SM_WORK/data" -m fast -w -t 30 stop >/dev/null
}

# sm_restart_postgres NAME=value...: restart with another environment
sm_restart_postgres() {
	sm_stop_postgres
	SM_PG_ENV=("$@")
	sm_start_postgres
}

# The environment a production server would have, pointed at the mock.
sm_default_pg_env() {
	SM_PG_ENV=(
		AWS_ACCESS_KEY_ID=$SM_TEST_AKID
		AWS_SECRET_ACCESS_KEY=$SM_TEST_SECRET
		AWS_SESSION_TOKEN=$SM_TEST_TOKEN
		AWS_REGION=$SM_TEST_REGION
		AWS_ENDPOINT_URL_CUSTOMER_PROFILES=$MOCK_URL
		AWS_EC2_METADATA_DISABLED=true
	)
}

# sm_setup: work dir, mock, cluster with the default environment.
sm_setup() {
	SM_WORK=$(mktemp -d /tmp/segment_membership.XXXXXX)
	chmod 755 "$SM_WORK"
	mkdir -p "$SM_WORK/home"
	chown postgres:postgres "$SM_WORK" "$SM_WORK/home"
	trap sm_cleanup EXIT
	trap 'exit 130' INT TERM
	sm_start_mock "$@"
	sm_init_cluster
	sm_default_pg_env
	sm_start_postgres
}

# sm_install: build and install the extension as root.
sm_install() {
	make -C "$SM_ROOT" -s PG_CONFIG="$PG_CONFIG" with_llvm=no >/dev/null &&
		make -C "$SM_ROOT" -s PG_CONFIG="$PG_CONFIG" with_llvm=no install >/dev/null
}

# sm_regress_both PREFIX [make variables...]: the two pg_regress sets of the
# Makefile.  "make installcheck" runs against the cluster restarted with no
# AWS environment at all (what a packager's server has); then the cluster is
# restarted with the environment it had and "make installcheck-mock" runs.
# Logs go to PREFIX.plain.log and PREFIX.mock.log, differences to
# PREFIX.diffs; prints "N passed, M failed" over both sets.
sm_regress_both() {
	local prefix=$1 env_saved=("${SM_PG_ENV[@]}") set p=0 f=0
	shift
	rm -f "$prefix.diffs"
	for set in plain mock; do
		if [ $set = plain ]; then
			sm_restart_postgres || { echo "0 passed, 1 failed"; return 1; }
		else
			sm_restart_postgres "${env_saved[@]}" || { echo "$p passed, $((f + 1)) failed"; return 1; }
		fi
		rm -f "$SM_ROOT/regression.diffs"
		make -C "$SM_ROOT" -s PG_CONFIG="$PG_CONFIG" "$@" \
			"installcheck$([ $set = mock ] && echo -mock)" >"$prefix.$set.log" 2>&1
		[ -f "$SM_ROOT/regression.diffs" ] && cat "$SM_ROOT/regression.diffs" >>"$prefix.diffs"
		p=$((p + $(grep -cE '^ *ok [0-9]|\.\.\. ok' "$prefix.$set.log")))
		f=$((f + $(grep -cE '^ *not ok [0-9]|\.\.\. FAILED' "$prefix.$set.log")))
		# no test ran at all (pg_regress could not start): a failure
		grep -qE '^ *(not )?ok [0-9]|\.\.\. (ok|FAILED)' "$prefix.$set.log" || f=$((f + 1))
	done
	echo "$p passed, $f failed"
}
