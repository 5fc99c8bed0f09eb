#!/usr/bin/python3
"""Self-test for test/mock_aws.py.

Starts the mock as a subprocess (like the test driver does), then exercises
every feature with botocore-signed requests sent over http.client (raw sockets
where needed).  The last line is "N passed, M failed"; the exit status is
non-zero when anything failed.

    /usr/bin/python3 test/mock_selftest.py [-v]
    /usr/bin/python3 test/mock_selftest.py --bench [SECONDS]
        8 concurrent keep-alive clients at latency=50 on http and https;
        prints the latency the mock adds per request.
"""

import datetime
import email.utils
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mock_aws  # noqa: E402  (canon_value, HOSTILE_KINDS)

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = os.path.dirname(os.path.abspath(__file__))
MOCK = os.path.join(HERE, "mock_aws.py")
PY = "/usr/bin/python3"
VERBOSE = "-v" in sys.argv

RICH = "0123456789abcdef0123456789abcdef"
LCA = {"high-value": "1764331200.125", "churn_risk": "1764334800.25",
       "everyone": "1764338400.5", "nobody": "1764342000.75"}
MP = "/domains/demo-domain/segments/high-value/membership"


class SignAllAuth(SigV4Auth):
    """Signs every header it is given (botocore skips user-agent/expect)."""

    def headers_to_sign(self, request):
        hm = super().headers_to_sign(request)
        for k, v in request.headers.items():
            if k.lower() in ("user-agent", "expect"):
                hm[k.lower()] = v
        return hm


class Cr:
    def __init__(self, akid, secret, token=None):
        self.akid, self.secret, self.token = akid, secret, token


STATIC = Cr("AKIDSTATICEXAMPLE001", "static/secret+key0000000000000000000000001")
SESSION = Cr("ASIASESSIONEXAMPLE01", "session/secret+key000000000000000000000001",
             "session-token-0123456789")
EXPIRED = Cr("ASIAEXPIREDEXAMPLE01", "expired/secret+key000000000000000000000001",
             "expired-token-0123456789")
SECRET_STRINGS = [STATIC.secret, SESSION.secret, SESSION.token, EXPIRED.secret,
                  EXPIRED.token]

# ----------------------------------------------------------------------------
# Result bookkeeping
# ----------------------------------------------------------------------------

PASSED = 0
FAILED = 0
FAIL_LINES = []


def check(name, cond, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
        if VERBOSE:
            print("ok   " + name)
    else:
        FAILED += 1
        line = "FAIL " + name + (": " + str(detail)[:500] if detail != "" else "")
        FAIL_LINES.append(line)
        print(line, flush=True)
    return bool(cond)


def section(name):
    if VERBOSE:
        print("== " + name, flush=True)


# ----------------------------------------------------------------------------
# Mock process
# ----------------------------------------------------------------------------

class Mock:
    def __init__(self, root, name, args=(), creds=True, wait=True):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir)
        self.log = os.path.join(self.dir, "mock.log")
        cmd = [PY, MOCK, "--state-dir", self.dir, "--log", self.log]
        if creds:
            cf = os.path.join(root, name + "-creds.json")
            with open(cf, "w") as f:
                json.dump([
                    {"access_key_id": STATIC.akid, "secret_access_key": STATIC.secret,
                     "session_token": None, "expires": None, "source": "static"},
                    {"access_key_id": SESSION.akid, "secret_access_key": SESSION.secret,
                     "session_token": SESSION.token,
                     "expires": (datetime.datetime.utcnow() + datetime.timedelta(days=1))
                     .strftime("%Y-%m-%dT%H:%M:%SZ"), "source": "session"},
                    {"access_key_id": EXPIRED.akid, "secret_access_key": EXPIRED.secret,
                     "session_token": EXPIRED.token, "expires": "2020-01-01T00:00:00Z",
                     "source": "expired"},
                ], f)
            cmd += ["--credentials-file", cf]
        cmd += list(args)
        self.stderr = open(os.path.join(self.dir, "stderr.txt"), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.stderr)
        self.http_port = self.https_port = None
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout=20):
        pidf = os.path.join(self.dir, "mock.pid")
        t0 = time.time()
        while time.time() - t0 < timeout:
            if os.path.exists(pidf):
                with open(pidf) as f:
                    txt = f.read()
                if txt.endswith("\n"):
                    break
            if self.proc.poll() is not None:
                raise RuntimeError("mock exited early: rc=%s" % self.proc.returncode)
            time.sleep(0.02)
        else:
            raise RuntimeError("mock not ready")
        self.ready_time = time.time() - t0
        with open(os.path.join(self.dir, "http.port")) as f:
            self.http_port = int(f.read())
        with open(os.path.join(self.dir, "https.port")) as f:
            self.https_port = int(f.read())
        self.ca = os.path.join(self.dir, "ca.pem")
        self.wrong_ca = os.path.join(self.dir, "wrong-ca.pem")

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        return self.proc.returncode


class Resp:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed
        self._json = None

    def json(self):
        if self._json is None:
            self._json = json.loads(self.body)
        return self._json

    def h(self, name):
        return self.headers.get(name.lower())

    def err(self):
        """(type, message) parsed like botocore does."""
        t = self.h("x-amzn-errortype")
        try:
            b = json.loads(self.body)
        except ValueError:
            b = {}
        if not isinstance(b, dict):
            b = {}
        if t is None:
            t = b.get("code") or b.get("Code") or b.get("__type") or str(self.status)
        t = t.split(":")[0].split("#")[-1]
        return t, b.get("message", b.get("Message"))


class Client:
    def __init__(self, mock, tls=False, timeout=15, host="127.0.0.1", ca=None):
        self.mock = mock
        self.tls = tls
        self.timeout = timeout
        self.host = host
        self.port = mock.https_port if tls else mock.http_port
        self.ca = ca or (mock.ca if tls else None)
        self.conn = None

    def connect(self):
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.ca)
            self.conn = http.client.HTTPSConnection(self.host, self.port,
                                                    timeout=self.timeout, context=ctx)
        else:
            self.conn = http.client.HTTPConnection(self.host, self.port,
                                                   timeout=self.timeout)
        # Like libcurl: TCP_NODELAY, so http.client's separate header and body
        # writes are not held back by Nagle + delayed ACK.
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def req(self, method, path, body=b"", headers=None, encode_chunked=False):
        if self.conn is None:
            self.connect()
        hdrs = dict(headers or {})
        t0 = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=hdrs,
                              encode_chunked=encode_chunked)
            r = self.conn.getresponse()
            data = r.read()
        except Exception:
            self.close()
            raise
        el = time.perf_counter() - t0
        hd = {k.lower(): v for k, v in r.getheaders()}
        if r.will_close:
            self.close()
        return Resp(r.status, hd, data, el)

    @property
    def hostport(self):
        return "%s:%d" % (self.host, self.port)

    def sign(self, method, path, body, cred=STATIC, region="eu-west-2", service="profile",
             ctype="application/json", extra=None, ts=None, token=Ellipsis, signer=SigV4Auth):
        headers = {"Host": self.hostport}
        if ctype is not None:
            headers["Content-Type"] = ctype
        headers.update(extra or {})
        url = ("https://" if self.tls else "http://") + self.hostport + path
        req = AWSRequest(method=method, url=url, data=body, headers=headers)
        tok = cred.token if token is Ellipsis else token
        auth = signer(Credentials(cred.akid, cred.secret, tok), service, region)
        if ts is None:
            auth.add_auth(req)
        else:
            req.context["timestamp"] = ts
            auth._modify_request_before_signing(req)
            cr = auth.canonical_request(req)
            sig = auth.signature(auth.string_to_sign(req, cr), req)
            auth._inject_signature_to_request(req, sig)
        return dict(req.headers.items())

    def api(self, path=MP, ids=None, body=None, cred=STATIC, region="eu-west-2",
            ctype="application/json", extra=None, ts=None, send_path=None, token=Ellipsis,
            send_body=None, service="profile"):
        if body is None:
            body = json.dumps({"ProfileIds": ids if ids is not None else [RICH]}).encode()
        h = self.sign("POST", path, body, cred, region, service, ctype, extra, ts, token)
        return self.req("POST", send_path or path, send_body if send_body is not None else body, h)

    def get(self, path, headers=None):
        return self.req("GET", path, b"", headers)

    def post_json(self, path, obj):
        return self.req("POST", path, json.dumps(obj).encode(),
                        {"Content-Type": "application/json"})

    def stats(self):
        return self.get("/_mock/stats").json()

    def reset(self):
        return self.req("POST", "/_mock/reset", b"")

    def sts(self, params, signed_by=None, region="us-east-1", path="/"):
        body = urlencode(params).encode()
        ct = "application/x-www-form-urlencoded; charset=utf-8"
        if signed_by is None:
            h = {"Content-Type": ct}
        else:
            h = self.sign("POST", path, body, signed_by, region, "sts", ct)
        return self.req("POST", path, body, h)


# ----------------------------------------------------------------------------
# Expected values, computed independently of the mock
# ----------------------------------------------------------------------------

def member(seg, pid):
    if seg == "everyone":
        return True
    if seg == "nobody":
        return False
    return hashlib.md5((seg + ":" + pid).encode("utf-8")).hexdigest()[0] in "01234567"


def rid(r):
    return bool(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                             r.h("x-amzn-requestid") or ""))


def ids_of(n, seed, prefix=None):
    r = random.Random(seed)
    out = []
    for _ in range(n):
        s = "%032x" % r.getrandbits(128)
        if prefix is not None:
            s = prefix + s[len(prefix):]
        out.append(s)
    return out


def check_reply(name, r, seg, asked):
    """A normal 200 reply must answer every distinct asked id exactly once."""
    if not check(name + ": status 200", r.status == 200, (r.status, r.body[:300])):
        return
    check(name + ": content-type json", r.h("content-type") == "application/json")
    try:
        j = r.json()
    except ValueError as e:
        check(name + ": json", False, e)
        return
    uniq = sorted(set(asked), reverse=True)
    exist = [p for p in uniq if p[0] != "f"]
    missing = [p for p in uniq if p[0] == "f"]
    check(name + ": SegmentDefinitionName", j.get("SegmentDefinitionName") == seg)
    prof = j.get("Profiles")
    check(name + ": Profiles ids in descending order",
          [e["ProfileId"] for e in prof] == exist, [e["ProfileId"] for e in prof])
    ok = True
    for e in prof:
        pid = e["ProfileId"]
        want = "PRESENT" if member(seg, pid) else "ABSENT"
        if e["QueryResult"] != want or (("Profile" in e) != (want == "PRESENT")):
            ok = False
        if "Profile" in e and e["Profile"].get("ProfileId") != pid:
            ok = False
    check(name + ": PRESENT/ABSENT per md5 rule, Profile only for PRESENT", ok)
    fails = j.get("Failures", [])
    check(name + ": Failures for f-ids", [f["ProfileId"] for f in fails] == missing and all(
        f["Message"] == "Profile not found" and f["Status"] == 404 for f in fails), fails)
    if not missing:
        check(name + ": no Failures key when empty", "Failures" not in j)
    check(name + ": LastComputedAt number", isinstance(j.get("LastComputedAt"), float)
          and re.search(rb'"LastComputedAt":' + re.escape(LCA[seg].encode()) + rb"}$", r.body),
          j.get("LastComputedAt"))
    return j


# ----------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------

def t_startup(m):
    section("startup files")
    for fn in ("ca.pem", "wrong-ca.pem", "server.pem", "http.port", "https.port",
               "mock.pid"):
        p = os.path.join(m.dir, fn)
        check("file %s exists, mode 0644" % fn,
              os.path.exists(p) and (os.stat(p).st_mode & 0o777) == 0o644,
              oct(os.stat(p).st_mode) if os.path.exists(p) else "missing")
    with open(os.path.join(m.dir, "mock.pid")) as f:
        check("mock.pid holds the pid", int(f.read()) == m.proc.pid)
    check("ports differ and are nonzero", m.http_port and m.https_port and
          m.http_port != m.https_port)
    check("ready quickly (%.2fs)" % m.ready_time, m.ready_time < 10)
    for port in (m.http_port, m.https_port):
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        check("bound to 127.0.0.1", s.getpeername()[0] == "127.0.0.1")
        s.close()


