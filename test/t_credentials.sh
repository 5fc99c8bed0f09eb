#!/bin/bash
# test/t_credentials.sh -- the credential provider chain (run by
# test/run-tests.sh).
#
# The server's environment decides where credentials come from, so each
# case restarts the test cluster with another environment.  The mock
# accepts only credentials it knows: the static test keys, and the short-
# lived ones its IMDS, container and STS endpoints issued (with prefixes
# ASIAIMDS, ASIAECS, ASIAWEBID, ASIAROLE), so a successful call proves the
# source was really used.  Covers: each of the five sources end to end,
# the order of precedence, refresh across expiry, a failed early refresh
# keeping valid credentials, one refresh after an "expired token" reply,
# misconfigured and unreachable sources, and that no secret appears in any
# message, the server log or SHOW.
#
# Prints "N passed, M failed".
set -u
cd "$(dirname "$0")/.."
source test/lib.sh
: "${SM_WORK:?run from test/run-tests.sh}" "${MOCK_HTTP_PORT:?}"

passed=0 failed=0
OUT=$SM_WORK/cred
mkdir -p "$OUT/home/.aws"
chown -R postgres "$OUT"
MOCK=http://127.0.0.1:$MOCK_HTTP_PORT
WEB_TOKEN=mock-web-identity-token-$RANDOM$RANDOM
CONTAINER_TOKEN=mock-container-token-$RANDOM$RANDOM
SECOND_AKID=AKIDSECONDPROFILE0001
SECOND_SECRET=secondProfileSecret/$RANDOM$RANDOM$RANDOM

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "FAILED - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/    /' | head -n 20; }

# sql QUERY...: run psql (as the superuser), print its output and errors
# (without the empty lines of void results)
sql() { psql -X -q -A -t -d postgres -v ON_ERROR_STOP=1 "$@" 2>&1 | grep -v '^$'; }

# expect DESCRIPTION REGEX SQL: the output of SQL must match REGEX
expect() {
	local what=$1 re=$2 out
	shift 2
	out=$(sql -c "$@")
	if printf '%s' "$out" | tr '\n' ' ' | grep -Eq -- "$re"; then ok "$what"; else not_ok "$what" "$out"; fi
}

mockcfg() { /usr/bin/python3 test/mockctl.py config "$1" >/dev/null; }

# the environment every case starts from: region and endpoint, no keys
base_env() {
	SM_PG_ENV=(
		AWS_REGION=$SM_TEST_REGION
		AWS_ENDPOINT_URL_CUSTOMER_PROFILES=$MOCK
		AWS_ENDPOINT_URL_STS=$MOCK/sts
		AWS_EC2_METADATA_DISABLED=true
		AWS_CONFIG_FILE=$OUT/none/config
		AWS_SHARED_CREDENTIALS_FILE=$OUT/none/credentials
	)
}
restart() { sm_stop_postgres; sm_start_postgres || { not_ok "restart"; exit 1; }; }
# drop NAME=... entries from SM_PG_ENV
env_without() {
	local keep=() v d k
	for v in "${SM_PG_ENV[@]}"; do
		k=1
		for d in "$@"; do [[ $v == $d=* ]] && k=0; done
		[ $k = 1 ] && keep+=("$v")
	done
	SM_PG_ENV=("${keep[@]}")
}

# a call that only works with credentials the mock accepts
CALL="SELECT count(*) FILTER (WHERE query_result IS NOT NULL OR failure_status = 404) FROM get_segment_membership('demo-domain', 'everyone', ARRAY['0123456789abcdef0123456789abcdef', md5('cred')])"
INFO="SELECT source || '|' || coalesce(detail, '') || '|' || left(access_key_id, 9) || '|' || has_session_token || '|' || (expiration IS NOT NULL) || '|' || region FROM segment_membership_credentials()"

sql -c "CREATE EXTENSION IF NOT EXISTS segment_membership" >/dev/null
/usr/bin/python3 test/mockctl.py config "{\"web_identity_token\": \"$WEB_TOKEN\", \"container_token\": \"$CONTAINER_TOKEN\", \"cred_lifetime\": 3600}" >/dev/null
curl -s -X POST -H 'Content-Type: application/json' "$MOCK/_mock/credentials" \
	-d "[{\"access_key_id\": \"$SECOND_AKID\", \"secret_access_key\": \"$SECOND_SECRET\", \"session_token\": null, \"expires\": null, \"source\": \"static-second\"}]" >/dev/null

