# test/valgrind.sh -- helpers for "test/run-tests.sh --valgrind": start the
# test cluster with every backend under Valgrind memcheck, and judge the
# logs afterwards.  Sourced by run-tests.sh after test/lib.sh.
#
# Debian's postgres binary is stripped of static symbols, so upstream's
# src/tools/valgrind.supp does not match; test/valgrind.supp holds the
# suppressions for PostgreSQL's own known, benign reports on Debian 15
# (padding bytes written to disk, CRC of padding) and nothing of ours.
# Any report is a failure.

sm_start_postgres_valgrind() {
	command -v valgrind >/dev/null || { sm_log "valgrind is not installed (apt-get install valgrind)"; return 1; }
	VG_DIR=$SM_WORK/valgrind
	mkdir -p "$VG_DIR"
	# the suppressions name Debian's binary; SM_PRIVATE_PG runs a copy elsewhere
	sed "s|obj:/usr/lib/postgresql/15/bin/postgres|obj:$PGBIN/postgres|" \
		"$SM_ROOT/test/valgrind.supp" >"$VG_DIR/pg15-debian.supp"
	cat >"$VG_DIR/postgres" <<EOF2
#!/bin/sh
exec valgrind --quiet --track-origins=yes --num-callers=30 --leak-check=no \\
  --error-limit=no --trace-children=yes \\
  --trace-children-skip=/bin/sh,/usr/bin/sh,/usr/bin/python3*,/bin/cat,/usr/bin/cat,/bin/ls,/usr/bin/ls \\
  --suppressions=$VG_DIR/pg15-debian.supp --gen-suppressions=all \\
  --log-file=$VG_DIR/vg.%p.log $PGBIN/postgres "\$@"
EOF2
	chmod 755 "$VG_DIR/postgres"
	chown -R postgres "$VG_DIR"
	export SM_PG_WRAPPER=$VG_DIR/postgres
	export SM_PG_EXTRA_OPTS="-c segment_membership.connect_timeout_ms=60000"
	sm_start_postgres
}

# valgrind_report: one test per backend log; a non-empty log is a failure
valgrind_report() {
	local p=0 f=0 log
	for log in "$VG_DIR"/vg.*.log; do
		[ -e "$log" ] || continue
		if [ -s "$log" ]; then
			f=$((f + 1))
			echo "--- $log"
			head -n 80 "$log"
		else
			p=$((p + 1))
		fi
	done
	echo "valgrind: $((p + f)) backend logs, $f with reports"
	echo "$p passed, $f failed"
}
