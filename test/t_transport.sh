#!/bin/bash
# test/t_transport.sh -- the HTTP transport under hostile conditions (run by
# test/run-tests.sh; each case failed before the fix named with it):
#
#  fds       with max_files_per_process = 64, a call at max_concurrency 64
#            works (fewer connections in flight), and connections_open
#            stays at what the backend holds (issue 8 #1)
#  waits     a fault-heavy, latency-bound call (70% 5xx, 600 ms latency,
#            max_concurrency 1, so retries fall due while the slot is busy)
#            uses under 10% CPU of its wall time (under 1% when the wait
#            loop sleeps; the old zero-timeout loop took 20-30%) (issue 8 #4)
#  header    a 1 MB reply header names libcurl's header size limit, not
#            "Out of memory" (issue 8 #10)
#  invalid   failure rows of an unusable 200 reply name the invalid reply
#            and carry no status 200 as if it were the failure (issue 8 #10)
#  encoding  requests ask for "Accept-Encoding: gzip" only, and a zstd
#            reply is refused, not decoded (issue 9 #9)
#  limits    max_reply_size stops at 128MB (issue 9 #9)
#  fifo      a FIFO as ca_file is refused at once, not blocking the backend
#            with signals masked (issue 9 #8)
#  proxy     a connection error through a proxy names the proxy (without its
#            user:password) and the variable it came from (issue 10)
#  libcurl   the build and the load refuse a libcurl older than 7.87
#            (issue 9 #11)
#
# Prints "N passed, M failed".
set -u
cd "$(dirname "$0")/.."
source test/lib.sh
: "${SM_WORK:?run from test/run-tests.sh}" "${MOCK_HTTP_PORT:?}"

passed=0 failed=0
OUT=$SM_WORK/transport
mkdir -p "$OUT"
chmod 755 "$OUT"
MOCK=http://127.0.0.1:$MOCK_HTTP_PORT
SRV_PID=

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "FAILED - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/    /' | head -n 20; }
sql() { psql -X -q -A -t -d postgres -v ON_ERROR_STOP=1 -v id="$ID" -v fid="$FID" "$@" 2>&1 | grep -v '^$'; }
# expect DESCRIPTION REGEX SQL...: the output must match REGEX (extended)
expect() {
	local what=$1 re=$2 out
	shift 2
	out=$(sql "$@")
	if printf '%s' "$out" | tr '\n' ' ' | grep -Eq -- "$re"; then ok "$what"; else not_ok "$what" "$out"; fi
}
# refute DESCRIPTION REGEX SQL...: the output must not match REGEX
refute() {
	local what=$1 re=$2 out
	shift 2
	out=$(sql "$@")
	if printf '%s' "$out" | tr '\n' ' ' | grep -Eq -- "$re"; then not_ok "$what" "$out"; else ok "$what"; fi
}
restart() { sm_stop_postgres; sm_start_postgres "$@" || { not_ok "restart"; exit 1; }; }
cleanup_t() {
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
	# unblock a backend stuck on the FIFO (the code before the fix)
	local i
	if [ -p "$OUT/ca.fifo" ]; then
		for i in 1 2 3 4 5 6; do timeout 1 sh -c ": > '$OUT/ca.fifo'" 2>/dev/null; done
	fi
	return 0
}
trap 'cleanup_t; sm_cleanup' EXIT

sm_default_pg_env
# a profile id the mock knows, and one it answers 404 for (first char 'f')
ID=$(printf 'transport' | md5sum | cut -c1-32)
FID=f${ID:1}
sql -c "CREATE EXTENSION IF NOT EXISTS segment_membership" >/dev/null

# --- fds: a short descriptor budget -------------------------------------
restart -c max_files_per_process=64
expect "fds: max_files_per_process = 64, max_concurrency = 64: 6,400 ids, every row right" \
	'^6400\|6400\|0$' <<'EOF'
SET segment_membership.max_concurrency = 64;
SET segment_membership.max_attempts = 1;
WITH ids AS (SELECT md5('fd' || i) AS id FROM generate_series(1, 6400) i)
SELECT count(*) || '|' ||
       count(*) FILTER (WHERE m.query_result = CASE WHEN left(md5('high-value:' || m.profile_id), 1) < '8'
                                                    THEN 'PRESENT' ELSE 'ABSENT' END
                        OR (left(m.profile_id, 1) = 'f' AND m.failure_status = 404)) || '|' ||
       count(*) FILTER (WHERE m.failure_message IS NOT NULL AND left(m.profile_id, 1) <> 'f')
