#!/bin/bash
# test/t_soak.sh -- soak test: one long session (run by test/run-tests.sh;
# with --quick only under --soak; see there).
#
# One psql session makes thousands of calls, SOAK_CALLS (default 1,000) at
# each of max_concurrency 1, 8 and 64, a random mix (seed SOAK_SEED,
# printed) of:
#   ok       a normal call of 1..400 ids, which must return every row;
#   404      an unknown segment with 100..3,000 ids, caught in a PL/pgSQL
#            exception block, which must give 42704;
#   retry    1..800 ids while the mock answers 30% of the requests with
#            500 or 503 (retried; a request that fails every attempt makes
#            a clean error);
#   timeout  200..2,000 ids answered after 5..60 ms, under a
#            statement_timeout of 1..50 ms;
# while another connection cancels the session (pg_cancel_backend) every
# 0.1..0.5 s.  A call of 6,400 ids at max_concurrency 64 with no fault is
# the reference: it is made after a warm-up round of 150 mixed calls and
# again at the end.  Probes read the backend's /proc entries (through COPY
# FROM PROGRAM, so from inside the same session) after the warm-up, after
# each phase and at the end.
#
# Passes when: no call failed with 08001 (could not connect) and every
# "ok" call returned all rows; the 404 calls gave 42704; the final
# reference call returns all 6,400 rows correctly; segment_membership_
# stats().connections_open equals the TCP sockets the backend really holds
# (sockets in /proc/PID/fd that are in /proc/PID/net/tcp*) after every
# phase; open fds (all but the files under the data directory, which are
# PostgreSQL's own cache of relation segments and WAL; and those that are
# not connections) and private
# memory (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup) are flat
# from the warm-up to the end (at most 4 more fds, at most SOAK_MEM_KB,
# default 2048 kB, more memory); timeouts and cancels really happened.
#
# Prints the figures and "N passed, M failed".
set -u
cd "$(dirname "$0")/.."
: "${PGHOST:?run from test/run-tests.sh}" "${MOCK_HTTP_PORT:?}" "${SM_WORK:?}"

SOAK_CALLS=${SOAK_CALLS:-1000}
SOAK_SEED=${SOAK_SEED:-$RANDOM}
SOAK_MEM_KB=${SOAK_MEM_KB:-2048}
OUT=$SM_WORK/soak
rm -rf "$OUT"
mkdir -p "$OUT"
passed=0 failed=0
check() { # check DESCRIPTION COMMAND...  (COMMAND may be "sh -c ...")
	local what=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		echo "ok - $what"
	else
		failed=$((failed + 1))
		echo "FAILED - $what"
	fi
}
MOCK=http://127.0.0.1:$MOCK_HTTP_PORT