def t_tls(m):
    section("tls")
    c = Client(m, tls=True)
    r = c.get("/_mock/stats")
    check("https with ca.pem, hostname 127.0.0.1 (IP SAN)", r.status == 200)
    c.close()
    c = Client(m, tls=True, host="localhost")
    try:
        r = c.get("/_mock/stats")
        check("https with ca.pem, hostname localhost (DNS SAN)", r.status == 200)
    except Exception as e:
        check("https with ca.pem, hostname localhost (DNS SAN)", False, e)
    c.close()
    before = Client(m).stats()["tls_handshake_failures"]
    c = Client(m, tls=True, ca=m.wrong_ca)
    try:
        c.get("/_mock/stats")
        check("wrong CA rejected by client", False, "handshake succeeded")
    except ssl.SSLCertVerificationError:
        check("wrong CA rejected by client", True)
    except Exception as e:
        check("wrong CA rejected by client", False, repr(e))
    c.close()
    ctx = ssl.create_default_context(cafile=m.ca)
    with socket.create_connection(("127.0.0.1", m.https_port), timeout=5) as s:
        try:
            ctx.wrap_socket(s, server_hostname="not-localhost.example")
            check("wrong hostname rejected", False)
        except ssl.SSLCertVerificationError:
            check("wrong hostname rejected", True)
    time.sleep(0.2)
    after = Client(m).stats()["tls_handshake_failures"]
    check("handshake failures counted", after >= before + 1, (before, after))
    # Same signed request over TLS works.
    c = Client(m, tls=True)
    r = c.api(ids=[RICH])
    check_reply("https membership", r, "high-value", [RICH])
    c.close()


def t_golden():
    section("golden SigV4 vector (harness sanity)")
    body = b'{"ProfileIds":["0123456789abcdef0123456789abcdef","ffffffffffffffffffffffffffffffff"]}'
    req = AWSRequest(method="POST",
                     url="https://profile.us-east-1.amazonaws.com/domains/my-domain/segments/high_value/membership",
                     data=body, headers={"Content-Type": "application/json"})
    req.context["timestamp"] = "20240115T120000Z"
    a = SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                  "profile", "us-east-1")
    a._modify_request_before_signing(req)
    sig = a.signature(a.string_to_sign(req, a.canonical_request(req)), req)
    check("botocore reproduces aws-notes 3.5 golden signature",
          sig == "9df7077a14c8a4c72a11f1ffd672004693a9b3947beb6e63e30a7b341f0ee90e", sig)


def t_happy(m):
    section("membership happy path")
    c = Client(m)
    asked = [RICH] + ids_of(12, 1) + ids_of(3, 2, "f") + ids_of(3, 3, "0")
    asked_dup = asked + [asked[1], RICH, asked[13]]
    for seg in ("high-value", "churn_risk", "everyone", "nobody"):
        r = c.api(path="/domains/demo-domain/segments/%s/membership" % seg, ids=asked_dup)
        check_reply("segment " + seg, r, seg, asked)
        check(seg + ": request id uuid4", rid(r))
        check(seg + ": Date header", email.utils.parsedate_to_datetime(r.h("date")) is not None)
        check(seg + ": Content-Length", int(r.h("content-length")) == len(r.body))
    r = c.api(path="/domains/test-domain/segments/high-value/membership", ids=asked)
    check_reply("test-domain", r, "high-value", asked)
    check("duplicates answered once", True)
    # Profile content.
    r = c.api(path="/domains/demo-domain/segments/everyone/membership", ids=asked)
    j = r.json()
    rich = [e for e in j["Profiles"] if e["ProfileId"] == RICH][0]["Profile"]
    printed = subprocess.run([PY, MOCK, "--print-profile", RICH], capture_output=True).stdout
    check("rich profile equals --print-profile", rich == json.loads(printed))
    members = ["ProfileId", "AccountNumber", "AdditionalInformation", "PartyType",
               "BusinessName", "FirstName", "MiddleName", "LastName", "BirthDate", "Gender",
               "PhoneNumber", "MobilePhoneNumber", "HomePhoneNumber", "BusinessPhoneNumber",
               "EmailAddress", "PersonalEmailAddress", "BusinessEmailAddress", "Address",
               "ShippingAddress", "MailingAddress", "BillingAddress", "Attributes",
               "FoundByItems", "PartyTypeString", "GenderString", "ProfileType",
               "EngagementPreferences"]
    check("rich profile uses every Profile member", all(k in rich for k in members),
          [k for k in members if k not in rich])
    addr_keys = ["Address1", "Address2", "Address3", "Address4", "City", "County", "State",
                 "Province", "Country", "PostalCode"]
    check("rich addresses complete", all(all(k in rich[a] for k in addr_keys) for a in
                                         ("Address", "ShippingAddress", "MailingAddress",
                                          "BillingAddress")))
    ai = rich["AdditionalInformation"]
    check("rich AdditionalInformation has quote, backslash, newline, non-ASCII",
          '"' in ai and "\\" in ai and "\n" in ai and any(ord(ch) > 127 for ch in ai))
    check("rich EngagementPreferences Phone+Email",
          rich["EngagementPreferences"]["Phone"] and rich["EngagementPreferences"]["Email"])
    check("raw JSON has \\ud83c\\udf89 escape", b"\\ud83c\\udf89" in r.body)
    check("raw JSON has raw UTF-8 non-ASCII", "Zoë".encode() in r.body)
    gen = [e["Profile"] for e in j["Profiles"] if e["ProfileId"] != RICH]
    sizes = [len(json.dumps(p, ensure_ascii=False, separators=(",", ":")).encode()) for p in gen]
    check("generated profiles 400..800 bytes", all(400 <= s <= 800 for s in sizes), sizes)
    note = "Quote \" backslash \\ newline \n tab \t party \U0001F389"
    check("generated profile shape", all(
        p["Attributes"]["note"] == note and p["ProfileType"] == "PROFILE"
        and p["FoundByItems"] == [{"KeyName": "_profileId", "Values": [p["ProfileId"]]}]
        and set(p["Address"]) == {"Address1", "City", "PostalCode", "Country"}
        and p["PartyTypeString"] and p["FirstName"] and p["LastName"] and p["EmailAddress"]
        and p["PhoneNumber"] and p["AccountNumber"] for p in gen))
    # Determinism: same answer twice (modulo nothing).
    r2 = c.api(path="/domains/demo-domain/segments/everyone/membership", ids=asked)
    check("deterministic body", r2.body == r.body)
    # Non-ASCII names appear across many ids.
    many = ids_of(100, 9, "1")
    r = c.api(path="/domains/demo-domain/segments/everyone/membership", ids=many)
    txt = r.body.decode()
    check("name lists include non-ASCII names", all(n in txt for n in ("Øyvind", "Ελένη")) and
          any(n in txt for n in ("Núñez", "Đặng", "山田")), "")
    check("100 ids accepted", r.status == 200 and len(r.json()["Profiles"]) == 100)
    # Keep-alive: several requests on one connection, including errors.
    c.close()
    c.reset()
    k = Client(m)
    st0 = []
    for i in range(5):
        st0.append(k.api(ids=[RICH]).status)
        st0.append(k.api(ids=["bad"]).status)
        st0.append(k.api(ids=[RICH], cred=Cr(STATIC.akid, "wrong")).status)
    check("keep-alive across 2xx/4xx", st0 == [200, 400, 403] * 5, st0)
    check("one TCP connection used", Client(m).stats()["connections"]["http"] == 2)
    k.close()
    # Chunked request body.
    body = json.dumps({"ProfileIds": [RICH, "1" * 32]}).encode()
    h = k.sign("POST", MP, body)
    r = k.req("POST", MP, iter([body[:10], body[10:]]), h, encode_chunked=True)
    check_reply("chunked request body", r, "high-value", [RICH, "1" * 32])
    # Expect: 100-continue over a raw socket.
    h = k.sign("POST", MP, body)
    s = socket.create_connection(("127.0.0.1", m.http_port), timeout=5)
    head = "POST %s HTTP/1.1\r\n" % MP + "".join("%s: %s\r\n" % kv for kv in h.items()) + \
        "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(body)
    s.sendall(head.encode())
    first = s.recv(100)
    check("Expect: 100-continue answered", first.startswith(b"HTTP/1.1 100"), first)
    s.sendall(body)
    data = b""
    while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1]:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    check("then 200", b"HTTP/1.1 200" in data)
    s.close()
    # HTTP/1.0 request closes.
    s = socket.create_connection(("127.0.0.1", m.http_port), timeout=5)
    s.sendall(b"GET /_mock/stats HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    check("HTTP/1.0 answered and closed", data.startswith(b"HTTP/1.1 200") and
          b"Content-Length:" in data)
    s.close()
    # x-amz-content-sha256 and user-agent signed.
    r = k.api(ids=[RICH], extra={"X-Amz-Content-SHA256": hashlib.sha256(
        json.dumps({"ProfileIds": [RICH]}).encode()).hexdigest(), "User-Agent": "mock-test/1"})
    h = k.sign("POST", MP, json.dumps({"ProfileIds": [RICH]}).encode(),
               extra={"User-Agent": "mock-test/1"}, signer=SignAllAuth)
    check("signed user-agent accepted", "user-agent" in h["Authorization"] and
          k.req("POST", MP, json.dumps({"ProfileIds": [RICH]}).encode(), h).status == 200)
    check("signed x-amz-content-sha256 accepted", r.status == 200, r.body[:200])
    r = k.api(ids=[RICH], extra={"X-Amz-Content-SHA256": "0" * 64})
    check("wrong x-amz-content-sha256 rejected", r.status == 403 and
          r.err()[0] == "InvalidSignatureException")
    # Session credentials.
    r = k.api(ids=[RICH], cred=SESSION)
    check("session credentials accepted", r.status == 200)
    # Prefix with only "mock" and a custom endpoint path.
    r = k.api(path="/mock" + MP, ids=[RICH])
    check("/mock prefix accepted", r.status == 200)
    k.close()