FROM get_segment_membership('demo-domain', 'high-value', ARRAY(SELECT id FROM ids)) m;
EOF
expect "fds: 20 more such calls and 404s in one session, then connections_open = TCP sockets held" \
	'calls ok 20 404 20 open_matches true$' <<'EOF'
SET segment_membership.max_concurrency = 64;
CREATE TEMP TABLE fdsock(n int);
DO $$
DECLARE ok int := 0; nf int := 0; n bigint;
BEGIN
  FOR i IN 1..20 LOOP
    SELECT count(*) INTO n FROM get_segment_membership('demo-domain', 'everyone',
      ARRAY(SELECT md5(i || 'x' || g) FROM generate_series(1, 3000) g));
    IF n = 3000 THEN ok := ok + 1; END IF;
    BEGIN
      PERFORM count(*) FROM get_segment_membership('demo-domain', 'no-such-segment',
        ARRAY(SELECT md5(i || 'y' || g) FROM generate_series(1, 3000) g));
    EXCEPTION WHEN undefined_object THEN nf := nf + 1;
    END;
  END LOOP;
  RAISE NOTICE 'calls ok % 404 %', ok, nf;
END $$;
COPY fdsock FROM PROGRAM 'p=$PPID; n=0; for f in /proc/$p/fd/*; do l=$(readlink $f); case $l in socket:*) i=${l#socket:[}; i=${i%]}; awk -v i=$i ''NR > 1 && $10 == i {f = 1} END {exit !f}'' /proc/$p/net/tcp /proc/$p/net/tcp6 && n=$((n + 1));; esac; done; echo $n';
SELECT 'open_matches ' || ((SELECT connections_open FROM segment_membership_stats()) = (SELECT n FROM fdsock));
EOF
restart

# --- waits: no spinning while retries wait for a slot --------------------
# this backend's CPU seconds (utime + stime of /proc/self/stat)
CPU_FN="CREATE OR REPLACE FUNCTION pg_temp.cpu_s() RETURNS float8 LANGUAGE sql AS \$\$
  SELECT ((f[12])::bigint + (f[13])::bigint) / 100.0
  FROM (SELECT regexp_split_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) x \$\$;"
out=$(sql -v url="$MOCK/mock/rate=0.7/faults=500.503/seed=7/latency=600" <<EOF
$CPU_FN
SET segment_membership.endpoint_url = :'url';
SET segment_membership.max_concurrency = 1;
SET segment_membership.max_attempts = 4;
SET segment_membership.on_request_failure = failure_rows;
SELECT count(*) AS warm FROM get_segment_membership('demo-domain', 'everyone', ARRAY[:'id']) \gset
SELECT pg_temp.cpu_s() AS c0, clock_timestamp() AS t0 \gset
SELECT count(*) AS n FROM get_segment_membership('demo-domain', 'everyone',
  ARRAY(SELECT md5('w' || g) FROM generate_series(1, 800) g)) \gset
SELECT 'rows ' || :n || ' cpu ' || round((pg_temp.cpu_s() - :c0)::numeric, 2) || ' wall ' ||
       round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 2) || ' pct ' ||
       round((100 * (pg_temp.cpu_s() - :c0) / extract(epoch FROM clock_timestamp() - :'t0'))::numeric, 1);
EOF
)
echo "waits: $out"
pct=$(printf '%s' "$out" | sed -n 's/.* pct \([0-9.]*\).*/\1/p')
if printf '%s' "$out" | grep -q '^rows 800 ' && [ -n "$pct" ] && awk -v p="$pct" 'BEGIN {exit !(p < 10)}'; then
	ok "waits: 800 ids at 70% 5xx, 600 ms latency, max_concurrency 1: CPU ${pct}% of wall (< 10%)"
else
	not_ok "waits: CPU of a fault-heavy latency-bound call must stay well under its wall time" "$out"
fi