# what a probe prints: fds, sockets, tcp (sockets that are TCP connections),
# pgfiles (files under the data directory: PostgreSQL's own cache of open
# relation segments and WAL, which it opens on demand and closes under its
# own limit) and private_kb of process $1; the fds go to fds-$2.txt
cat >"$OUT/probe.sh" <<'EOF2'
#!/bin/sh
p=$1
ls -l /proc/$p/fd | sed 's/.* [0-9][0-9]:[0-9][0-9] //' >"$(dirname "$0")/fds-$2.txt"
fds=0 sockets=0 pgfiles=0 inodes=
datadir=$(readlink /proc/$p/cwd)
for f in /proc/$p/fd/*; do
	fds=$((fds + 1))
	l=$(readlink "$f") || continue
	case $l in
	socket:*) sockets=$((sockets + 1)); inodes="$inodes ${l#socket:[}" ;;
	"$datadir"/*) pgfiles=$((pgfiles + 1)) ;;
	esac
done
tcp=0
for i in $inodes; do
	i=${i%]}
	awk -v i="$i" 'NR > 1 && $10 == i {f = 1} END {exit !f}' /proc/$p/net/tcp /proc/$p/net/tcp6 && tcp=$((tcp + 1))
done
priv=$(awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s}' /proc/$p/smaps_rollup)
echo "fds $fds"
echo "sockets $sockets"
echo "tcp $tcp"
echo "pgfiles $pgfiles"
echo "private_kb $priv"
EOF2
chmod 755 "$OUT/probe.sh"
chown -R postgres "$OUT"

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'EOF2' >/dev/null || exit 1
CREATE EXTENSION IF NOT EXISTS segment_membership;
CREATE OR REPLACE FUNCTION soak_expected(segment text, id text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN left(id, 1) = 'f' THEN NULL
              WHEN left(md5(segment || ':' || id), 1) < '8' THEN 'PRESENT' ELSE 'ABSENT' END
$$;
-- one call; returns "kind outcome" where outcome is "ok", "wrong N" (rows
-- missing or wrong) or the SQLSTATE and message of a caught error.  A cancel or a
-- statement timeout is not caught (OTHERS does not catch 57014): psql
-- reports it.
CREATE OR REPLACE FUNCTION soak_call(kind text, segment text, n int, tag text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  ids text[] := ARRAY(SELECT md5(tag || i) FROM generate_series(1, n) i);
  nrows bigint;
  nright bigint;
BEGIN
  SELECT count(*),
         count(*) FILTER (WHERE m.profile_id = ids[m.ord]
                          AND m.query_result IS NOT DISTINCT FROM soak_expected(segment, ids[m.ord])
                          AND (m.query_result IS NOT NULL OR m.failure_status = 404))
    INTO nrows, nright
  FROM get_segment_membership('demo-domain', segment, ids)
       WITH ORDINALITY AS m(profile_id, query_result, profile, failure_status, failure_message, last_computed_at, ord);
  IF nrows = n AND nright = n THEN
    RETURN kind || ' ok';
  END IF;
  RETURN kind || ' wrong ' || (n - nright);
EXCEPTION WHEN OTHERS THEN
  RETURN kind || ' ' || SQLSTATE || ' ' || SQLERRM;
END
$$;
CREATE UNLOGGED TABLE IF NOT EXISTS soak_probe_raw(key text, value bigint);
CREATE UNLOGGED TABLE IF NOT EXISTS soak_probes(label text, key text, value bigint);
TRUNCATE soak_probes;
-- read this backend's /proc entries (the COPY's pipe adds one fd, always)
CREATE OR REPLACE FUNCTION soak_probe(p_label text, probe text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE soak_probe_raw;
  EXECUTE format('COPY soak_probe_raw FROM PROGRAM %L WITH (DELIMITER %L)',
                 probe || ' ' || pg_backend_pid() || ' ' || p_label, ' ');
  INSERT INTO soak_probes SELECT p_label, key, value FROM soak_probe_raw;
  INSERT INTO soak_probes SELECT p_label, 'connections_open', connections_open
    FROM segment_membership_stats();
  RETURN (SELECT 'probe ' || p_label || ' ' || string_agg(p.key || '=' || p.value, ' ' ORDER BY p.key)
          FROM soak_probes p WHERE p.label = p_label);
END
$$;
EOF2

# The session's script: probes and reference calls with application_name
# "soak-quiet", churn with "soak-churn" (the only name that is cancelled).
/usr/bin/python3 - "$SOAK_SEED" "$SOAK_CALLS" "$MOCK" "$OUT" >"$OUT/session.sql" <<'EOF2'
import random, sys
seed, ncalls, mock, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rnd = random.Random(seed)
plain = "%s/mock" % mock
tag = [0]

def call(kind):
    tag[0] += 1
    t = "soak%d-%d-" % (seed, tag[0])
    if kind == "ok":
        return "SELECT soak_call('ok', 'high-value', %d, '%s');" % (rnd.randint(1, 400), t)
    if kind == "404":
        return "SELECT soak_call('404', 'no-such-segment', %d, '%s');" % (rnd.randint(100, 3000), t)
    # settings of one call are SET LOCAL: a cancel or a timeout anywhere
    # cannot leave them behind
    if kind == "retry":
        url = "%s/mock/rate=0.3/faults=500.503/seed=%d" % (mock, rnd.randint(1, 10**6))
        return ("BEGIN; SET LOCAL segment_membership.endpoint_url = '%s';\n"
                "SELECT soak_call('retry', 'high-value', %d, '%s');\nCOMMIT;"
                % (url, rnd.randint(1, 800), t))
    url = "%s/mock/latency=%d" % (mock, rnd.randint(5, 60))
    return ("BEGIN; SET LOCAL segment_membership.endpoint_url = '%s';\n"
            "SET LOCAL statement_timeout = '%dms';\n"
            "SELECT soak_call('timeout', 'high-value', %d, '%s');\nCOMMIT;"
            % (url, rnd.randint(1, 50), rnd.randint(200, 2000), t))

def churn(n):
    print("SET application_name = 'soak-churn';")
    for _ in range(n):
        print(call(rnd.choices(["ok", "404", "retry", "timeout"], [40, 25, 20, 15])[0]))
    # stop being cancelled (twice: a cancel may hit the first SET), and let
    # a cancel already on its way land in a sleep
    for _ in range(2):
        print("ROLLBACK;")
        print("SET application_name = 'soak-quiet';")
        print("SELECT pg_sleep(0.6);")

def reference(label):
    print("SET segment_membership.max_concurrency = 64;")
    print("SELECT 'reference %s ' || soak_call('ok', 'high-value', 6400, 'soak-reference-');" % label)

print("\\set VERBOSITY verbose")
print("SET application_name = 'soak-quiet';")
print("SET segment_membership.endpoint_url = '%s';" % plain)
print("SELECT 'pid ' || pg_backend_pid();")
# warm-up: every kind at every concurrency
for c in (1, 8, 64):
    print("SET segment_membership.max_concurrency = %d;" % c)
    churn(50)
reference("warm")
print("SELECT soak_probe('warm', '%s/probe.sh');" % out)
for c in (1, 8, 64):
    print("SELECT 'phase %d start ' || extract(epoch FROM clock_timestamp());" % c)
    print("SET segment_membership.max_concurrency = %d;" % c)
    churn(ncalls)
    print("SELECT 'phase %d end ' || extract(epoch FROM clock_timestamp());" % c)
    print("SELECT soak_probe('after-c%d', '%s/probe.sh');" % (c, out))
reference("end")
print("SELECT soak_probe('end', '%s/probe.sh');" % out)
print("SELECT 'stats ' || row_to_json(s) FROM segment_membership_stats() s;")
print("SELECT 'done';")
EOF2

# the canceller: while the session is in a churn phase, cancel it every
# 0.1..0.5 s
touch "$OUT/cancelling"
(
	while [ -e "$OUT/cancelling" ]; do
		sleep "0.$((RANDOM % 5 + 1))"
		psql -X -q -A -t -d postgres -c \
			"SELECT count(*) FILTER (WHERE pg_cancel_backend(pid)) FROM pg_stat_activity WHERE application_name = 'soak-churn'" \
			>>"$OUT/cancels" 2>/dev/null
	done
) &
CANCELLER=$!

echo "soak: seed $SOAK_SEED, $SOAK_CALLS calls at each of max_concurrency 1, 8, 64 (plus 150 warm-up calls)"
/usr/bin/python3 test/mockctl.py reset >/dev/null
t0=$(date +%s)
psql -X -q -A -t -d postgres -f "$OUT/session.sql" >"$OUT/session.out" 2>"$OUT/session.err"
rc=$?
t1=$(date +%s)
rm -f "$OUT/cancelling"
wait "$CANCELLER"

check "the session ran to its end (psql exit $rc)" grep -qx done "$OUT/session.out"
pid=$(sed -n 's/^pid //p' "$OUT/session.out")
cancels_sent=$(awk '{s += $1} END {print s + 0}' "$OUT/cancels" 2>/dev/null)
n_timeouts=$(grep -c 'canceling statement due to statement timeout' "$OUT/session.err")
n_cancels=$(grep -c 'canceling statement due to user request' "$OUT/session.err")
# (a cancel that hits a SET LOCAL leaves the rest of that call's
# transaction to fail with 25P02: a consequence, not an escape)
other_errors=$(grep -E '^(psql:[^ ]* )?ERROR:' "$OUT/session.err" | grep -v -e 'canceling statement due to' -e 'current transaction is aborted' |
	sed -E 's/^psql:[^ ]* //' | sort | uniq -c | sort -rn)

# outcomes by phase: the output lines between "phase C start" and "end"
summary() { # summary PHASE: "kind outcome count" lines
	awk -v c="$1" '$1 == "phase" && $2 == c && $3 == "start" {on = 1; next}
		$1 == "phase" && $2 == c && $3 == "end" {on = 0}
		on && ($1 == "ok" || $1 == "404" || $1 == "retry" || $1 == "timeout") {n[$1 " " $2]++}
		END {for (k in n) print k, n[k]}' "$OUT/session.out" | sort
}
phase_time() {
	awk -v c="$1" '$1 == "phase" && $2 == c && $3 == "start" {s = $4} $1 == "phase" && $2 == c && $3 == "end" {e = $4} END {if (e) printf "%.0f", e - s; else print "?"}' "$OUT/session.out"
}
probe() { # probe LABEL KEY
	sed -n "s/^probe $1 .*\\b$2=\\([0-9]*\\).*/\\1/p" "$OUT/session.out" | head -n 1
}