def t_auth(m):
    section("authentication")
    c = Client(m)
    c.reset()
    body = json.dumps({"ProfileIds": [RICH]}).encode()

    def expect(name, r, status, etype, msg=None):
        t, mm = r.err()
        ok = r.status == status and t == etype and (msg is None or (
            mm == msg if isinstance(msg, str) else bool(msg.search(mm or ""))))
        check(name, ok, (r.status, t, mm))
        check(name + " (request id)", rid(r))

    expect("missing Authorization", c.req("POST", MP, body, {"Content-Type": "application/json"}),
           403, "MissingAuthenticationTokenException")
    h = c.sign("POST", MP, body)
    h["Authorization"] = "AWS4-HMAC-SHA256 garbage"
    expect("garbled Authorization", c.req("POST", MP, body, h), 400,
           "IncompleteSignatureException")
    h["Authorization"] = "Basic dXNlcjpwYXNz"
    expect("non-SigV4 Authorization", c.req("POST", MP, body, h), 400,
           "IncompleteSignatureException")
    h = c.sign("POST", MP, body)
    h["Authorization"] = h["Authorization"].replace("Credential=" + STATIC.akid + "/",
                                                    "Credential=")
    expect("Credential with 4 parts", c.req("POST", MP, body, h), 400,
           "IncompleteSignatureException")
    h = c.sign("POST", MP, body)
    del h["X-Amz-Date"]
    expect("missing x-amz-date", c.req("POST", MP, body, h), 400, "IncompleteSignatureException")
    expect("unknown AKID", c.api(cred=Cr("AKIDUNKNOWN000000000", "x")), 403,
           "UnrecognizedClientException", "The security token included in the request is invalid.")
    expect("wrong region", c.api(region="ap-south-1"), 403, "InvalidSignatureException",
           re.compile(r"^Credential should be scoped to a valid region\."))
    expect("wrong service", c.api(service="execute-api"), 403, "InvalidSignatureException",
           re.compile("correct service"))
    sigmsg = ("The request signature we calculated does not match the signature you provided. "
              "Check your AWS Secret Access Key and signing method. Consult the service "
              "documentation for details.")
    s0 = c.stats()
    expect("bad secret", c.api(cred=Cr(STATIC.akid, "not-the-secret")), 403,
           "InvalidSignatureException", sigmsg)
    expect("body tampered after signing", c.api(send_body=json.dumps(
        {"ProfileIds": ["1" * 32]}).encode()), 403, "InvalidSignatureException", sigmsg)
    expect("path tampered after signing",
           c.api(send_path="/domains/test-domain/segments/high-value/membership"), 403,
           "InvalidSignatureException", sigmsg)
    s1 = c.stats()
    check("signature_rejections counted (3)",
          s1["signature_rejections"] - s0["signature_rejections"] == 3,
          (s0["signature_rejections"], s1["signature_rejections"]))
    check("auth_rejections counted separately", s1["auth_rejections"] >= 7,
          s1["auth_rejections"])
    # host not signed
    h = c.sign("POST", MP, body)
    h["Authorization"] = h["Authorization"].replace("host;", "")
    expect("host not signed", c.req("POST", MP, body, h), 403, "InvalidSignatureException",
           re.compile("Host"))
    # token present but not signed
    h = c.sign("POST", MP, body, cred=STATIC)
    h["X-Amz-Security-Token"] = "zzz"
    expect("token header not signed", c.req("POST", MP, body, h), 403,
           "InvalidSignatureException", re.compile("X-Amz-Security-Token"))
    # Session token rules.
    expect("session creds without token", c.api(cred=SESSION, token=None), 403,
           "UnrecognizedClientException", "The security token included in the request is invalid.")
    expect("session creds, wrong token", c.api(cred=SESSION, token="other-token"), 403,
           "UnrecognizedClientException")
    expect("static creds with a token", c.api(cred=STATIC, token="some-token"), 403,
           "UnrecognizedClientException")
    expect("expired credentials", c.api(cred=EXPIRED), 403, "ExpiredTokenException",
           "The security token included in the request is expired")
    # Clock.
    now = time.time()
    old = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now - 400))
    expect("x-amz-date 400 s old", c.api(ts=old), 403, "InvalidSignatureException",
           re.compile(r"^Signature expired: %s is now earlier than \d{8}T\d{6}Z "
                      r"\(\d{8}T\d{6}Z - 5 min\.\)$" % old))
    fut = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now + 400))
    expect("x-amz-date 400 s ahead", c.api(ts=fut), 403, "InvalidSignatureException",
           re.compile(r"^Signature not yet current: %s is still later than \d{8}T\d{6}Z "
                      r"\(\d{8}T\d{6}Z \+ 5 min\.\)$" % fut))
    ok = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now - 200))
    check("x-amz-date 200 s old accepted", c.api(ts=ok).status == 200)
    r = c.api(path="/mock/skew=600" + MP)
    expect("skew=600 -> signature expired", r, 403, "InvalidSignatureException",
           re.compile(r"^Signature expired: "))
    d = email.utils.parsedate_to_datetime(r.h("date")).timestamp()
    check("Date header follows skew", abs(d - (time.time() + 600)) < 5, d - time.time())
    r = c.api(path="/mock/skew=-600" + MP)
    expect("skew=-600 -> not yet current", r, 403, "InvalidSignatureException",
           re.compile(r"^Signature not yet current: "))
    r = c.api(path="/mock/skew=120" + MP)
    check("skew=120 still accepted", r.status == 200)
    d = email.utils.parsedate_to_datetime(r.h("date")).timestamp()
    check("Date header skewed on success", abs(d - (time.time() + 120)) < 5)
    # Credential scenarios.
    expect("secret=rotated", c.api(path="/mock/secret=rotated" + MP), 403,
           "InvalidSignatureException", sigmsg)
    expect("token=expired (session creds)", c.api(path="/mock/token=expired" + MP, cred=SESSION),
           403, "ExpiredTokenException")
    check("token=expired ignores token-less creds",
          c.api(path="/mock/token=expired" + MP).status == 200)
    expect("token=invalid (session creds)", c.api(path="/mock/token=invalid" + MP, cred=SESSION),
           403, "UnrecognizedClientException")
    # Auth before validation.
    expect("unsigned + invalid body -> auth error first",
           c.req("POST", MP, b"nonsense", {"Content-Type": "text/plain"}), 403,
           "MissingAuthenticationTokenException")
    # Error styles alternate; errstyle forces.
    styles = []
    for _ in range(4):
        r = c.api(cred=Cr("AKIDUNKNOWN000000000", "x"))
        styles.append("header" if r.h("x-amzn-errortype") else "type")
        b = r.json()
        if styles[-1] == "header":
            check("header style: ErrorType value and Message",
                  r.h("x-amzn-errortype") == "UnrecognizedClientException:"
                  "http://internal.amazon.com/coral/com.amazonaws.profile/" and "Message" in b
                  and "__type" not in b)
        else:
            check("__type style: body", b.get("__type") ==
                  "com.amazonaws.profile#UnrecognizedClientException" and "message" in b)
    check("error styles alternate", styles in (["header", "type"] * 2, ["type", "header"] * 2),
          styles)
    check("errstyle=header forces header", all(
        c.api(path="/mock/errstyle=header" + MP, ids=["x"]).h("x-amzn-errortype")
        for _ in range(2)))
    check("errstyle=type forces __type", all(
        "__type" in c.api(path="/mock/errstyle=type" + MP, ids=["x"]).json() for _ in range(2)))
    c.close()


def t_validation(m):
    section("validation and resources")
    c = Client(m)
    c.reset()

    def expect(name, r, status, etype, pat=None):
        t, mm = r.err()
        check(name, r.status == status and t == etype and (pat is None or re.search(pat, mm or "")),
              (r.status, t, mm))

    expect("content-type text/plain", c.api(ctype="text/plain"), 400, "BadRequestException")
    expect("no content-type", c.api(ctype=None), 400, "BadRequestException")
    check("content-type with charset ok", c.api(ctype="application/json; charset=utf-8").status == 200)
    expect("body not JSON", c.api(body=b"{nope"), 400, "BadRequestException")
    expect("body not UTF-8", c.api(body=b'{"ProfileIds":["\xff"]}'), 400, "BadRequestException")
    expect("body array", c.api(body=b"[]"), 400, "BadRequestException")
    expect("ProfileIds missing", c.api(body=b"{}"), 400, "BadRequestException",
           r"^1 validation error detected: Value null at 'profileIds'")
    expect("ProfileIds empty", c.api(ids=[]), 400, "BadRequestException", "greater than or equal to 1")
    expect("101 ids", c.api(ids=ids_of(101, 5)), 400, "BadRequestException",
           "less than or equal to 100")
    expect("ProfileIds not a list", c.api(body=b'{"ProfileIds":"abc"}'), 400, "BadRequestException")
    expect("non-string id", c.api(body=b'{"ProfileIds":[1]}'), 400, "BadRequestException")
    expect("bad id pattern", c.api(ids=["xyz"]), 400, "BadRequestException",
           r"profileIds\.1\.member.*\[a-f0-9\]\{32\}")
    expect("upper-case id", c.api(ids=["A" * 32]), 400, "BadRequestException")
    expect("33-char id", c.api(ids=["a" * 33]), 400, "BadRequestException")
    expect("two bad ids", c.api(ids=["x", "y"]), 400, "BadRequestException",
           r"^2 validation errors detected")
    expect("deeply nested JSON", c.api(body=b'{"ProfileIds":' + b"[" * 100000 + b"]" * 100000 + b"}"),
           400, "BadRequestException")
    expect("bad domain name", c.api(path="/domains/bad.name/segments/high-value/membership"),
           400, "BadRequestException", "domainName")
    expect("65-char domain", c.api(path="/domains/%s/segments/high-value/membership" % ("a" * 65)),
           400, "BadRequestException", "length less than or equal to 64")
    expect("bad segment name", c.api(path="/domains/demo-domain/segments/a%20b/membership"),
           400, "BadRequestException", "segmentDefinitionName")
    expect("empty domain name", c.api(path="/domains//segments/high-value/membership"),
           400, "BadRequestException")
    expect("unknown domain", c.api(path="/domains/nope/segments/high-value/membership"),
           404, "ResourceNotFoundException", "^Domain nope does not exist")
    expect("unknown segment", c.api(path="/domains/demo-domain/segments/nope/membership"),
           404, "ResourceNotFoundException")
    expect("unknown operation path", c.api(path="/domains/demo-domain/segments/high-value/other"),
           404, "UnknownOperationException")
    expect("GET on membership", c.req("GET", MP), 404, "UnknownOperationException")
    expect("POST / with JSON", c.req("POST", "/", b"{}", {"Content-Type": "application/json"}),
           404, "UnknownOperationException")
    expect("GET /nothing", c.get("/nothing/here"), 404, "UnknownOperationException")
    expect("unknown scenario option", c.api(path="/mock/bogus=1" + MP), 400,
           "BadRequestException", "unknown scenario option")
    expect("bad option value", c.api(path="/mock/rate=2/faults=500" + MP), 400,
           "BadRequestException")
    expect("unknown fault kind", c.api(path="/mock/fail=explode" + MP), 400, "BadRequestException")
    s = c.stats()
    check("client_errors counted", s["client_errors"] >= 25, s["client_errors"])
    check("accepted counted", s["accepted"] == 1, s["accepted"])
    c.close()


def t_faults(m):
    section("faults")
    c = Client(m)
    c.reset()
    body_ids = [RICH, "1" * 32, "f" * 32]
    # throttle: every attempt, retry-after on every other one
    r1 = c.api(path="/mock/fail=throttle" + MP, ids=body_ids)
    r2 = c.api(path="/mock/fail=throttle" + MP, ids=body_ids)
    for i, r in enumerate((r1, r2)):
        check("throttle #%d 429 ThrottlingException 'Rate exceeded'" % i,
              r.status == 429 and r.err() == ("ThrottlingException", "Rate exceeded"), r.err())
    check("x-amz-retry-after: 200 on every other throttle",
          r1.h("x-amz-retry-after") == "200" and r2.h("x-amz-retry-after") is None)
    # first=n
    p = "/mock/fail=500/first=2" + MP
    seq = [c.api(path=p, ids=body_ids).status for _ in range(3)]
    check("fail=500/first=2 -> 500,500,200", seq == [500, 500, 200], seq)
    check("different body is a new key", c.api(path=p, ids=[RICH]).status == 500)
    r = c.api(path="/mock/fail=500" + MP, ids=body_ids)
    check("500 is JSON InternalServerException", r.status == 500 and
          r.err()[0] == "InternalServerException" and r.h("content-type") == "application/json")
    for k in ("502", "503", "504"):
        r = c.api(path="/mock/fail=%s" % k + MP, ids=body_ids)
        check("%s HTML body" % k, r.status == int(k) and r.h("content-type") == "text/html"
              and r.body.startswith(b"<html>"), (r.status, r.body[:80]))
    check("503 says Service Unavailable",
          b"Service Unavailable" in c.api(path="/mock/fail=503" + MP).body)
    # reset
    try:
        c.api(path="/mock/fail=reset" + MP, ids=body_ids)
        check("reset -> connection reset", False, "got a response")
    except ConnectionResetError:
        check("reset -> connection reset (RST)", True)
    except Exception as e:
        check("reset -> connection reset (RST)", False, repr(e))
    c.close()
    p = "/mock/fail=reset/first=1" + MP
    try:
        c.api(path=p, ids=body_ids)
    except OSError:
        pass
    c.close()
    check("reset first=1 then OK", c.api(path=p, ids=body_ids).status == 200)
    # truncate
    h = c.sign("POST", "/mock/fail=truncate" + MP, json.dumps({"ProfileIds": body_ids}).encode())
    c.close()
    c.connect()
    c.conn.request("POST", "/mock/fail=truncate" + MP,
                   json.dumps({"ProfileIds": body_ids}).encode(), h)
    resp = c.conn.getresponse()
    try:
        resp.read()
        check("truncate -> IncompleteRead", False)
    except http.client.IncompleteRead as e:
        check("truncate -> 200 + IncompleteRead", resp.status == 200 and
              e.expected > 0 and len(e.partial) > 0, (len(e.partial), e.expected))
    c.close()
    # garbage (two flavours)
    for i in range(2):
        r = c.api(path="/mock/fail=garbage" + MP, ids=body_ids)
        try:
            json.loads(r.body)
            check("garbage #%d not JSON" % i, False)
        except ValueError:
            check("garbage #%d: 200 application/json, not JSON" % i,
                  r.status == 200 and r.h("content-type") == "application/json")
    # delay
    r = c.api(path="/mock/fail=delay/delay=300" + MP, ids=body_ids)
    check("delay=300 answered normally after >=0.3 s", r.status == 200 and r.elapsed >= 0.3,
          r.elapsed)
    check_reply("delay reply valid", r, "high-value", body_ids)
    # latency
    r = c.api(path="/mock/latency=150" + MP, ids=body_ids)
    check("latency=150", r.status == 200 and 0.15 <= r.elapsed < 1.0, r.elapsed)
    # hang
    hc = Client(m, timeout=0.7)
    t0 = time.time()
    try:
        hc.api(path="/mock/fail=hang" + MP, ids=body_ids)
        check("hang -> client timeout", False)
    except (socket.timeout, TimeoutError):
        check("hang -> client timeout", time.time() - t0 >= 0.6)
    hc.close()
    # the connection-level faults over TLS
    tc = Client(m, tls=True, timeout=0.7)
    try:
        tc.api(path="/mock/fail=reset" + MP, ids=body_ids)
        check("https reset -> connection reset", False, "got a response")
    except (ConnectionResetError, ssl.SSLError) as e:
        check("https reset -> connection reset", True)
    except Exception as e:
        check("https reset -> connection reset", False, repr(e))
    tc.close()
    try:
        tc.api(path="/mock/fail=truncate" + MP, ids=body_ids)
        check("https truncate -> incomplete read", False)
    except (http.client.IncompleteRead, ssl.SSLError) as e:
        check("https truncate -> incomplete read", True)
    tc.close()
    try:
        tc.api(path="/mock/fail=hang" + MP, ids=body_ids)
        check("https hang -> timeout", False)
    except (socket.timeout, TimeoutError):
        check("https hang -> timeout", True)
    tc.close()
    tc = Client(m, tls=True)
    check("https still fine after faults", tc.api(ids=body_ids).status == 200)
    tc.close()
    # random faults
    c.reset()
    rs = [c.api(path="/mock/rate=1/faults=502.503" + MP, ids=body_ids).status for _ in range(10)]
    check("rate=1 faults=502.503: all faulted", set(rs) <= {502, 503} and len(set(rs)) == 2, rs)
    rs = [c.api(path="/mock/rate=0/faults=500" + MP, ids=body_ids).status for _ in range(5)]
    check("rate=0: none faulted", rs == [200] * 5, rs)
    p = "/mock/rate=0.5/faults=500.throttle/seed=42" + MP
    a = [c.api(path=p, ids=body_ids).status for _ in range(20)]
    c.reset()
    b = [c.api(path=p, ids=body_ids).status for _ in range(20)]
    check("random faults reproducible per seed after reset", a == b, (a, b))
    check("rate=0.5 mixes faults and successes", {200, 500, 429} == set(a), a)
    p2 = "/mock/rate=0.5/faults=500.throttle/seed=43" + MP
    d = [c.api(path=p2, ids=body_ids).status for _ in range(20)]
    check("different seed, different sequence", d != a)
    s = c.stats()
    check("faults counted", s["faults"].get("500", 0) + s["faults"].get("throttle", 0) ==
          sum(1 for x in a + d if x != 200), s["faults"])
    # Everything counted overall.
    c.close()


