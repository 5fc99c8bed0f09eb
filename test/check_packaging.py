#!/usr/bin/python3
"""test/check_packaging.py -- packaging checks (run by test/run-tests.sh).

Checks META.json against the PGXN Meta Spec 1.0.0 (the required keys and
the types and forms the spec gives them), that its version and the provided
extension's version are the control file's default_version (as a semantic
version: '1.1' is '1.1.0'), that the provided file exists, that LICENSE and
CHANGELOG.md exist and CHANGELOG.md names the version, that every
version has an install script reachable from 1.0, and, given the built
library, that its User-Agent carries the version; and that each SQL
block the README marks "<!-- tested: FILE -->" appears in FILE word for
word.

Usage: test/check_packaging.py [path/to/segment_membership.so]
Prints one line per check and "N passed, M failed" last.
"""
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % name)
    else:
        failed += 1
        print("FAIL %s%s" % (name, ": " + detail if detail else ""))


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+)?$")
LICENSES = {"agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2",
            "bsd", "freebsd", "gfdl_1_2", "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3",
            "lgpl_2_1", "lgpl_3_0", "mit", "mozilla_1_0", "mozilla_1_1",
            "openssl", "perl_5", "postgresql", "qpl_1_0", "ssleay", "sun",
            "zlib", "open_source", "restricted", "unrestricted", "unknown"}

control = read("segment_membership.control")
m = re.search(r"^default_version\s*=\s*'([^']*)'", control, re.M)
default_version = m.group(1) if m else None
check("control file has default_version", default_version is not None)
semver = default_version
if default_version and re.fullmatch(r"\d+\.\d+", default_version):
    semver = default_version + ".0"

try:
    meta = json.loads(read("META.json"))
    check("META.json is valid JSON", True)
except (OSError, ValueError) as e:
    meta = {}
    check("META.json is valid JSON", False, str(e))

for key in ("name", "abstract", "version", "maintainer", "license",
            "provides", "meta-spec"):
    check("META.json has %s" % key, key in meta)
check("meta-spec version is 1.0.0",
      meta.get("meta-spec", {}).get("version") == "1.0.0")
check("name is segment_membership", meta.get("name") == "segment_membership")
check("abstract is a non-empty string",
      isinstance(meta.get("abstract"), str) and meta["abstract"].strip() != "")
check("version is a semantic version", bool(SEMVER.match(str(meta.get("version")))))
check("version is the control file's default_version (%s)" % default_version,
      meta.get("version") == semver, "META.json says %s" % meta.get("version"))
maint = meta.get("maintainer")
check("maintainer is a string or a list of strings",
      isinstance(maint, str) or (isinstance(maint, list) and maint
                                 and all(isinstance(x, str) for x in maint)))
lic = meta.get("license")
check("license is the PostgreSQL License",
      lic == "postgresql" or (isinstance(lic, dict) and "PostgreSQL" in lic))
check("license names are from the spec",
      (isinstance(lic, str) and lic in LICENSES) or
      (isinstance(lic, list) and all(x in LICENSES for x in lic)) or
      isinstance(lic, dict))
prov = meta.get("provides", {})
ext = prov.get("segment_membership", {})
check("provides segment_membership", isinstance(ext, dict) and "file" in ext
      and "version" in ext)
check("provided version is the default_version", ext.get("version") == semver)
check("provided file exists", os.path.isfile(os.path.join(ROOT, ext.get("file", "-"))))
check("provided file is the default version's install script",
      ext.get("file") == "sql/segment_membership--%s.sql" % default_version)
req = meta.get("prereqs", {}).get("runtime", {}).get("requires", {})
check("prereqs: runtime requires PostgreSQL 14",
      str(req.get("PostgreSQL", "")).startswith("14."))
for phase, rels in meta.get("prereqs", {}).items():
    check("prereqs phase %s is known" % phase,
          phase in ("configure", "build", "test", "runtime", "develop")
          and all(r in ("requires", "recommends", "suggests", "conflicts")
                  for r in rels))
res = meta.get("resources", {})
check("resources is an object with known keys", isinstance(res, dict) and res
      and all(k in ("homepage", "bugtracker", "repository") or k.startswith("x_")
              for k in res))
tags = meta.get("tags", [])
check("tags are a non-empty list of strings",
      isinstance(tags, list) and tags and all(isinstance(t, str) and 0 < len(t) < 256 for t in tags))
check("release_status is known",
      meta.get("release_status", "stable") in ("stable", "testing", "unstable"))
unknown = [k for k in meta if k not in (
    "name", "abstract", "description", "version", "maintainer", "license",
    "provides", "prereqs", "resources", "tags", "release_status",
    "generated_by", "no_index", "meta-spec") and not k.startswith("x_")]
check("no keys the spec does not know", not unknown, ", ".join(unknown))

check("LICENSE is the PostgreSQL License",
      os.path.isfile(os.path.join(ROOT, "LICENSE")) and "PostgreSQL License" in read("LICENSE"))
check("CHANGELOG.md names %s" % default_version,
      os.path.isfile(os.path.join(ROOT, "CHANGELOG.md"))
      and re.search(r"^## .*\b%s\b" % re.escape(default_version), read("CHANGELOG.md"), re.M) is not None)

# every version has an install script, and the update scripts lead from
# 1.0 to the default version
scripts = os.listdir(os.path.join(ROOT, "sql"))
check("install script of the default version exists",
      "segment_membership--%s.sql" % default_version in scripts)
check("install script of 1.0 exists", "segment_membership--1.0.sql" in scripts)
edges = {}
for s in scripts:
    mm = re.fullmatch(r"segment_membership--([^-]+)--([^-]+)\.sql", s)
    if mm:
        edges.setdefault(mm.group(1), []).append(mm.group(2))
seen, todo = set(), ["1.0"]
while todo:
    v = todo.pop()
    if v not in seen:
        seen.add(v)
        todo.extend(edges.get(v, []))
check("an update path leads from 1.0 to %s" % default_version, default_version in seen)

# the README's worked examples are the text a test runs
readme = read("README.md")
marked = re.findall(r"^<!-- tested: (\S+) -->\n```sql\n(.*?)^```$", readme, re.M | re.S)
check("the README marks its tested examples (3 or more)", len(marked) >= 3,
      "found %d" % len(marked))
for i, (test, block) in enumerate(marked, 1):
    path = os.path.join(ROOT, test)
    body = read(test) if os.path.isfile(path) else ""
    first = block.strip().splitlines()[0] if block.strip() else ""
    check("README example %d (%s...) is in %s word for word" % (i, first[:40], test),
          block in body)

if len(sys.argv) > 1:
    with open(sys.argv[1], "rb") as f:
        lib = f.read()
    ua = ("segment_membership/%s (PostgreSQL " % default_version).encode()
    check("the library's User-Agent is %s..." % ua.decode(), ua in lib)

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