echo "session: backend pid ${pid:-?}, $((t1 - t0)) s; cancels sent $cancels_sent, statements cancelled $n_cancels, statement timeouts $n_timeouts"
for c in 1 8 64; do
	s=$(summary "$c")
	echo "phase max_concurrency=$c ($(phase_time "$c") s): $(printf '%s' "$s" | awk '{printf "%s%s %s: %s", (NR > 1 ? ", " : ""), $1, $2, $3}')"
	bad_ok=$(printf '%s\n' "$s" | awk '$1 == "ok" && $2 != "ok" {n += $3} END {print n + 0}')
	bad_404=$(printf '%s\n' "$s" | awk '$1 == "404" && $2 != "42704" {n += $3} END {print n + 0}')
	n08001=$(printf '%s\n' "$s" | awk '$2 == "08001" {n += $3} END {print n + 0}')
	wrong=$(printf '%s\n' "$s" | awk '$2 == "wrong" {n += $3} END {print n + 0}')
	ncalls=$(printf '%s\n' "$s" | awk '{n += $3} END {print n + 0}')
	check "max_concurrency=$c: no call failed with 08001 ($n08001 did)" [ "$n08001" -eq 0 ]
	check "max_concurrency=$c: every normal call returned all rows ($bad_ok did not)" [ "$bad_ok" -eq 0 ]
	check "max_concurrency=$c: every unknown-segment call gave 42704 ($bad_404 did not)" [ "$bad_404" -eq 0 ]
	check "max_concurrency=$c: no call returned wrong or missing rows ($wrong did)" [ "$wrong" -eq 0 ]
	check "max_concurrency=$c: at least half the calls completed ($ncalls of $SOAK_CALLS; the rest were cancelled or timed out)" \
		[ "$ncalls" -ge $((SOAK_CALLS / 2)) ]