def t_variants(m):
    section("reply variants")
    c = Client(m)
    c.reset()
    asked = [RICH, "0a" * 16, "1" * 32, "2b" * 16, "f" * 32, "fe" * 16, "9" * 32]

    def get(v, extra="", ids=asked):
        return c.api(path="/mock/reply=%s%s" % (v, extra) + MP, ids=ids)

    def all_entries(j):
        return j.get("Profiles", []) + j.get("Failures", [])

    j = get("unknown-result").json()
    check("unknown-result: a MAYBE", any(e.get("QueryResult") == "MAYBE" for e in j["Profiles"]))
    j = get("extra-id").json()
    check("extra-id: an id not asked", any(e["ProfileId"] not in asked for e in all_entries(j)))
    j = get("duplicate").json()
    idl = [e["ProfileId"] for e in all_entries(j)]
    check("duplicate: an id twice", len(idl) != len(set(idl)))
    j = get("both").json()
    check("both: an id in Profiles and Failures",
          set(e["ProfileId"] for e in j["Profiles"]) & set(e["ProfileId"] for e in j["Failures"]))
    j = get("wrong-type").json()
    check("wrong-type: a numeric ProfileId",
          any(isinstance(e["ProfileId"], int) for e in all_entries(j)))
    j = get("not-object").json()
    check("not-object: JSON array", isinstance(j, list))
    j = get("profiles-not-array").json()
    check("profiles-not-array: Profiles is {}", j["Profiles"] == {})
    r = get("null-byte")
    check("null-byte: \\u0000 in a Profile string", b"\\u0000" in r.body and
          any("\x00" in str(v) for e in r.json()["Profiles"]
              for v in e.get("Profile", {}).values()))
    r = get("bad-utf8")
    try:
        r.body.decode("utf-8")
        check("bad-utf8: invalid UTF-8", False)
    except UnicodeDecodeError:
        check("bad-utf8: invalid UTF-8 in a string", r.status == 200)
    r = get("huge", "/size=2000000")
    check("huge: exact size, Content-Length", len(r.body) == 2000000 and
          r.h("content-length") == "2000000", len(r.body))
    try:
        j = r.json()
        check("huge: valid JSON", any(len(json.dumps(e)) > 1000000 for e in j["Profiles"]))
    except ValueError as e:
        check("huge: valid JSON", False, e)
    r = get("huge", "/size=100")
    check("huge with tiny size still valid JSON", r.status == 200 and r.json() is not None)
    j = get("omit").json()
    got = set(e["ProfileId"] for e in all_entries(j))
    check("omit: ids starting with 0 left out, others answered",
          got == set(p for p in asked if p[0] != "0"), got)
    check("empty: {}", get("empty").body == b"{}")
    j = get("bad-status").json()
    check("bad-status: Status 'abc'", any(f.get("Status") == "abc" for f in j["Failures"]))
    j = get("bad-status", ids=[RICH]).json()
    check("bad-status with no failures", any(f.get("Status") == "abc" for f in j["Failures"]))
    j = get("bad-time").json()
    check("bad-time: LastComputedAt string", isinstance(j["LastComputedAt"], str))
    j = get("null-byte", ids=["f" * 32]).json()
    check("variant victim forced present", j["Profiles"])
    s = c.stats()
    check("replies counted", s["replies"].get("huge") == 2 and s["replies"].get("empty") == 1
          and s["accepted"] == 0, s["replies"])
    # Fault wins over variant.
    r = c.api(path="/mock/fail=500/reply=empty" + MP, ids=asked)
    check("fault before variant", r.status == 500)
    # Big default (64 MiB) streamed.
    r = c.api(path="/mock/reply=huge" + MP, ids=[RICH])
    check("huge default 64 MiB", len(r.body) == 64 * 1024 * 1024, len(r.body))
    c.close()


def t_control(m):
    section("control routes")
    c = Client(m)
    s = c.stats()
    keys = ["requests", "accepted", "signature_rejections", "auth_rejections", "client_errors",
            "faults", "replies", "connections", "max_in_flight", "ids_answered", "by_source",
            "issued", "credential_requests"]
    check("stats has all keys", all(k in s for k in keys), [k for k in keys if k not in s])
    check("connections per listener and total",
          set(s["connections"]) == {"http", "https", "total"})
    c.reset()
    c.api(ids=[RICH, RICH, "1" * 32, "f" * 32])
    s = c.stats()
    check("ids_answered counts distinct ids", s["ids_answered"] == 3, s["ids_answered"])
    check("by_source", s["by_source"] == {"static": 1}, s["by_source"])
    check("requests", s["requests"] == 1 and s["accepted"] == 1)
    r = c.reset()
    s = c.stats()
    check("reset zeroes", r.status == 200 and s["requests"] == 0 and s["accepted"] == 0 and
          s["faults"] == {} and s["by_source"] == {} and s["connections"]["total"] == 0)
    cfg = c.post_json("/_mock/config", {"cred_lifetime": 1234})
    check("config merge", cfg.status == 200 and cfg.json()["cred_lifetime"] == 1234 and
          cfg.json()["web_identity_token"] == "mock-web-identity-token")
    check("config GET", c.get("/_mock/config").json()["cred_lifetime"] == 1234)
    check("config rejects unknown key", c.post_json("/_mock/config", {"nope": 1}).status == 400)
    check("config rejects bad down", c.post_json("/_mock/config", {"down": ["x"]}).status == 400)
    check("config rejects bad JSON", c.req("POST", "/_mock/config", b"{").status == 400)
    c.post_json("/_mock/config", {"cred_lifetime": 3600})
    check("unknown control route 404", c.get("/_mock/nothing").status == 404)
    extra = Cr("AKIDADDEDATRUNTIME01", "added-secret")
    r = c.post_json("/_mock/credentials", [{"access_key_id": extra.akid,
                                            "secret_access_key": extra.secret,
                                            "source": "runtime"}])
    check("credentials added at runtime", r.status == 200 and c.api(cred=extra).status == 200)
    check("runtime source label", c.stats()["by_source"].get("runtime") == 1)
    check("bad credentials list rejected",
          c.post_json("/_mock/credentials", [{"access_key_id": 1}]).status == 400)
    c.close()


