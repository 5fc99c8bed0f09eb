--
-- "make installcheck" set: these tests need no network, no mock endpoint
-- and no AWS environment; they pass against any running server where the
-- extension is installed.  This one installs it and checks its objects.
--
CREATE EXTENSION segment_membership;
SELECT extversion = default_version AS default_version_installed
FROM pg_extension JOIN pg_available_extensions ON name = extname
WHERE extname = 'segment_membership';

-- the extension's objects, each named segment_membership* or
-- get_segment_membership* (a generic name would collide with users' own)
CREATE VIEW sm_members AS
SELECT d.classid, d.objid, pg_describe_object(d.classid, d.objid, 0) AS object,
       (pg_identify_object(d.classid, d.objid, 0)).name AS name
FROM pg_depend d
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'segment_membership')
  -- from 17 on, a view's row type and its array type are members too; they
  -- come with the view and are not objects of their own
  AND NOT (d.classid = 'pg_type'::regclass AND EXISTS
           (SELECT FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem
            WHERE t.oid = d.objid AND (t.typrelid <> 0 OR e.typrelid <> 0)));
SELECT object FROM sm_members ORDER BY 1;
SELECT object AS badly_named FROM sm_members
WHERE name NOT LIKE 'segment\_membership%' AND name NOT LIKE 'get\_segment\_membership%';

-- the functions land in the schema CREATE EXTENSION picked
SELECT p.proname, n.nspname, p.provolatile, p.proparallel, p.proisstrict,
       p.prorows, p.prosupport::regproc
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN sm_members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
ORDER BY 1;

-- nothing is for everyone: no function of the extension is executable by
-- PUBLIC (a NULL ACL would mean it is), no relation readable by PUBLIC
SELECT m.object AS public_may_use
FROM sm_members m
LEFT JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
LEFT JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
WHERE (p.oid IS NOT NULL AND (p.proacl IS NULL OR EXISTS
         (SELECT FROM aclexplode(p.proacl) a WHERE a.grantee = 0)))
   OR (c.oid IS NOT NULL AND EXISTS
         (SELECT FROM aclexplode(c.relacl) a WHERE a.grantee = 0));
SELECT p.proname, p.proacl
FROM pg_proc p JOIN sm_members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
ORDER BY 1;

-- Helpers for the other tests of this set.
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
  RETURN NEXT 'ERROR ' || st || ': ' || msg;
  IF det <> '' THEN RETURN NEXT 'DETAIL: ' || det; END IF;
  IF hnt <> '' THEN RETURN NEXT 'HINT: ' || hnt; END IF;
END
$$;