done
# a call may fail with 42704 (unknown segment), 38000 (5xx on every
# attempt) or 53400 (retry quota exhausted); 08001 is counted above
unexpected=$(awk '$1 == "ok" || $1 == "404" || $1 == "retry" || $1 == "timeout"' "$OUT/session.out" |
	awk '$2 != "ok" && $2 != "wrong" && $2 !~ /^(42704|38000|53400|08001)$/' | cut -d' ' -f2- | sort | uniq -c | sort -rn)
if [ -n "$unexpected" ]; then
	echo "calls that failed with an unexpected SQLSTATE:"
	printf '%s\n' "$unexpected" | head -n 10 | sed 's/^/  /'
fi
check "no call failed with an unexpected SQLSTATE (XX000, 22003, 54001, ...)" [ -z "$unexpected" ]
if [ -n "$other_errors" ]; then
	echo "errors that escaped a call (besides cancels and timeouts):"
	printf '%s\n' "$other_errors" | head -n 10 | sed 's/^/  /'
fi
check "no error escaped a call except cancels and timeouts" [ -z "$other_errors" ]
[ "$n_timeouts" -ge 20 ] && [ "$n_cancels" -ge 5 ]
check "statement timeouts fired ($n_timeouts) and cancels landed ($n_cancels)" [ $? -eq 0 ]

