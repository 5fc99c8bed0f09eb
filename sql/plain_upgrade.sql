--
-- Upgrade: 1.0 installed and updated with ALTER EXTENSION ... UPDATE must
-- equal a fresh install of the default version: the same objects, the same
-- definitions (signatures, attributes, C symbols, view text, columns), the
-- same privileges (current and initial) and comments.  The comparison is
-- generic: new objects need no change here.
--
CREATE FUNCTION sm_describe_extension()
RETURNS TABLE (object text, definition text, acl text, init_acl text, comment text)
LANGUAGE sql AS $$
  SELECT pg_describe_object(d.classid, d.objid, 0),
         CASE
           WHEN d.classid = 'pg_proc'::regclass THEN
             (SELECT CASE WHEN p.prokind IN ('f', 'p', 'w')
                          THEN pg_get_functiondef(p.oid)
                          ELSE p.prokind::text || ' ' || pg_get_function_identity_arguments(p.oid) END
              FROM pg_proc p WHERE p.oid = d.objid)
           WHEN d.classid = 'pg_class'::regclass THEN
             (SELECT c.relkind::text || ' ' ||
                     coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                                                 || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                                                 || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), ''),
                                                 ', ' ORDER BY a.attnum)
                               FROM pg_attribute a
                               LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
                     || coalesce(' AS ' || CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END, '')
                     || coalesce(' ' || (SELECT string_agg(pg_get_indexdef(i.indexrelid), '; ' ORDER BY 1)
                                         FROM pg_index i WHERE i.indrelid = c.oid), '')
              FROM pg_class c WHERE c.oid = d.objid)
           WHEN d.classid = 'pg_type'::regclass THEN
             (SELECT t.typtype::text || ' ' || format_type(t.oid, NULL) ||
                     coalesce(' (' || (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                                       FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0) || ')', '')
              FROM pg_type t WHERE t.oid = d.objid)
         END,
         CASE
           WHEN d.classid = 'pg_proc'::regclass THEN (SELECT proacl::text FROM pg_proc WHERE oid = d.objid)
           WHEN d.classid = 'pg_class'::regclass THEN (SELECT relacl::text FROM pg_class WHERE oid = d.objid)
           WHEN d.classid = 'pg_type'::regclass THEN (SELECT typacl::text FROM pg_type WHERE oid = d.objid)
         END,
         (SELECT i.initprivs::text FROM pg_init_privs i
          WHERE i.objoid = d.objid AND i.classoid = d.classid AND i.objsubid = 0),
         obj_description(d.objid, (SELECT relname FROM pg_class WHERE oid = d.classid))
  FROM pg_depend d
  WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
    AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'segment_membership')
    -- from 17 on, a view's row type and its array type are members too
    AND NOT (d.classid = 'pg_type'::regclass AND EXISTS
             (SELECT FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem
              WHERE t.oid = d.objid AND (t.typrelid <> 0 OR e.typrelid <> 0)))
$$;
CREATE TABLE sm_installs (how text, object text, definition text, acl text, init_acl text, comment text);

-- the test set installed the default version; start over from 1.0
DROP EXTENSION segment_membership;
CREATE EXTENSION segment_membership VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'segment_membership';
-- privileges granted on 1.0: kept by the rename of credentials_info();
-- segment_membership_stats() is created anew by 1.1 (its first column is
-- renamed), so a grant on it must be repeated after the update
CREATE ROLE regress_sm_user;
GRANT EXECUTE ON FUNCTION credentials_info() TO regress_sm_user;
GRANT EXECUTE ON FUNCTION segment_membership_stats() TO regress_sm_user;
ALTER EXTENSION segment_membership UPDATE;
SELECT extversion = default_version AS updated_to_default
FROM pg_extension JOIN pg_available_extensions ON name = extname
WHERE extname = 'segment_membership';
SELECT has_function_privilege('regress_sm_user', 'segment_membership_credentials()', 'EXECUTE') AS credentials_grant_kept,
       has_function_privilege('regress_sm_user', 'segment_membership_stats()', 'EXECUTE') AS stats_grant_kept;
REVOKE EXECUTE ON FUNCTION segment_membership_credentials() FROM regress_sm_user;
DROP ROLE regress_sm_user;
INSERT INTO sm_installs SELECT 'updated from 1.0', * FROM sm_describe_extension();

DROP EXTENSION segment_membership;
CREATE EXTENSION segment_membership;
INSERT INTO sm_installs SELECT 'fresh install', * FROM sm_describe_extension();

-- the same objects on both sides (and not nothing)
SELECT count(*) FILTER (WHERE how = 'fresh install') AS objects,
       count(*) FILTER (WHERE how = 'fresh install') =
       count(*) FILTER (WHERE how = 'updated from 1.0') AS same_count
FROM sm_installs;
-- every difference, if any
(SELECT 'only after update' AS side, object, definition, acl, init_acl, comment
   FROM sm_installs WHERE how = 'updated from 1.0'
 EXCEPT
 SELECT 'only after update', object, definition, acl, init_acl, comment
   FROM sm_installs WHERE how = 'fresh install')
UNION ALL
(SELECT 'only in fresh install', object, definition, acl, init_acl, comment
   FROM sm_installs WHERE how = 'fresh install'
 EXCEPT
 SELECT 'only in fresh install', object, definition, acl, init_acl, comment
   FROM sm_installs WHERE how = 'updated from 1.0')
ORDER BY 1, 2;
DROP TABLE sm_installs;
