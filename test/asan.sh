# test/asan.sh -- helpers for "test/run-tests.sh --asan": build the
# extension with AddressSanitizer and UBSan, run the test cluster with every
# backend able to load it, and judge the reports afterwards.  Sourced by
# run-tests.sh after test/lib.sh.
#
# How (see ../shared/postgres-testing.md, "ASan for the extension inside
# Debian's postgres"):
#   - the module is built by gcc with -fsanitize=address,undefined in a copy
#     of the sources under $SM_WORK (so the worktree's objects stay plain)
#     and installed over the plain build; the next plain run reinstalls;
#   - Debian's postgres is not instrumented, so the ASan runtime must come
#     first: the server is started through a wrapper (pg_ctl -p, which
#     restarts keep) that preloads libasan plus a tiny "initfirst" shim
#     calling __asan_init() before libp11-kit's constructor (without it the
#     server deadlocks at start);
#   - LeakSanitizer is on, with the two known start-up "leaks" of the
#     postmaster suppressed and a short malloc context (otherwise
#     PostmasterMain is in every stack and suppresses everything);
#   - ASan and LSan reports go to files ($ASAN_DIR/asan.PID); UBSan's
#     ("runtime error: ...") reach the server log.  UBSan reports do not
#     stop the backend, so one run finds them all.  Any report file, or a
#     sanitizer line in the server log, is a failure.
#
# Checked by planting bugs in a copy: a heap overflow in sigv4_sign() was
# reported with file:line and the whole stack; a too-large shift too.

sm_asan_build() {
	local asan_so build cflags
	asan_so=$(gcc -print-file-name=libasan.so.8)
	[ -e "$asan_so" ] || asan_so=$(gcc -print-file-name=libasan.so)
	[ -e "$asan_so" ] || { sm_log "libasan not found (apt-get install gcc)"; return 1; }
	ASAN_DIR=$SM_WORK/asan
	mkdir -p "$ASAN_DIR/build"
	ASAN_LIB=$(readlink -f "$asan_so")
	cat >"$ASAN_DIR/asan_initfirst.c" <<'EOF2'
/* DF_1_INITFIRST: runs before the constructors of every other library */
extern void __asan_init(void);
__attribute__((constructor)) static void
sm_asan_early(void)
{
	__asan_init();
}
EOF2
	gcc -shared -fPIC -o "$ASAN_DIR/asan_initfirst.so" "$ASAN_DIR/asan_initfirst.c" \
		-Wl,-z,initfirst -Wl,--no-as-needed "$ASAN_LIB" || return 1
	# PostgreSQL's own, not ours: the postmaster's start-up allocations, and
	# PG 15's define_custom_variable(), which drops the stacked values of a
	# placeholder ("SET segment_membership.x" inside a transaction before
	# the module is loaded; guc.c: "it's possible for some memory to be
	# leaked").  Our check hooks allocate nothing.
	printf '%s\n' leak:save_ps_display_args leak:PostmasterMain leak:set_config_option_ext \
		>"$ASAN_DIR/lsan.supp"

	# a private copy of what the build needs, so the worktree keeps its
	# plain objects
	build=$ASAN_DIR/build
	(cd "$SM_ROOT" && cp -r Makefile ./*.control src sql test "$build"/) || return 1
	rm -f "$build"/src/*.o "$build"/*.so
	cflags='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-common -O1'
	make -C "$build" -s PG_CONFIG="$PG_CONFIG" with_llvm=no COPT="$cflags" >"$ASAN_DIR/build.log" 2>&1 &&
		make -C "$build" -s PG_CONFIG="$PG_CONFIG" with_llvm=no install >>"$ASAN_DIR/build.log" 2>&1 ||
		{ cat "$ASAN_DIR/build.log" >&2; return 1; }
	# the installed module must really be instrumented
	nm -D "$($PG_CONFIG --pkglibdir)/segment_membership.so" | grep -q '__asan_report' ||
		{ sm_log "the installed module is not instrumented"; return 1; }
}

sm_start_postgres_asan() {
	sm_asan_build || return 1
	cat >"$ASAN_DIR/postgres" <<EOF2
#!/bin/sh
LD_PRELOAD=$ASAN_LIB:$ASAN_DIR/asan_initfirst.so
ASAN_OPTIONS=detect_leaks=1:malloc_context_size=5:log_path=$ASAN_DIR/asan:abort_on_error=0:print_suppressions=0
LSAN_OPTIONS=suppressions=$ASAN_DIR/lsan.supp:print_suppressions=0
UBSAN_OPTIONS=print_stacktrace=1:log_path=$ASAN_DIR/ubsan
export LD_PRELOAD ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
exec $PGBIN/postgres "\$@"
EOF2
	chmod 755 "$ASAN_DIR/postgres"
	chown -R postgres "$ASAN_DIR"
	export SM_PG_WRAPPER=$ASAN_DIR/postgres
	sm_start_postgres || return 1
	# the server (and so every backend it forks) must run with the runtime
	local pid
	pid=$(head -n 1 "$SM_WORK/data/postmaster.pid")
	grep -q libasan "/proc/$pid/maps" 2>/dev/null ||
		{ sm_log "the server ($pid) does not have the ASan runtime loaded"; return 1; }
	# the module loads in a backend (LOAD fails if the runtime is missing)
	psql -X -q -d postgres -c "LOAD 'segment_membership'" ||
		{ sm_log "the instrumented module does not load"; return 1; }
}

# asan_report: one test per report file (none: one passing test), plus the
# server log checked for sanitizer lines that did not reach a file
asan_report() {
	local f n=0 bad=0
	for f in "$ASAN_DIR"/asan.* "$ASAN_DIR"/ubsan.*; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		echo "--- $f"
		head -n 80 "$f"
	done
	if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$SM_WORK/postgres.log"; then
		bad=1
		echo "--- sanitizer lines in the server log:"
		grep -E -A 30 'AddressSanitizer|LeakSanitizer|runtime error:' "$SM_WORK/postgres.log" | head -n 80
	fi
	echo "asan: $n report files, $bad server logs with sanitizer lines"
	if [ $((n + bad)) -eq 0 ]; then
		echo "1 passed, 0 failed"
	else
		echo "0 passed, $((n + bad)) failed"
	fi
}