# --- a small HTTP server for replies the mock does not make -------------
cat >"$OUT/srv.py" <<'EOF'
import http.server, json, subprocess, sys
out = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(n) or b"{}")
        with open(out + "/accept-encoding.txt", "a") as f:
            f.write("%s\n" % self.headers.get("Accept-Encoding"))
        ids = body.get("ProfileIds", [])
        reply = json.dumps({"SegmentDefinitionName": "x", "Profiles": [],
                            "Failures": [{"ProfileId": i, "Message": "Profile not found",
                                          "Status": 404} for i in ids]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        if self.path.startswith("/zstd/"):
            reply = subprocess.run(["zstd", "-q", "-c"], input=reply,
                                   stdout=subprocess.PIPE, check=True).stdout
            self.send_header("Content-Encoding", "zstd")
        if self.path.startswith("/bighdr/"):
            self.send_header("X-Big", "a" * (1024 * 1024))
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(out + "/srv.port.tmp", "w").write(str(s.server_address[1]))
import os; os.rename(out + "/srv.port.tmp", out + "/srv.port")
s.serve_forever()
EOF
/usr/bin/python3 "$OUT/srv.py" "$OUT" &
SRV_PID=$!
for i in $(seq 100); do [ -s "$OUT/srv.port" ] && break; sleep 0.05; done
SRV=http://127.0.0.1:$(cat "$OUT/srv.port")

# --- header: a 1 MB reply header ----------------------------------------
out=$(sql -v url="$SRV/bighdr" <<'EOF'
SET segment_membership.endpoint_url = :'url';
SET segment_membership.max_attempts = 1;
SELECT * FROM get_segment_membership('demo-domain', 'everyone', ARRAY[:'id']);
EOF
)
if printf '%s' "$out" | grep -q "header size limit" && ! printf '%s' "$out" | grep -qi "out of memory"; then
	ok "header: a 1 MB reply header names the header size limit"
else
	not_ok "header: a 1 MB reply header must name the header size limit" "$out"
fi

# --- encoding: gzip only ------------------------------------------------
: >"$OUT/accept-encoding.txt"
out=$(sql -v url="$SRV/zstd" <<'EOF'
SET segment_membership.endpoint_url = :'url';
SET segment_membership.max_attempts = 1;
SELECT profile_id, failure_status FROM get_segment_membership('demo-domain', 'everyone', ARRAY[:'fid']);
EOF
)
ae=$(sort -u "$OUT/accept-encoding.txt")
if [ "$ae" = gzip ]; then ok "encoding: requests say Accept-Encoding: gzip"; else not_ok "encoding: Accept-Encoding must be exactly gzip" "$ae"; fi
if printf '%s' "$out" | grep -q 'content encoding "zstd"' && ! printf '%s' "$out" | grep -q "^$FID|404"; then
	ok "encoding: a zstd reply is refused, not decoded"
else
	not_ok "encoding: a zstd reply must be refused" "$out"
fi
expect "encoding: a gzip-less identity reply still works" "^$FID\\|404$" -v url="$SRV/plain" <<'EOF'
SET segment_membership.endpoint_url = :'url';
SELECT profile_id, failure_status FROM get_segment_membership('demo-domain', 'everyone', ARRAY[:'fid']);
EOF

# --- invalid: failure rows of an unusable 200 reply ----------------------
out=$(sql -v url="$MOCK/mock/reply=not-object" <<'EOF'
SET segment_membership.endpoint_url = :'url';
SET segment_membership.max_attempts = 1;
SET segment_membership.on_request_failure = failure_rows;
SELECT coalesce(failure_status::text, 'null') || '|' || failure_message
FROM get_segment_membership('demo-domain', 'everyone', ARRAY[:'id']);
EOF
)
if printf '%s' "$out" | grep -q '^null|.*InvalidReply: ' && ! printf '%s' "$out" | grep -Eq '^200\||HTTP 200|status 200'; then
	ok "invalid: failure rows of an unusable 200 reply name the invalid reply, not status 200"
else
	not_ok "invalid: failure rows of an unusable 200 reply must name the invalid reply" "$out"
fi

# --- limits: max_reply_size ---------------------------------------------
expect "limits: max_reply_size = 128MB is accepted" '^128MB$' -c "LOAD 'segment_membership'" -c "SET segment_membership.max_reply_size = '128MB'" -c "SHOW segment_membership.max_reply_size"
expect "limits: max_reply_size above 128MB is refused" 'outside the valid range' -c "LOAD 'segment_membership'" -c "SET segment_membership.max_reply_size = '129MB'"

# --- fifo: a FIFO as the CA file -----------------------------------------
mkfifo "$OUT/ca.fifo"
chmod 644 "$OUT/ca.fifo"
start=$(date +%s)
out=$(timeout 60 psql -X -q -A -t -d postgres -v id="$ID" -v url="https://127.0.0.1:$MOCK_HTTPS_PORT" -v ca="$OUT/ca.fifo" 2>&1 <<'EOF'
SET statement_timeout = '5s';
SET segment_membership.endpoint_url = :'url';
SET segment_membership.ca_file = :'ca';
SELECT * FROM get_segment_membership('demo-domain', 'everyone', ARRAY[:'id']);
EOF
)
took=$(($(date +%s) - start))
cleanup_t
if printf '%s' "$out" | grep -q 'is not a regular file' && [ "$took" -lt 5 ]; then
	ok "fifo: a FIFO as ca_file is refused at once (${took} s)"
else
	not_ok "fifo: a FIFO as ca_file must be refused at once (took ${took} s)" "$out"
fi
rm -f "$OUT/ca.fifo"

# --- proxy: errors name the proxy ----------------------------------------
sm_default_pg_env
SM_PG_ENV+=("http_proxy=http://puser:ppass-secret@127.0.0.1:1")
restart
out=$(sql <<'EOF'
SET segment_membership.max_attempts = 1;
SELECT * FROM get_segment_membership('demo-domain', 'everyone', ARRAY[:'id']);
EOF
)
if printf '%s' "$out" | grep -q 'through the proxy http://127.0.0.1:1 from http_proxy' && ! printf '%s' "$out" | grep -q 'ppass-secret'; then
	ok "proxy: the connection error names the proxy, without its password"
else
	not_ok "proxy: the connection error must name the proxy (without its password)" "$out"
fi
SM_PG_ENV+=("no_proxy=localhost,127.0.0.1")
restart
expect "proxy: no_proxy exempts the endpoint" '^1$' -c "SELECT count(*) FROM get_segment_membership('demo-domain', 'everyone', ARRAY['$ID'])"

# --- libcurl: the minimum version ---------------------------------------
mkdir -p "$OUT/pc"
cat >"$OUT/pc/libcurl.pc" <<'EOF'
Name: libcurl
Description: an old libcurl (test)
Version: 7.81.0
Libs: -lcurl
Cflags:
EOF
out=$(PKG_CONFIG_PATH=$OUT/pc make -n -C "$SM_ROOT" PG_CONFIG="$PG_CONFIG" 2>&1)
if printf '%s' "$out" | grep -q 'requires libcurl 7.87.0 or later'; then
	ok "libcurl: the build refuses libcurl 7.81"
else
	not_ok "libcurl: the build must refuse libcurl < 7.87" "$out"
fi
cat >"$OUT/oldcurl.c" <<'EOF'
#define _GNU_SOURCE
#include <curl/curl.h>
#include <dlfcn.h>
/* curl_version_info() of the real libcurl, claiming to be 7.86.0 */
curl_version_info_data *
curl_version_info(CURLversion v)
{
	static curl_version_info_data d;
	curl_version_info_data *(*real)(CURLversion) =
		(curl_version_info_data *(*)(CURLversion)) dlsym(RTLD_NEXT, "curl_version_info");

	d = *real(v);
	d.version = "7.86.0";
	d.version_num = 0x075600;
	return &d;
}
EOF
if cc -shared -fPIC -o "$OUT/oldcurl.so" "$OUT/oldcurl.c" -ldl 2>"$OUT/cc.log"; then
	chmod 755 "$OUT/oldcurl.so"
	sm_default_pg_env
	SM_PG_ENV+=("LD_PRELOAD=$OUT/oldcurl.so")
	restart
	expect "libcurl: loading under libcurl 7.86 is refused with a clear error" \
		'requires libcurl 7.87.0 or later, but the server loaded libcurl 7.86.0' \
		-c "SELECT count(*) FROM get_segment_membership('demo-domain', 'everyone', ARRAY['$ID'])"
else
	not_ok "libcurl: could not build the test shim" "$(cat "$OUT/cc.log")"
fi

sm_default_pg_env
restart
echo "$passed passed, $failed failed"