def t_quota(m):
    section("request quota, send rate, runtime latency")
    c = Client(m)
    c.reset()
    r = c.post_json("/_mock/config", {"quota_rps": 20, "quota_burst": 5})
    check("quota config accepted", r.status == 200 and r.json()["quota_rps"] == 20, r.body[:200])
    check("quota_rps must be a number", c.post_json("/_mock/config", {"quota_rps": "x"})
          .status == 400)
    check("quota_burst >= 1", c.post_json("/_mock/config", {"quota_burst": 0}).status == 400)
    out = []
    lock = threading.Lock()

    def fire(n):
        cc = Client(m)
        for _ in range(n):
            rr = cc.api(ids=["1" * 32])
            with lock:
                out.append((time.monotonic(), rr.status, rr.err()[0] if rr.status != 200 else None))
            time.sleep(0.06)  # 4 senders: ~65 requests/s for ~1.5 s
        cc.close()

    t0 = time.monotonic()
    ts = [threading.Thread(target=fire, args=(25,)) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    el = time.monotonic() - t0
    ok = sum(1 for x in out if x[1] == 200)
    thr = [x for x in out if x[1] == 429]
    check("over-quota requests get 429 ThrottlingException",
          thr and all(x[2] == "ThrottlingException" for x in thr), out[:5])
    check("only 429 or 200", ok + len(thr) == 100, [x[1] for x in out if x[1] not in (200, 429)])
    # burst 5 + 20/s over the elapsed time (+1 for timing slack)
    check("admitted = burst + rate x time (%d in %.2fs)" % (ok, el),
          el > 1.2 and ok <= 5 + 20 * el + 1 and ok >= 5 + 20 * el - 3, (ok, el))
    s = c.stats()
    check("quota counters", s["quota"]["admitted"] == ok and s["quota"]["throttled"] == len(thr)
          and s["quota"]["rps"] == 20 and s["quota"]["burst"] == 5, s["quota"])
    check("requests count throttled ones too", s["requests"] >= 100, s["requests"])
    check("send_rate max_1s = arrivals, not admissions", 40 <= s["send_rate"]["max_1s"] <= 100,
          s["send_rate"])
    # a 429 body has the AWS shape in either error style
    r = c.api(path="/mock/errstyle=type" + MP, ids=["1" * 32])
    while r.status == 200:
        r = c.api(path="/mock/errstyle=type" + MP, ids=["1" * 32])
    check("429 body __type ThrottlingException", r.status == 429 and
          r.json().get("__type") == "com.amazonaws.profile#ThrottlingException" and
          r.json().get("message") == "Rate exceeded", r.body)
    r = c.api(path="/mock/errstyle=header" + MP, ids=["1" * 32])
    while r.status == 200:
        r = c.api(path="/mock/errstyle=header" + MP, ids=["1" * 32])
    check("429 header x-amzn-ErrorType ThrottlingException", r.status == 429 and
          (r.h("x-amzn-errortype") or "").startswith("ThrottlingException:http://internal."),
          r.headers)
    # the bucket refills: after 0.3 s at 20/s there are >= 5 tokens again
    time.sleep(0.3)
    check("bucket refills", c.api(ids=["1" * 32]).status == 200)
    time.sleep(1.1)
    s = c.stats()
    check("per_second history has complete seconds", s["send_rate"]["per_second"] and
          all(len(e) == 3 and e[1] >= e[2] for e in s["send_rate"]["per_second"]) and
          sum(e[2] for e in s["send_rate"]["per_second"]) >= 1, s["send_rate"]["per_second"])
    c.post_json("/_mock/config", {"quota_rps": 0, "quota_burst": None})
    check("quota off", all(c.api(ids=["1" * 32]).status == 200 for _ in range(30)))
    # runtime default latency
    c.post_json("/_mock/config", {"latency_ms": 60})
    r = c.api(ids=["1" * 32])
    check("config latency_ms applies", r.status == 200 and r.elapsed >= 0.06, r.elapsed)
    r = c.api(path="/mock/latency=0" + MP, ids=["1" * 32])
    check("path latency= overrides latency_ms", r.elapsed < 0.05, r.elapsed)
    check("latency_ms range checked", c.post_json("/_mock/config", {"latency_ms": -1}).status == 400)
    c.post_json("/_mock/config", {"latency_ms": None})
    r = c.api(ids=["1" * 32])
    check("latency_ms null -> --latency-ms default", r.elapsed < 0.05, r.elapsed)
    c.reset()
    check("reset zeroes quota counters", c.stats()["quota"]["throttled"] == 0)
    c.close()


def hostile_interpret(status, body, asked):
    """A strict reading of a GetSegmentMembership reply, independent of the
    mock: ("invalid", why) or ("ok", {id: answer}).  Unknown members are
    ignored; null means absent.  answer: ("PRESENT"|"ABSENT", canonical
    Profile or None) or ("FAIL", Status)."""
    import decimal
    if status != 200:
        return "invalid", "status %d" % status
    try:
        text = body.decode("utf-8")  # strict: no surrogates, no bad bytes
    except UnicodeDecodeError as e:
        return "invalid", "utf-8: %s" % e
    nested = ',"Nested":' + "[" * 100000 + "]" * 100000
    text = text.replace(nested, "")
    try:
        j = json.loads(text, parse_float=decimal.Decimal, parse_int=decimal.Decimal)
    except (ValueError, RecursionError) as e:
        return "invalid", "json: %s" % str(e)[:80]
    if not isinstance(j, dict):
        return "invalid", "not an object"
    asked = set(asked)
    out = {}

    def claim(e):
        pid = e.get("ProfileId") if isinstance(e, dict) else None
        if not isinstance(pid, str):
            return None, "no ProfileId string"
        if pid not in asked:
            return None, "unasked id"
        if pid in out:
            return None, "id twice"
        return pid, None

    profs = j.get("Profiles")
    if profs is not None:
        if not isinstance(profs, list):
            return "invalid", "Profiles not an array"
        for e in profs:
            if not isinstance(e, dict):
                return "invalid", "Profiles member not an object"
            pid, why = claim(e)
            if why:
                return "invalid", why
            qr = e.get("QueryResult")
            if qr not in ("PRESENT", "ABSENT"):
                return "invalid", "QueryResult"
            p = e.get("Profile")
            if p is not None and not isinstance(p, dict):
                return "invalid", "Profile not an object"
            try:
                out[pid] = (qr, None if p is None else hashlib.sha256(
                    mock_aws.canon_value(p).encode()).hexdigest())
            except RecursionError:
                out[pid] = (qr, "deep")
    fails = j.get("Failures")
    if fails is not None:
        if not isinstance(fails, list):
            return "invalid", "Failures not an array"
        for e in fails:
            if not isinstance(e, dict):
                return "invalid", "Failures member not an object"
            pid, why = claim(e)
            if why:
                return "invalid", why
            msg = e.get("Message")
            if msg is not None and not isinstance(msg, str):
                return "invalid", "Message"
            st = e.get("Status")
            if st is not None and (isinstance(st, bool) or not isinstance(st, decimal.Decimal)
                                   or st != st.to_integral_value()
                                   or not -2**31 <= st < 2**31):
                return "invalid", "Status"
            out[pid] = ("FAIL", st)
    lca = j.get("LastComputedAt")
    if lca is not None and (isinstance(lca, bool) or not isinstance(lca, decimal.Decimal)
                            or not 0 <= lca <= 32503680000):
        return "invalid", "LastComputedAt"
    return "ok", out


def hostile_label_problems(status, body, uniq, muts, valued, want):
    """What is wrong with the labels of one mutated reply (empty: nothing).
    want: the unmutated answers (hostile_interpret of the normal reply)."""
    out = []
    classes = {mu["class"] for mu in muts}
    verdict, got = hostile_interpret(status, body, uniq)
    if "invalid" in classes:
        return [] if verdict == "invalid" else [("labelled invalid but reads fine", muts)]
    if verdict != "ok" and "recursion" in str(got) and None in valued.values():
        return []  # a value too deep for any JSON reader here (sha null)
    if verdict != "ok":
        return [("labelled usable but " + str(got), muts)]
    omitted = {mu["id"] for mu in muts if mu["class"] == "omit"}
    for pid in uniq:
        if pid in omitted:
            if pid in got:
                out.append(("omitted id answered", pid))
        elif pid not in got:
            out.append(("id missing without omit label", pid))
        elif pid in valued:
            if got[pid][0] != want[pid][0] or got[pid][1] != valued[pid]:
                out.append(("value label wrong", pid, got[pid], valued[pid]))
        elif got[pid][0] != want[pid][0] or (got[pid][0] != "FAIL" and
                                             got[pid][1] != want[pid][1]):
            out.append(("unlabelled change", pid, got[pid][0], want[pid][0], muts))
    return out


def t_hostile_offline():
    """HostileReply without the server: many random combinations of kinds
    (the combinations the HTTP test cannot afford), every label checked."""
    section("hostile replies: label check of random combinations")
    ids = ids_of(40, 81) + ["f" + x[1:] for x in ids_of(8, 82)]
    problems = []
    errors = []
    for n in range(500):
        r = random.Random(n)
        seg = r.choice(sorted(LCA))
        asked = list(dict.fromkeys(r.sample(ids, r.randint(1, 20))))
        kinds = list(dict.fromkeys(r.choice(mock_aws.HOSTILE_KINDS)
                                   for _ in range(r.randint(1, 3))))
        hr = mock_aws.HostileReply(random.Random(n), seg, asked, "rid")
        try:
            for k in sorted(kinds, key=mock_aws.HostileReply.ORDER.get):
                hr.apply(k)
            body = hr.render()
            hashes = hr.profile_hashes()
        except Exception as e:
            errors.append((n, kinds, repr(e)))
            continue
        if hr.conn_cut:
            continue
        want = hostile_interpret(200, mock_aws.normal_body(seg, asked), asked)[1]
        problems += [(n, kinds) + x for x in hostile_label_problems(
            hr.status, body, asked, hr.muts, hashes, want)]
    check("500 random combinations: no exception", not errors, errors[:3])
    check("500 random combinations: every label true", not problems, problems[:3])


def t_hostile_pairs():
    """Every ordered pair of kinds on a one-id and a three-id request, for a
    fixed set of sub-seeds: a later mutation must not leave an earlier label
    that is no longer true (a bad-utf8 "invalid" label whose bytes a
    profile-type-swap replaced made t_hostile.sh count a correct answer row
    as a defect).  ~15 s."""
    section("hostile replies: label check of every ordered pair of kinds")
    asked_sets = (["df14f4605c86c5044f6a73f602229a88"],
                  ids_of(2, 83) + ["f" + ids_of(1, 84)[0][1:]])
    problems = []
    errors = []
    for a in mock_aws.HOSTILE_KINDS:
        for b in mock_aws.HOSTILE_KINDS:
            if a == b:
                continue
            # huge-string costs ~0.1 s a reply: a few sub-seeds for it
            seeds = 2 if "huge-string" in (a, b) else 100
            for asked in asked_sets:
                for n in range(seeds):
                    hr = mock_aws.HostileReply(random.Random(n), "everyone", asked, "rid")
                    try:
                        for k in sorted((a, b), key=mock_aws.HostileReply.ORDER.get):
                            hr.apply(k)
                        body = hr.render()
                        hashes = hr.profile_hashes()
                    except Exception as e:
                        errors.append((n, a, b, repr(e)))
                        continue
                    if hr.conn_cut:
                        continue
                    want = hostile_interpret(200, mock_aws.normal_body("everyone", asked),
                                             asked)[1]
                    problems += [(n, a, b, len(asked)) + x for x in hostile_label_problems(
                        hr.status, body, asked, hr.muts, hashes, want)]
    check("every ordered pair of kinds: no exception", not errors, errors[:3])
    check("every ordered pair of kinds: every label true", not problems, problems[:3])


def t_hostile(m):
    section("hostile replies")
    c = Client(m)
    c.reset()
    check("hostile config rejects bad rate",
          c.post_json("/_mock/config", {"hostile": {"rate": 2}}).status == 400)
    check("hostile config rejects unknown kind",
          c.post_json("/_mock/config", {"hostile": {"kinds": ["nope"]}}).status == 400)
    r = c.api(path="/mock/hseed=3" + MP)
    check("hseed= without hostile= -> 400", r.status == 400, r.body[:200])
    r = c.api(path="/mock/hostile=1/hkinds=nope" + MP)
    check("unknown hkinds -> 400", r.status == 400)
    since = c.stats()["hostile"]["last_seq"]
    ids = ids_of(40, 77) + ["f" + x[1:] for x in ids_of(8, 78)] + [RICH]
    segs = ["high-value", "everyone", "nobody", "churn_risk"]
    unmut = {}
    bad_labels = []
    seen_kinds = {}
    # each kind alone, then 1 to 3 kinds at once (labels must hold together)
    for kind, count in [(k, 20) for k in mock_aws.HOSTILE_KINDS] + [("all", 120)]:
        for i in range(count):
            seg = segs[i % 4]
            asked = ids[i % 40:i % 40 + 1 + (i * 7) % 40] + ([ids[40 + i % 8]] if i % 3 else [])
            path = "/mock/hostile=1/hseed=%d/%sdomains/demo-domain/segments/%s/membership" \
                % (i, "" if kind == "all" else "hkinds=%s/" % kind, seg)
            try:
                r = c.api(path=path, ids=asked)
                status, body, hdrs = r.status, r.body, r.headers
            except http.client.IncompleteRead:
                c.close()
                status, body, hdrs = None, None, {}
            e = c.get("/_mock/hostile-log?since=%d" % since).json()["entries"]
            if not check("hostile %s #%d logged once" % (kind, i), len(e) == 1, len(e)):
                since = c.stats()["hostile"]["last_seq"]
                continue
            e = e[0]
            since = e["seq"]
            uniq = list(dict.fromkeys(asked))
            check("hostile %s #%d: kinds, ids, rid" % (kind, i), (
                e["kinds"] == [kind] if kind != "all" else
                1 <= len(e["kinds"]) <= 3 and len(set(e["kinds"])) == len(e["kinds"]))
                and e["ids"] == uniq and e["segment"] == seg, e)
            for mu in e["mut"]:
                seen_kinds.setdefault(mu["kind"], set()).add(mu["class"])
            classes = {mu["class"] for mu in e["mut"]}
            # unmutated answers, from the mock's own normal reply
            key = (seg, tuple(uniq))
            if key not in unmut:
                rr = c.api(path="/domains/demo-domain/segments/%s/membership" % seg, ids=asked)
                unmut[key] = hostile_interpret(rr.status, rr.body, uniq)[1]
            want = unmut[key]
            if status is None:
                check("hostile %s #%d: cut connection labelled invalid" % (kind, i),
                      "invalid" in classes and "truncate-conn" in e["kinds"], e)
                continue
            if kind == "hostile-headers":
                rq = hdrs.get("x-amzn-requestid", "")
                check("hostile-headers #%d: request id is hostile" % i,
                      len(rq) > 4000 or re.search(r"[\x00-\x1f\x7f-\x9f\xe9]", rq), rq[:80])
            if kind == "content-type":
                check("content-type #%d: not application/json" % i,
                      hdrs.get("content-type") != "application/json", hdrs.get("content-type"))
            if kind == "error-500":
                check("error-500 #%d: 5xx with x-amzn-ErrorType" % i, status in (500, 503) and
                      hdrs.get("x-amzn-errortype", "").split(":")[0] in (
                          "InternalServerException", "ServiceUnavailableException"), status)
            bad_labels += [(kind, i) + x for x in hostile_label_problems(
                status, body, uniq, e["mut"], e.get("profile_sha256", {}), want)]
    check("every mutation's label matches what was sent", not bad_labels, bad_labels[:3])
    check("every kind applied", set(seen_kinds) == set(mock_aws.HOSTILE_KINDS),
          set(mock_aws.HOSTILE_KINDS) - set(seen_kinds))
    allc = set().union(*seen_kinds.values()) if seen_kinds else set()
    check("all four classes seen", allc >= {"invalid", "transparent", "value", "omit"}, allc)
    # rate, determinism, config-driven mode, log file, counters
    c.reset()
    c.post_json("/_mock/config", {"hostile": {"rate": 0.3, "seed": 5}})
    seq1 = []
    for i in range(150):
        try:
            c.api(ids=ids[:5])
        except http.client.IncompleteRead:
            c.close()
    ents = c.get("/_mock/hostile-log?since=0&limit=1000").json()["entries"]
    seq1 = [x["kinds"] for x in ents]
    frac = sum(1 for k in seq1 if k) / max(1, len(seq1))
    check("config hostile rate 0.3 (got %.2f)" % frac, len(seq1) == 150 and 0.18 < frac < 0.42,
          (len(seq1), frac))
    c.reset()
    for i in range(150):
        try:
            c.api(ids=ids[:5])
        except http.client.IncompleteRead:
            c.close()
    st = c.stats()
    seq2 = [x["kinds"] for x in c.get("/_mock/hostile-log?since=%d" % (
        st["hostile"]["last_seq"] - 150)).json()["entries"]]
    check("same seed, same mutations after reset", seq1 == seq2)
    check("hostile stats", st["hostile"]["requests"] == 150 and
          st["hostile"]["mutated"] == sum(1 for k in seq2 if k) and
          sum(st["hostile"]["kinds"].values()) == sum(len(k) for k in seq2), st["hostile"])
    r = c.get("/_mock/hostile-log?since=%d&limit=2" % (st["hostile"]["last_seq"] - 10))
    check("hostile-log limit", len(r.json()["entries"]) == 2)
    c.post_json("/_mock/config", {"hostile": None})
    check("hostile off", c.api(ids=ids[:5]).status == 200 and
          c.stats()["hostile"]["requests"] == 150)
    with open(os.path.join(m.dir, "hostile.jsonl")) as f:
        lines = [json.loads(x) for x in f]
    check("hostile.jsonl has every entry", len(lines) >= 20 * len(mock_aws.HOSTILE_KINDS) + 420
          and lines[-1]["seq"] == st["hostile"]["last_seq"], len(lines))
    c.close()


def t_hostile_creds(m):
    section("hostile credential endpoints, signature echo, expiry waves")
    c = Client(m)
    c.reset()
    T = "/latest/api/token"
    base = "/latest/meta-data/iam/security-credentials/mock-instance-role"
    P = "/container/credentials"
    AUTH = {"Authorization": "mock-container-token"}
    check("cred_mode rejects unknown mode",
          c.post_json("/_mock/config", {"cred_mode": {"imds": "nope"}}).status == 400)
    check("cred_mode rejects unknown source",
          c.post_json("/_mock/config", {"cred_mode": {"ecs": "normal"}}).status == 400)
    check("api-token-ctl is imds only",
          c.post_json("/_mock/config", {"cred_mode": {"container": "api-token-ctl"}}).status == 400)

    def imds():
        tok = c.req("PUT", T, b"", {"X-aws-ec2-metadata-token-ttl-seconds": "60"}).body.decode()
        return c.get(base, {"X-aws-ec2-metadata-token": tok})

    def container():
        return c.get(P, AUTH)

    now = time.time()
    for name, fetch in (("imds", imds), ("container", container)):
        c.post_json("/_mock/config", {"cred_mode": {name: "expired"}})
        j = fetch().json()
        exp = datetime.datetime.strptime(j["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        check("%s expired: Expiration in the past" % name, exp < now - 60, j["Expiration"])
        r = c.api(cred=Cr(j["AccessKeyId"], j["SecretAccessKey"], j["Token"]))
        check("%s expired: credentials refused (ExpiredTokenException)" % name,
              r.err()[0] == "ExpiredTokenException", r.err())
        c.post_json("/_mock/config", {"cred_mode": {name: "no-expiration"}})
        r = fetch()
        j = r.json()
        check("%s no-expiration: no Expiration member, credentials work" % name,
              r.status == 200 and "Expiration" not in j and
              c.api(cred=Cr(j["AccessKeyId"], j["SecretAccessKey"], j["Token"])).status == 200, j)
        c.post_json("/_mock/config", {"cred_mode": {name: "expiration-null"}})
        j = fetch().json()
        check("%s expiration-null" % name, "Expiration" in j and j["Expiration"] is None)
        c.post_json("/_mock/config", {"cred_mode": {name: "expiration-number"}})
        j = fetch().json()
        check("%s expiration-number" % name, isinstance(j["Expiration"], int) and
              abs(j["Expiration"] - now - 3600) < 60, j["Expiration"])
        for odd, pat in (("short-offset", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+1:0"),
                         ("big-offset", r".*T\d\d:\d\d:\d\d\+99:99"),
                         ("feb31", r"\d{4}-02-31T\d\d:\d\d:\d\dZ"),
                         ("negative-field", r"\d{4}-12--1T.*Z"),
                         ("negative-hour", r".*T-1:00:00Z"),
                         ("no-zone", r".*T\d\d:\d\d:\d\d"),
                         ("short-date", r"\d{4}-1-1T.*Z"),
                         ("trailing-junk", r".*Z\x00junk")):
            c.post_json("/_mock/config", {"cred_mode": {name: "odd:" + odd}})
            j = fetch().json()
            check("%s odd:%s Expiration %r" % (name, odd, j.get("Expiration")),
                  isinstance(j.get("Expiration"), str) and re.fullmatch(pat, j["Expiration"]))
        c.post_json("/_mock/config", {"cred_mode": {name: "expiration:2030-01-01T00:00:00+00:00"}})
        check("%s expiration:<text> verbatim" % name,
              fetch().json()["Expiration"] == "2030-01-01T00:00:00+00:00")
        c.post_json("/_mock/config", {"cred_mode": {name: "token-ctl"}})
        j = fetch().json()
        check("%s token-ctl: control characters, no CR/LF" % name,
              re.search(r"[\x01\x1b\x7f\x0b\x1f]", j["Token"]) and "\r" not in j["Token"]
              and "\n" not in j["Token"], repr(j["Token"][:60]))
        c.post_json("/_mock/config", {"cred_mode": {name: "normal"}})
        j = fetch().json()
        check("%s back to normal" % name, re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                                                       j["Expiration"]) and
              re.fullmatch(r"[A-Za-z0-9_-]+", j["Token"]))
    c.post_json("/_mock/config", {"cred_mode": {"imds": "api-token-ctl"}})
    r = c.req("PUT", T, b"", {"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    tok = r.body.decode()
    check("imds api-token-ctl: session token with control characters",
          re.search(r"[\x01\x1b\x7f]", tok) and "\r" not in tok and "\n" not in tok, repr(tok))
    check("imds api-token-ctl: the token works when sent back as is",
          c.get(base, {"X-aws-ec2-metadata-token": tok}).status == 200)
    c.post_json("/_mock/config", {"cred_mode": {"imds": "normal"}})

    # STS: Expiration modes and echoed secrets
    ns = "{https://sts.amazonaws.com/doc/2011-06-15/}"
    wi = {"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
          "RoleArn": "arn:aws:iam::123456789012:role/webrole", "RoleSessionName": "sess1",
          "WebIdentityToken": "mock-web-identity-token"}
    ar = {"Action": "AssumeRole", "Version": "2011-06-15",
          "RoleArn": "arn:aws:iam::210987654321:role/target", "RoleSessionName": "s2"}

    def sts_exp(r):
        x = ET.fromstring(r.body)
        return x.find(ns + "AssumeRoleResult").find(ns + "Credentials").find(ns + "Expiration")

    c.post_json("/_mock/config", {"cred_mode": {"sts": "expired"}})
    e = sts_exp(c.sts(ar, signed_by=STATIC))
    check("sts expired: Expiration in the past", e is not None and
          datetime.datetime.strptime(e.text, "%Y-%m-%dT%H:%M:%SZ").replace(
              tzinfo=datetime.timezone.utc).timestamp() < time.time() - 60, e.text)
    c.post_json("/_mock/config", {"cred_mode": {"sts": "no-expiration"}})
    check("sts no-expiration: no Expiration element", sts_exp(c.sts(ar, signed_by=STATIC)) is None)
    c.post_json("/_mock/config", {"cred_mode": {"sts": "odd:big-offset"}})
    check("sts odd:big-offset", sts_exp(c.sts(ar, signed_by=STATIC)).text.endswith("+99:99"))
    c.post_json("/_mock/config", {"cred_mode": {"sts": "normal"}})

    def sts_msg(r):
        x = ET.fromstring(r.body)
        e = x.find(ns + "Error")
        return e.find(ns + "Code").text, e.find(ns + "Message").text or ""

    check("sts_echo rejects unknown mode",
          c.post_json("/_mock/config", {"sts_echo": "x"}).status == 400)
    c.post_json("/_mock/config", {"sts_echo": "session-token"})
    r = c.sts(ar, signed_by=SESSION)
    code, msg = sts_msg(r)
    check("sts_echo session-token quotes the session token", r.status == 403 and
          code == "InvalidClientTokenId" and SESSION.token in msg, msg)
    c.post_json("/_mock/config", {"sts_echo": "web-identity-token"})
    code, msg = sts_msg(c.sts(wi))
    check("sts_echo web-identity-token quotes the JWT", code == "InvalidIdentityToken" and
          "mock-web-identity-token" in msg, msg)
    c.post_json("/_mock/config", {"sts_echo": "authorization"})
    code, msg = sts_msg(c.sts(ar, signed_by=SESSION))
    check("sts_echo authorization quotes the Authorization header",
          "AWS4-HMAC-SHA256 Credential=" + SESSION.akid in msg and "Signature=" in msg, msg)
    c.post_json("/_mock/config", {"sts_echo": "canonical-request"})
    code, msg = sts_msg(c.sts(ar, signed_by=SESSION))
    check("sts_echo canonical-request quotes the canonical request with the token",
          code == "SignatureDoesNotMatch" and "x-amz-security-token:" + SESSION.token in msg and
          "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n" in msg, msg)
    c.post_json("/_mock/config", {"sts_echo": "all"})
    code, msg = sts_msg(c.sts(dict(ar, WebIdentityToken="jwt-in-body"), signed_by=SESSION))
    check("sts_echo all", SESSION.token in msg and "jwt-in-body" in msg and
          "Credential=" in msg, msg)
    c.post_json("/_mock/config", {"sts_echo": None})
    check("sts_echo off", c.sts(ar, signed_by=SESSION).status == 200)

    # Customer Profiles: InvalidSignatureException quoting the canonical request
    def body_hash(ids):
        return hashlib.sha256(json.dumps({"ProfileIds": ids}).encode()).hexdigest()

    r = c.api(path="/mock/secret=rotated/sigecho=on" + MP, cred=SESSION, ids=[RICH])
    t, msg = r.err()
    check("sigecho=on: InvalidSignatureException quotes canonical request and string to sign",
          r.status == 403 and t == "InvalidSignatureException" and
          msg.startswith("The request signature we calculated does not match") and
          "The Canonical String for this request should have been\n'POST\n/mock/secret%3Drotated"
          in msg and "\nx-amz-security-token:" + SESSION.token + "\n" in msg and
          body_hash([RICH]) + "'" in msg and
          "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n" in msg and
          "/eu-west-2/profile/aws4_request\n" in msg, msg)
    r = c.api(path="/mock/secret=rotated" + MP, cred=SESSION)
    check("no echo by default", r.err()[1] == mock_aws.MSG_SIG_MISMATCH, r.err())
    c.post_json("/_mock/config", {"sig_echo": "always"})
    r = c.api(cred=SESSION)
    check("sig_echo always: even a right signature is refused, with the echo",
          r.status == 403 and SESSION.token in r.err()[1], r.err())
    r = c.api(path="/mock/sigecho=off" + MP, cred=SESSION)
    check("sigecho=off overrides the config", r.status == 200)
    c.post_json("/_mock/config", {"sig_echo": "off"})
    check("sig_echo off", c.api(cred=SESSION).status == 200)
    check("sig_echo rejects bad value", c.post_json("/_mock/config", {"sig_echo": 1}).status == 400)

    # expiry waves
    c.reset()
    ja = container().json()
    A = Cr(ja["AccessKeyId"], ja["SecretAccessKey"], ja["Token"])
    check("expire_wave validated", c.post_json("/_mock/config", {
        "expire_wave": {"after_requests": -1}}).status == 400)
    c.post_json("/_mock/config", {"expire_wave": {"after_requests": 3, "sources": ["container"]}})
    s = c.stats()
    check("wave armed", s["wave"]["armed"] and s["wave"]["requests_to_go"] == 3, s["wave"])
    st1 = [c.api(cred=A).status for _ in range(2)]
    r3 = c.api(cred=A)
    r4 = c.api(cred=A)
    check("wave: requests before it pass, the one that starts it and later ones get "
          "ExpiredTokenException", st1 == [200, 200] and
          r3.err()[0] == "ExpiredTokenException" and r4.err()[0] == "ExpiredTokenException",
          (st1, r3.err(), r4.err()))
    check("wave: other sources unaffected", c.api(cred=STATIC).status == 200 and
          c.api(cred=SESSION).status == 200)
    jb = container().json()
    B = Cr(jb["AccessKeyId"], jb["SecretAccessKey"], jb["Token"])
    check("wave: credentials fetched after it work", c.api(cred=B).status == 200)
    s = c.stats()
    check("wave counters", s["wave"]["waves"] == 1 and s["wave"]["rejected"] == 2 and
          s["wave"]["fetches_since"]["container"] == 1 and
          s["wave"]["fetches_since"]["total"] == 1 and not s["wave"]["armed"], s["wave"])
    # in-flight requests of the wave are all rejected
    res = [None] * 6

    def slow(i):
        cc = Client(m)
        res[i] = cc.api(path="/mock/latency=400" + MP, cred=B)
        cc.close()

    ts = [threading.Thread(target=slow, args=(i,)) for i in range(6)]
    for t in ts:
        t.start()
    time.sleep(0.15)
    c.post_json("/_mock/config", {"expire_wave": {"after_requests": 0, "sources": ["container"]}})
    for t in ts:
        t.join()
    check("wave: all in-flight requests get ExpiredTokenException",
          all(x.status == 403 and x.err()[0] == "ExpiredTokenException" for x in res),
          [(x.status, x.err()[0]) for x in res])
    s = c.stats()
    check("wave re-armed: counters restart", s["wave"]["rejected"] == 6 and
          s["wave"]["fetches_since"]["total"] == 0, s["wave"])
    for _ in range(2):
        container()
    c.sts(ar, signed_by=STATIC)
    s = c.stats()
    check("wave: fetches counted per source", s["wave"]["fetches_since"] == {
        "imds": 0, "container": 2, "web_identity": 0, "assume_role": 1, "total": 3},
        s["wave"]["fetches_since"])
    c.post_json("/_mock/config", {"expire_wave": None})
    check("wave off: old credentials accepted again", c.api(cred=B).status == 200)
    s = c.stats()
    check("credential_hits per endpoint", s["credential_hits"]["container"] >= 4 and
          s["credential_hits"]["sts_assume_role"] == 1 and "imds" in s["credential_hits"] and
          "sts_web_identity" in s["credential_hits"], s["credential_hits"])
    c.close()


def t_imds(m):
    section("IMDSv2")
    c = Client(m)
    c.reset()
    T = "/latest/api/token"
    check("token PUT without TTL -> 400", c.req("PUT", T).status == 400)
    check("token TTL 0 -> 400", c.req("PUT", T, b"", {"X-aws-ec2-metadata-token-ttl-seconds": "0"})
          .status == 400)
    check("token TTL 21601 -> 400", c.req("PUT", T, b"", {
        "X-aws-ec2-metadata-token-ttl-seconds": "21601"}).status == 400)
    check("token GET -> 405", c.get(T).status == 405)
    r = c.req("PUT", T, b"", {"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
    check("token PUT -> 200 text", r.status == 200 and r.body and
          r.h("content-type").startswith("text/plain"))
    tok = r.body.decode()
    base = "/latest/meta-data/iam/security-credentials/"
    check("role list without token -> 401 (IMDSv1 disabled)", c.get(base).status == 401)
    check("role list with unknown token -> 401",
          c.get(base, {"X-aws-ec2-metadata-token": "bogus"}).status == 401)
    r = c.get(base, {"X-aws-ec2-metadata-token": tok})
    check("role list", r.status == 200 and r.body == b"mock-instance-role")
    check("unknown role -> 404", c.get(base + "other", {"X-aws-ec2-metadata-token": tok})
          .status == 404)
    check("credentials without token -> 401", c.get(base + "mock-instance-role").status == 401)
    r = c.get(base + "mock-instance-role", {"X-aws-ec2-metadata-token": tok})
    j = r.json()
    check("IMDS credentials JSON", r.status == 200 and j["Code"] == "Success" and
          j["Type"] == "AWS-HMAC" and j["AccessKeyId"].startswith("ASIAIMDS") and
          len(j["AccessKeyId"]) == 20 and j["SecretAccessKey"] and j["Token"] and
          re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", j["Expiration"]) and
          re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", j["LastUpdated"]), j.keys())
    exp = datetime.datetime.strptime(j["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    check("expiry = now + cred_lifetime", abs(exp - time.time() - 3600) < 10)
    cr = Cr(j["AccessKeyId"], j["SecretAccessKey"], j["Token"])
    check("IMDS creds accepted", c.api(cred=cr).status == 200)
    r = c.api(path="/mock/skew=3700" + MP, cred=cr, ts=time.strftime(
        "%Y%m%dT%H%M%SZ", time.gmtime(time.time() + 3700)))
    check("IMDS creds expire (skew)", r.status == 403 and r.err()[0] == "ExpiredTokenException",
          r.err())
    # short lifetime, real expiry
    c.post_json("/_mock/config", {"cred_lifetime": 1})
    j2 = c.get(base + "mock-instance-role", {"X-aws-ec2-metadata-token": tok}).json()
    c.post_json("/_mock/config", {"cred_lifetime": 3600})
    time.sleep(1.2)
    r = c.api(cred=Cr(j2["AccessKeyId"], j2["SecretAccessKey"], j2["Token"]))
    check("cred_lifetime=1 -> ExpiredTokenException after 1 s",
          r.err()[0] == "ExpiredTokenException", r.err())
    s = c.stats()
    check("issued imds counted", s["issued"]["imds"] == 2 and s["by_source"].get("imds") == 1,
          (s["issued"], s["by_source"]))
    check("credential_requests counted", s["credential_requests"].get("imds_token", 0) >= 5,
          s["credential_requests"])
    # down: connection closed without answer
    c.post_json("/_mock/config", {"down": ["imds"]})
    c.close()
    try:
        c.req("PUT", T, b"", {"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        check("imds down -> connection closed", False)
    except (http.client.RemoteDisconnected, ConnectionError):
        check("imds down -> connection closed", True)
    c.close()
    c.post_json("/_mock/config", {"down": []})
    check("imds back up", c.req("PUT", T, b"", {"X-aws-ec2-metadata-token-ttl-seconds": "60"})
          .status == 200)
    c.close()


def t_container(m):
    section("container credentials")
    c = Client(m, tls=True)
    P = "/container/credentials"
    check("no Authorization -> 401", c.get(P).status == 401)
    check("wrong Authorization -> 403", c.get(P, {"Authorization": "wrong"}).status == 403)
    r = c.get("/container/v2/credentials/abc", {"Authorization": "mock-container-token",
                                                "Accept": "application/json"})
    j = r.json()
    check("container credentials JSON", r.status == 200 and j["AccessKeyId"].startswith("ASIAECS")
          and j["SecretAccessKey"] and j["Token"] and j["RoleArn"].startswith("arn:aws:iam::")
          and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", j["Expiration"]), j.keys())
    cr = Cr(j["AccessKeyId"], j["SecretAccessKey"], j["Token"])
    r = c.api(cred=cr)
    check("container creds accepted", r.status == 200)
    c.post_json("/_mock/config", {"container_token": "new-token"})
    check("reconfigured container token", c.get(P, {"Authorization": "mock-container-token"})
          .status == 403 and c.get(P, {"Authorization": "new-token"}).status == 200)
    c.post_json("/_mock/config", {"container_token": None})
    check("container_token null -> no auth needed", c.get(P).status == 200)
    c.post_json("/_mock/config", {"container_token": "mock-container-token", "down": ["container"]})
    check("container down -> 503", c.get(P, {"Authorization": "mock-container-token"}).status == 503)
    c.post_json("/_mock/config", {"down": []})
    s = c.stats()
    check("issued container counted", s["issued"]["container"] == 3 and
          s["by_source"].get("container") == 1, (s["issued"], s["by_source"]))
    c.close()


def t_sts(m):
    section("STS")
    c = Client(m)
    wi = {"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
          "RoleArn": "arn:aws:iam::123456789012:role/webrole", "RoleSessionName": "sess1",
          "WebIdentityToken": "mock-web-identity-token"}
    ns = "{https://sts.amazonaws.com/doc/2011-06-15/}"

    def creds_of(r, action):
        x = ET.fromstring(r.body)
        res = x.find(ns + action + "Result")
        cc = res.find(ns + "Credentials")
        return (Cr(cc.find(ns + "AccessKeyId").text, cc.find(ns + "SecretAccessKey").text,
                   cc.find(ns + "SessionToken").text), cc.find(ns + "Expiration").text, res)

    def err_of(r):
        x = ET.fromstring(r.body)
        e = x.find(ns + "Error")
        return (e.find(ns + "Type").text, e.find(ns + "Code").text, e.find(ns + "Message").text,
                x.find(ns + "RequestId").text)

    r = c.sts(wi)
    check("web identity 200 XML", r.status == 200 and r.h("content-type") == "text/xml")
    cr, exp, res = creds_of(r, "AssumeRoleWithWebIdentity")
    check("web identity ASIAWEBID key", cr.akid.startswith("ASIAWEBID") and cr.secret and cr.token)
    check("assumed role ARN", res.find(ns + "AssumedRoleUser").find(ns + "Arn").text ==
          "arn:aws:sts::123456789012:assumed-role/webrole/sess1")
    check("expiration format", re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", exp))
    check("web identity creds accepted", c.api(cred=cr).status == 200)
    r = c.sts(dict(wi, WebIdentityToken="bad"))
    e = err_of(r)
    check("bad web identity token -> 400 InvalidIdentityToken", r.status == 400 and
          e[0] == "Sender" and e[1] == "InvalidIdentityToken" and e[3], e)
    r = c.sts({k: v for k, v in wi.items() if k != "RoleArn"})
    check("missing RoleArn -> 400 ValidationError", r.status == 400 and err_of(r)[1] ==
          "ValidationError")
    r = c.sts({k: v for k, v in wi.items() if k != "WebIdentityToken"})
    check("missing WebIdentityToken -> 400", r.status == 400)
    r = c.sts(dict(wi, DurationSeconds="900"))
    _, exp, _ = creds_of(r, "AssumeRoleWithWebIdentity")
    t = datetime.datetime.strptime(exp, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    check("DurationSeconds caps lifetime", abs(t - time.time() - 900) < 10, t - time.time())
    check("DurationSeconds=60 -> 400", c.sts(dict(wi, DurationSeconds="60")).status == 400)
    r = c.sts(dict(wi, Action="GetCallerIdentity"))
    check("unknown action -> 400 InvalidAction", r.status == 400 and err_of(r)[1] == "InvalidAction")
    check("web identity on a sub-path", c.sts(wi, path="/sts/").status == 200)
    # AssumeRole (signed)
    ar = {"Action": "AssumeRole", "Version": "2011-06-15",
          "RoleArn": "arn:aws:iam::210987654321:role/path/to/target", "RoleSessionName": "s2"}
    r = c.sts(ar, signed_by=STATIC)
    check("AssumeRole signed with static -> 200", r.status == 200, r.body[:300])
    cr2, _, res = creds_of(r, "AssumeRole")
    check("AssumeRole ASIAROLE key", cr2.akid.startswith("ASIAROLE"))
    check("AssumeRole ARN", res.find(ns + "AssumedRoleUser").find(ns + "Arn").text ==
          "arn:aws:sts::210987654321:assumed-role/target/s2")
    check("assume_role creds accepted", c.api(cred=cr2).status == 200)
    r = c.sts(ar, signed_by=cr, region="eu-west-2")
    check("AssumeRole signed with issued web-identity creds", r.status == 200)
    r = c.sts(ar, signed_by=Cr(STATIC.akid, "wrong"))
    check("AssumeRole bad signature -> 403 SignatureDoesNotMatch", r.status == 403 and
          err_of(r)[1] == "SignatureDoesNotMatch", r.body[:300])
    r = c.sts(ar)
    check("AssumeRole unsigned -> 403 MissingAuthenticationToken", r.status == 403 and
          err_of(r)[1] == "MissingAuthenticationToken")
    r = c.sts(ar, signed_by=EXPIRED)
    check("AssumeRole expired creds -> 400 ExpiredToken", r.status == 400 and
          err_of(r)[1] == "ExpiredToken")
    r = c.sts(ar, signed_by=Cr("AKIDNOPE000000000000", "x"))
    check("AssumeRole unknown key -> 403 InvalidClientTokenId", r.status == 403 and
          err_of(r)[1] == "InvalidClientTokenId")
    r = c.sts(ar, signed_by=STATIC, region="ap-south-1")
    check("AssumeRole wrong region -> 403", r.status == 403)
    c.post_json("/_mock/config", {"web_identity_token": "rotated-jwt"})
    check("configured web identity token", c.sts(wi).status == 400 and
          c.sts(dict(wi, WebIdentityToken="rotated-jwt")).status == 200)
    c.post_json("/_mock/config", {"down": ["sts"]})
    r = c.sts(wi)
    check("sts down -> 503", r.status == 503)
    c.post_json("/_mock/config", {"down": [], "web_identity_token": "mock-web-identity-token"})
    s = c.stats()
    check("issued web_identity/assume_role counted", s["issued"]["web_identity"] >= 4 and
          s["issued"]["assume_role"] == 2, s["issued"])
    check("by_source web_identity/assume_role", s["by_source"].get("web_identity") == 1 and
          s["by_source"].get("assume_role") == 1, s["by_source"])
    check("sts credential_requests counted",
          s["credential_requests"].get("sts:AssumeRoleWithWebIdentity", 0) >= 8,
          s["credential_requests"])
    c.close()


def raw(port, data, read=True, tls=False, timeout=3):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if tls:
            s.sendall(data)
        else:
            s.sendall(data)
        if not read:
            return b""
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionError):
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def t_robust(m):
    section("robustness")
    p = m.http_port
    r = raw(p, bytes(random.Random(1).getrandbits(8) for _ in range(5000)))
    check("random bytes -> answered or closed", r == b"" or r.startswith(b"HTTP/1.1 4"), r[:60])
    check("garbage request line -> 400", raw(p, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400"))
    check("long request line -> 414",
          raw(p, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 414"))
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(200))
    check("too many headers -> 431",
          raw(p, b"GET / HTTP/1.1\r\n" + many + b"\r\n").startswith(b"HTTP/1.1 431"))
    check("bad Content-Length -> 400", raw(
        p, b"POST " + MP.encode() + b" HTTP/1.1\r\nContent-Length: abc\r\n\r\n")
        .startswith(b"HTTP/1.1 400"))
    check("huge Content-Length -> 413", raw(
        p, b"POST " + MP.encode() + b" HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n")
        .startswith(b"HTTP/1.1 413"))
    check("short body then close", raw(
        p, b"POST " + MP.encode() + b" HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"Pro") == b"")
    check("bad chunk size -> 400", raw(
        p, b"POST " + MP.encode() + b" HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        .startswith(b"HTTP/1.1 400"))
    check("unsupported transfer-encoding -> 501", raw(
        p, b"POST " + MP.encode() + b" HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n")
        .startswith(b"HTTP/1.1 501"))
    r = raw(p, b"POST /domains/\xff\xfe/segments/x/membership HTTP/1.1\r\nContent-Length: 0\r\n"
               b"Connection: close\r\n\r\n")
    check("non-UTF-8 path -> 403 (unsigned)", r.startswith(b"HTTP/1.1 403"), r[:40])
    r = raw(p, b"POST " + MP.encode() + b" HTTP/1.1\r\nAuthorization: AWS4-HMAC-SHA256 "
               b"Credential=\xff/\x00/x/y/z, SignedHeaders=host;x-amz-date, Signature=\xfe\r\n"
               b"X-Amz-Date: 20260101T000000Z\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    check("binary Authorization -> 4xx", r.startswith(b"HTTP/1.1 4"), r[:40])
    r = raw(p, b"DELETE /_mock/stats HTTP/1.1\r\nConnection: close\r\n\r\n")
    check("odd method -> 404", r.startswith(b"HTTP/1.1 404"))
    r = raw(p, b"BREW /pot HTTP/1.1\r\nConnection: close\r\n\r\n")
    check("unknown method -> 501", r.startswith(b"HTTP/1.1 501"))
    r = raw(p, b"HEAD /_mock/stats HTTP/1.1\r\nConnection: close\r\n\r\n")
    check("HEAD -> headers only", r.startswith(b"HTTP/1.1 200") and r.endswith(b"\r\n\r\n"))
    # TLS port: plain HTTP, silence, garbage.
    r = raw(m.https_port, b"GET /_mock/stats HTTP/1.1\r\n\r\n")
    check("plain HTTP on TLS port -> closed", not r.startswith(b"HTTP/1.1 200"))
    s = socket.create_connection(("127.0.0.1", m.https_port))
    s.close()
    raw(m.https_port, b"\x16\x03\x01\x02\x00" + b"\x00" * 50)
    # Many idle connections.
    socks = [socket.create_connection(("127.0.0.1", p)) for _ in range(100)]
    c = Client(m)
    check("server alive with 100 idle connections", c.api(ids=[RICH]).status == 200)
    for s in socks:
        s.close()
    # Client disconnects during latency.
    s = socket.create_connection(("127.0.0.1", p))
    h = c.sign("POST", "/mock/latency=200" + MP, b'{"ProfileIds":["%s"]}' % RICH.encode())
    s.sendall(("POST /mock/latency=200%s HTTP/1.1\r\n" % MP + "".join(
        "%s: %s\r\n" % kv for kv in h.items()) + "Content-Length: 48\r\n\r\n").encode() +
        b'{"ProfileIds":["%s"]}' % RICH.encode())
    s.close()
    time.sleep(0.3)
    check("still alive after everything", c.api(ids=[RICH]).status == 200 and
          c.stats()["requests"] > 0)
    c.close()
    check("mock process alive", m.proc.poll() is None)


def worker(m, tls, n, path, ids, out, idx, errs):
    c = Client(m, tls=tls)
    body = json.dumps({"ProfileIds": ids}).encode()
    lat = []
    bad = 0
    for i in range(n):
        h = c.sign("POST", path, body)
        try:
            r = c.req("POST", path, body, h)
            j = r.json()
            if r.status != 200 or len(j["Profiles"]) + len(j.get("Failures", [])) != len(set(ids)):
                bad += 1
            lat.append(r.elapsed)
        except Exception as e:
            bad += 1
            errs.append(repr(e))
    c.close()
    out[idx] = (lat, bad)


def run_concurrent(m, tls, threads, n, path, ids):
    out = [None] * threads
    errs = []
    ts = [threading.Thread(target=worker, args=(m, tls, n, path, ids, out, i, errs))
          for i in range(threads)]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    lat = [x for o in out for x in o[0]]
    bad = sum(o[1] for o in out)
    return lat, bad, time.time() - t0, errs


def t_concurrency(m):
    section("concurrency")
    c = Client(m)
    c.reset()
    ids = [RICH] + ids_of(20, 77) + ["f" * 32]
    lat, bad, el, errs = run_concurrent(m, False, 8, 500, "/mock/latency=1" + MP, ids)
    s = c.stats()
    check("8 threads x 500 keep-alive (http): no errors (%.1fs)" % el, bad == 0 and
          len(lat) == 4000, (bad, errs[:3]))
    check("accepted == 4000", s["accepted"] == 4000, s["accepted"])
    check("8 http connections", s["connections"]["http"] == 8, s["connections"])
    check("max_in_flight >= 2", 2 <= s["max_in_flight"] <= 8, s["max_in_flight"])
    check("ids_answered", s["ids_answered"] == 4000 * 22, s["ids_answered"])
    lat, bad, el, errs = run_concurrent(m, True, 8, 100, MP, ids)
    check("8 threads x 100 keep-alive (https): no errors (%.1fs)" % el, bad == 0,
          (bad, errs[:3]))
    check("8 https connections", c.stats()["connections"]["https"] == 8)
    c.close()


def t_log(m):
    section("log")
    with open(m.log, "rb") as f:
        data = f.read()
    lines = data.decode("utf-8").splitlines()
    check("log has one line per request", len(lines) > 4500, len(lines))
    check("log lines carry method, status, source",
          any(re.search(r" POST /domains/demo-domain/segments/high-value/membership 200 "
                        r"note=- source=static ", ln) for ln in lines))
    leaks = [s for s in SECRET_STRINGS if s.encode() in data]
    check("log has no secrets or tokens", not leaks, leaks)
    hexes = [x for x in re.findall(rb"[0-9a-f]{64}", data) if len(set(x)) > 1]
    check("log has no signatures", b"Signature=" not in data and not hexes, hexes[:3])
    check("log has no profile data", not any(x.encode() in data for x in (
        "Zoë", "Núñez", "example.com", "ASIAIMDS")))


def t_stop(m):
    section("shutdown")
    pidf = os.path.join(m.dir, "mock.pid")
    t0 = time.time()
    rc = m.stop()
    check("SIGTERM -> exit 0 (%.2fs)" % (time.time() - t0), rc == 0, rc)
    check("pid file removed on clean exit", not os.path.exists(pidf))
    errs = open(os.path.join(m.dir, "stderr.txt")).read()
    check("no tracebacks on stderr", "Traceback" not in errs, errs[-2000:])


def t_second(root):
    section("second instance: --latency-ms, empty registry, SIGINT, bad args")
    m = Mock(root, "m2", ["--latency-ms", "40", "--regions", "us-east-1"], creds=False)
    c = Client(m)
    r = c.api(region="us-east-1")
    check("--latency-ms default applies", r.elapsed >= 0.04 and r.status == 403 and
          r.err()[0] == "UnrecognizedClientException", (r.elapsed, r.err()))
    r = c.api(path="/mock/latency=0" + MP, region="us-east-1")
    check("latency=0 overrides default", r.elapsed < 0.04, r.elapsed)
    check("control not delayed", c.get("/_mock/stats").elapsed < 0.04)
    c.post_json("/_mock/credentials", [{"access_key_id": STATIC.akid,
                                        "secret_access_key": STATIC.secret}])
    check("--regions limits regions", c.api(region="eu-west-2").err()[1] ==
          "Credential should be scoped to a valid region. " and
          c.api(region="us-east-1").status == 200)
    c.close()
    check("SIGINT -> exit 0", m.stop(signal.SIGINT) == 0)
    bad = os.path.join(root, "bad-creds.json")
    with open(bad, "w") as f:
        f.write('[{"access_key_id": 5}]')
    d = os.path.join(root, "m3")
    os.makedirs(d)
    p = subprocess.run([PY, MOCK, "--state-dir", d, "--credentials-file", bad],
                       capture_output=True, timeout=20)
    check("bad credentials file -> non-zero exit, no pid file", p.returncode != 0 and
          not os.path.exists(os.path.join(d, "mock.pid")), p.returncode)


# ----------------------------------------------------------------------------
# Benchmark
# ----------------------------------------------------------------------------

def light_worker(m, tls, n, reqbytes, out, idx):
    """Pre-signed request bytes on a raw keep-alive socket: almost no client
    CPU, so the figure is what the mock itself adds."""
    s = socket.create_connection(("127.0.0.1", m.https_port if tls else m.http_port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        s = ssl.create_default_context(cafile=m.ca).wrap_socket(s, server_hostname="localhost")
    lat = []
    bad = 0
    for _ in range(n):
        t = time.perf_counter()
        s.sendall(reqbytes)
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65536)
        head, _, rest = buf.partition(b"\r\n\r\n")
        cl = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        while len(rest) < cl:
            rest += s.recv(262144)
        lat.append(time.perf_counter() - t)
        if not head.startswith(b"HTTP/1.1 200"):
            bad += 1
    s.close()
    out[idx] = (lat, bad)


def bench(seconds):
    root = tempfile.mkdtemp(prefix="mock-bench-")
    m = Mock(root, "b")
    try:
        for nids in (100, 1):
            ids = ([RICH] + ids_of(98, 1) + ["f" * 32])[:nids]
            body = json.dumps({"ProfileIds": ids}).encode()
            path = "/mock/latency=50" + MP
            for tls in (False, True):
                c = Client(m, tls=tls)
                h = c.sign("POST", path, body)
                reqbytes = ("POST %s HTTP/1.1\r\n" % path + "".join(
                    "%s: %s\r\n" % kv for kv in h.items()) +
                    "Content-Length: %d\r\n\r\n" % len(body)).encode() + body
                c.reset()
                n = max(1, int(seconds / 0.05))
                out = [None] * 8
                ts = [threading.Thread(target=light_worker, args=(m, tls, n, reqbytes, out, i))
                      for i in range(8)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
                lat = sorted(x for o in out for x in o[0])
                bad = sum(o[1] for o in out)
                s = c.stats()
                over = [(x - 0.05) * 1000 for x in lat]
                print("%-5s %3d ids: %d requests, 8 clients, latency=50: errors=%d; added "
                      "latency mean %.2f ms, p50 %.2f, p90 %.2f, p99 %.2f; mock time beyond "
                      "sleeping mean %.2f ms; max_in_flight %d" % (
                          "https" if tls else "http", nids, len(lat), bad,
                          sum(over) / len(over), over[len(over) // 2],
                          over[int(len(over) * 0.9)], over[int(len(over) * 0.99)],
                          s["service_time_ms"]["mean"], s["max_in_flight"]), flush=True)
                c.close()
    finally:
        m.stop()
        shutil.rmtree(root, ignore_errors=True)


def main():
    if "--bench" in sys.argv:
        i = sys.argv.index("--bench")
        secs = float(sys.argv[i + 1]) if len(sys.argv) > i + 1 else 10.0
        bench(secs)
        return 0
    t_start = time.time()
    root = tempfile.mkdtemp(prefix="mock-selftest-")
    m = None
    try:
        t_golden()
        try:
            t_hostile_offline()
        except Exception:
            import traceback
            check("t_hostile_offline raised", False, traceback.format_exc())
        try:
            t_hostile_pairs()
        except Exception:
            import traceback
            check("t_hostile_pairs raised", False, traceback.format_exc())
        m = Mock(root, "m1", ["--regions", "eu-west-2,us-east-1"])
        for t in (t_startup, t_tls, t_happy, t_auth, t_validation, t_faults, t_variants,
                  t_control, t_quota, t_hostile, t_imds, t_container, t_sts, t_hostile_creds, t_robust, t_concurrency, t_log,
                  t_stop):
            try:
                t(m)
            except Exception as e:
                import traceback
                check("%s raised" % t.__name__, False, traceback.format_exc())
        try:
            t_second(root)
        except Exception:
            import traceback
            check("t_second raised", False, traceback.format_exc())
    finally:
        if m is not None and m.proc.poll() is None:
            m.stop()
        shutil.rmtree(root, ignore_errors=True)
    print("elapsed %.1fs" % (time.time() - t_start))
    print("%d passed, %d failed" % (PASSED, FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
