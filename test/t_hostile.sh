#!/bin/bash
# test/t_hostile.sh -- randomized test of the reply parser through SQL
# against the mock's hostile-reply mode (issue 8).  Part of
# test/run-tests.sh's default run; alone (as root):
#
#   bash test/t_hostile.sh
#
# It starts its own mock and cluster (test/lib.sh sm_setup), then makes
# thousands of get_segment_membership() calls in two sessions, one with
# segment_membership.on_request_failure = failure_rows and one with the
# default (error), while the mock mutates a share of the replies
# (truncation, type swaps, huge numbers, deep nesting, invalid UTF-8, lone
# surrogates, control characters, duplicated/unasked/missing ids, huge
# strings, wrong Content-Type, hostile 5xx bodies and request ids; see
# test/mock_aws.py, "Hostile replies").  Each call asks for 1 to 300 ids
# (with duplicates, NULLs and ids that do not exist) of a random segment at
# a random max_concurrency and max_attempts.  Every call is checked against
# the mock's own per-request log (DIR/hostile.jsonl):
#
#   rows        every input element yields exactly one row, in order, with
#               its id
#   answers     an answer row equals what the mock would have answered
#               unmutated (for a Profile the mock changed in a well-formed
#               way: the Profile as sent), and comes from a reply that was
#               what the API promises; every other row is an explicit
#               failure row (query_result and profile NULL, a message)
#   no-spurious a failure row made here has a cause: the last request for
#               that id was mutated (or never reached the mock -> fails)
#   sqlstate    an error that escapes has an allowed SQLSTATE (08P01,
#               38000, 08001, 08006, 53400, 54000, 57014) and never XX000,
#               22003, 54001, 22021, 22P05
#   no-escape   under failure_rows no request failure escapes as an error
#   clean-text  failure messages made here and error message/detail/hint
#               are valid UTF-8 without control characters
#   5xx         under failure_rows, the failure rows of a request whose last
#               reply was a 500/503 (whatever its body) carry that status and
#               the x-amzn-ErrorType name
#   session     each session survives all its calls (same backend pid) and
#               a normal call afterwards returns the right rows
#
# Environment: SM_HOSTILE_SEED (default: random, printed),
# SM_HOSTILE_SECONDS (time for the calls, both passes, default 70),
# SM_HOSTILE_RATE (share of replies mutated, default 0.35).
# Prints per-SQLSTATE and per-mutation counts, the failed assertions with
# examples, and "N passed, M failed" (one test per call plus the session
# checks).
set -u
cd "$(dirname "$0")/.."
source test/lib.sh
[ "$(id -u)" = 0 ] || { echo "t_hostile.sh must run as root (it starts PostgreSQL as the postgres user)" >&2; exit 2; }

SEED=${SM_HOSTILE_SEED:-$(( (RANDOM << 15) | RANDOM ))}
SECONDS_TOTAL=${SM_HOSTILE_SECONDS:-70}
RATE=${SM_HOSTILE_RATE:-0.35}
echo "t_hostile: seed $SEED, rate $RATE, ${SECONDS_TOTAL}s of calls (SM_HOSTILE_SEED=$SEED reproduces the ids and the mutation draws)"

if [ -z "${SM_SKIP_INSTALL:-}" ]; then
	sm_install >/dev/null || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
fi
sm_setup || { echo "set-up failed"; echo "0 passed, 1 failed"; exit 1; }
OUT=$SM_WORK/hostile
mkdir -p "$OUT"
chmod 777 "$OUT"

psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'EOF' >/dev/null || { echo "schema failed"; echo "0 passed, 1 failed"; exit 1; }
CREATE EXTENSION segment_membership;
CREATE TABLE h_calls (pass int, callno int, mode text, segment text, ids text[],
  concurrency int, attempts int, pid int, outcome text, state text, message text,
  detail text, hint text, ms double precision, PRIMARY KEY (pass, callno));
CREATE TABLE h_rows (pass int, callno int, ord bigint, profile_id text, query_result text,
  profile jsonb, failure_status int, failure_message text, lca double precision);
