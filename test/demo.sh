#!/bin/bash
# test/demo.sh -- see segment_membership work without an AWS account.
#
#   test/install-deps.sh && test/demo.sh
#
# Builds and installs the extension, starts the bundled mock Customer
# Profiles endpoint (which checks every signature with botocore) and a
# throwaway PostgreSQL cluster, loads sample customers, and runs the join
# from the README.  Everything is removed on exit.
set -u
cd "$(dirname "$0")/.."
source test/lib.sh

sm_install || { echo "build failed" >&2; exit 1; }
sm_setup || exit 1

psql -X -q -v ON_ERROR_STOP=1 <<'EOF2'
\pset footer off
CREATE EXTENSION segment_membership;

-- sample customers: some of them are in the "high-value" segment
CREATE TABLE customers (customer_no int PRIMARY KEY, name text, profile_id text);
INSERT INTO customers VALUES
  (1, 'Zoë Núñez',     '0123456789abcdef0123456789abcdef'),
  (2, 'Øyvind Berg',   md5('customer-2')),
  (3, 'Ελένη Παππά',   md5('customer-3')),
  (4, 'Đặng Văn An',   md5('customer-4')),
  (5, '山田 花子',      md5('customer-5')),
  (6, 'Unknown Person', 'ffffffffffffffffffffffffffffffff'),
  (7, 'Ann Smith',     md5('customer-7')),
  (8, 'Bob Jones',     md5('customer-8'));

\echo
\echo 'Which customers are in segment "high-value" of domain "demo-domain"?'
\echo
SELECT c.customer_no, c.name, m.profile->>'EmailAddress' AS email,
       m.profile->'Address'->>'City' AS city
FROM customers c
JOIN get_segment_membership('demo-domain', 'high-value',
                            ARRAY(SELECT profile_id FROM customers)) m
  USING (profile_id)
WHERE m.query_result = 'PRESENT'
ORDER BY c.customer_no;

\echo
\echo 'Every id is accounted for: members, non-members and failures'
\echo
SELECT c.customer_no, m.query_result, m.failure_status, m.failure_message,
       m.last_computed_at
FROM customers c
JOIN get_segment_membership('demo-domain', 'high-value',
                            ARRAY(SELECT profile_id FROM customers)) m
  USING (profile_id)
ORDER BY c.customer_no;

\echo
\echo 'This session''s requests so far'
\echo
SELECT attempts, retries, connections_opened FROM segment_membership_stats();
EOF2
rc=$?
echo
echo "mock endpoint: $(/usr/bin/python3 test/mockctl.py stats requests signature_rejections | tr '\n' ' ')"
exit $rc
