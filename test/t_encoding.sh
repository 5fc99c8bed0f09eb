#!/bin/bash
# test/t_encoding.sh -- names, quotes and replies in databases of other
# encodings and locales (issue 8 #3, #5, #6, #10).  Run by
# test/run-tests.sh (it needs the mock and cluster of test/lib.sh sm_setup,
# and the fr_FR.ISO-8859-1 locale that test/install-deps.sh generates).
#
#   ascii       in a LATIN1 database whose LC_CTYPE is fr_FR.ISO-8859-1
#               (where isalnum() accepts 'é') a domain, segment, endpoint
#               host or profile name with 'é' is refused before any request
#   quote       the quote of an invalid name is cut at 64 characters, not
#               64 bytes
#   latin1      a reply holding characters LATIN1 lacks (every generated
#               profile has a 🎉) gives failure rows for those profiles
#               under on_request_failure = failure_rows, an error naming the
#               profile id otherwise, never 22P05; what LATIN1 has arrives
#               converted
set -u
cd "$(dirname "$0")/.."
source test/lib.sh
: "${SM_WORK:?run from test/run-tests.sh}" "${MOCK_HTTP_PORT:?}"

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "FAILED - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/    /' | head -n 20; }
# sql DB SQL: run in DB, output unaligned, errors as "ERROR: ..." with the SQLSTATE
sql() { local db=$1; shift; psql -X -q -A -t -d "$db" -v VERBOSITY=verbose -c "$@" 2>&1 | grep -v '^$'; }
# expect DESCRIPTION DB REGEX SQL
expect() {
	local what=$1 db=$2 re=$3 out
	shift 3
	out=$(sql "$db" "$@")
	if printf '%s' "$out" | tr '\n' ' ' | grep -Eq -- "$re"; then ok "$what"; else not_ok "$what" "$out"; fi
}

MOCK=http://127.0.0.1:$MOCK_HTTP_PORT
LOC=$(locale -a | grep -iE '^fr_FR\.(iso88591|iso-8859-1)$' | head -n 1)
if [ -z "$LOC" ]; then
	not_ok "the locale fr_FR.ISO-8859-1 exists (test/install-deps.sh generates it)"
	echo "$passed passed, $failed failed"
	exit 1
fi

sql postgres "DROP DATABASE IF EXISTS sm_latin1" >/dev/null
sql postgres "DROP DATABASE IF EXISTS sm_utf8" >/dev/null
sql postgres "CREATE DATABASE sm_latin1 TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE '$LOC' LC_CTYPE '$LOC'" >/dev/null
sql postgres "CREATE DATABASE sm_utf8 TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'" >/dev/null
for db in sm_latin1 sm_utf8; do
	sql $db "CREATE EXTENSION segment_membership" >/dev/null
	sql $db "ALTER DATABASE $db SET segment_membership.endpoint_url = '$MOCK'" >/dev/null
done
# the client sends UTF-8; the server converts to LATIN1
export PGCLIENTENCODING=UTF8

echo "# ascii: names are checked for plain ASCII whatever the locale"
expect "the LATIN1 database's LC_CTYPE classes 'é' as a letter" sm_latin1 "^$LOC$" "SHOW lc_ctype"
/usr/bin/python3 test/mockctl.py reset >/dev/null
expect "domain 'évén' is refused (22023)" sm_latin1 "ERROR: +22023: invalid domain_name \"évén\"" \
	"SELECT * FROM get_segment_membership('évén', 'high-value', ARRAY[md5('a')])"
expect "segment 'é-1' is refused (22023)" sm_latin1 "ERROR: +22023: invalid segment_definition_name \"é-1\"" \
	"SELECT * FROM get_segment_membership('demo-domain', 'é-1', ARRAY[md5('a')])"
reqs=$(/usr/bin/python3 test/mockctl.py stats requests)
if [ "$reqs" = "requests=0" ]; then ok "no request reached the endpoint"; else not_ok "requests reached the endpoint: $reqs"; fi
expect "an endpoint host with 'é' is refused" sm_latin1 "ERROR: +22023: invalid value for parameter \"segment_membership.endpoint_url\"" \
	"LOAD 'segment_membership'; SET segment_membership.endpoint_url = 'http://hé.example'"
expect "a profile name with 'é' is refused" sm_latin1 "ERROR: +22023: invalid value for parameter \"segment_membership.profile\"" \
	"LOAD 'segment_membership'; SET segment_membership.profile = 'pröd'"

echo "# quote: invalid names are quoted up to 64 characters"
long=$(printf 'é%.0s' $(seq 1 70))
want=$(printf 'é%.0s' $(seq 1 64))
for db in sm_utf8 sm_latin1; do
	expect "$db: 70 × 'é' is quoted as its first 64 characters" $db "invalid domain_name \"$want\"\.\.\. " \
		"SELECT * FROM get_segment_membership('$long', 'high-value', ARRAY[md5('a')])"
done

echo "# latin1: characters LATIN1 lacks in a reply"
IDS="ARRAY(SELECT md5('enc' || i) FROM generate_series(1, 40) i)"
# in UTF-8 every profile arrives, with its 🎉
expect "utf8: the profiles arrive whole" sm_utf8 "^40\|[1-9][0-9]*\|true$" \
	"SELECT count(*) || '|' || count(*) FILTER (WHERE profile::text LIKE '%🎉%') || '|' || bool_and(query_result IS NOT NULL OR failure_status = 404) FROM get_segment_membership('demo-domain', 'high-value', $IDS)"
present=$(sql sm_utf8 "SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value', $IDS) WHERE profile IS NOT NULL")
absent=$(sql sm_utf8 "SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value', $IDS) WHERE query_result = 'ABSENT' AND profile IS NULL")
expect "latin1, failure_rows: a failure row for each profile LATIN1 cannot hold, the rest answered" sm_latin1 \
	"^40\|$present\|$absent$" \
	"SET segment_membership.on_request_failure = failure_rows; SELECT count(*) || '|' || count(*) FILTER (WHERE query_result IS NULL AND profile IS NULL AND failure_message LIKE '%cannot be represented in the database encoding \"LATIN1\"%') || '|' || count(*) FILTER (WHERE query_result = 'ABSENT') FROM get_segment_membership('demo-domain', 'high-value', $IDS)"
expect "latin1, default: an error naming the profile id, not 22P05" sm_latin1 \
	"ERROR: +22P05: profile \"[0-9a-f]{32}\" cannot be represented in the database encoding \"LATIN1\"" \
	"SELECT count(*) FROM get_segment_membership('demo-domain', 'high-value', $IDS)"
# an ABSENT-only call is fine; Latin-1 characters arrive converted
expect "latin1: a reply without such characters works" sm_latin1 "^[1-9][0-9]*$" \
	"SELECT count(*) FROM get_segment_membership('demo-domain', 'nobody', $IDS) WHERE query_result = 'ABSENT'"

sql postgres "DROP DATABASE sm_latin1" >/dev/null
sql postgres "DROP DATABASE sm_utf8" >/dev/null
echo "$passed passed, $failed failed"