-- one call: ids, segment and settings drawn from md5(seed:pass:callno)
CREATE FUNCTION h_call(seed bigint, pass int, callno int, mode text, url text,
                       deadline timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  h text := md5(seed || ':' || pass || ':' || callno);
  r int := ('x' || substr(h, 1, 8))::bit(32)::int & 2147483647;
  n int;
  ids text[] := '{}';
  seg text := (ARRAY['high-value', 'churn_risk', 'everyone', 'nobody'])[1 + r % 4];
  conc int := (ARRAY[1, 2, 8, 8])[1 + (r >> 2) % 4];
  att int := (ARRAY[1, 2, 3, 3])[1 + (r >> 4) % 4];
  x text;
  k int;
  t0 timestamptz := clock_timestamp();
  st text; msg text; det text; hnt text;
BEGIN
  IF clock_timestamp() > deadline THEN
    RETURN;
  END IF;
  n := CASE (r >> 6) % 5 WHEN 0 THEN 1 + (r >> 9) % 5 WHEN 1 THEN 1 + (r >> 9) % 5
         WHEN 2 THEN 6 + (r >> 9) % 95 WHEN 3 THEN 6 + (r >> 9) % 95
         ELSE 101 + (r >> 9) % 200 END;
  FOR i IN 1..n LOOP
    x := md5(h || ':' || i);
    k := ('x' || substr(x, 1, 2))::bit(8)::int;
    IF k < 3 THEN
      ids := ids || NULL::text;
    ELSIF k < 16 AND i > 1 THEN
      ids := ids || ids[1 + k % (i - 1)];
    ELSIF k < 42 THEN
      ids := ids || ('f' || substr(x, 2));
    ELSE
      ids := ids || x;
    END IF;
  END LOOP;
  PERFORM set_config('segment_membership.endpoint_url', url, true);
  PERFORM set_config('segment_membership.on_request_failure', mode, true);
  PERFORM set_config('segment_membership.max_attempts', att::text, true);
  PERFORM set_config('segment_membership.max_concurrency', conc::text, true);
  BEGIN
    INSERT INTO h_rows
      SELECT pass, callno, m.ord, m.profile_id, m.query_result, m.profile, m.failure_status,
             m.failure_message, extract(epoch FROM m.last_computed_at)
      FROM get_segment_membership('demo-domain', seg, ids)
           WITH ORDINALITY AS m(profile_id, query_result, profile, failure_status,
                                failure_message, last_computed_at, ord);
    INSERT INTO h_calls VALUES (pass, callno, mode, seg, ids, conc, att, pg_backend_pid(),
      'rows', NULL, NULL, NULL, NULL,
      extract(epoch FROM clock_timestamp() - t0) * 1000);
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    INSERT INTO h_calls VALUES (pass, callno, mode, seg, ids, conc, att, pg_backend_pid(),
      'error', st, msg, det, hnt, extract(epoch FROM clock_timestamp() - t0) * 1000);
  END;
END
$$;
EOF

HURL="$MOCK_URL/mock/hostile=$RATE/hseed=$SEED"
half=$((SECONDS_TOTAL / 2))
MAXCALLS=4000
pass=0
for mode in failure_rows error; do
	pass=$((pass + 1))
	echo "== pass $pass: on_request_failure = $mode, up to ${half}s"
	deadline=$(date -u -d "+$half seconds" '+%Y-%m-%d %H:%M:%S+00')
	{
		echo "SET statement_timeout = '60s';"
		echo "SET segment_membership.request_timeout_ms = 5000;"
		for i in $(seq 1 $MAXCALLS); do
			echo "SELECT h_call($SEED, $pass, $i, '$mode', '$HURL', '$deadline');"
		done
		# the same session afterwards: a normal call must give the right rows
		echo "RESET segment_membership.endpoint_url;"
		echo "SELECT 'after:' || pg_backend_pid() || ':' || count(*) || ':' ||
			count(*) FILTER (WHERE query_result IS NOT DISTINCT FROM CASE WHEN left(id, 1) = 'f' THEN NULL
				WHEN left(md5('high-value:' || id), 1) < '8' THEN 'PRESENT' ELSE 'ABSENT' END
				AND (left(id, 1) <> 'f' OR failure_status = 404))
			FROM (SELECT md5('after' || g) AS id FROM generate_series(1, 250) g) i
			JOIN get_segment_membership('demo-domain', 'high-value', ARRAY(SELECT md5('after' || g) FROM generate_series(1, 250) g)) m
			ON m.profile_id = i.id;"
	} >"$OUT/pass$pass.sql"
	t0=$(date +%s)
	psql -X -q -A -t -d postgres -f "$OUT/pass$pass.sql" >"$OUT/pass$pass.out" 2>"$OUT/pass$pass.err"
	echo "psql exit $? after $(($(date +%s) - t0))s" >>"$OUT/pass$pass.err"
done

psql -X -q -d postgres -c "\copy (SELECT pass, callno, mode, segment, array_to_json(ids), concurrency, attempts, pid, outcome, state, message, detail, hint, ms FROM h_calls ORDER BY 1, 2) TO '$OUT/calls.csv' CSV" &&
	psql -X -q -d postgres -c "\copy (SELECT pass, callno, ord, profile_id, query_result, profile::text, failure_status, failure_message, lca FROM h_rows ORDER BY 1, 2, 3) TO '$OUT/rows.csv' CSV" ||
	{ echo "export failed"; echo "0 passed, 1 failed"; exit 1; }

"$SM_PYTHON" - "$OUT" "$MOCK_DIR/hostile.jsonl" "$SEED" <<'PY'
import collections, csv, hashlib, json, os, re, sys
sys.path.insert(0, os.path.join(os.getcwd(), "test"))
import mock_aws  # noqa: E402  (entry_json, SEGMENTS, canon_json_text)

out, logpath, seed = sys.argv[1], sys.argv[2], sys.argv[3]
csv.field_size_limit(1 << 30)

# the mock's log: per id, the requests that carried it (in order)
final = {}
kinds = collections.Counter()
classes = collections.Counter()
nreq = nmut = 0
with open(logpath, encoding="ascii") as f:
    for line in f:
        e = json.loads(line)
        nreq += 1
        nmut += bool(e["mut"])
        kinds.update(e["kinds"])
        classes.update(m["class"] for m in e["mut"])
        for pid in e["ids"]:
            final[pid] = e  # log order = seq order: the last one wins


def rd(name):
    with open(os.path.join(out, name), newline="", encoding="utf-8", errors="surrogateescape") as f:
        return list(csv.reader(f))


calls = rd("calls.csv")
rows = collections.defaultdict(list)
for r in rd("rows.csv"):
    rows[(int(r[0]), int(r[1]))].append(r)

FORBIDDEN = {"XX000", "22003", "54001", "22021", "22P05"}
ALLOWED = {"08P01", "38000", "08001", "08006", "53400", "54000", "57014"}
CTL = re.compile(r"[\x00-\x1f\x7f-\x9f\udc80-\udcff]")
MADE_HERE = re.compile(r"^(request failed after|the reply did not include|invalid profile id)")

fails = collections.Counter()
examples = collections.defaultdict(list)
states = collections.Counter()
outcomes = collections.Counter()
rowkinds = collections.Counter()
passed = failed = 0
pids = collections.defaultdict(set)
ncalls = collections.Counter()


def ctl_where(t):
    """Where a text's control characters / invalid bytes are: in the quoted
    x-amzn-RequestId or in the rest (a cut or copied message)."""
    rest = re.sub(r"request id .*", "", t)
    return "in the rest of the text" if CTL.search(rest) else "in the quoted request id"


def bad(name, ex):
    fails[name] += 1
    if len(examples[name]) < 3:
        examples[name].append(ex)


def canon(text):
    try:
        return mock_aws.canon_json_text(text)
    except (ValueError, RecursionError):
        return None


def expected(seg, pid):
    return json.loads(mock_aws.entry_json(seg, pid))


for c in calls:
    p, n, mode, seg = int(c[0]), int(c[1]), c[2], c[3]
    ids = json.loads(c[4])
    pid_be, outcome, state, msg, det, hint = c[7], c[8], c[9], c[10], c[11], c[12]
    pids[p].add(pid_be)
    ncalls[p] += 1
    where = "pass %d call %d (%s, %s, %d ids)" % (p, n, mode, seg, len(ids))
    before = sum(fails.values())
    outcomes[(mode, outcome)] += 1
    if outcome == "error":
        states[(mode, state)] += 1
        if state in FORBIDDEN:
            bad("sqlstate: forbidden " + state, "%s: %s %s" % (where, state, msg[:300]))
        elif state not in ALLOWED:
            bad("sqlstate: unexpected " + state, "%s: %s %s" % (where, state, msg[:300]))
        if mode == "failure_rows" and state != "57014":
            bad("no-escape: error under failure_rows (%s)" % state, "%s: %s" % (where, msg[:300]))
        for label, t in (("message", msg), ("detail", det), ("hint", hint)):
            if CTL.search(t):
                bad("clean-text: control character or invalid UTF-8 in error %s (%s)"
                    % (label, ctl_where(t)),
                    "%s: %r" % (where, t[:300]))
    else:
        rs = rows.get((p, n), [])
        if len(rs) != len(ids) or [int(r[2]) for r in rs] != list(range(1, len(ids) + 1)):
            bad("rows: one row per input element, in order",
                "%s: %d rows for %d ids" % (where, len(rs), len(ids)))
        for r, want_id in zip(rs, ids):
            _, _, ordn, pid, qr, prof, fst, fmsg, lca = r
            if (pid or None) != want_id and not (want_id is None and pid == ""):
                bad("rows: one row per input element, in order",
                    "%s: row %s is %r, not %r" % (where, ordn, pid, want_id))
                continue
            if qr == "":  # a failure row
                if fmsg == "" or prof != "":
                    bad("answers: neither an answer nor an explicit failure row",
                        "%s: row %s %r" % (where, ordn, r[3:]))
                    continue
                if CTL.search(fmsg) and MADE_HERE.search(fmsg):
                    bad("clean-text: control character or invalid UTF-8 in a failure_message (%s)"
                        % ctl_where(fmsg),
                        "%s: id %s: %r" % (where, pid, fmsg[:300]))
                if want_id is None:
                    rowkinds["failure: NULL id"] += 1
                    continue
                e = final.get(pid)
                if MADE_HERE.search(fmsg):
                    rowkinds["failure: made here"] += 1
                    if e is not None and e["mut"] and e["status"] == 200 and not any(
                            m["class"] in ("invalid", "omit") for m in e["mut"]):
                        # not a defect by itself: the reply was usable but odd
                        rowkinds["failure: made here, last reply usable"] += 1
                    if (e is not None and e["status"] in (500, 503) and mode == "failure_rows"
                            and "truncate-conn" not in e["kinds"]):
                        etype = ("InternalServerException" if e["status"] == 500
                                 else "ServiceUnavailableException")
                        if fst != str(e["status"]) or etype not in fmsg:
                            bad("5xx: failure row keeps the HTTP status and x-amzn-ErrorType",
                                "%s: id %s (request seq %d, HTTP %d, %s): status %r, %r" % (
                                    where, pid, e["seq"], e["status"],
                                    "; ".join(m.get("detail", "") for m in e["mut"]),
                                    fst, fmsg[:200]))
                    if e is None:
                        bad("no-spurious: failure row for an id the mock never saw",
                            "%s: id %s: %s" % (where, pid, fmsg[:200]))
                    elif not e["mut"]:
                        bad("no-spurious: failure row although the last reply was unmutated",
                            "%s: id %s (request seq %d): %s" % (where, pid, e["seq"], fmsg[:200]))
                else:
                    rowkinds["failure: from the reply"] += 1
                continue
            # an answer row
            rowkinds["answer: checked"] += 1
            e = final.get(pid)
            if e is None:
                bad("answers: answer row for an id the mock never saw", "%s: id %s" % (where, pid))
                continue
            cls = [m for m in e["mut"]]
            inval = [m for m in cls if m["class"] == "invalid"]
            if inval or e["status"] != 200:
                bad("answers: answer row from a reply that is not what the API promises",
                    "%s: id %s, request seq %d: %s" % (where, pid, e["seq"],
                                                         "; ".join("%s %s %s" % (m["kind"], m["where"], m.get("detail", "")) for m in inval)[:300]))
                continue
            if any(m["class"] == "omit" and m["id"] == pid for m in cls):
                bad("answers: answer row for an id the reply left out",
                    "%s: id %s, request seq %d" % (where, pid, e["seq"]))
                continue
            x = expected(seg, pid)
            if "QueryResult" not in x or qr != x["QueryResult"]:
                bad("answers: wrong query_result",
                    "%s: id %s: %s, expected %s" % (where, pid, qr, x.get("QueryResult", "a 404 failure")))
                continue
            sha = e.get("profile_sha256", {}).get(pid, "unmutated")
            if sha == "unmutated":
                want = mock_aws.canon_value(x["Profile"]) if "Profile" in x else None
                got = canon(prof) if prof != "" else None
                ok = got == want
            else:
                got = canon(prof) if prof != "" else None
                ok = sha is not None and got is not None and \
                    hashlib.sha256(got.encode()).hexdigest() == sha
            if ok and sha != "unmutated":
                rowkinds["answer: profile as mutated"] += 1
            if not ok:
                bad("answers: profile differs from what the mock sent",
                    "%s: id %s, request seq %d, mutations %s" % (
                        where, pid, e["seq"], [(m["kind"], m["where"]) for m in cls]))
                continue
            if lca == "" or abs(float(lca) - float(mock_aws.SEGMENTS[seg])) > 1e-3:
                bad("answers: wrong last_computed_at", "%s: id %s: %r" % (where, pid, lca))
    if sum(fails.values()) == before:
        passed += 1
    else:
        failed += 1

# sessions: one backend per pass, all calls made, the call afterwards right
for p in (1, 2):
    try:
        after = open(os.path.join(out, "pass%d.out" % p)).read().split()
        after = [a for a in after if a.startswith("after:")]
    except OSError:
        after = []
    err = open(os.path.join(out, "pass%d.err" % p), errors="replace").read()
    ok = (len(pids[p]) == 1 and len(after) == 1 and after[0].split(":")[1] in pids[p]
          and after[0].split(":")[2:] == ["250", "250"] and "psql exit 0" in err)
    if ok:
        passed += 1
    else:
        failed += 1
        bad("session: survives its calls and answers a normal call afterwards",
            "pass %d: backend pids %s; afterwards 'after:pid:rows:right' = %s; %s" % (
                p, sorted(pids[p]), after, err[-300:]))

print()
print("calls: " + ", ".join("pass %d: %d" % (p, ncalls[p]) for p in sorted(ncalls)) +
      "; mock requests: %d, mutated: %d" % (nreq, nmut))
print("outcomes: " + ", ".join("%s/%s %d" % (k[0], k[1], v) for k, v in sorted(outcomes.items())))
print("rows: " + ", ".join("%s %d" % kv for kv in sorted(rowkinds.items())))
print("SQLSTATEs of errors that escaped:")
for (mode, st), v in sorted(states.items()):
    print("  %-13s %s %6d%s" % (mode, st, v, "   FORBIDDEN" if st in FORBIDDEN else
                                  ("" if st in ALLOWED else "   unexpected")))
print("mutations applied (requests with that kind): " +
      ", ".join("%s %d" % kv for kv in sorted(kinds.items())))
print("mutation classes: " + ", ".join("%s %d" % kv for kv in sorted(classes.items())))
if fails:
    print("failed assertions (occurrences):")
    for name, v in sorted(fails.items(), key=lambda kv: -kv[1]):
        print("  %6d  %s" % (v, name))
        for ex in examples[name]:
            print("          e.g. " + ex[:400].replace("\n", " "))
print("seed %s" % seed)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