ref_warm=$(sed -n 's/^reference warm //p' "$OUT/session.out")
ref_end=$(sed -n 's/^reference end //p' "$OUT/session.out")
echo "reference call (6,400 ids, max_concurrency=64): after warm-up: ${ref_warm:-none}; at the end: ${ref_end:-none}"
check "the reference call after the warm-up returned all rows" [ "$ref_warm" = "ok ok" ]
check "a normal call after the soak returns all rows" [ "$ref_end" = "ok ok" ]

printf '%-10s %6s %8s %5s %8s %16s %11s\n' probe fds sockets tcp pgfiles connections_open private_kB
for l in warm after-c1 after-c8 after-c64 end; do
	printf '%-10s %6s %8s %5s %8s %16s %11s\n' "$l" "$(probe "$l" fds)" "$(probe "$l" sockets)" "$(probe "$l" tcp)" \
		"$(probe "$l" pgfiles)" "$(probe "$l" connections_open)" "$(probe "$l" private_kb)"
done
for l in warm after-c1 after-c8 after-c64 end; do
	co=$(probe "$l" connections_open) tcp=$(probe "$l" tcp)
	[ -n "$co" ] && [ "$co" = "$tcp" ]
	check "$l: connections_open ($co) equals the TCP sockets the backend holds ($tcp)" [ $? -eq 0 ]
done
# PostgreSQL's own data files (its VFD cache) are not ours to hold flat
fw=$(($(probe warm fds) - $(probe warm pgfiles))) fe=$(($(probe end fds) - $(probe end pgfiles)))
tw=$(probe warm tcp) te=$(probe end tcp)
mw=$(probe warm private_kb) me=$(probe end private_kb)
[ -n "$fw" ] && [ -n "$fe" ] && [ "$fe" -le $((fw + 4)) ]
check "open fds (but PostgreSQL's data files) flat: $fw after the warm-up, $fe at the end (at most 4 more)" [ $? -eq 0 ]
[ -n "$fw" ] && [ -n "$fe" ] && [ $((fe - te)) -le $((fw - tw + 4)) ]
check "fds other than connections flat: $((fw - tw)) after the warm-up, $((fe - te)) at the end (at most 4 more)" [ $? -eq 0 ]
[ -n "$mw" ] && [ -n "$me" ] && [ "$me" -le $((mw + SOAK_MEM_KB)) ]
check "private memory flat: $mw kB after the warm-up, $me kB at the end (at most $SOAK_MEM_KB kB more)" [ $? -eq 0 ]
if [ -f "$OUT/fds-warm.txt" ] && [ -f "$OUT/fds-end.txt" ]; then
	echo "fds (other than TCP sockets) at the end and not after the warm-up:"
	grep -v 'socket:' "$OUT/fds-end.txt" | sed 's/^[0-9]* -> //' | sort >"$OUT/fds-end.s"
	grep -v 'socket:' "$OUT/fds-warm.txt" | sed 's/^[0-9]* -> //' | sort >"$OUT/fds-warm.s"
	comm -13 "$OUT/fds-warm.s" "$OUT/fds-end.s" | head -n 10 | sed 's/^/  /'
fi
sed -n 's/^stats //p' "$OUT/session.out" | sed 's/^/session stats: /'
echo "mock: $(/usr/bin/python3 test/mockctl.py stats requests faults connections max_in_flight | tr '\n' ' ')"
if grep -qE 'terminated by signal' "$SM_WORK/postgres.log"; then
	check "no backend crashed" false
else
	check "no backend crashed" true
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
