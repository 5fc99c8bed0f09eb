--
-- Set-up for the whole suite: the extension and a few helpers.
--
-- The server runs with AWS credentials, AWS_REGION=eu-west-2 and
-- AWS_ENDPOINT_URL_CUSTOMER_PROFILES pointing at the mock endpoint
-- (test/mock_aws.py), which verifies every signature with botocore.
--
CREATE EXTENSION segment_membership;

-- (the objects, their privileges: plain_install)

-- What the mock answers, computed independently of the extension:
-- an id exists unless it starts with 'f'; it is PRESENT in a segment when
-- the first hex digit of md5(segment || ':' || id) is 0-7 ("everyone":
-- always, "nobody": never).
CREATE FUNCTION expected_result(segment text, id text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN id !~ '^[0-9a-f]{32}$' OR left(id, 1) = 'f' THEN NULL
    WHEN segment = 'everyone' THEN 'PRESENT'
    WHEN segment = 'nobody' THEN 'ABSENT'
    WHEN left(md5(segment || ':' || id), 1) < '8' THEN 'PRESENT'
    ELSE 'ABSENT' END
$$;

-- Mask what differs between runs (ports, request ids) in messages.
CREATE FUNCTION sm_mask(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT regexp_replace(regexp_replace(regexp_replace(regexp_replace(t,
    '127\.0\.0\.1:[0-9]+', '127.0.0.1:PORT', 'g'),
    'after [0-9]+ (ms|milliseconds)', 'after N \1', 'g'),
    'with [0-9]+ (out of [0-9]+ )?bytes', 'with N bytes', 'g'),
    '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', 'REQUEST-ID', 'g')
$$;

-- Run a statement; show "ok" or its error: SQLSTATE, message, detail, hint.
CREATE FUNCTION sm_try(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  st text; msg text; det text; hnt text;
BEGIN
  EXECUTE q;
  RETURN NEXT 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                          det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
  RETURN NEXT 'ERROR ' || st || ': ' || sm_mask(msg);
  IF det <> '' THEN RETURN NEXT 'DETAIL: ' || sm_mask(det); END IF;
  IF hnt <> '' THEN RETURN NEXT 'HINT: ' || sm_mask(hnt); END IF;
END
$$;

-- Counters of the mock endpoint (read with test/mockctl.py on the client).
\! /usr/bin/python3 test/mockctl.py reset