printf '%s' "$WEB_TOKEN" >"$OUT/web-token"
printf '%s\n' "$CONTAINER_TOKEN" >"$OUT/container-token"
chown postgres "$OUT"/*token
chmod 600 "$OUT"/*token

echo "# 1. environment"
base_env
SM_PG_ENV+=(AWS_ACCESS_KEY_ID=$SM_TEST_AKID AWS_SECRET_ACCESS_KEY=$SM_TEST_SECRET AWS_SESSION_TOKEN=$SM_TEST_TOKEN)
restart
expect "environment: source, key id, token, no expiry" "^environment\|\|AKIDSEGME\|true\|false\|$SM_TEST_REGION$" "$INFO"
expect "environment: the call is accepted" "^2$" "$CALL"

echo "# 2. shared files: static keys, region from the profile, profiles"
cat >"$OUT/home/.aws/credentials" <<EOF
# comment
[default]
aws_access_key_id = $SM_TEST_AKID
aws_secret_access_key = $SM_TEST_SECRET
aws_session_token = $SM_TEST_TOKEN

[second]
aws_access_key_id=$SECOND_AKID
aws_secret_access_key=$SECOND_SECRET
EOF
cat >"$OUT/home/.aws/config" <<EOF
[default]
region = $SM_TEST_REGION

[profile second]
region = $SM_TEST_REGION

[profile assumer]
region = $SM_TEST_REGION
role_arn = arn:aws:iam::123456789012:role/segment-reader
source_profile = second
role_session_name = sm-test

[profile chained]
region = $SM_TEST_REGION
role_arn = arn:aws:iam::123456789012:role/segment-reader
source_profile = assumer

[profile envsource]
region = $SM_TEST_REGION
role_arn = arn:aws:iam::123456789012:role/segment-reader
credential_source = Environment

[profile webid]
region = $SM_TEST_REGION
role_arn = arn:aws:iam::123456789012:role/web-reader
web_identity_token_file = $OUT/web-token

[profile loop1]
region = $SM_TEST_REGION
role_arn = arn:aws:iam::123456789012:role/x
source_profile = loop2

[profile loop2]
region = $SM_TEST_REGION
role_arn = arn:aws:iam::123456789012:role/x
source_profile = loop1

[profile broken]
region = $SM_TEST_REGION
role_arn = arn:aws:iam::123456789012:role/x
EOF
chown -R postgres "$OUT/home"
base_env
env_without AWS_REGION AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
SM_PG_ENV+=(AWS_CONFIG_FILE=$OUT/home/.aws/config AWS_SHARED_CREDENTIALS_FILE=$OUT/home/.aws/credentials)
restart
expect "shared files: default profile, region from the config file" "^shared config files\|profile \"default\" in .*credentials\|AKIDSEGME\|true\|false\|$SM_TEST_REGION$" "$INFO"
expect "shared files: the call is accepted" "^2$" "$CALL"
expect "shared files: segment_membership.profile picks another profile" "^shared config files\|profile \"second\".*\|AKIDSECON\|false\|false\|" \
	"SET segment_membership.profile = 'second'; $INFO"
expect "shared files: ... and its keys are used" "^2$" "SET segment_membership.profile = 'second'; $CALL"
expect "shared files: a profile that does not exist is an error" "could not obtain AWS credentials from the shared config files source.*profile \"nope\" is not in" \
	"SET segment_membership.region = '$SM_TEST_REGION'; SET segment_membership.profile = 'nope'; $INFO"

echo "# 2b. shared files: roles"
/usr/bin/python3 test/mockctl.py reset
expect "assume role (source_profile): STS AssumeRole signed with the source profile" "^shared config files\|profile \"assumer\", role arn:aws:iam::123456789012:role/segment-reader\|ASIAROLE.\|true\|true\|" \
	"SET segment_membership.profile = 'assumer'; $INFO"
expect "assume role: the call is accepted" "^2$" "SET segment_membership.profile = 'assumer'; $CALL"
expect "role chaining (assumer -> chained)" "^shared config files\|profile \"chained\".*\|ASIAROLE" "SET segment_membership.profile = 'chained'; $INFO"
expect "profile with web_identity_token_file" "^shared config files\|profile \"webid\", role arn:aws:iam::123456789012:role/web-reader\|ASIAWEBID\|true\|true" \
	"SET segment_membership.profile = 'webid'; $INFO"
expect "a source_profile loop is an error" "role chain longer than 4 roles" "SET segment_membership.profile = 'loop1'; $INFO"
expect "role_arn without a source is an error" "has role_arn but neither source_profile, credential_source nor web_identity_token_file" \
	"SET segment_membership.profile = 'broken'; $INFO"
issued=$(/usr/bin/python3 test/mockctl.py stats issued.assume_role issued.web_identity | tr '\n' ' ')
if [ "$issued" = "issued.assume_role=4 issued.web_identity=1 " ]; then ok "STS issued what was asked ($issued)"; else not_ok "STS issued: $issued"; fi
sql -c "CREATE ROLE cred_user" >/dev/null
expect "a non-superuser cannot switch profiles" "permission denied to set parameter \"segment_membership.profile\"" \
	"LOAD 'segment_membership'; SET ROLE cred_user; SET segment_membership.profile = 'second'"
# ... not even by setting it before the library is loaded in the session
expect "a value set before the library loads is discarded for a non-superuser" \
	"permission denied to set parameter \"segment_membership.profile\".*\|profile \"default\" in " \
	"SET ROLE cred_user; SET segment_membership.profile = 'second'; RESET ROLE; SELECT current_setting('segment_membership.profile') || '|' || detail || '|' FROM segment_membership_credentials()"
sql -c "DROP ROLE IF EXISTS cred_user" >/dev/null

echo "# 2c. credential_source = Environment"
SM_PG_ENV+=(AWS_ACCESS_KEY_ID=$SM_TEST_AKID AWS_SECRET_ACCESS_KEY=$SM_TEST_SECRET AWS_SESSION_TOKEN=$SM_TEST_TOKEN)
restart
expect "environment keys win without an explicit profile" "^environment\|" "$INFO"
expect "assume role (credential_source = Environment); the environment source is skipped for segment_membership.profile" \
	"^shared config files\|profile \"envsource\".*\|ASIAROLE" "SET segment_membership.profile = 'envsource'; $INFO"
expect "... and the call is accepted" "^2$" "SET segment_membership.profile = 'envsource'; $CALL"

echo "# 3. web identity from the environment (EKS IRSA)"
base_env
SM_PG_ENV+=(AWS_WEB_IDENTITY_TOKEN_FILE=$OUT/web-token AWS_ROLE_ARN=arn:aws:iam::123456789012:role/irsa AWS_ROLE_SESSION_NAME=irsa-session)
restart
expect "web identity: AssumeRoleWithWebIdentity" "^web identity\|role arn:aws:iam::123456789012:role/irsa\|ASIAWEBID\|true\|true\|" "$INFO"
expect "web identity: the call is accepted" "^2$" "$CALL"
# the token file is read again at each refresh: credentials that live 4 s,
# then a token rotated to one STS refuses
mockcfg '{"cred_lifetime": 4}'
out=$(sql <<EOF
SELECT count(*) FROM get_segment_membership('demo-domain', 'everyone', ARRAY[md5('w1')]);
\! printf 'rotated-but-wrong' > $OUT/web-token
SELECT pg_sleep(5);
SELECT count(*) FROM get_segment_membership('demo-domain', 'everyone', ARRAY[md5('w2')]);
EOF
)
if printf '%s' "$out" | grep -q "InvalidIdentityToken"; then ok "web identity: the token file is read again at refresh"; else not_ok "web identity token re-read" "$out"; fi
printf '%s' "$WEB_TOKEN" >"$OUT/web-token"
mockcfg '{"cred_lifetime": 3600}'

echo "# 4. container credentials"
base_env
SM_PG_ENV+=(AWS_CONTAINER_CREDENTIALS_FULL_URI=$MOCK/container/credentials AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=$OUT/container-token)
restart
expect "container: full URI with a token file" "^container\|AWS_CONTAINER_CREDENTIALS_FULL_URI\|ASIAECS..\|true\|true\|" "$INFO"
expect "container: the call is accepted" "^2$" "$CALL"
base_env
SM_PG_ENV+=(AWS_CONTAINER_CREDENTIALS_FULL_URI=$MOCK/container/credentials AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong-token)
restart
expect "container: a wrong authorization token is a clear error" "could not obtain AWS credentials from the container source.*returned HTTP 40[13]" "$INFO"
base_env
SM_PG_ENV+=(AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.1.1:80/creds)
restart
expect "container: plain http to another host is refused" "only https, loopback, 169.254.170.2, 169.254.170.23 and fd00:ec2::23 are allowed" "$INFO"

echo "# 5. EC2 instance metadata (IMDSv2)"
base_env
env_without AWS_EC2_METADATA_DISABLED
SM_PG_ENV+=(AWS_EC2_METADATA_SERVICE_ENDPOINT=$MOCK)
restart
/usr/bin/python3 test/mockctl.py reset
expect "imds: token, role, credentials" "^instance metadata\|role mock-instance-role\|ASIAIMDS.\|true\|true\|" "$INFO"
expect "imds: the call is accepted" "^2$" "$CALL"
reqs=$(/usr/bin/python3 test/mockctl.py stats credential_requests | tr '\n' ' ')
case $reqs in
	*token*) ok "imds: a session token was requested first ($reqs)" ;;
	*) not_ok "imds: no token request seen: $reqs" ;;
esac

echo "# precedence"
base_env
env_without AWS_EC2_METADATA_DISABLED AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
ALL=(AWS_ACCESS_KEY_ID=$SM_TEST_AKID AWS_SECRET_ACCESS_KEY=$SM_TEST_SECRET AWS_SESSION_TOKEN=$SM_TEST_TOKEN
	AWS_CONFIG_FILE=$OUT/home/.aws/config AWS_SHARED_CREDENTIALS_FILE=$OUT/home/.aws/credentials AWS_PROFILE=second
	AWS_WEB_IDENTITY_TOKEN_FILE=$OUT/web-token AWS_ROLE_ARN=arn:aws:iam::123456789012:role/irsa
	AWS_CONTAINER_CREDENTIALS_FULL_URI=$MOCK/container/credentials AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=$OUT/container-token
	AWS_EC2_METADATA_SERVICE_ENDPOINT=$MOCK)
prec() {	# prec EXPECTED_SOURCE DROP_VARIABLES...
	local want=$1 env=() v d keep
	shift
	for v in "${ALL[@]}"; do
		keep=1
		for d in "$@"; do [[ $v == $d=* ]] && keep=0; done
		[ $keep = 1 ] && env+=("$v")
	done
	SM_PG_ENV=("${BASE[@]}" "${env[@]}")
	restart
	expect "precedence: $want wins over the sources after it" "^$want\|" "$INFO"
}
BASE=("${SM_PG_ENV[@]}")
prec "environment"
prec "shared config files" AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
prec "web identity" AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
prec "container" AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN
prec "instance metadata" AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE

echo "# refresh"
# IMDS only, credentials that live 8 seconds
SM_PG_ENV=("${BASE[@]}" AWS_EC2_METADATA_SERVICE_ENDPOINT=$MOCK)
restart
/usr/bin/python3 test/mockctl.py reset
mockcfg '{"cred_lifetime": 8}'
out=$(sql <<'EOF'
SELECT access_key_id AS k1 FROM segment_membership_credentials() \gset
SELECT count(*) FROM get_segment_membership('demo-domain', 'everyone', ARRAY[md5('r1')]);
SELECT pg_sleep(9);
SELECT count(*) FROM get_segment_membership('demo-domain', 'everyone', ARRAY[md5('r2')]);
SELECT access_key_id <> :'k1' AS renewed FROM segment_membership_credentials();
EOF
)
issued=$(/usr/bin/python3 test/mockctl.py stats issued.imds accepted | tr '\n' ' ')
if [ "$(printf '%s' "$out" | tr '\n' ' ')" = "1 1 t" ] && [ "$issued" = "issued.imds=2 accepted=2 " ]; then
	ok "refresh across expiry: new credentials fetched after the first ones expired ($issued)"
else
	not_ok "refresh across expiry" "$out / $issued"
fi
# advisory window: a failed early refresh keeps the still-valid credentials
mockcfg '{"cred_lifetime": 905}'
out=$(sql <<'EOF'
SELECT access_key_id AS k1 FROM segment_membership_credentials() \gset
\! /usr/bin/python3 test/mockctl.py config '{"down": ["imds"]}' >/dev/null
SELECT pg_sleep(6);
SELECT count(*) FROM get_segment_membership('demo-domain', 'everyone', ARRAY[md5('r3')]);
SELECT access_key_id = :'k1' AS kept FROM segment_membership_credentials();
\! /usr/bin/python3 test/mockctl.py config '{"down": []}' >/dev/null
SELECT pg_sleep(6);
SELECT access_key_id <> :'k1' AS refreshed FROM segment_membership_credentials();
EOF
)
if printf '%s' "$out" | grep -q "could not refresh AWS credentials; using the current ones until they expire" &&
	[ "$(printf '%s\n' "$out" | grep -Ev '^(WARNING|DETAIL):' | tr '\n' ' ')" = "1 t t " ]; then
	ok "a failed early refresh keeps valid credentials (with a warning), a later one succeeds"
else
	not_ok "failed early refresh" "$out"
fi
# the service refuses a token before its announced expiry: one refresh, one retry
mockcfg '{"cred_lifetime": 3600, "cred_valid_for": 2}'
/usr/bin/python3 test/mockctl.py reset
out=$(sql <<'EOF'
SELECT count(*) FROM get_segment_membership('demo-domain', 'everyone', ARRAY[md5('e1')]);
SELECT pg_sleep(3);
SELECT count(*) FROM get_segment_membership('demo-domain', 'everyone', ARRAY[md5('e2')]);
SELECT retries FROM segment_membership_stats();
EOF
)
mockcfg '{"cred_valid_for": null}'
stats=$(/usr/bin/python3 test/mockctl.py stats issued.imds auth_rejections | tr '\n' ' ')
if [ "$(printf '%s' "$out" | tr '\n' ' ')" = "1 1 1" ] && [ "$stats" = "issued.imds=2 auth_rejections=1 " ]; then
	ok "an expired-token reply triggers one refresh and a retry ($stats)"
else
	not_ok "expired-token refresh" "$out / $stats"
fi

echo "# sources down or misconfigured"
mockcfg '{"down": ["imds"]}'
SM_PG_ENV=("${BASE[@]}" AWS_EC2_METADATA_SERVICE_ENDPOINT=$MOCK)
restart
expect "imds down: a clear error listing every source tried" \
	"no AWS credentials found.*Sources tried: environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set; shared config files: .*; web identity: .*; container: .*; instance metadata: no instance metadata service" "$INFO"
mockcfg '{"down": ["sts"]}'
SM_PG_ENV=("${BASE[@]}" AWS_EC2_METADATA_DISABLED=true AWS_WEB_IDENTITY_TOKEN_FILE=$OUT/web-token AWS_ROLE_ARN=arn:aws:iam::123456789012:role/irsa)
restart
expect "sts down: the web identity source fails clearly" "could not obtain AWS credentials from the web identity source.*STS AssumeRoleWithWebIdentity" "$INFO"
mockcfg '{"down": []}'
# an STS that quotes the request's secrets back in its error (issue 9 #7):
# the web identity token, also percent-encoded in the echoed form body
for mode in web-identity-token all; do
	mockcfg "{\"sts_echo\": \"$mode\"}"
	out=$(sql -c "$INFO")
	case $out in
		*"$WEB_TOKEN"* | *"${WEB_TOKEN:0:24}"*) not_ok "sts echo ($mode): the web identity token is shown" "$out" ;;
		*"[REDACTED]"* | *"WebIdentityToken=[RED"*) ok "sts echo ($mode): the echoed token is redacted" ;;
		*) not_ok "sts echo ($mode): no STS error text" "$out" ;;
	esac
done
mockcfg '{"sts_echo": null}'
SM_PG_ENV=("${BASE[@]}" AWS_EC2_METADATA_DISABLED=true AWS_WEB_IDENTITY_TOKEN_FILE=$OUT/missing-token AWS_ROLE_ARN=arn:aws:iam::123456789012:role/irsa)
restart
expect "web identity: a missing token file is named" "web identity token file: could not open \".*missing-token\"" "$INFO"
SM_PG_ENV=("${BASE[@]}" AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=$SM_TEST_AKID)
restart
expect "environment: half a key pair is an error" "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not" "$INFO"
SM_PG_ENV=("${BASE[@]}" AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1)
restart
t0=$(date +%s%N)
expect "imds unreachable: no credentials, after the short timeout" "no AWS credentials found" "$INFO"
t1=$(date +%s%N)
if [ $(( (t1 - t0) / 1000000 )) -lt 5000 ]; then ok "credential endpoints never hang a statement ($(( (t1 - t0) / 1000000 )) ms)"; else not_ok "took $(( (t1 - t0) / 1000000 )) ms"; fi
# an endpoint that accepts connections and never answers: cut off by
# credential_timeout_ms, and interruptible meanwhile
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' "$OUT/blackhole.port" &
BLACKHOLE=$!
for i in $(seq 50); do [ -s "$OUT/blackhole.port" ] && break; sleep 0.1; done
SM_PG_ENV=("${BASE[@]}" AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$(cat "$OUT/blackhole.port"))
restart
t0=$(date +%s%N)
expect "a silent endpoint is cut off by credential_timeout_ms" "no AWS credentials found.*timed out" \
	"SET segment_membership.credential_timeout_ms = 500; $INFO"
t1=$(date +%s%N)
if [ $(( (t1 - t0) / 1000000 )) -lt 3000 ]; then ok "... within the timeout ($(( (t1 - t0) / 1000000 )) ms)"; else not_ok "silent endpoint took $(( (t1 - t0) / 1000000 )) ms"; fi
expect "statement_timeout interrupts a credential fetch" "canceling statement due to statement timeout" \
	"SET segment_membership.credential_timeout_ms = 60000; SET statement_timeout = '300ms'; $INFO"
kill $BLACKHOLE 2>/dev/null; wait $BLACKHOLE 2>/dev/null

echo "# hostile credential sources (issue 9, issue 8 #8-#11)"
# container source: odd Expiration texts, a missing one, control characters
base_env
SM_PG_ENV+=(AWS_CONTAINER_CREDENTIALS_FULL_URI=$MOCK/container/credentials AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=$OUT/container-token)
restart
for odd in short-offset big-offset feb31 negative-field negative-hour no-zone short-date trailing-junk; do
	/usr/bin/python3 test/mockctl.py cred-mode container "odd:$odd" >/dev/null
	expect "container: Expiration odd:$odd is refused" "could not obtain AWS credentials from the container source.*(Expiration that is not an ISO 8601 time|not valid JSON)" "$INFO"
done
for mode in no-expiration expiration-null expiration-number; do
	/usr/bin/python3 test/mockctl.py cred-mode container "$mode" >/dev/null
	expect "container: a reply without a string Expiration ($mode) is refused" "could not obtain AWS credentials from the container source.*(no|not an ISO 8601).*Expiration" "$INFO"
done
/usr/bin/python3 test/mockctl.py cred-mode container "expiration:2030-06-15T10:20:30+05:30" >/dev/null
expect "container: a valid +05:30 offset is read right" "^container\|.*\|true\|true\|" \
	"SELECT source || '|' || coalesce(detail, '') || '|' || left(access_key_id, 9) || '|' || has_session_token || '|' || (expiration = '2030-06-15 04:50:30+00') || '|' FROM segment_membership_credentials()"
/usr/bin/python3 test/mockctl.py cred-mode container token-ctl >/dev/null
expect "container: a session token with control characters is refused" "could not obtain AWS credentials from the container source.*control character" "$INFO"
/usr/bin/python3 test/mockctl.py cred-mode container normal >/dev/null
# replies the mock cannot give: a raw NUL byte, a redirect without a body
/usr/bin/python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/nul":
            body = b"{\"AccessKeyId\": \"A\x00B\"}"
            self.send_response(200)
        else:
            body = b""
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_port))
s.serve_forever()
' "$OUT/oddserver.port" &
ODDSERVER=$!
for i in $(seq 50); do [ -s "$OUT/oddserver.port" ] && break; sleep 0.1; done
for p in nul 302; do
	base_env
	SM_PG_ENV+=(AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:$(cat "$OUT/oddserver.port")/$p)
	restart
	out=$(sql -c "$INFO")
	if printf '%s' "$out" | grep -Eq "container source failed: .*(NUL byte|HTTP 302)" && ! printf '%s' "$out" | grep -Eq '\.\.|: \.'; then
		ok "container: a reply with a $p is reported without stray punctuation"
	else
		not_ok "container reply $p" "$out"
	fi
done
kill $ODDSERVER 2>/dev/null; wait $ODDSERVER 2>/dev/null
# issue 8 #8: a host name that merely starts with "127."
base_env
SM_PG_ENV+=(AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.attacker.invalid/creds)
restart
expect "container: http to 127.attacker.invalid is refused" "could not obtain AWS credentials from the container source.*only https, loopback" "$INFO"

# IMDS: an IMDSv2 session token with control characters, a refresh that
# returns expired credentials, one refresh per rejection wave
SM_PG_ENV=("${BASE[@]}" AWS_EC2_METADATA_SERVICE_ENDPOINT=$MOCK)
restart
/usr/bin/python3 test/mockctl.py cred-mode imds api-token-ctl >/dev/null
expect "imds: a session token with control characters is refused" "could not obtain AWS credentials from the instance metadata source.*control character" "$INFO"
/usr/bin/python3 test/mockctl.py cred-mode imds normal >/dev/null
mockcfg '{"cred_lifetime": 905}'
out=$(sql <<'EOF'
SELECT access_key_id AS k1 FROM segment_membership_credentials() \gset
\! /usr/bin/python3 test/mockctl.py cred-mode imds expired >/dev/null
SELECT pg_sleep(6);
SELECT count(*) FROM get_segment_membership('demo-domain', 'everyone', ARRAY[md5('x1')]);
SELECT access_key_id = :'k1' AS kept FROM segment_membership_credentials();
EOF
)
/usr/bin/python3 test/mockctl.py cred-mode imds normal >/dev/null
if printf '%s' "$out" | grep -q "refreshed AWS credentials are still expired" &&
	[ "$(printf '%s\n' "$out" | grep -Ev '^(WARNING|DETAIL|HINT):' | tr '\n' ' ')" = "1 t " ]; then
	ok "a refresh that returns expired credentials keeps the valid ones, with a warning"
else
	not_ok "refresh returning expired credentials" "$out"
fi
mockcfg '{"cred_lifetime": 3600, "latency_ms": 300}'
/usr/bin/python3 test/mockctl.py reset
out=$(sql <<'EOF'
SET segment_membership.max_concurrency = 16;
SELECT count(*) FROM get_segment_membership('demo-domain', 'everyone', ARRAY[md5('warm')]);
\! /usr/bin/python3 test/mockctl.py expire-wave 4 >/dev/null
SELECT count(*) FROM get_segment_membership('demo-domain', 'everyone', ARRAY(SELECT md5('w' || i) FROM generate_series(1, 3200) i));
EOF
)
wave=$(/usr/bin/python3 test/mockctl.py stats wave.fetches_since.total wave.rejected | tr '\n' ' ')
/usr/bin/python3 test/mockctl.py expire-wave off >/dev/null
mockcfg '{"latency_ms": null}'
case "$(printf '%s' "$out" | tr '\n' ' ')|$wave" in
	"1 3200|wave.fetches_since.total=1 wave.rejected="[1-9]*) ok "one credential fetch per rejection wave at max_concurrency 16 ($wave)" ;;
	*) not_ok "one refresh per rejection wave" "$out / $wave" ;;
esac

# the cache follows segment_membership.profile ('' and 'default' differ),
# and the signing-key cache is emptied whenever credentials change
cat >"$OUT/default-creds" <<EOF
[default]
aws_access_key_id = $SECOND_AKID
aws_secret_access_key = $SECOND_SECRET
EOF
chown postgres "$OUT/default-creds"
SM_PG_ENV=("${BASE[@]}" AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=$SM_TEST_AKID AWS_SECRET_ACCESS_KEY=$SM_TEST_SECRET
	AWS_SESSION_TOKEN=$SM_TEST_TOKEN AWS_SHARED_CREDENTIALS_FILE=$OUT/default-creds)
restart
expect "profile '' then 'default' then '': environment, shared files, environment" "^environment AKIDSEGME shared config files AKIDSECON environment AKIDSEGME$" \
	"SELECT source || ' ' || left(access_key_id, 9) FROM segment_membership_credentials(); SET segment_membership.profile = 'default'; SELECT source || ' ' || left(access_key_id, 9) FROM segment_membership_credentials(); RESET segment_membership.profile; SELECT source || ' ' || left(access_key_id, 9) FROM segment_membership_credentials()"
expect "signing keys are derived again after credentials change (key cache cleared)" "^2 2 2 3$" \
	"$CALL; SET segment_membership.profile = 'default'; $CALL; RESET segment_membership.profile; $CALL; SELECT signing_keys_derived FROM segment_membership_stats()"

# plain http only to loopback, from every source of an endpoint
for v in AWS_ENDPOINT_URL_CUSTOMER_PROFILES AWS_ENDPOINT_URL; do
	SM_PG_ENV=("${BASE[@]}" AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=$SM_TEST_AKID AWS_SECRET_ACCESS_KEY=$SM_TEST_SECRET)
	env_without AWS_ENDPOINT_URL_CUSTOMER_PROFILES
	SM_PG_ENV+=("$v=http://profile.example.invalid")
	restart
	expect "http to a non-loopback host from $v is refused" "invalid endpoint URL in $v.*only to loopback" "$CALL"
done
printf '[default]\nendpoint_url = http://10.1.2.3:8080\n' >"$OUT/http-config"
chown postgres "$OUT/http-config"
SM_PG_ENV=("${BASE[@]}" AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=$SM_TEST_AKID AWS_SECRET_ACCESS_KEY=$SM_TEST_SECRET AWS_CONFIG_FILE=$OUT/http-config)
env_without AWS_ENDPOINT_URL_CUSTOMER_PROFILES
restart
expect "http to a non-loopback host from the config file is refused" "invalid endpoint URL in the AWS config file.*only to loopback" "$CALL"
expect "segment_membership.endpoint_url: http to a non-loopback host is refused" "invalid value for parameter \"segment_membership.endpoint_url\".*only to loopback" \
	"LOAD 'segment_membership'; SET segment_membership.endpoint_url = 'http://example.com'"
expect "segment_membership.endpoint_url: http to localhost, 127.0.0.0/8 and ::1 is accepted" "^ok$" \
	"LOAD 'segment_membership'; SET segment_membership.endpoint_url = 'http://localhost:1'; SET segment_membership.endpoint_url = 'http://127.1.2.3:1'; SET segment_membership.endpoint_url = 'http://[::1]:1/x'; SELECT 'ok'"
expect "segment_membership.endpoint_url: user:password@ is named as such" "credentials in the URL" \
	"LOAD 'segment_membership'; SET segment_membership.endpoint_url = 'http://user:pw@127.0.0.1:1'"
SM_PG_ENV=("${BASE[@]}" AWS_EC2_METADATA_DISABLED=true AWS_WEB_IDENTITY_TOKEN_FILE=$OUT/web-token AWS_ROLE_ARN=arn:aws:iam::123456789012:role/irsa)
env_without AWS_ENDPOINT_URL_STS
SM_PG_ENV+=(AWS_ENDPOINT_URL_STS=http://sts.example.invalid)
restart
expect "http to a non-loopback STS endpoint is refused" "invalid STS endpoint URL in AWS_ENDPOINT_URL_STS.*only to loopback" "$INFO"
SM_PG_ENV+=(AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true)
restart
expect "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS applies to STS too" "STS AssumeRoleWithWebIdentity: request to https://sts\.$SM_TEST_REGION\.amazonaws\.com/ failed" \
	"SET segment_membership.credential_timeout_ms = 300; $INFO"

# malformed shared files fail loudly, naming file and line
mkdir -p "$OUT/bad"
chown postgres "$OUT/bad"
SM_PG_ENV=("${BASE[@]}" AWS_EC2_METADATA_DISABLED=true AWS_SHARED_CREDENTIALS_FILE=$OUT/bad/credentials)
restart
badfile() { printf "$1" >"$OUT/bad/credentials"; chown postgres "$OUT/bad/credentials"; }
badfile '\xef\xbb\xbf[default]\naws_access_key_id = AKIDBOM\naws_secret_access_key = x\n'
expect "shared files: a UTF-8 BOM is refused, naming file and line" "bad/credentials.*line 1.*(BOM|byte order mark)" "$INFO"
badfile '[default]\naws_access_key_id = AKID\x00NUL\naws_secret_access_key = x\n'
expect "shared files: a NUL byte is refused, naming file and line" "bad/credentials.*line 2.*NUL byte" "$INFO"
badfile "[default]\naws_access_key_id = $SM_TEST_AKID\n[other]\nx = y\n[default]\naws_secret_access_key = $SM_TEST_SECRET\n"
expect "shared files: a duplicated section is refused, naming file and line" "bad/credentials.*line 5.*\[default\].*more than once" "$INFO"
# a FIFO (or device) must never block the backend
for v in AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE AWS_WEB_IDENTITY_TOKEN_FILE; do
	rm -f "$OUT/bad/fifo"; mkfifo "$OUT/bad/fifo"; chown postgres "$OUT/bad/fifo"
	SM_PG_ENV=("${BASE[@]}" AWS_EC2_METADATA_DISABLED=true AWS_ROLE_ARN=arn:aws:iam::123456789012:role/irsa)
	env_without $v
	SM_PG_ENV+=("$v=$OUT/bad/fifo")
	restart
	t0=$(date +%s%N)
	out=$(timeout 10 psql -X -q -A -t -d postgres -c "$INFO" 2>&1)
	t1=$(date +%s%N)
	for i in 1 2 3 4 5 6; do timeout 1 bash -c "exec 3>'$OUT/bad/fifo'" 2>/dev/null; done	# unblock a stuck reader
	if printf '%s' "$out" | grep -q "not a regular file" && [ $(( (t1 - t0) / 1000000 )) -lt 3000 ]; then
		ok "$v as a FIFO fails at once ($(( (t1 - t0) / 1000000 )) ms)"
	else
		not_ok "$v as a FIFO" "$(( (t1 - t0) / 1000000 )) ms: $out"
	fi
done
rm -f "$OUT/bad/fifo"

# clear messages: the variable with a line break is named; a huge region is clipped
SM_PG_ENV=("${BASE[@]}" AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=$SM_TEST_AKID AWS_SECRET_ACCESS_KEY=$SM_TEST_SECRET
	"AWS_SESSION_TOKEN=abc
def")
restart
expect "environment: the variable holding a line break is named" "AWS_SESSION_TOKEN contains a line break" "$INFO"
SM_PG_ENV=("${BASE[@]}" AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=$SM_TEST_AKID AWS_SECRET_ACCESS_KEY=$SM_TEST_SECRET)
env_without AWS_REGION
SM_PG_ENV+=("AWS_REGION=$(head -c 120000 /dev/zero | tr '\0' 'x')")
restart
out=$(sql -c "$CALL")
if printf '%s' "$out" | grep -q 'invalid AWS Region "xxx.*\.\.\." in AWS_REGION' && [ ${#out} -lt 2000 ]; then
	ok "a 120 KB AWS_REGION is clipped in the error (${#out} bytes)"
else
	not_ok "huge AWS_REGION" "${#out} bytes: ${out:0:300}"
fi

echo "# no secret anywhere"
SM_PG_ENV=("${BASE[@]}" AWS_ACCESS_KEY_ID=$SM_TEST_AKID AWS_SECRET_ACCESS_KEY=$SM_TEST_SECRET AWS_SESSION_TOKEN=$SM_TEST_TOKEN
	AWS_CONFIG_FILE=$OUT/home/.aws/config AWS_SHARED_CREDENTIALS_FILE=$OUT/home/.aws/credentials)
restart
everything=$(sql -v ON_ERROR_STOP=0 -v u="$MOCK/mock/secret=rotated" <<'EOF' 2>&1
SET log_min_messages = debug5;
SET client_min_messages = debug5;
SET log_statement = 'all';
SET log_error_verbosity = verbose;
SELECT * FROM segment_membership_credentials();
SHOW ALL;
SELECT name, setting FROM pg_settings WHERE name LIKE 'segment_membership.%';
SELECT count(*) FROM get_segment_membership('demo-domain', 'everyone', ARRAY[md5('s')]);
SET segment_membership.endpoint_url = :'u';
SELECT * FROM get_segment_membership('demo-domain', 'everyone', ARRAY[md5('s')]);
SET segment_membership.profile = 'assumer';
SELECT * FROM segment_membership_credentials();
EOF
)
everything="$everything $(cat "$SM_WORK/postgres.log") $(cat "$OUT"/*.log 2>/dev/null)"
leaks=""
for secret in "$SM_TEST_SECRET" "$SM_TEST_TOKEN" "$SECOND_SECRET" "$WEB_TOKEN" "$CONTAINER_TOKEN" "Signature="; do
	case $everything in *"$secret"*) leaks="$leaks ${secret:0:6}..." ;; esac
done
if [ -z "$leaks" ]; then ok "no secret in any output, message, SHOW or the server log"; else not_ok "secrets leaked:$leaks"; fi

# back to the default environment for whatever runs next
sm_default_pg_env
restart
mockcfg '{"cred_lifetime": 3600, "cred_valid_for": null, "down": []}'
echo "$passed passed, $failed failed"
