#!/usr/bin/python3
"""Mock AWS endpoint for the segment_membership test bed.

Stands in for Amazon Connect Customer Profiles ``GetSegmentMembership`` and for
the credential sources the extension uses (EC2 IMDSv2, the ECS/EKS container
endpoint, STS).  Standard library + Debian's python3-botocore (SigV4
verification) + python3-cryptography (test certificates).  Run it with
/usr/bin/python3 only.

Start-up
--------
    /usr/bin/python3 test/mock_aws.py --state-dir DIR [--regions R1,R2]
        [--credentials-file FILE] [--latency-ms N] [--log FILE]

    --regions   regions accepted in the SigV4 scope (default: the ten regions
                botocore lists for the service: af-south-1 ap-northeast-1
                ap-northeast-2 ap-southeast-1 ap-southeast-2 ca-central-1
                eu-central-1 eu-west-2 us-east-1 us-west-2).  STS AssumeRole
                also accepts us-east-1 (the global STS endpoint's region).
    --latency-ms  default latency of every GetSegmentMembership answer.
    --log       one line per request (time, listener, method, path without
                query, status, fault/variant, credential source label).  No
                secrets, signatures, tokens or bodies are ever logged.
    --print-profile ID   print the exact Profile JSON served for ID and exit.

Both listeners bind 127.0.0.1 port 0: plain HTTP and HTTPS serve the same
routes.  Files written into DIR (all mode 0644, written atomically):
    ca.pem          test CA (EC P-256) that signed server.pem
    server.pem      server certificate, SANs DNS:localhost and IP:127.0.0.1
    server-key.pem  its key (a throwaway test key)
    wrong-ca.pem    an unrelated CA (for "wrong CA" tests)
    http.port, https.port   the port numbers (decimal + newline)
    hostile.jsonl   the hostile-mode log (see Hostile replies)
    mock.pid        written LAST: the "ready" signal.  Removed on clean exit.
SIGTERM / SIGINT: stop accepting, exit 0.

--credentials-file: JSON list of
    {"access_key_id", "secret_access_key", "session_token": null|str,
     "expires": null|"YYYY-MM-DDTHH:MM:SSZ", "source": "label"}
Without it the static registry is empty (issued credentials are added at
runtime; POST /_mock/credentials adds more).

GetSegmentMembership
--------------------
POST [/mock][/name=value...]/domains/{Domain}/segments/{Segment}/membership
Checks in this order: scenario options (400 if unknown), route (404
UnknownOperationException, unauthenticated), SigV4 (botocore), validation (400
BadRequestException), resources (404 ResourceNotFoundException), fault
injection, reply (normal or variant).

SigV4 (botocore SigV4Auth over a rebuilt request holding only the signed
headers, wire path and body as received; x-amz-date as the timestamp):
    no Authorization                       403 MissingAuthenticationTokenException
    garbled / missing parts / bad date     400 IncompleteSignatureException
    host, x-amz-date (x-amz-security-token
      when sent) not signed                403 InvalidSignatureException
    unknown access key id                  403 UnrecognizedClientException
    wrong service / region / scope date    403 InvalidSignatureException
    x-amz-date > 5 min off the mock clock  403 InvalidSignatureException
                                           ("Signature expired: ..." /
                                           "Signature not yet current: ...")
    token missing/different/unexpected     403 UnrecognizedClientException
    credential expired (mock clock)        403 ExpiredTokenException
    signature mismatch (also a signed
      x-amz-content-sha256 != body hash)   403 InvalidSignatureException
Like AWS, the canonical URI is the wire path URI-encoded once more, so the
"=" of scenario segments is signed as %3D (curl 7.88's --aws-sigv4 gets this
wrong and cannot sign scenario paths; plain paths work).

Domains: demo-domain, test-domain.  Segments (both domains) and their fixed
LastComputedAt values (epoch seconds, JSON numbers):
    high-value   1764331200.125   (2025-11-28T12:00:00.125Z)
    churn_risk   1764334800.25    (2025-11-28T13:00:00.250Z)
    everyone     1764338400.5     (2025-11-28T14:00:00.500Z)
    nobody       1764342000.75    (2025-11-28T15:00:00.750Z)
An id exists iff its first character is not 'f'; non-existent ids go to
Failures as {"ProfileId", "Message": "Profile not found", "Status": 404}.
Membership of an existing id: everyone -> PRESENT, nobody -> ABSENT, otherwise
PRESENT iff md5(segment + ":" + id).hexdigest()[0] in "01234567".
"Profile" is present only for PRESENT.  Duplicate ids are answered once.
Profiles and Failures are each sorted by ProfileId DESCENDING (never request
order).  "Failures" is omitted when empty; "Profiles" is always present.
Key order: SegmentDefinitionName, Profiles, Failures, LastComputedAt.

Generated profiles are deterministic from md5(id) (see make_profile); every
one carries Attributes["note"] = 'Quote " backslash \\ newline \\n tab \\t party 🎉'
(written in the JSON text as ...\\"...\\\\...\\n...\\t...\\ud83c\\udf89); other
non-ASCII is sent as raw UTF-8.  The rich profile RICH_PROFILE_ID =
0123456789abcdef0123456789abcdef is the hand-written RICH_PROFILE below (it
uses every Profile member; its 🎉 is escaped as \\ud83c\\udf89 while its 𝄞 is
raw 4-byte UTF-8).  `--print-profile ID` prints the exact text.

Errors are JSON; the style alternates with the API request sequence number
(even: header x-amzn-ErrorType: T:http://internal.amazon.com/coral/com.amazonaws.profile/
+ {"Message": m}; odd: {"__type": "com.amazonaws.profile#T", "message": m}).
Scenario option errstyle=header|type forces one style.

Scenario options (path segments before /domains/, name=value, a leading
"mock" segment is ignored; they are part of the signed path):
    latency=<ms>          answer no earlier than <ms> after the request
                          arrived (default --latency-ms); the mock's own
                          work happens inside that window, so it adds only
                          the final write (~1 ms with 8 concurrent clients)
    rate=<0..1> faults=<k>.<k>... seed=<int>   random faults (RNG per
                          (seed, faults, rate), thread-safe; reset by
                          POST /_mock/reset)
    fail=<k> [first=<n>]  deterministic: for each distinct (path, body) the
                          first n attempts fail (all attempts without first)
    fault kinds: throttle 400 500 502 503 504 reset truncate garbage delay hang
    delay=<ms>            sleep of the "delay" fault (default 5000)
    reply=<variant>       unknown-result extra-id duplicate both wrong-type
                          not-object profiles-not-array null-byte bad-utf8
                          huge omit empty bad-status bad-time
    size=<bytes>          size of the "huge" body (default 64 MiB)
    secret=rotated        verify as if every secret were different
    token=expired|invalid any request carrying a session token is rejected
    skew=<seconds>        mock clock = real time + skew (may be negative)
    errstyle=header|type  force one error style (extension to the spec)
    sigecho=off|on|always quote the canonical request in signature errors
    hostile=<0..1> [hseed=<int>] [hkinds=<k>.<k>...]   hostile replies (below)
The "victim" of a variant is the first distinct id of the request.  Faults and
variants are applied after authentication, validation and resource checks.

Hostile replies (issue 8: fuzzing the reply parser through SQL)
---------------------------------------------------------------
Turned on per request by the path options hostile=RATE [hseed=N]
[hkinds=k.k...] or for every request by POST /_mock/config {"hostile":
{"rate": 0..1, "seed": int, "kinds": [..] | "all"}} (null = off;
mockctl.py hostile RATE [SEED [KINDS]] / hostile off).  After
authentication, validation and the resource checks, a RATE share of the
GetSegmentMembership replies (drawn from one RNG per (seed, kinds, rate),
reset by /_mock/reset) is mutated in 1 to 3 of these ways:
    truncate          body cut (0..99.9%), Content-Length matches the cut body
    truncate-conn     full Content-Length announced, half sent, connection closed
    type-swap         SegmentDefinitionName/Profiles/Failures/LastComputedAt, an
                      entry, ProfileId/QueryResult/Profile/Status/Message get
                      another JSON type (string/number/object/array/bool/null)
    profile-type-swap a member inside one Profile gets another type
    huge-number       1e1000000 / 1e308 / -1e400 / 123456789012345678901234567890
                      in an unknown member (top level or entry), Status,
                      LastComputedAt or Profile.Attributes.hostileNumber
    deep-nesting      body of 100,000 '[' (or 50,000 '{"a":'), a balanced
                      100,000-deep array in an unknown member, or 100/300/100,000
                      deep in Profile.Attributes.nested
    bad-utf8          invalid UTF-8 bytes inside a string (ff, fe ff, c3 28,
                      CESU surrogate ed a0 80, 5-byte, overlong, cut sequence)
    lone-surrogate    \ud800, \udc00, \udbff\u0041, \ud83c escapes in a string
    control-chars     terminal escapes, BEL, DEL, C1 CSI, CR/LF, backspaces in
                      a Profile string (escaped), raw in a string (invalid
                      JSON), in Failures Message or an unknown member
    duplicate-id      an entry repeated, or one id in Profiles and Failures
    unasked-id        an entry for an id not asked for
    missing-id        1, half or all entries left out
    huge-string       64 KiB / 1 MiB / 3 MiB of mixed 1-4 byte characters in
                      Profile.Attributes.hostileBlob, a Failures Message or an
                      unknown member
    content-type      text/html, application/x-amz-json-1.1, text/plain,
                      utf-16 charset, or no Content-Type at all
    error-500         500/503 with a valid x-amzn-ErrorType header and a body
                      holding huge numbers, HTML, unterminated JSON, 100,000
                      '[', bad UTF-8, 3,000 multi-byte characters, escapes
                      or nothing
    hostile-headers   x-amzn-RequestId with terminal escapes, BEL/BS/DEL, a C1
                      byte, a Latin-1 byte, or 8,192 / 65,000 characters (half
                      of the time on a 500 reply, so that it gets quoted)
Every request served in hostile mode, mutated or not, is logged: one JSON
object a line in DIR/hostile.jsonl and in memory for GET
/_mock/hostile-log?since=SEQ&limit=N ({"entries", "last_seq"}; mockctl.py
hostile-log [SINCE]):
    {"seq", "t", "rid", "segment", "ids" (distinct ids asked), "kinds",
     "status", "mut": [{"kind", "class", "id", "where", "detail"}],
     "profile_sha256": {id: sha256 of canon_value(Profile as sent) | null},
     "request_id_len"}
class: invalid (the reply is not what the API promises: no answer row may
come from it), transparent (every id still means what the unmutated reply
said), value (the id's Profile differs: profile_sha256 has its canonical
hash, null when no JSON reader here can hold it), omit (the id is not
answered: its row must be a failure row).  A mutation whose raw text a
later one replaced (bad-utf8 bytes in a string that profile-type-swap made
a number) is not sent: it is logged as transparent, its detail ending "not
sent: ...".  Stats: hostile{requests,
mutated, kinds{}, classes{}, last_seq}.  test/t_hostile.sh drives it.

Hostile credential sources (issue 9), all through POST /_mock/config
--------------------------------------------------------------------
    "cred_mode": {"imds"|"container"|"sts": MODE}   what the next credential
        replies of that source look like (merged per source):
        normal             as real AWS
        expired            Expiration 10 minutes in the past (and refused as
                           expired: ExpiredTokenException)
        no-expiration      no Expiration member / element (valid for
                           cred_lifetime)
        expiration-null    "Expiration": null (STS: <Expiration/>)
        expiration-number  epoch seconds as a JSON number
        expiration:<text>  exactly <text>
        odd:<name>         short-offset (+1:0), big-offset (+99:99), feb31,
                           negative-field (YYYY-12--1), negative-hour (T-1:00:00),
                           no-zone, short-date (YYYY-1-1), trailing-junk (Z\0junk)
        token-ctl          the session Token holds control characters (01 1b
                           7f 0b 1f, never CR/LF)
        api-token-ctl      (imds) the IMDSv2 session token from PUT
                           /latest/api/token holds them; it works when sent
                           back as is
    "sts_echo": null | session-token | web-identity-token | authorization |
        canonical-request | all   every STS call gets an error whose Message
        quotes that secret of the request back (InvalidClientTokenId 403,
        InvalidIdentityToken 400, IncompleteSignature 400,
        SignatureDoesNotMatch 403 with the canonical request and string to
        sign, as AWS's query APIs word it)
    "sig_echo": off | on | always   (path option sigecho=off|on|always wins)
        on: an InvalidSignatureException (signature mismatch) quotes the
        canonical request, x-amz-security-token:<token> line included, and
        the string to sign, as AWS does ("The Canonical String for this
        request should have been\n'...'\n\nThe String-to-Sign should have
        been\n'...'\n"); always: every signed request is refused that way.
        Also for STS AssumeRole (SignatureDoesNotMatch).  Combine with
        secret=rotated for a mismatch.
    "expire_wave": null | {"after_requests": N, "sources": [labels]}
        arms a rejection wave: after N more authenticated GetSegmentMembership
        requests (0 = now) every request signed with credentials issued
        before that moment by one of the sources (default: imds, container,
        web_identity, assume_role) gets 403 ExpiredTokenException (STS
        AssumeRole: ExpiredToken), also a request that was already in flight
        (checked again just before answering).  Credentials issued after it
        work.  Setting it again (or null) starts afresh.
    Stats: wave{armed, requests_to_go, began, waves, rejected, fetches_since
    {imds, container, web_identity, assume_role, total}} (credentials issued
    since the wave began: "one refresh per rejection wave" is total == 1);
    credential_hits{imds (token + metadata requests), imds_credentials,
    container, sts_assume_role, sts_web_identity}; issued{} and
    credential_requests{} as before.
    mockctl.py cred-mode SOURCE MODE | sts-echo MODE|off | sig-echo
    off|on|always | expire-wave N [SOURCE,...] | expire-wave off

Control routes (unsigned, both listeners):
    GET  /_mock/stats   requests accepted signature_rejections auth_rejections
         client_errors faults{} replies{} connections{http,https,total}
         max_in_flight in_flight ids_answered by_source{} issued{imds,
         container,web_identity,assume_role} credential_requests{}
         tls_handshake_failures service_time_ms{count,mean,max} (handler time
         minus sleeping).  "accepted" = normal 200 replies only (a variant or
         a garbage/truncate fault is not accepted; a delay fault is).
    POST /_mock/reset   zero counters, attempt memory and fault RNGs
    GET|POST /_mock/config  {"cred_lifetime", "cred_valid_for" (null, or
         seconds after which issued credentials are refused although the
         Expiration told to the client is later), "down": [imds|container|sts],
         "web_identity_token", "container_token" (null = no check),
         "role_arn", "latency_ms", "quota_rps", "quota_burst"};
         POST merges and returns the config
         latency_ms   null (default: --latency-ms) or the latency of every
                      GetSegmentMembership answer; a path latency= wins
         quota_rps    request quota: a token bucket refilled at quota_rps
                      per second (0 = off, the default) holding at most
                      quota_burst tokens (null = max(1, quota_rps)).  An
                      authenticated GetSegmentMembership request that finds
                      no token gets 429 ThrottlingException "Rate exceeded"
                      (error style as for every error).  Changing either
                      setting (or /_mock/reset) refills the bucket.
    Stats for the quota: quota{rps, burst, admitted, throttled};
         send_rate{last_1s (requests that arrived in the last second),
         max_1s (most arrivals in any 1 s window since reset), per_second
         ([epoch second, requests, throttled] for the last 60 complete
         seconds)}; "requests" counts every API request, throttled or not.
    GET  /_mock/hostile-log?since=SEQ&limit=N   (see Hostile replies)
    POST /_mock/credentials   (JSON list like --credentials-file; adds/replaces)

Credential routes (same listeners; issued keys: ASIAIMDS..., ASIAECS...,
ASIAWEBID..., ASIAROLE..., 20 chars, expiry now + cred_lifetime; added to the
registry with source imds / container / web_identity / assume_role):
    PUT /latest/api/token, GET /latest/meta-data/iam/security-credentials/[role]
    GET /container/<anything>                 (see handle_container)
    POST <any other path>, form-encoded       STS AssumeRoleWithWebIdentity
                                              (unsigned) / AssumeRole (SigV4,
                                              service sts); see handle_sts
"""

import argparse
import calendar
import collections
import datetime
import email.utils
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import signal
import socket
import socketserver
import ssl
import string
import struct
import sys
import threading
import time
import traceback
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape as xml_escape

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

DEFAULT_REGIONS = ("af-south-1,ap-northeast-1,ap-northeast-2,ap-southeast-1,"
                   "ap-southeast-2,ca-central-1,eu-central-1,eu-west-2,"
                   "us-east-1,us-west-2")
DOMAINS = ("demo-domain", "test-domain")
SEGMENTS = {
    "high-value": "1764331200.125",
    "churn_risk": "1764334800.25",
    "everyone": "1764338400.5",
    "nobody": "1764342000.75",
}
NAME_RE = re.compile(r"[a-zA-Z0-9_-]{1,64}")
ID_RE = re.compile(r"[a-f0-9]{32}")
AMZDATE_RE = re.compile(r"\d{8}T\d{6}Z")
FAULT_KINDS = ("throttle", "400", "500", "502", "503", "504", "reset", "truncate",
               "garbage", "delay", "hang")
REPLY_VARIANTS = ("unknown-result", "extra-id", "duplicate", "both",
                  "wrong-type", "not-object", "profiles-not-array",
                  "null-byte", "bad-utf8", "huge", "omit", "empty",
                  "bad-status", "bad-time")
ERR_NS_HEADER = ":http://internal.amazon.com/coral/com.amazonaws.profile/"
ERR_NS_TYPE = "com.amazonaws.profile#"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
MAX_BODY = 8 * 1024 * 1024
IDLE_TIMEOUT = 300.0
HANDSHAKE_TIMEOUT = 10.0
SKEW_LIMIT = 300  # seconds, like AWS
MOCK_ACCOUNT = "123456789012"
IMDS_ROLE = "mock-instance-role"

MSG_SIG_MISMATCH = ("The request signature we calculated does not match the "
                    "signature you provided. Check your AWS Secret Access Key "
                    "and signing method. Consult the service documentation "
                    "for details.")
MSG_TOKEN_INVALID = "The security token included in the request is invalid."
MSG_TOKEN_EXPIRED = "The security token included in the request is expired"
CRED_SOURCES = ("imds", "container", "web_identity", "assume_role")
CRED_MODES = ("normal", "expired", "no-expiration", "expiration-null", "expiration-number",
              "token-ctl", "api-token-ctl")
ODD_EXPIRATIONS = {
    # odd ISO-8601 texts for Expiration (odd:<name>); the date is filled in
    "short-offset": "{date}T{time}+1:0",
    "big-offset": "{date}T{time}+99:99",
    "feb31": "{year}-02-31T{time}Z",
    "negative-field": "{year}-12--1T{time}Z",
    "negative-hour": "{date}T-1:00:00Z",
    "no-zone": "{date}T{time}",
    "short-date": "{year}-1-1T{time}Z",
    "trailing-junk": "{date}T{time}Z\u0000junk",
}
STS_ECHO = ("session-token", "web-identity-token", "authorization", "canonical-request", "all")
CTL_TOKEN_TAIL = "\x01\x1b[0m\x7f\x0bx\x1fy"  # control characters, no CR/LF

# --------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------

RICH_PROFILE_ID = "0123456789abcdef0123456789abcdef"


def _addr(n, city, county, state, province, country, postal):
    return {
        "Address1": "%d Rue de l'Église" % n,
        "Address2": "Bâtiment \"B\"",
        "Address3": "Étage 3\\Porte 7",
        "Address4": "c/o Núñez",
        "City": city,
        "County": county,
        "State": state,
        "Province": province,
        "Country": country,
        "PostalCode": postal,
    }


# The rich hand-written profile: every member of the Profile shape.  Served
# exactly as json.dumps(RICH_PROFILE, ensure_ascii=False, separators=(",", ":"))
# with "🎉" then replaced by the text \ud83c\udf89 (see profile_json).
RICH_PROFILE = {
    "ProfileId": RICH_PROFILE_ID,
    "AccountNumber": "ACC-0000000001",
    "AdditionalInformation": ("VIP since 2019. She said: \"call me \\\"Zo\\\"\"; "
                              "path C:\\Users\\zoë\\\nSecond line:\tTabbed "
                              "— Ünïcödé ✓ 𝄞 🎉"),
    "PartyType": "INDIVIDUAL",
    "BusinessName": "Núñez & Đặng \"Trading\" Ltd.",
    "FirstName": "Zoë",
    "MiddleName": "Ελένη",
    "LastName": "Núñez-山田",
    "BirthDate": "1985-07-14",
    "Gender": "FEMALE",
    "PhoneNumber": "+44 20 7946 0001",
    "MobilePhoneNumber": "+44 7700 900001",
    "HomePhoneNumber": "+44 20 7946 0002",
    "BusinessPhoneNumber": "+44 20 7946 0003",
    "EmailAddress": "zoe.nunez@example.com",
    "PersonalEmailAddress": "zoe@example.org",
    "BusinessEmailAddress": "z.nunez@example.net",
    "Address": _addr(1, "London", "Greater London", "England", "-", "GB",
                     "SW1A 1AA"),
    "ShippingAddress": _addr(2, "Kraków", "Kraków County", "Małopolska",
                             "Lesser Poland", "PL", "31-001"),
    "MailingAddress": _addr(3, "Tōkyō", "Chiyoda", "Tōkyō-to", "Kantō", "JP",
                            "100-0001"),
    "BillingAddress": _addr(4, "Hà Nội", "Hoàn Kiếm", "-", "Hà Nội", "VN",
                            "100000"),
    "Attributes": {
        "tier": "platinum",
        "loyaltyPoints": "98765",
        "note": "Quote \" backslash \\ newline \n tab \t party 🎉",
        "empty": "",
        "名前": "山田 花子",
    },
    "FoundByItems": [{"KeyName": "_profileId", "Values": [RICH_PROFILE_ID]}],
    "PartyTypeString": "INDIVIDUAL",
    "GenderString": "FEMALE",
    "ProfileType": "PROFILE",
    "EngagementPreferences": {
        "Phone": [
            {"KeyName": "_phone", "KeyValue": "+44 20 7946 0001",
             "ProfileId": RICH_PROFILE_ID, "ContactType": "PhoneNumber"},
            {"KeyName": "_mobile", "KeyValue": "+44 7700 900001",
             "ProfileId": RICH_PROFILE_ID, "ContactType": "MobilePhoneNumber"},
        ],
        "Email": [
            {"KeyName": "_email", "KeyValue": "zoe.nunez@example.com",
             "ProfileId": RICH_PROFILE_ID, "ContactType": "EmailAddress"},
        ],
    },
}

FIRST_NAMES = [("Zoë", "zoe"), ("Øyvind", "oyvind"), ("Ελένη", "eleni"),
               ("José", "jose"), ("Amélie", "amelie"), ("Björn", "bjorn"),
               ("Siobhán", "siobhan"), ("Aarav", "aarav"), ("Chloe", "chloe"),
               ("Mateusz", "mateusz"), ("花子", "hanako"), ("Ngozi", "ngozi"),
               ("Olivia", "olivia"), ("Hiroshi", "hiroshi"),
               ("Fatima", "fatima"), ("Liam", "liam")]
LAST_NAMES = [("Núñez", "nunez"), ("Đặng", "dang"), ("山田", "yamada"),
              ("Müller", "muller"), ("O'Brien", "obrien"),
              ("Kowalski", "kowalski"), ("Smith", "smith"),
              ("Øvergård", "overgard"), ("Παπαδοπούλου", "papadopoulou"),
              ("García", "garcia"), ("Nguyễn", "nguyen"), ("Jones", "jones"),
              ("Schmidt", "schmidt"), ("Okafor", "okafor"),
              ("Dubois", "dubois"), ("Patel", "patel")]
CITIES = [("London", "SW1A 1AA", "GB"), ("Paris", "75001", "FR"),
          ("Berlin", "10115", "DE"), ("München", "80331", "DE"),
          ("Kraków", "31-001", "PL"), ("Tōkyō", "100-0001", "JP"),
          ("Seattle", "98101", "US"), ("São Paulo", "01000-000", "BR"),
          ("Αθήνα", "105 57", "GR"), ("Hà Nội", "100000", "VN"),
          ("Dublin", "D02 XY45", "IE"), ("Oslo", "0150", "NO")]
STREETS = ["High Street", "Main Street", "Rue de Rivoli", "Königstraße",
           "Calle Mayor", "Ulica Floriańska", "Station Road", "Ōdōri"]
TIERS = ["bronze", "silver", "gold", "platinum"]
CHANNELS = ["web", "store", "phone", "partner"]
NOTE = "Quote \" backslash \\ newline \n tab \t party 🎉"


def make_profile(pid):
    """Deterministic generated profile for an existing id (a dict)."""
    if pid == RICH_PROFILE_ID:
        return RICH_PROFILE
    d = hashlib.md5(pid.encode()).digest()
    first, first_a = FIRST_NAMES[d[0] % len(FIRST_NAMES)]
    last, last_a = LAST_NAMES[d[1] % len(LAST_NAMES)]
    city, postal, country = CITIES[d[2] % len(CITIES)]
    street = STREETS[d[3] % len(STREETS)]
    return {
        "ProfileId": pid,
        "AccountNumber": "ACC-%010d" % (int.from_bytes(d[4:8], "big") % 10**10),
        "FirstName": first,
        "LastName": last,
        "EmailAddress": "%s.%s%d@example.com" % (first_a, last_a, d[8] % 100),
        "PhoneNumber": "+44 20 7946 %04d" % (int.from_bytes(d[9:11], "big") % 10000),
        "Address": {
            "Address1": "%d %s" % (1 + d[11] % 200, street),
            "City": city,
            "PostalCode": postal,
            "Country": country,
        },
        "Attributes": {
            "tier": TIERS[d[12] % 4],
            "loyaltyPoints": str(int.from_bytes(d[13:15], "big") % 10000),
            "signupChannel": CHANNELS[d[15] % 4],
            "note": NOTE,
        },
        "FoundByItems": [{"KeyName": "_profileId", "Values": [pid]}],
        "PartyTypeString": "INDIVIDUAL",
        "ProfileType": "PROFILE",
    }


def dumps_wire(obj):
    """JSON text as served: raw UTF-8 except 🎉, which is \\ud83c\\udf89."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).replace(
        "\U0001F389", "\\ud83c\\udf89")


_PROFILE_CACHE = {}
_PROFILE_CACHE_MAX = 200000


def profile_json(pid):
    s = _PROFILE_CACHE.get(pid)
    if s is None:
        s = dumps_wire(make_profile(pid))
        if len(_PROFILE_CACHE) >= _PROFILE_CACHE_MAX:
            _PROFILE_CACHE.clear()
        _PROFILE_CACHE[pid] = s
    return s


def is_member(segment, pid):
    if segment == "everyone":
        return True
    if segment == "nobody":
        return False
    return hashlib.md5((segment + ":" + pid).encode()).hexdigest()[0] in "01234567"


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def iso_z(ts):
    return datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def amz(ts):
    return datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).strftime(
        "%Y%m%dT%H%M%SZ")


def parse_iso(s):
    s = s.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    dt = datetime.datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt.timestamp()


def rand_id(prefix, total=20):
    alphabet = string.ascii_uppercase + "234567"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(total - len(prefix)))


def write_file(path, data, mode=0o644):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(tmp, mode)
    os.replace(tmp, path)


class ScenarioError(Exception):
    pass


class Opts:
    __slots__ = ("latency", "rate", "faults", "seed", "fail", "first", "delay",
                 "reply", "size", "secret", "token", "skew", "errstyle", "hostile",
                 "hseed", "hkinds", "sigecho")

    def __init__(self):
        self.latency = None
        self.rate = 0.0
        self.faults = ()
        self.seed = 0
        self.fail = None
        self.first = None
        self.delay = 5000.0
        self.reply = None
        self.size = 64 * 1024 * 1024
        self.secret = None
        self.token = None
        self.skew = 0.0
        self.errstyle = None
        self.hostile = None
        self.hseed = None
        self.hkinds = None
        self.sigecho = None


def _num(name, v, lo=None, hi=None, integer=False):
    try:
        x = int(v) if integer else float(v)
    except ValueError:
        raise ScenarioError("mock: option %s needs a number, got %r" % (name, v[:40]))
    if x != x or (lo is not None and x < lo) or (hi is not None and x > hi):
        raise ScenarioError("mock: option %s out of range: %r" % (name, v[:40]))
    return x


def parse_options(segs):
    o = Opts()
    for i, raw in enumerate(segs):
        seg = unquote(raw)
        if seg == "" or (i == 0 and seg == "mock"):
            continue
        name, eq, v = seg.partition("=")
        if not eq:
            raise ScenarioError("mock: path segment %r is not name=value" % seg[:60])
        if name == "latency":
            o.latency = _num(name, v, 0, 3600e3)
        elif name == "rate":
            o.rate = _num(name, v, 0, 1)
        elif name == "faults":
            kinds = tuple(k for k in v.split(".") if k)
            for k in kinds:
                if k not in FAULT_KINDS:
                    raise ScenarioError("mock: unknown fault kind %r" % k[:40])
            if not kinds:
                raise ScenarioError("mock: faults= needs at least one kind")
            o.faults = kinds
        elif name == "seed":
            o.seed = _num(name, v, integer=True)
        elif name == "fail":
            if v not in FAULT_KINDS:
                raise ScenarioError("mock: unknown fault kind %r" % v[:40])
            o.fail = v
        elif name == "first":
            o.first = _num(name, v, 0, integer=True)
        elif name == "delay":
            o.delay = _num(name, v, 0, 3600e3)
        elif name == "reply":
            if v not in REPLY_VARIANTS:
                raise ScenarioError("mock: unknown reply variant %r" % v[:40])
            o.reply = v
        elif name == "size":
            o.size = _num(name, v, 0, 1 << 34, integer=True)
        elif name == "secret":
            if v != "rotated":
                raise ScenarioError("mock: secret= must be 'rotated'")
            o.secret = v
        elif name == "token":
            if v not in ("expired", "invalid"):
                raise ScenarioError("mock: token= must be 'expired' or 'invalid'")
            o.token = v
        elif name == "skew":
            o.skew = _num(name, v, -1e9, 1e9)
        elif name == "errstyle":
            if v not in ("header", "type"):
                raise ScenarioError("mock: errstyle= must be 'header' or 'type'")
            o.errstyle = v
        elif name == "sigecho":
            if v not in ("on", "always", "off"):
                raise ScenarioError("mock: sigecho= must be on, always or off")
            o.sigecho = v
        elif name == "hostile":
            o.hostile = _num(name, v, 0, 1)
        elif name == "hseed":
            o.hseed = _num(name, v, integer=True)
        elif name == "hkinds":
            kinds = tuple(k for k in v.split(".") if k)
            for k in kinds:
                if k not in HOSTILE_KINDS:
                    raise ScenarioError("mock: unknown hostile kind %r" % k[:40])
            if not kinds:
                raise ScenarioError("mock: hkinds= needs at least one kind")
            o.hkinds = kinds
        else:
            raise ScenarioError("mock: unknown scenario option %r" % name[:40])
    if o.rate > 0 and not o.faults:
        raise ScenarioError("mock: rate= needs faults=")
    if o.hostile is None and (o.hseed is not None or o.hkinds is not None):
        raise ScenarioError("mock: hseed= and hkinds= need hostile=")
    return o


DEFAULT_OPTS = Opts()


class AuthError(Exception):
    """kind: missing incomplete unrecognized scope signature clock
    token_invalid token_expired"""

    def __init__(self, status, kind, etype, message):
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.etype = etype
        self.message = message


class _VerifierAuth(SigV4Auth):
    """botocore's SigV4Auth, except that the header set is exactly what the
    client listed in SignedHeaders (request.headers holds only those):
    botocore's own headers_to_sign would silently drop a signed user-agent /
    expect header, which AWS does not do.  Canonical request, string to sign
    and key derivation are botocore's code."""

    def headers_to_sign(self, request):
        return request.headers


class _VerifierRequest(AWSRequest):
    """AWSRequest whose .body skips AWSRequestPreparer.prepare(), which for a
    bytes body returns the same bytes (or None for b"") but costs ~20 us."""

    @property
    def body(self):
        return self.data or None


class Cred:
    __slots__ = ("akid", "secret", "token", "expires", "source", "reported", "issued")

    def __init__(self, akid, secret, token, expires, source, issued=0.0):
        self.akid = akid
        self.issued = issued  # time issued by a credential route (0 = static)
        self.secret = secret
        self.token = token
        self.expires = expires
        self.source = source
        self.reported = expires  # the Expiration told to the client



def load_cred_list(obj):
    if not isinstance(obj, list):
        raise ValueError("credentials must be a JSON list")
    out = []
    for e in obj:
        if not isinstance(e, dict):
            raise ValueError("each credential must be an object")
        akid = e.get("access_key_id")
        sk = e.get("secret_access_key")
        tok = e.get("session_token")
        exp = e.get("expires")
        src = e.get("source", "static")
        if not isinstance(akid, str) or not akid or not isinstance(sk, str) or not sk:
            raise ValueError("access_key_id and secret_access_key are required strings")
        if tok is not None and not isinstance(tok, str):
            raise ValueError("session_token must be null or a string")
        if exp is not None:
            if not isinstance(exp, str):
                raise ValueError("expires must be null or an ISO-8601 string")
            exp = parse_iso(exp)
        if not isinstance(src, str):
            raise ValueError("source must be a string")
        out.append(Cred(akid, sk, tok, exp, src))
    return out


# --------------------------------------------------------------------------
# Shared state
# --------------------------------------------------------------------------

class State:
    def __init__(self, regions, default_latency, log_path):
        self.regions = frozenset(regions)
        self.sts_regions = frozenset(regions) | {"us-east-1"}
        self.default_latency = default_latency
        self.lock = threading.Lock()
        self.registry = {}
        self.imds_tokens = {}
        self.config = {
            "cred_lifetime": 3600,
            "cred_valid_for": None,
            "down": [],
            "web_identity_token": "mock-web-identity-token",
            "container_token": "mock-container-token",
            "role_arn": "arn:aws:iam::%s:role/mock-role" % MOCK_ACCOUNT,
            "latency_ms": None,
            "quota_rps": 0,
            "quota_burst": None,
            "hostile": None,
            "cred_mode": {"imds": "normal", "container": "normal", "sts": "normal"},
            "sts_echo": None,
            "sig_echo": "off",
            "expire_wave": None,
        }
        self.wave_remaining = None   # authenticated API requests until the wave
        self.wave_at = None          # time the wave began (credentials issued
        #                              before it are refused as expired)
        self.hostile = None  # HostileSettings from config["hostile"]
        self.hostile_seq = 0
        self.hostile_entries = collections.deque(maxlen=20000)
        self.hostile_file = None
        # request quota (token bucket over GetSegmentMembership requests)
        self.q_tokens = 0.0
        self.q_last = time.monotonic()
        self.attempts = {}
        self.rngs = {}
        self.seq = 0
        self.in_flight = 0
        self.stopping = False
        self.log_lock = threading.Lock()
        self.log_file = open(log_path, "a", encoding="utf-8") if log_path else None
        self._zero()

    def _zero(self):
        self.c = {
            "requests": 0, "accepted": 0, "signature_rejections": 0,
            "auth_rejections": 0, "client_errors": 0, "ids_answered": 0,
            "tls_handshake_failures": 0,
        }
        self.max_in_flight = self.in_flight
        self.faults = {}
        self.replies = {}
        self.connections = {"http": 0, "https": 0, "total": 0}
        self.by_source = {}
        self.issued = {"imds": 0, "container": 0, "web_identity": 0, "assume_role": 0}
        self.credential_requests = {}
        self.svc_n = 0
        self.svc_sum = 0.0
        self.svc_max = 0.0
        self.quota_admitted = 0
        self.quota_throttled = 0
        self.arrivals = collections.deque()   # monotonic times, last 1 s
        self.max_rate_1s = 0
        self.per_second = collections.OrderedDict()  # int(time) -> [req, thr]
        self.hostile_stats = {"requests": 0, "mutated": 0, "kinds": {}, "classes": {}}
        self.wave_stats = {"rejected": 0, "fetches_since": dict.fromkeys(CRED_SOURCES, 0),
                           "waves": 0}

    def reset(self):
        with self.lock:
            self._zero()
            self.attempts.clear()
            self.rngs.clear()
            self.hostile_entries.clear()
            self.quota_reset_bucket()

    def hostile_draw(self, hs):
        """(kinds, sub-seed) for one request in hostile mode; kinds is empty
        for a request left alone.  One RNG per (seed, kinds, rate), like the
        random faults."""
        key = ("hostile", hs.seed, hs.kinds, hs.rate)
        with self.lock:
            rng = self.rngs.get(key)
            if rng is None:
                rng = self.rngs[key] = random.Random(hs.seed)
            kinds = []
            if rng.random() < hs.rate:
                n = 1 + (rng.random() < 0.3) + (rng.random() < 0.1)
                for _ in range(n):
                    k = rng.choice(hs.kinds)
                    if k not in kinds:
                        kinds.append(k)
            return kinds, rng.getrandbits(64)

    def hostile_record(self, entry):
        with self.lock:
            self.hostile_seq += 1
            entry["seq"] = self.hostile_seq
            hs = self.hostile_stats
            hs["requests"] += 1
            if entry["mut"]:
                hs["mutated"] += 1
            for k in entry["kinds"]:
                hs["kinds"][k] = hs["kinds"].get(k, 0) + 1
            for m in entry["mut"]:
                hs["classes"][m["class"]] = hs["classes"].get(m["class"], 0) + 1
            self.hostile_entries.append(entry)
            if self.hostile_file is not None:
                try:
                    self.hostile_file.write(json.dumps(entry, ensure_ascii=True) + "\n")
                    self.hostile_file.flush()
                except (OSError, ValueError):
                    pass

    def wave_arm(self, w):
        """Called with the lock held when config expire_wave is set."""
        self.wave_stats = {"rejected": 0, "fetches_since": dict.fromkeys(CRED_SOURCES, 0),
                           "waves": 0}
        self.wave_at = None
        self.wave_remaining = None
        if w is not None:
            self.wave_remaining = w["after_requests"]
            if self.wave_remaining == 0:
                self._wave_begin()

    def _wave_begin(self):
        self.wave_at = time.time()
        self.wave_remaining = None
        self.wave_stats["waves"] += 1

    def wave_tick(self):
        """One authenticated GetSegmentMembership request arrived."""
        with self.lock:
            if self.wave_remaining is not None:
                self.wave_remaining -= 1
                if self.wave_remaining <= 0:
                    self._wave_begin()

    def wave_rejects(self, cred):
        """True (and counted) when cred was issued before the wave began by
        one of the wave's sources: the request gets ExpiredTokenException."""
        with self.lock:
            w = self.config.get("expire_wave")
            if self.wave_at is None or w is None:
                return False
            if cred.source not in w["sources"] or cred.issued >= self.wave_at:
                return False
            self.wave_stats["rejected"] += 1
            return True

    def latency_default(self):
        v = self.config.get("latency_ms")
        return self.default_latency if v is None else v

    def quota_reset_bucket(self):
        """Called with the lock held after the quota settings changed."""
        self.q_tokens = float(self._burst())
        self.q_last = time.monotonic()

    def _burst(self):
        b = self.config.get("quota_burst")
        if b is None:
            b = max(1.0, float(self.config.get("quota_rps") or 0))
        return b

    def api_arrival(self):
        """Note a GetSegmentMembership request for the send-rate figures."""
        now = time.monotonic()
        sec = int(time.time())
        with self.lock:
            a = self.arrivals
            a.append(now)
            while a and a[0] <= now - 1.0:
                a.popleft()
            if len(a) > self.max_rate_1s:
                self.max_rate_1s = len(a)
            ps = self.per_second
            e = ps.get(sec)
            if e is None:
                e = ps[sec] = [0, 0]
                while len(ps) > 300:
                    ps.popitem(last=False)
            e[0] += 1

    def quota_take(self):
        """Token bucket: True when the request may go on, False when it is
        over the quota (429 ThrottlingException)."""
        with self.lock:
            rate = self.config.get("quota_rps") or 0
            if rate <= 0:
                return True
            now = time.monotonic()
            burst = self._burst()
            self.q_tokens = min(burst, self.q_tokens + (now - self.q_last) * rate)
            self.q_last = now
            if self.q_tokens >= 1.0:
                self.q_tokens -= 1.0
                self.quota_admitted += 1
                return True
            self.quota_throttled += 1
            e = self.per_second.get(int(time.time()))
            if e is not None:
                e[1] += 1
            return False

    def bump(self, key, n=1):
        with self.lock:
            self.c[key] += n

    def bump_map(self, m, key, n=1):
        with self.lock:
            m[key] = m.get(key, 0) + n
            return m[key]

    def begin_api(self):
        with self.lock:
            self.seq += 1
            self.c["requests"] += 1
            self.in_flight += 1
            if self.in_flight > self.max_in_flight:
                self.max_in_flight = self.in_flight
            return self.seq

    def end_api(self):
        with self.lock:
            self.in_flight -= 1

    def note_service_time(self, t):
        with self.lock:
            self.svc_n += 1
            self.svc_sum += t
            if t > self.svc_max:
                self.svc_max = t

    def accepted(self, source, nids):
        with self.lock:
            self.c["accepted"] += 1
            self.c["ids_answered"] += nids
            self.by_source[source] = self.by_source.get(source, 0) + 1

    def attempt(self, key):
        with self.lock:
            n = self.attempts.get(key, 0) + 1
            if len(self.attempts) > 200000:
                self.attempts.clear()
            self.attempts[key] = n
            return n

    def random_fault(self, o):
        key = (o.seed, o.faults, o.rate)
        with self.lock:
            rng = self.rngs.get(key)
            if rng is None:
                rng = self.rngs[key] = random.Random(o.seed)
            hit = rng.random() < o.rate
            kind = rng.choice(o.faults)
        return kind if hit else None

    def add_creds(self, creds):
        with self.lock:
            for c in creds:
                self.registry[c.akid] = c

    def issue(self, source, prefix, lifetime=None, mode="normal"):
        with self.lock:
            life = self.config["cred_lifetime"] if lifetime is None else lifetime
            now = time.time()
            if mode == "expired":
                life = -600  # already past when the client gets them
            tok = "Mock" + secrets.token_urlsafe(96)
            if mode == "token-ctl":
                tok = tok[:40] + CTL_TOKEN_TAIL + tok[40:]
            c = Cred(rand_id(prefix), secrets.token_urlsafe(30)[:40], tok, now + life,
                     source, issued=now)
            if self.wave_at is not None:
                self.wave_stats["fetches_since"][source] += 1
            if self.config.get("cred_valid_for") is not None:
                # revoked early: the client is told one expiry, the service
                # enforces an earlier one (rotation, revocation)
                c.expires = now + min(life, self.config["cred_valid_for"])
            self.registry[c.akid] = c
            self.issued[source] += 1
        return c

    def snapshot(self):
        with self.lock:
            d = dict(self.c)
            d["faults"] = dict(self.faults)
            d["replies"] = dict(self.replies)
            d["connections"] = dict(self.connections)
            d["max_in_flight"] = self.max_in_flight
            d["in_flight"] = self.in_flight
            d["by_source"] = dict(self.by_source)
            d["issued"] = dict(self.issued)
            d["credential_requests"] = dict(self.credential_requests)
            now = time.monotonic()
            recent = sum(1 for t in self.arrivals if t > now - 1.0)
            cur = int(time.time())
            d["quota"] = {"rps": self.config.get("quota_rps") or 0,
                          "burst": self._burst() if self.config.get("quota_rps") else None,
                          "admitted": self.quota_admitted,
                          "throttled": self.quota_throttled}
            d["send_rate"] = {
                "last_1s": recent,
                "max_1s": self.max_rate_1s,
                # complete seconds only: [epoch second, requests, throttled]
                "per_second": [[k, v[0], v[1]] for k, v in self.per_second.items()
                               if k < cur][-60:],
            }
            cr = self.credential_requests
            d["credential_hits"] = {
                "imds": cr.get("imds_token", 0) + cr.get("imds_metadata", 0) +
                cr.get("imds_down", 0),
                "imds_credentials": cr.get("imds_credentials", 0),
                "container": cr.get("container", 0),
                "sts_assume_role": cr.get("sts:AssumeRole", 0),
                "sts_web_identity": cr.get("sts:AssumeRoleWithWebIdentity", 0),
            }
            fs = self.wave_stats["fetches_since"]
            d["wave"] = {"armed": self.wave_remaining is not None,
                         "requests_to_go": self.wave_remaining,
                         "began": self.wave_at,
                         "waves": self.wave_stats["waves"],
                         "rejected": self.wave_stats["rejected"],
                         "fetches_since": dict(fs, total=sum(fs.values()))}
            d["hostile"] = {"requests": self.hostile_stats["requests"],
                            "mutated": self.hostile_stats["mutated"],
                            "kinds": dict(self.hostile_stats["kinds"]),
                            "classes": dict(self.hostile_stats["classes"]),
                            "last_seq": self.hostile_seq}
            d["service_time_ms"] = {
                "count": self.svc_n,
                "mean": round(self.svc_sum / self.svc_n * 1000, 4) if self.svc_n else 0.0,
                "max": round(self.svc_max * 1000, 4),
            }
            return d

    def log(self, line):
        if self.log_file is None:
            return
        with self.log_lock:
            try:
                self.log_file.write(line + "\n")
                self.log_file.flush()
            except (OSError, ValueError):
                pass


# --------------------------------------------------------------------------
# HTTP handler
# --------------------------------------------------------------------------

class ClientGone(Exception):
    pass


class BodyError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class HeaderError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Headers:
    """Minimal case-insensitive multi-map of request headers (the subset of
    http.client.HTTPMessage that this module uses)."""
    __slots__ = ("_items", "_map")

    def __init__(self, items):
        self._items = items
        m = {}
        for k, v in items:
            m.setdefault(k.lower(), []).append(v)
        self._map = m

    def get(self, name, default=None):
        v = self._map.get(name.lower())
        return v[0] if v else default

    def get_all(self, name, default=None):
        v = self._map.get(name.lower())
        return list(v) if v else default

    def items(self):
        return list(self._items)

    def __contains__(self, name):
        return name.lower() in self._map

    def __getitem__(self, name):
        v = self._map.get(name.lower())
        if not v:
            raise KeyError(name)
        return v[0]

    def __iter__(self):
        return iter(self._map)


MAX_HEADER_LINE = 65536
MAX_HEADERS = 100


def read_headers(fp):
    items = []
    while True:
        line = fp.readline(MAX_HEADER_LINE + 1)
        if len(line) > MAX_HEADER_LINE:
            raise HeaderError(431, "Line too long")
        if line in (b"\r\n", b"\n", b""):
            break
        if len(items) >= MAX_HEADERS:
            raise HeaderError(431, "Too many headers")
        text = line.decode("iso-8859-1").rstrip("\r\n")
        if text[:1] in (" ", "\t"):
            if not items:
                raise HeaderError(400, "Bad header continuation")
            k, v = items[-1]
            items[-1] = (k, v + " " + text.strip())
            continue
        name, colon, value = text.partition(":")
        name = name.strip()
        if not colon or not name:
            raise HeaderError(400, "Bad header line")
        items.append((name, value.strip()))
    return Headers(items)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-aws"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    disable_nagle_algorithm = True
    # Per-request fields (reset in parse_request); class defaults cover
    # errors raised before parse_request runs.
    _t0 = 0.0
    _slept = 0.0
    _deadline = None
    _rid = "-"
    _skew = 0.0
    _note = "-"
    _source = "-"
    _status = 0
    _sent = False

    # -- plumbing ---------------------------------------------------------

    def log_message(self, fmt, *args):
        pass

    def parse_request(self):
        """Like BaseHTTPRequestHandler.parse_request, but with a small header
        parser (the email-package one costs ~50 us per request)."""
        self._t0 = time.perf_counter()
        self._slept = 0.0
        self._deadline = None
        self._rid = str(uuid.uuid4())
        self._skew = 0.0
        self._note = "-"
        self._source = "-"
        self._status = 0
        self._sent = False
        self.command = None
        self.request_version = self.default_request_version
        self.close_connection = True
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if not words:
            return False
        if len(words) != 3:
            self.send_error(400, "Bad request syntax")
            return False
        command, path, version = words
        m = re.fullmatch(r"HTTP/(\d+)\.(\d+)", version)
        if m is None:
            self.send_error(400, "Bad request version")
            return False
        vnum = (int(m.group(1)), int(m.group(2)))
        if vnum >= (2, 0):
            self.send_error(505, "Invalid HTTP version")
            return False
        if vnum >= (1, 1):
            self.close_connection = False
        self.request_version = version
        self.command, self.path = command, path
        try:
            self.headers = read_headers(self.rfile)
        except HeaderError as e:
            self.send_error(e.status, str(e))
            return False
        conntype = self.headers.get("Connection", "").lower()
        if conntype == "close":
            self.close_connection = True
        elif conntype == "keep-alive":
            self.close_connection = False
        expect = self.headers.get("Expect", "").lower()
        if expect == "100-continue" and vnum >= (1, 1):
            if not self.handle_expect_100():
                return False
        return True

    def send_error(self, code, message=None, explain=None):
        # Used by BaseHTTPRequestHandler for unparsable requests.
        self._rid = str(uuid.uuid4())
        self._skew = 0.0
        self._note = "bad-http"
        self._source = "-"
        self.close_connection = True
        body = ("%d %s\n" % (code, message or "")).encode("latin-1", "replace")
        try:
            self._respond(code, body, "text/plain", close=True)
        except OSError:
            pass
        self._finish_log()

    def _sleep(self, ms):
        if ms and ms > 0:
            t = ms / 1000.0
            time.sleep(t)
            self._slept += t

    def _set_latency(self, ms):
        """Answer no earlier than ms after the request line arrived.  The
        work (verification, body) is done first and the remaining time is
        slept just before the first byte is written, so the mock's own CPU
        time hides inside the simulated latency."""
        if ms and ms > 0:
            self._deadline = self._t0 + ms / 1000.0

    def _await_deadline(self):
        if self._deadline is not None:
            d = self._deadline - time.perf_counter()
            self._deadline = None
            if d > 0:
                time.sleep(d)
                self._slept += d

    def _respond(self, status, body, ctype, headers=(), close=False,
                 length=None, head_only=False, request_id=None):
        """Write a full response in one send (avoids Nagle/delayed-ACK
        stalls).  length overrides Content-Length (truncate fault)."""
        self._await_deadline()
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [
            "HTTP/1.1 %d %s" % (status, reason),
            "Date: " + email.utils.formatdate(time.time() + self._skew, usegmt=True),
            "x-amzn-RequestId: " + (self._rid if request_id is None else request_id),
        ]
        if ctype is not None:
            lines.append("Content-Type: " + ctype)
        lines.append("Content-Length: %d" % (len(body) if length is None else length))
        for k, v in headers:
            lines.append("%s: %s" % (k, v))
        if close:
            self.close_connection = True
        if self.close_connection:
            lines.append("Connection: close")
        elif getattr(self, "request_version", "HTTP/1.1") == "HTTP/1.0":
            lines.append("Connection: keep-alive")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self._status = status
        self._sent = True
        if head_only or getattr(self, "command", None) == "HEAD":
            self.wfile.write(head)
        else:
            self.wfile.write(head + body)

    def _json(self, status, obj, headers=()):
        self._respond(status, json.dumps(obj).encode(), "application/json", headers)

    def _finish_log(self):
        st = self.server.state
        path = getattr(self, "path", "?").split("?", 1)[0]
        if len(path) > 300:
            path = path[:300] + "..."
        path = path.replace("\n", "%0A").replace("\r", "%0D").replace(" ", "%20")
        st.log("%s %s %s %s %d note=%s source=%s rid=%s" % (
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            self.server.name, getattr(self, "command", "?"), path, self._status,
            self._note, self._source, self._rid))

    # -- body ---------------------------------------------------------------

    def _read_exact(self, n):
        data = self.rfile.read(n)
        if data is None or len(data) != n:
            raise ClientGone()
        return data

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding")
        if te is not None:
            if te.strip().lower() != "chunked":
                raise BodyError(501, "unsupported transfer-encoding")
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(1026)
                if not line:
                    raise ClientGone()
                if not line.endswith(b"\n"):
                    raise BodyError(400, "bad chunk size line")
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise BodyError(400, "bad chunk size")
                if size < 0:
                    raise BodyError(400, "bad chunk size")
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(8192)
                        if not t:
                            raise ClientGone()
                        if t in (b"\r\n", b"\n"):
                            break
                    break
                total += size
                if total > MAX_BODY:
                    raise BodyError(413, "request body too large")
                chunks.append(self._read_exact(size))
                crlf = self.rfile.readline(3)
                if crlf not in (b"\r\n", b"\n"):
                    raise BodyError(400, "bad chunk terminator")
            return b"".join(chunks)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        cl = cl.strip()
        if not cl.isdigit():
            raise BodyError(400, "bad Content-Length")
        n = int(cl)
        if n > MAX_BODY:
            raise BodyError(413, "request body too large")
        return self._read_exact(n) if n else b""

    # -- dispatch -------------------------------------------------------------

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def _dispatch(self):
        st = self.server.state
        try:
            target = self.path
            if not target.startswith("/"):
                if target.startswith(("http://", "https://")):
                    p = urlsplit(target)
                    target = (p.path or "/") + ("?" + p.query if p.query else "")
                else:
                    self._respond(400, b"bad request target\n", "text/plain", close=True)
                    return
            raw_path, _, query = target.partition("?")
            try:
                body = self._read_body()
            except BodyError as e:
                self._respond(e.status, (str(e) + "\n").encode(), "text/plain", close=True)
                return
            if raw_path == "/_mock" or raw_path.startswith("/_mock/"):
                self.handle_control(raw_path, query, body)
            elif raw_path == "/latest" or raw_path.startswith("/latest/"):
                self.handle_imds(raw_path)
            elif raw_path == "/container" or raw_path.startswith("/container/"):
                self.handle_container(raw_path)
            elif "domains" in raw_path.split("/"):
                self.handle_api(raw_path, query, body)
            elif (self.command == "POST" and (self.headers.get("Content-Type") or "")
                  .split(";")[0].strip().lower() == "application/x-www-form-urlencoded"):
                self.handle_sts(raw_path, query, body)
            else:
                seq = st.begin_api()
                try:
                    st.bump("client_errors")
                    self._api_error(404, "UnknownOperationException", None, seq,
                                    DEFAULT_OPTS)
                finally:
                    st.end_api()
        except ClientGone:
            self.close_connection = True
            self._note = "client-gone"
        except (ConnectionError, BrokenPipeError, TimeoutError, ssl.SSLError):
            self.close_connection = True
            if self._note == "-":
                self._note = "client-gone"
        except Exception:
            self.close_connection = True
            sys.stderr.write("mock_aws: internal error:\n" + traceback.format_exc())
            if not self._sent:
                try:
                    self._respond(500, b'{"message":"mock internal error"}',
                                  "application/json", close=True)
                except OSError:
                    pass
        finally:
            # status 0 = no answer (client gone / imds down), -1 = reset,
            # -2 = hang.
            self._finish_log()
            self.command = None
            self.path = "?"

    # -- auth -----------------------------------------------------------------

    def _verify(self, raw_target, body, service, regions, o):
        """SigV4 verification with botocore.  Returns the registry Cred or
        raises AuthError."""
        st = self.server.state
        authz = self.headers.get("Authorization")
        if authz is None or not authz.strip():
            raise AuthError(403, "missing", "MissingAuthenticationTokenException",
                            "Missing Authentication Token")
        authz = authz.strip()
        if not authz.startswith("AWS4-HMAC-SHA256 "):
            raise AuthError(400, "incomplete", "IncompleteSignatureException",
                            "Authorization header requires the AWS4-HMAC-SHA256 "
                            "algorithm and 'Credential', 'SignedHeaders' and "
                            "'Signature' parameters.")
        params = {}
        for part in authz[len("AWS4-HMAC-SHA256 "):].split(","):
            part = part.strip()
            if not part:
                continue
            k, eq, v = part.partition("=")
            if not eq:
                raise AuthError(400, "incomplete", "IncompleteSignatureException",
                                "Authorization header requires each component "
                                "to be of the form key=value.")
            params[k.strip()] = v.strip()
        missing = [k for k in ("Credential", "Signature", "SignedHeaders")
                   if not params.get(k)]
        if missing:
            raise AuthError(400, "incomplete", "IncompleteSignatureException",
                            " ".join("Authorization header requires '%s' parameter." % k
                                     for k in missing))
        amzdate = self.headers.get("X-Amz-Date")
        if amzdate is None:
            raise AuthError(400, "incomplete", "IncompleteSignatureException",
                            "Authorization header requires existence of either "
                            "a 'X-Amz-Date' or a 'Date' header.")
        amzdate = amzdate.strip()
        if not AMZDATE_RE.fullmatch(amzdate):
            raise AuthError(400, "incomplete", "IncompleteSignatureException",
                            "Date must be in ISO-8601 'basic format'. Got '%s'."
                            % amzdate[:40])
        try:
            req_ts = calendar.timegm(datetime.datetime(
                int(amzdate[0:4]), int(amzdate[4:6]), int(amzdate[6:8]),
                int(amzdate[9:11]), int(amzdate[11:13]), int(amzdate[13:15])).timetuple())
        except ValueError:
            raise AuthError(400, "incomplete", "IncompleteSignatureException",
                            "Date must be in ISO-8601 'basic format'. Got '%s'."
                            % amzdate[:40])
        scope = params["Credential"].split("/")
        if len(scope) != 5 or not scope[0]:
            raise AuthError(400, "incomplete", "IncompleteSignatureException",
                            "Credential must have exactly 5 slash-delimited "
                            "elements, e.g. keyid/date/region/service/term.")
        akid, sdate, sregion, sservice, term = scope
        signed = [h.strip().lower() for h in params["SignedHeaders"].split(";")]
        if any(not h for h in signed):
            raise AuthError(400, "incomplete", "IncompleteSignatureException",
                            "SignedHeaders contains an empty header name.")
        signed_set = set(signed)
        if "host" not in signed_set:
            raise AuthError(403, "scope", "InvalidSignatureException",
                            "'Host' or ':authority' must be a 'SignedHeader' in "
                            "the AWS Authorization.")
        if "x-amz-date" not in signed_set:
            raise AuthError(403, "scope", "InvalidSignatureException",
                            "'X-Amz-Date' must be a 'SignedHeader' in the AWS "
                            "Authorization.")
        req_token = self.headers.get("X-Amz-Security-Token")
        if req_token is not None and "x-amz-security-token" not in signed_set:
            raise AuthError(403, "scope", "InvalidSignatureException",
                            "'X-Amz-Security-Token' must be a 'SignedHeader' in "
                            "the AWS Authorization.")
        cred = st.registry.get(akid)
        if cred is None:
            raise AuthError(403, "unrecognized", "UnrecognizedClientException",
                            MSG_TOKEN_INVALID)
        if term != "aws4_request":
            raise AuthError(403, "scope", "InvalidSignatureException",
                            "Credential should be scoped with a valid terminator: "
                            "'aws4_request', not '%s'." % term[:40])
        if sservice != service:
            raise AuthError(403, "scope", "InvalidSignatureException",
                            "Credential should be scoped to correct service: '%s'. "
                            % service)
        if sregion not in regions:
            raise AuthError(403, "scope", "InvalidSignatureException",
                            "Credential should be scoped to a valid region. ")
        if sdate != amzdate[:8]:
            raise AuthError(403, "scope", "InvalidSignatureException",
                            "Date in Credential scope does not match YYYYMMDD from "
                            "ISO-8601 version of date from HTTP: '%s' != '%s', "
                            "from '%s'." % (sdate[:20], amzdate[:8], amzdate))
        now = time.time() + o.skew
        if req_ts < now - SKEW_LIMIT:
            raise AuthError(403, "clock", "InvalidSignatureException",
                            "Signature expired: %s is now earlier than %s (%s - 5 min.)"
                            % (amzdate, amz(now - SKEW_LIMIT), amz(now)))
        if req_ts > now + SKEW_LIMIT:
            raise AuthError(403, "clock", "InvalidSignatureException",
                            "Signature not yet current: %s is still later than %s "
                            "(%s + 5 min.)" % (amzdate, amz(now + SKEW_LIMIT), amz(now)))
        if req_token is not None:
            if o.token == "invalid":
                raise AuthError(403, "token_invalid", "UnrecognizedClientException",
                                MSG_TOKEN_INVALID)
            if o.token == "expired":
                raise AuthError(403, "token_expired", "ExpiredTokenException",
                                MSG_TOKEN_EXPIRED)
        if cred.token is not None:
            if req_token is None or not hmac.compare_digest(
                    req_token.strip().encode("utf-8"), cred.token.encode("utf-8")):
                raise AuthError(403, "token_invalid", "UnrecognizedClientException",
                                MSG_TOKEN_INVALID)
        elif req_token is not None:
            raise AuthError(403, "token_invalid", "UnrecognizedClientException",
                            MSG_TOKEN_INVALID)
        if cred.expires is not None and now >= cred.expires:
            raise AuthError(403, "token_expired", "ExpiredTokenException",
                            MSG_TOKEN_EXPIRED)
        if st.wave_rejects(cred):
            self._note = "wave"
            raise AuthError(403, "token_expired", "ExpiredTokenException",
                            MSG_TOKEN_EXPIRED)
        # Rebuild the request with only the signed headers.
        pairs = []
        for name in signed:
            vals = self.headers.get_all(name)
            if vals is None:
                raise AuthError(403, "signature", "InvalidSignatureException",
                                MSG_SIG_MISMATCH)
            for v in vals:
                pairs.append((name, v))
        hh = Headers(pairs)
        if "x-amz-content-sha256" in signed_set:
            claimed = (self.headers.get("X-Amz-Content-SHA256") or "").strip()
            if claimed != hashlib.sha256(body).hexdigest():
                raise AuthError(403, "signature", "InvalidSignatureException",
                                MSG_SIG_MISMATCH)
        secret = cred.secret + ("/rotated" if o.secret == "rotated" else "")
        cr = sts = None
        try:
            req = _VerifierRequest(method=self.command, url="http://mock" + raw_target,
                                   data=body)
            req.headers = hh
            req.context["timestamp"] = amzdate
            signer = _VerifierAuth(Credentials(akid, secret, cred.token), service,
                                   sregion)
            cr = signer.canonical_request(req)
            sts = signer.string_to_sign(req, cr)
            expected = signer.signature(sts, req)
        except Exception:
            expected = ""
        given = params["Signature"].encode("utf-8", "replace")
        echo = o.sigecho or st.config.get("sig_echo") or "off"
        if (not expected or not hmac.compare_digest(expected.encode(), given)
                or echo == "always"):
            msg = MSG_SIG_MISMATCH
            if echo in ("on", "always") and cr is not None:
                # as AWS does: the canonical request (with the
                # x-amz-security-token line) and the string to sign
                msg += ("\n\nThe Canonical String for this request should have been\n'%s'"
                        "\n\nThe String-to-Sign should have been\n'%s'\n" % (cr, sts))
            raise AuthError(403, "signature", "InvalidSignatureException", msg)
        return cred

    # -- GetSegmentMembership ----------------------------------------------

    def _api_error(self, status, etype, message, seq, o, headers=()):
        style = o.errstyle or ("header" if seq % 2 == 0 else "type")
        if style == "header":
            hdrs = [("x-amzn-ErrorType", etype + ERR_NS_HEADER)]
            obj = {"Message": message} if message is not None else {}
        else:
            hdrs = []
            obj = {"__type": ERR_NS_TYPE + etype}
            if message is not None:
                obj["message"] = message
        self._respond(status, json.dumps(obj, ensure_ascii=False).encode(),
                      "application/json", list(headers) + hdrs)

    def handle_api(self, raw_path, query, body):
        st = self.server.state
        seq = st.begin_api()
        try:
            self._api(seq, raw_path, query, body)
        finally:
            st.end_api()
            st.note_service_time(time.perf_counter() - self._t0 - self._slept)

    def _api(self, seq, raw_path, query, body):
        st = self.server.state
        segs = raw_path.split("/")
        idx = segs.index("domains", 1)
        try:
            o = parse_options(segs[1:idx])
        except ScenarioError as e:
            st.bump("client_errors")
            self._api_error(400, "BadRequestException", str(e), seq, DEFAULT_OPTS)
            return
        self._skew = o.skew
        tail = segs[idx:]
        if (self.command != "POST" or len(tail) != 5 or tail[2] != "segments"
                or tail[4] != "membership"):
            st.bump("client_errors")
            self._api_error(404, "UnknownOperationException", None, seq, o)
            return
        self._set_latency(o.latency if o.latency is not None else st.latency_default())
        st.api_arrival()

        raw_target = raw_path + ("?" + query if query else "")
        try:
            cred = self._verify(raw_target, body, "profile", st.regions, o)
        except AuthError as e:
            st.bump("signature_rejections" if e.kind == "signature" else "auth_rejections")
            self._note = "auth:" + e.kind
            self._api_error(e.status, e.etype, e.message, seq, o)
            return
        self._source = cred.source
        st.wave_tick()

        # Request quota (like the account-wide quota of the real API: checked
        # for authenticated requests, before anything else)
        if not st.quota_take():
            self._note = "quota:throttled"
            self._api_error(429, "ThrottlingException", "Rate exceeded", seq, o)
            return

        # Validation
        errors = []
        domain = unquote(tail[1])
        segment = unquote(tail[3])
        for label, val in (("domainName", domain), ("segmentDefinitionName", segment)):
            if not val:
                errors.append("Value '' at '%s' failed to satisfy constraint: Member "
                              "must have length greater than or equal to 1" % label)
            elif len(val) > 64:
                errors.append("Value '%s' at '%s' failed to satisfy constraint: Member "
                              "must have length less than or equal to 64"
                              % (val[:80], label))
            elif not NAME_RE.fullmatch(val):
                errors.append("Value '%s' at '%s' failed to satisfy constraint: Member "
                              "must satisfy regular expression pattern: ^[a-zA-Z0-9_-]+$"
                              % (val[:80], label))
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            st.bump("client_errors")
            self._api_error(400, "BadRequestException",
                            "Content-Type must be application/json", seq, o)
            return
        ids = None
        try:
            obj = json.loads(body.decode("utf-8"))
        except Exception:
            st.bump("client_errors")
            self._api_error(400, "BadRequestException",
                            "Could not parse request body into json: the body is "
                            "not a valid UTF-8 JSON document", seq, o)
            return
        if not isinstance(obj, dict):
            st.bump("client_errors")
            self._api_error(400, "BadRequestException",
                            "Could not parse request body into json: expected a "
                            "JSON object", seq, o)
            return
        ids = obj.get("ProfileIds")
        if ids is None:
            errors.append("Value null at 'profileIds' failed to satisfy constraint: "
                          "Member must not be null")
        elif not isinstance(ids, list):
            errors.append("Value at 'profileIds' failed to satisfy constraint: "
                          "Member must be a list of strings")
        elif len(ids) < 1:
            errors.append("Value '[]' at 'profileIds' failed to satisfy constraint: "
                          "Member must have length greater than or equal to 1")
        elif len(ids) > 100:
            errors.append("Value at 'profileIds' failed to satisfy constraint: Member "
                          "must have length less than or equal to 100")
        else:
            for i, pid in enumerate(ids, 1):
                if not isinstance(pid, str):
                    errors.append("Value at 'profileIds.%d.member' failed to satisfy "
                                  "constraint: Member must be a string" % i)
                elif not ID_RE.fullmatch(pid):
                    errors.append("Value '%s' at 'profileIds.%d.member' failed to "
                                  "satisfy constraint: Member must satisfy regular "
                                  "expression pattern: [a-f0-9]{32}" % (pid[:80], i))
        if errors:
            st.bump("client_errors")
            n = len(errors)
            shown = errors[:10]
            self._api_error(400, "BadRequestException",
                            "%d validation error%s detected: %s" % (
                                n, "" if n == 1 else "s", "; ".join(shown)), seq, o)
            return

        # Resources
        if domain not in DOMAINS:
            st.bump("client_errors")
            self._api_error(404, "ResourceNotFoundException",
                            "Domain %s does not exist." % domain, seq, o)
            return
        if segment not in SEGMENTS:
            st.bump("client_errors")
            self._api_error(404, "ResourceNotFoundException",
                            "Segment definition %s does not exist in domain %s."
                            % (segment, domain), seq, o)
            return

        uniq = list(dict.fromkeys(ids))

        # Faults
        kind = None
        if o.rate > 0:
            kind = st.random_fault(o)
        if o.fail is not None:
            n = st.attempt(raw_path.encode("utf-8", "surrogateescape") + b"\0" + body)
            if o.first is None or n <= o.first:
                kind = o.fail
        if kind is not None:
            count = st.bump_map(st.faults, kind)
            self._note = "fault:" + kind
            if kind == "delay":
                self._await_deadline()
                self._sleep(o.delay)
            elif self._fault(kind, count, seq, o, segment, uniq):
                return

        hs = st.hostile
        if o.hostile is not None:
            hs = HostileSettings(o.hostile, o.hseed or 0, o.hkinds or HOSTILE_KINDS)
        if hs is not None:
            self._hostile(hs, segment, uniq, cred)
            return

        if o.reply is not None:
            st.bump_map(st.replies, o.reply)
            self._note = "reply:" + o.reply
            self._variant(o, segment, uniq)
            return

        # a wave that began while this request was in flight rejects it too
        self._await_deadline()
        if st.wave_rejects(cred):
            st.bump("auth_rejections")
            self._note = "auth:token_expired:wave"
            self._api_error(403, "ExpiredTokenException", MSG_TOKEN_EXPIRED, seq, o)
            return
        self._respond(200, normal_body(segment, uniq), "application/json")
        st.accepted(cred.source, len(uniq))

    def _hostile(self, hs, segment, uniq, cred):
        """Hostile mode: a reply mutated in 0..3 ways (see HostileReply),
        every request recorded in the hostile log, mutated or not."""
        st = self.server.state
        kinds, sub = st.hostile_draw(hs)
        entry = {"t": round(time.time(), 3), "rid": self._rid, "segment": segment,
                 "ids": uniq, "kinds": kinds}
        if not kinds:
            self._note = "hostile:-"
            entry.update(status=200, mut=[])
            st.hostile_record(entry)
            self._respond(200, normal_body(segment, uniq), "application/json")
            st.accepted(cred.source, len(uniq))
            return
        hr = HostileReply(random.Random(sub), segment, uniq, self._rid)
        for k in sorted(kinds, key=HostileReply.ORDER.get):
            hr.apply(k)
        data = hr.render()
        self._note = "hostile:" + "+".join(kinds)
        entry.update(status=hr.status, mut=hr.muts)
        hashes = hr.profile_hashes()
        if hashes:
            entry["profile_sha256"] = hashes
        if hr.request_id is not None:
            entry["request_id_len"] = len(hr.request_id)
        st.hostile_record(entry)
        if hr.conn_cut:
            self._respond(hr.status, data[: len(data) // 2], hr.ctype, hr.headers,
                          length=len(data), request_id=hr.request_id)
            self.close_connection = True
            return
        self._respond(hr.status, data, hr.ctype, hr.headers, request_id=hr.request_id)

    def _fault(self, kind, count, seq, o, segment, uniq):
        """Apply a fault.  Returns True when the request is finished."""
        if kind == "throttle":
            hdrs = [("x-amz-retry-after", "200")] if count % 2 == 1 else []
            self._api_error(429, "ThrottlingException", "Rate exceeded", seq, o, hdrs)
        elif kind == "400":
            self._api_error(400, "BadRequestException",
                            "The request was rejected (mock fault).", seq, o)
        elif kind == "500":
            self._api_error(500, "InternalServerException",
                            "An internal error occurred (mock fault).", seq, o)
        elif kind in ("502", "503", "504"):
            title = {"502": "502 Bad Gateway", "503": "503 Service Unavailable",
                     "504": "504 Gateway Time-out"}[kind]
            html = ("<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n"
                    "<center><h1>%s</h1></center>\r\n</body>\r\n</html>\r\n"
                    % (title, title))
            self._respond(int(kind), html.encode(), "text/html")
        elif kind == "reset":
            self._rst_close()
        elif kind == "truncate":
            full = normal_body(segment, uniq)
            half = full[: len(full) // 2]
            self._respond(200, half, "application/json", length=len(full))
            self.close_connection = True  # no "Connection: close" warning
        elif kind == "garbage":
            if count % 2 == 1:
                body = b"<html><body>OK</body></html>"
            else:
                r = random.Random(count)
                body = b"<!" + bytes(r.choice(b"abcdefXYZ0123456789{}[]:,\" <>!?#")
                                     for _ in range(200))
            self._respond(200, body, "application/json")
        elif kind == "hang":
            self._hang()
        return True

    def _rst_close(self):
        self._await_deadline()
        self._status = -1  # logged as "-1": connection reset
        self.close_connection = True
        sock = self.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            fd = sock.detach()
            os.close(fd)
        except OSError:
            pass

    def _hang(self):
        self._await_deadline()
        self._status = -2  # logged as "-2": hung until the client left
        self.close_connection = True
        st = self.server.state
        sock = self.connection
        try:
            sock.settimeout(1.0)
            while not st.stopping:
                try:
                    data = sock.recv(65536)
                except (socket.timeout, ssl.SSLWantReadError):
                    continue
                if not data:
                    break
        except OSError:
            pass

    def _variant(self, o, segment, uniq):
        v = o.reply
        if v == "empty":
            self._respond(200, b"{}", "application/json")
            return
        victim = uniq[0]
        profiles = []
        failures = []
        for pid in uniq:
            if pid[0] == "f":
                failures.append({"ProfileId": pid, "Message": "Profile not found",
                                 "Status": 404})
            elif is_member(segment, pid):
                profiles.append({"ProfileId": pid, "QueryResult": "PRESENT",
                                 "Profile": json.loads(profile_json(pid))})
            else:
                profiles.append({"ProfileId": pid, "QueryResult": "ABSENT"})

        def find(lst, pid):
            for e in lst:
                if e["ProfileId"] == pid:
                    return e
            return None

        def ensure_present(pid):
            e = find(profiles, pid)
            if e is None:
                f = find(failures, pid)
                if f is not None:
                    failures.remove(f)
                e = {"ProfileId": pid, "QueryResult": "PRESENT"}
                profiles.append(e)
            if "Profile" not in e:
                e["QueryResult"] = "PRESENT"
                e["Profile"] = make_profile(pid) if pid[0] != "f" else \
                    dict(make_profile("0" + pid[1:]), ProfileId=pid)
                e["Profile"] = json.loads(dumps_wire(e["Profile"]))
            return e

        lca = float(SEGMENTS[segment])
        sentinel = None
        if v == "unknown-result":
            ensure_present(victim)["QueryResult"] = "MAYBE"
        elif v == "extra-id":
            extra = "e" * 32
            while extra in uniq:
                extra = hashlib.md5(extra.encode()).hexdigest().replace("f", "e")
            profiles.append({"ProfileId": extra, "QueryResult": "ABSENT"})
        elif v == "duplicate":
            e = find(profiles, victim)
            if e is not None:
                profiles.append(json.loads(json.dumps(e)))
            else:
                failures.append(dict(find(failures, victim)))
        elif v == "both":
            if find(profiles, victim) is not None:
                failures.append({"ProfileId": victim, "Message": "Profile not found",
                                 "Status": 404})
            else:
                profiles.append({"ProfileId": victim, "QueryResult": "ABSENT"})
        elif v == "wrong-type":
            e = find(profiles, victim) or find(failures, victim)
            e["ProfileId"] = int(victim[:7], 16)
        elif v == "not-object":
            pass
        elif v == "profiles-not-array":
            pass
        elif v == "null-byte":
            ensure_present(victim)["Profile"]["FirstName"] = "Nul\u0000Byte"
        elif v == "bad-utf8":
            sentinel = "@@MOCK-BAD-UTF8@@"
            ensure_present(victim)["Profile"]["FirstName"] = sentinel
        elif v == "huge":
            sentinel = "@@MOCK-HUGE@@"
            ensure_present(victim)["Profile"]["Attributes"]["blob"] = sentinel
        elif v == "omit":
            profiles = [e for e in profiles if e["ProfileId"][0] != "0"]
            failures = [e for e in failures if e["ProfileId"][0] != "0"]
        elif v == "bad-status":
            if not failures:
                e = find(profiles, victim)
                profiles.remove(e)
                failures.append({"ProfileId": victim, "Message": "Profile not found",
                                 "Status": 404})
            failures[0]["Status"] = "abc"
        elif v == "bad-time":
            lca = "2025-11-28T12:00:00Z"
        key = lambda e: str(e["ProfileId"])  # noqa: E731
        profiles.sort(key=key, reverse=True)
        failures.sort(key=key, reverse=True)
        if v == "not-object":
            text = dumps_wire(profiles + failures)
        else:
            model = {"SegmentDefinitionName": segment,
                     "Profiles": {} if v == "profiles-not-array" else profiles}
            if failures:
                model["Failures"] = failures
            model["LastComputedAt"] = lca
            text = dumps_wire(model)
        data = text.encode("utf-8")
        if v == "bad-utf8":
            data = data.replace(sentinel.encode(), b"Bad\xff\xfeUTF8\xc3(\xed\xa0\x80")
        if v == "huge":
            pre, _, post = data.partition(sentinel.encode())
            fill = max(0, o.size - len(pre) - len(post))
            total = len(pre) + fill + len(post)
            self._respond(200, pre, "application/json", length=total)
            chunk = b"x" * 65536
            left = fill
            while left > 0:
                n = min(left, len(chunk))
                self.wfile.write(chunk[:n] if n < len(chunk) else chunk)
                left -= n
            self.wfile.write(post)
            return
        self._respond(200, data, "application/json")

    # -- control --------------------------------------------------------------

    def handle_control(self, raw_path, query, body):
        st = self.server.state
        self._note = "control"
        if raw_path == "/_mock/stats" and self.command in ("GET", "HEAD"):
            self._json(200, st.snapshot())
        elif raw_path == "/_mock/reset" and self.command == "POST":
            st.reset()
            self._json(200, {"reset": True})
        elif raw_path == "/_mock/config" and self.command in ("GET", "POST"):
            if self.command == "POST":
                try:
                    upd = json.loads(body.decode("utf-8") or "{}")
                    if not isinstance(upd, dict):
                        raise ValueError("config must be a JSON object")
                    new = dict(st.config)
                    for k, val in upd.items():
                        if k == "cred_lifetime":
                            if isinstance(val, bool) or not isinstance(val, (int, float)):
                                raise ValueError("cred_lifetime must be a number")
                            new[k] = val
                        elif k == "cred_valid_for":
                            if val is not None and (isinstance(val, bool) or not isinstance(val, (int, float))):
                                raise ValueError("cred_valid_for must be a number or null")
                            new[k] = val
                        elif k == "down":
                            if not isinstance(val, list) or any(
                                    x not in ("imds", "container", "sts") for x in val):
                                raise ValueError("down must be a list of imds/container/sts")
                            new[k] = sorted(set(val))
                        elif k in ("web_identity_token", "role_arn"):
                            if not isinstance(val, str) or not val:
                                raise ValueError("%s must be a non-empty string" % k)
                            new[k] = val
                        elif k == "latency_ms":
                            if val is not None and (isinstance(val, bool) or not isinstance(
                                    val, (int, float)) or not 0 <= val <= 3600e3):
                                raise ValueError("latency_ms must be null or 0..3600000")
                            new[k] = val
                        elif k == "quota_rps":
                            if isinstance(val, bool) or not isinstance(val, (int, float)) \
                                    or not 0 <= val <= 1e6:
                                raise ValueError("quota_rps must be a number 0..1000000 (0 = off)")
                            new[k] = val
                        elif k == "quota_burst":
                            if val is not None and (isinstance(val, bool) or not isinstance(
                                    val, (int, float)) or not 1 <= val <= 1e6):
                                raise ValueError("quota_burst must be null or 1..1000000")
                            new[k] = val
                        elif k == "cred_mode":
                            if not isinstance(val, dict):
                                raise ValueError("cred_mode must be an object")
                            cm = dict(new["cred_mode"])
                            for src, mode in val.items():
                                if src not in ("imds", "container", "sts"):
                                    raise ValueError("cred_mode keys: imds container sts")
                                if not isinstance(mode, str) or not (
                                        mode in CRED_MODES or mode.startswith("expiration:") or
                                        (mode.startswith("odd:") and mode[4:] in ODD_EXPIRATIONS)):
                                    raise ValueError(
                                        "cred_mode values: %s expiration:<text> odd:<%s>"
                                        % (" ".join(CRED_MODES), "|".join(ODD_EXPIRATIONS)))
                                if mode == "api-token-ctl" and src != "imds":
                                    raise ValueError("api-token-ctl is for imds only")
                                cm[src] = mode
                            new[k] = cm
                        elif k == "sts_echo":
                            if val is not None and val not in STS_ECHO:
                                raise ValueError("sts_echo must be null or one of: "
                                                 + " ".join(STS_ECHO))
                            new[k] = val
                        elif k == "sig_echo":
                            if val not in ("off", "on", "always"):
                                raise ValueError("sig_echo must be off, on or always")
                            new[k] = val
                        elif k == "expire_wave":
                            if val is not None:
                                if not isinstance(val, dict) or any(
                                        x not in ("after_requests", "sources") for x in val):
                                    raise ValueError("expire_wave must be null or "
                                                     "{after_requests, sources}")
                                ar = val.get("after_requests", 0)
                                if isinstance(ar, bool) or not isinstance(ar, int) or ar < 0:
                                    raise ValueError("after_requests must be an integer >= 0")
                                srcs = val.get("sources", list(CRED_SOURCES))
                                if not isinstance(srcs, list) or not srcs or not all(
                                        isinstance(x, str) for x in srcs):
                                    raise ValueError("sources must be a list of credential "
                                                     "source labels")
                                val = {"after_requests": ar, "sources": srcs}
                            new[k] = val
                        elif k == "hostile":
                            hobj = parse_hostile_config(val)
                            new[k] = hobj.as_json() if hobj is not None else None
                        elif k == "container_token":
                            if val is not None and not isinstance(val, str):
                                raise ValueError("container_token must be a string or null")
                            new[k] = val
                        else:
                            raise ValueError("unknown config key %r" % k[:40])
                except (ValueError, UnicodeDecodeError) as e:
                    self._json(400, {"message": str(e)})
                    return
                with st.lock:
                    quota_changed = any(new.get(k) != st.config.get(k)
                                        for k in ("quota_rps", "quota_burst"))
                    st.config = new
                    st.hostile = parse_hostile_config(new["hostile"])
                    if "expire_wave" in upd:
                        st.wave_arm(new["expire_wave"])
                    if quota_changed:
                        st.quota_reset_bucket()
            self._json(200, st.config)
        elif raw_path == "/_mock/hostile-log" and self.command == "GET":
            q = dict(parse_qsl(query))
            try:
                since = int(q.get("since", "0"))
                limit = int(q.get("limit", "1000"))
            except ValueError:
                self._json(400, {"message": "since and limit must be integers"})
                return
            with st.lock:
                ents = [e for e in st.hostile_entries if e["seq"] > since][:max(0, limit)]
                last = st.hostile_seq
            self._json(200, {"entries": ents, "last_seq": last})
        elif raw_path == "/_mock/credentials" and self.command == "POST":
            try:
                creds = load_cred_list(json.loads(body.decode("utf-8")))
            except (ValueError, UnicodeDecodeError) as e:
                self._json(400, {"message": str(e)})
                return
            st.add_creds(creds)
            self._json(200, {"added": len(creds)})
        else:
            self._json(404, {"message": "unknown mock control route"})

    # -- hostile credential replies ---------------------------------------

    def _cred_mode(self, key):
        return self.server.state.config["cred_mode"].get(key, "normal")

    def _expiration(self, key, c):
        """(present, value) of the Expiration member for cred_mode[key]."""
        mode = self._cred_mode(key)
        if mode == "no-expiration":
            return False, None
        if mode == "expiration-null":
            return True, None
        if mode == "expiration-number":
            return True, int(c.reported)
        if mode.startswith("expiration:"):
            return True, mode[len("expiration:"):]
        if mode.startswith("odd:"):
            dt = datetime.datetime.fromtimestamp(int(c.reported), datetime.timezone.utc)
            return True, ODD_EXPIRATIONS[mode[4:]].format(
                date=dt.strftime("%Y-%m-%d"), time=dt.strftime("%H:%M:%S"), year=dt.year)
        return True, iso_z(c.reported)

    def _issue_mode(self, key):
        mode = self._cred_mode(key)
        return mode if mode in ("expired", "token-ctl") else "normal"

    # -- IMDSv2 -------------------------------------------------------------

    def handle_imds(self, raw_path):
        """PUT /latest/api/token (x-aws-ec2-metadata-token-ttl-seconds 1..21600)
        GET /latest/meta-data/iam/security-credentials/[mock-instance-role]
        with x-aws-ec2-metadata-token.  No/unknown/expired token: 401.
        When "imds" is down the connection is closed without an answer."""
        st = self.server.state
        self._source = "imds"
        if "imds" in st.config["down"]:
            st.bump_map(st.credential_requests, "imds_down")
            self._note = "down"
            self.close_connection = True
            return
        text = "text/plain"
        if raw_path == "/latest/api/token":
            st.bump_map(st.credential_requests, "imds_token")
            if self.command != "PUT":
                self._respond(405, b"", text, [("Allow", "OPTIONS, PUT")])
                return
            ttl = (self.headers.get("X-aws-ec2-metadata-token-ttl-seconds") or "").strip()
            if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                self._respond(400, b"", text)
                return
            tok = "AQAEA" + secrets.token_urlsafe(40)
            if self._cred_mode("imds") == "api-token-ctl":
                tok = tok[:20] + CTL_TOKEN_TAIL + tok[20:]
            with st.lock:
                now = time.time()
                if len(st.imds_tokens) > 10000:
                    st.imds_tokens = {k: e for k, e in st.imds_tokens.items() if e > now}
                st.imds_tokens[tok] = now + int(ttl)
            self._respond(200, tok.encode(), text,
                          [("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", ttl)])
            return
        st.bump_map(st.credential_requests, "imds_metadata")
        tok = (self.headers.get("X-aws-ec2-metadata-token") or "").strip()
        exp = st.imds_tokens.get(tok) if tok else None
        if exp is None or exp < time.time():
            self._respond(401, b"", text)
            return
        if self.command != "GET":
            self._respond(405, b"", text)
            return
        base = "/latest/meta-data/iam/security-credentials"
        if raw_path in (base, base + "/"):
            self._respond(200, IMDS_ROLE.encode(), text)
        elif raw_path.startswith(base + "/"):
            role = raw_path[len(base) + 1:].rstrip("/")
            if role != IMDS_ROLE:
                self._respond(404, b"", text)
                return
            st.bump_map(st.credential_requests, "imds_credentials")
            c = st.issue("imds", "ASIAIMDS", mode=self._issue_mode("imds"))
            doc = {"Code": "Success", "LastUpdated": iso_z(time.time()),
                   "Type": "AWS-HMAC", "AccessKeyId": c.akid,
                   "SecretAccessKey": c.secret, "Token": c.token}
            present, exp = self._expiration("imds", c)
            if present:
                doc["Expiration"] = exp
            self._note = "cred_mode:" + self._cred_mode("imds").split(":")[0]
            self._json(200, doc)
        else:
            self._respond(404, b"", text)

    # -- container -------------------------------------------------------

    def handle_container(self, raw_path):
        """GET /container/<anything>: Authorization must equal container_token
        (missing 401, wrong 403; token null = no check).  Down: 503."""
        st = self.server.state
        self._source = "container"
        st.bump_map(st.credential_requests, "container")
        if "container" in st.config["down"]:
            self._note = "down"
            self._json(503, {"code": "ServiceUnavailable",
                             "message": "container credentials endpoint is down"})
            return
        if self.command != "GET":
            self._json(405, {"code": "MethodNotAllowed", "message": "use GET"})
            return
        want = st.config["container_token"]
        got = self.headers.get("Authorization")
        if want is not None:
            if got is None:
                self._json(401, {"code": "Unauthorized",
                                 "message": "missing Authorization header"})
                return
            if not hmac.compare_digest(got.strip().encode("utf-8", "replace"),
                                       want.encode("utf-8")):
                self._json(403, {"code": "AccessDenied",
                                 "message": "invalid authorization token"})
                return
        c = st.issue("container", "ASIAECS", mode=self._issue_mode("container"))
        doc = {"AccessKeyId": c.akid, "SecretAccessKey": c.secret, "Token": c.token}
        present, exp = self._expiration("container", c)
        if present:
            doc["Expiration"] = exp
        doc["RoleArn"] = st.config["role_arn"]
        doc["AccountId"] = MOCK_ACCOUNT
        self._note = "cred_mode:" + self._cred_mode("container").split(":")[0]
        self._json(200, doc)

    # -- STS ------------------------------------------------------------------

    def _sts_error(self, status, code, message, typ="Sender"):
        body = ('<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code>'
                '<Message>%s</Message></Error><RequestId>%s</RequestId>'
                '</ErrorResponse>' % (STS_NS, typ, code, xml_escape(message), self._rid))
        self._respond(status, body.encode(), "text/xml")

    def _sts_echo(self, mode, action, raw_path, query, body, params):
        """A hostile or careless STS: an error whose message quotes secrets
        of the request back (sts_echo: session-token, web-identity-token,
        authorization, canonical-request, all)."""
        self._note = "sts_echo:" + mode
        tok = self.headers.get("X-Amz-Security-Token")
        wit = params.get("WebIdentityToken")
        authz = self.headers.get("Authorization")
        parts = []
        if mode in ("session-token", "all"):
            parts.append("The security token included in the request is invalid: %s"
                         % (tok if tok is not None else "(no token; request body: %s)"
                            % body.decode("utf-8", "replace")))
        if mode in ("web-identity-token", "all"):
            parts.append("Couldn't retrieve verification key from your identity provider "
                         "for token %s" % (wit if wit is not None else "(none)"))
        if mode in ("authorization", "all"):
            parts.append("Authorization header: %s" % authz)
        if mode in ("canonical-request", "all"):
            cr = self._canonical_for_echo(raw_path + ("?" + query if query else ""),
                                          body, "sts")
            if cr is None:
                parts.append("The request body was %s" % body.decode("utf-8", "replace"))
            else:
                parts.append("%s\n\nThe Canonical String for this request should have "
                             "been\n'%s'\n\nThe String-to-Sign should have been\n'%s'\n"
                             % (MSG_SIG_MISMATCH, cr[0], cr[1]))
        code, status = {"session-token": ("InvalidClientTokenId", 403),
                        "web-identity-token": ("InvalidIdentityToken", 400),
                        "authorization": ("IncompleteSignature", 400),
                        "canonical-request": ("SignatureDoesNotMatch", 403),
                        "all": ("SignatureDoesNotMatch", 403)}[mode]
        self._sts_error(status, code, " ".join(parts))

    def _canonical_for_echo(self, raw_target, body, service):
        """(canonical request, string to sign) of this request as botocore
        computes them from its Authorization header, or None."""
        authz = (self.headers.get("Authorization") or "").strip()
        if not authz.startswith("AWS4-HMAC-SHA256 "):
            return None
        params = {}
        for part in authz[len("AWS4-HMAC-SHA256 "):].split(","):
            k, _, v = part.strip().partition("=")
            params[k.strip()] = v.strip()
        try:
            scope = params["Credential"].split("/")
            signed = [h.strip().lower() for h in params["SignedHeaders"].split(";")]
            pairs = [(n, v) for n in signed for v in (self.headers.get_all(n) or [])]
            req = _VerifierRequest(method=self.command, url="http://mock" + raw_target,
                                   data=body)
            req.headers = Headers(pairs)
            req.context["timestamp"] = (self.headers.get("X-Amz-Date") or "").strip()
            signer = _VerifierAuth(Credentials(scope[0], "x", None), service, scope[2])
            cr = signer.canonical_request(req)
            return cr, signer.string_to_sign(req, cr)
        except Exception:
            return None

    def handle_sts(self, raw_path, query, body):
        """Query-protocol STS: AssumeRoleWithWebIdentity (unsigned) and
        AssumeRole (SigV4, service sts), on any path.  Path segments of the
        form name=value are scenario options (latency, skew, secret, token
        matter here); other segments are ignored."""
        st = self.server.state
        self._source = "sts"
        try:
            o = parse_options([x for x in raw_path.split("/") if "=" in unquote(x)])
        except ScenarioError as e:
            self._sts_error(400, "InvalidParameterValue", str(e))
            return
        self._skew = o.skew
        self._set_latency(o.latency)
        try:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                    strict_parsing=False))
        except (UnicodeDecodeError, ValueError):
            params = {}
        action = params.get("Action", "")
        st.bump_map(st.credential_requests, "sts:" + (action[:40] or "-"))
        if "sts" in st.config["down"]:
            self._note = "down"
            self._sts_error(503, "ServiceUnavailable", "Service is unavailable", "Receiver")
            return
        if st.config.get("sts_echo"):
            self._sts_echo(st.config["sts_echo"], action, raw_path, query, body, params)
            return
        if params.get("Version") != "2011-06-15" or action not in (
                "AssumeRoleWithWebIdentity", "AssumeRole"):
            self._sts_error(400, "InvalidAction",
                            "Could not find operation %s for version %s"
                            % (action[:60], params.get("Version", "")[:20]))
            return
        if action == "AssumeRole":
            raw_target = raw_path + ("?" + query if query else "")
            try:
                cred = self._verify(raw_target, body, "sts", st.sts_regions, o)
            except AuthError as e:
                st.bump("signature_rejections" if e.kind == "signature" else "auth_rejections")
                self._note = "auth:" + e.kind
                code, status, msg = {
                    "missing": ("MissingAuthenticationToken", 403,
                                "Request is missing Authentication Token"),
                    "incomplete": ("IncompleteSignature", 400, e.message),
                    "unrecognized": ("InvalidClientTokenId", 403, MSG_TOKEN_INVALID),
                    "token_invalid": ("InvalidClientTokenId", 403, MSG_TOKEN_INVALID),
                    "token_expired": ("ExpiredToken", 400, MSG_TOKEN_EXPIRED),
                }.get(e.kind, ("SignatureDoesNotMatch", 403, e.message))
                self._sts_error(status, code, msg)
                return
            self._note = "signed-by:" + cred.source
        errors = []
        role_arn = params.get("RoleArn")
        session = params.get("RoleSessionName")
        m = None
        if role_arn is None:
            errors.append("Value null at 'roleArn' failed to satisfy constraint: "
                          "Member must not be null")
        else:
            m = re.fullmatch(r"arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*"
                             r"([\w+=,.@-]{1,64})", role_arn)
            if m is None:
                errors.append("Value '%s' at 'roleArn' failed to satisfy constraint: "
                              "Member must be a valid IAM role ARN" % role_arn[:100])
        if session is None:
            errors.append("Value null at 'roleSessionName' failed to satisfy "
                          "constraint: Member must not be null")
        elif not re.fullmatch(r"[\w+=,.@-]{2,64}", session):
            errors.append("Value '%s' at 'roleSessionName' failed to satisfy "
                          "constraint: Member must satisfy regular expression "
                          "pattern: [\\w+=,.@-]*" % session[:80])
        if action == "AssumeRoleWithWebIdentity" and params.get("WebIdentityToken") is None:
            errors.append("Value null at 'webIdentityToken' failed to satisfy "
                          "constraint: Member must not be null")
        lifetime = None
        dur = params.get("DurationSeconds")
        if dur is not None:
            if not dur.isdigit() or not 900 <= int(dur) <= 43200:
                errors.append("Value '%s' at 'durationSeconds' failed to satisfy "
                              "constraint: Member must have value between 900 and "
                              "43200" % dur[:20])
            else:
                lifetime = min(int(dur), st.config["cred_lifetime"])
        if errors:
            n = len(errors)
            self._sts_error(400, "ValidationError", "%d validation error%s detected: %s"
                            % (n, "" if n == 1 else "s", "; ".join(errors)))
            return
        account, role_name = m.group(1), m.group(2)
        if action == "AssumeRoleWithWebIdentity":
            if not hmac.compare_digest(params["WebIdentityToken"].encode("utf-8"),
                                       st.config["web_identity_token"].encode("utf-8")):
                self._sts_error(400, "InvalidIdentityToken",
                                "Couldn't retrieve verification key from your "
                                "identity provider, or the token is not valid.")
                return
            c = st.issue("web_identity", "ASIAWEBID", lifetime, self._issue_mode("sts"))
            self._source = "web_identity"
        else:
            c = st.issue("assume_role", "ASIAROLE", lifetime, self._issue_mode("sts"))
            self._source = "assume_role"
        role_id = "AROA" + hashlib.md5(role_arn.encode()).hexdigest()[:17].upper()
        present, exp = self._expiration("sts", c)
        exp_xml = "" if not present else "<Expiration/>" if exp is None else \
            "<Expiration>%s</Expiration>" % xml_escape(str(exp))
        creds_xml = ("<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s"
                     "</SecretAccessKey><SessionToken>%s</SessionToken>%s"
                     "</Credentials>" % (c.akid, xml_escape(c.secret),
                                         xml_escape(c.token), exp_xml))
        user_xml = ("<AssumedRoleUser><Arn>arn:aws:sts::%s:assumed-role/%s/%s</Arn>"
                    "<AssumedRoleId>%s:%s</AssumedRoleId></AssumedRoleUser>"
                    % (account, xml_escape(role_name), xml_escape(session), role_id,
                       xml_escape(session)))
        if action == "AssumeRoleWithWebIdentity":
            result = (creds_xml + "<SubjectFromWebIdentityToken>mock-subject"
                      "</SubjectFromWebIdentityToken>" + user_xml +
                      "<Provider>mock-oidc.example.com</Provider>"
                      "<Audience>sts.amazonaws.com</Audience>")
        else:
            result = creds_xml + user_xml
        doc = ('<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata>'
               '<RequestId>%s</RequestId></ResponseMetadata></%sResponse>'
               % (action, STS_NS, action, result, action, self._rid, action))
        self._respond(200, doc.encode(), "text/xml")


_ENTRY_CACHE = {}
_ENTRY_CACHE_MAX = 400000


def entry_json(segment, pid):
    """The UTF-8 JSON of one answer (Profiles or Failures entry), cached."""
    key = (segment, pid)
    s = _ENTRY_CACHE.get(key)
    if s is None:
        if pid[0] == "f":
            s = '{"ProfileId":"%s","Message":"Profile not found","Status":404}' % pid
        elif is_member(segment, pid):
            s = '{"ProfileId":"%s","QueryResult":"PRESENT","Profile":%s}' % (
                pid, profile_json(pid))
        else:
            s = '{"ProfileId":"%s","QueryResult":"ABSENT"}' % pid
        s = s.encode("utf-8")
        if len(_ENTRY_CACHE) >= _ENTRY_CACHE_MAX:
            _ENTRY_CACHE.clear()
        _ENTRY_CACHE[key] = s
    return s


def normal_body(segment, uniq):
    ordered = sorted(uniq, reverse=True)
    profiles = [entry_json(segment, p) for p in ordered if p[0] != "f"]
    failures = [entry_json(segment, p) for p in ordered if p[0] == "f"]
    parts = [b'{"SegmentDefinitionName":"', segment.encode(), b'","Profiles":[',
             b",".join(profiles), b"]"]
    if failures:
        parts += [b',"Failures":[', b",".join(failures), b"]"]
    parts += [b',"LastComputedAt":', SEGMENTS[segment].encode(), b"}"]
    return b"".join(parts)


# --------------------------------------------------------------------------
# Hostile replies (issue 8: fuzzing the reply parser through SQL)
# --------------------------------------------------------------------------

HOSTILE_KINDS = ("truncate", "truncate-conn", "type-swap", "profile-type-swap",
                 "huge-number", "deep-nesting", "bad-utf8", "lone-surrogate",
                 "control-chars", "duplicate-id", "unasked-id", "missing-id",
                 "huge-string", "content-type", "error-500", "hostile-headers")
HUGE_NUMBERS = ("1e1000000", "1e308", "-1e400", "123456789012345678901234567890")
BAD_UTF8 = (b"\xff", b"\xfe\xff", b"\xc3(", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
            b"\xc0\xaf", b"\xe2\x82")
CONTROL_TEXTS = ("\x1b[2J\x1b[31mRED\x1b[0m", "\x07bell\x07", "\x7fdel", "\x9b31mcsi",
                 "back\x08\x08\x08", "cr\rlf\nInjected: header", "\x1b]0;title\x07",
                 "tab\tvt\x0bff\x0c")
HOSTILE_REQUEST_IDS = ("\x1b[31mred\x1b[0m-{rid}", "\x07\x08\x7f{rid}", "{rid}\x9b2J",
                       "{rid}-caf\xe9", "A" * 8192, "B" * 65000, "{rid}\x1b]0;pwned\x07")
HUGE_STRING_SIZES = (65536, 1 << 20, 3 << 20)
_HUGE_PATTERN = "aé€𝄞"  # 1-, 2-, 3- and 4-byte UTF-8: a byte cut splits characters


def canon_value(v):
    """Canonical text of a JSON value parsed with Decimal numbers: keys
    sorted, strings ASCII-escaped, numbers normalized (1e308 and the 309
    digits PostgreSQL prints for it are the same).  Used to compare a
    profile returned through SQL with the one the mock sent."""
    import decimal
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k) + ":" + canon_value(v[k])
                              for k in sorted(v)) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canon_value(x) for x in v) + "]"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (int, decimal.Decimal)):
        d = decimal.Decimal(v)
        if d == 0:
            return "0"
        ctx = decimal.Context(prec=2000000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
        return str(d.normalize(ctx))
    if isinstance(v, float):
        return canon_value(decimal.Decimal(repr(v)))
    raise TypeError("not a JSON value: %r" % type(v))


def canon_json_text(text):
    import decimal
    v = json.loads(text, parse_float=decimal.Decimal, parse_int=decimal.Decimal)
    return canon_value(v)


def canon_sha(text):
    return hashlib.sha256(canon_json_text(text).encode("utf-8")).hexdigest()


class HostileSettings:
    __slots__ = ("rate", "seed", "kinds")

    def __init__(self, rate, seed, kinds):
        self.rate = rate
        self.seed = seed
        self.kinds = tuple(kinds)

    def as_json(self):
        return {"rate": self.rate, "seed": self.seed, "kinds": list(self.kinds)}


def parse_hostile_config(val):
    """null, or {"rate": 0..1, "seed": int, "kinds": [..] | "all"}."""
    if val is None:
        return None
    if not isinstance(val, dict):
        raise ValueError("hostile must be null or an object")
    for k in val:
        if k not in ("rate", "seed", "kinds"):
            raise ValueError("unknown hostile key %r" % str(k)[:40])
    rate = val.get("rate", 0.5)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError("hostile rate must be a number 0..1")
    seed = val.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError("hostile seed must be an integer")
    kinds = val.get("kinds", "all")
    if kinds == "all":
        kinds = HOSTILE_KINDS
    if not isinstance(kinds, list) and not isinstance(kinds, tuple) or not kinds or any(
            k not in HOSTILE_KINDS for k in kinds):
        raise ValueError("hostile kinds must be \"all\" or a list of: " + " ".join(HOSTILE_KINDS))
    return HostileSettings(float(rate), seed, kinds)


class _Raw:
    """Text put into the body verbatim where the model holds a marker."""
    __slots__ = ("data", "in_string")

    def __init__(self, data, in_string):
        self.data = data
        self.in_string = in_string


class HostileReply:
    """One GetSegmentMembership reply, mutated.  Build the model, apply the
    drawn kinds, then render().  Each applied mutation is recorded in .muts
    as {"kind", "class", "id", "where", "detail"}; class is one of
        invalid      the reply is not what the API promises: no answer row
                     may come from it
        transparent  the reply still means what the unmutated one meant for
                     every id (an answer row must equal the unmutated one)
        value        the reply is well-formed but the Profile of "id" holds
                     other values (profile_sha256 in the log entry has the
                     canonical hash of the Profile as sent)
        omit         "id" is not answered: its row must be a failure row
    """

    # Kinds that remove or replace entries go first, so that no later label
    # refers to content that is not sent.  A value replaced by a later kind
    # of the same rank (profile-type-swap) can still take an earlier
    # mutation's raw text with it: render() relabels those (check_markers).
    ORDER = dict((k, 0 if k == "missing-id" else 1 if k == "type-swap" else 2)
                 for k in HOSTILE_KINDS)

    def __init__(self, rng, segment, uniq, rid):
        self.rng = rng
        self.segment = segment
        self.uniq = uniq
        self.rid = rid
        self.muts = []
        self.raws = []
        self.marked = []           # (mut, marker): mutations made of raw text
        self.status = 200
        self.ctype = "application/json"
        self.headers = []
        self.request_id = None
        self.body = None           # bytes replacing the rendered model
        self.cut = None            # truncate: keep this fraction
        self.conn_cut = False      # truncate-conn: announce full length, close
        self.value_ids = set()
        self.profiles = []
        self.failures = []
        for pid in uniq:
            if pid[0] == "f":
                self.failures.append({"ProfileId": pid, "Message": "Profile not found",
                                      "Status": 404})
            elif is_member(segment, pid):
                self.profiles.append({"ProfileId": pid, "QueryResult": "PRESENT",
                                      "Profile": json.loads(profile_json(pid))})
            else:
                self.profiles.append({"ProfileId": pid, "QueryResult": "ABSENT"})
        self.top = {"SegmentDefinitionName": segment, "Profiles": self.profiles}
        if self.failures:
            self.top["Failures"] = self.failures
        self.top["LastComputedAt"] = self.raw(SEGMENTS[segment])

    # -- helpers ------------------------------------------------------------

    def raw(self, data, in_string=False):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.raws.append(_Raw(data, in_string))
        return "@@MOCKRAW%d@@" % (len(self.raws) - 1)

    def note(self, kind, cls, pid=None, where=None, detail=None, marker=None):
        """Record a mutation; marker: the raw() marker it consists of (see
        check_markers)."""
        m = {"kind": kind, "class": cls, "id": pid, "where": where}
        if detail is not None:
            m["detail"] = detail
        self.muts.append(m)
        if marker is not None:
            self.marked.append((m, marker))
        if cls == "value":
            self.value_ids.add(pid)

    def present(self):
        return [e for e in self.profiles if isinstance(e, dict) and
                isinstance(e.get("Profile"), dict) and isinstance(e.get("ProfileId"), str)]

    def entries(self):
        return [(a, i, e) for a, lst in (("Profiles", self.profiles),
                                          ("Failures", self.failures))
                for i, e in enumerate(lst)
                if isinstance(e, dict) and isinstance(e.get("ProfileId"), str)]

    def failure_entries(self):
        return [e for a, i, e in self.entries() if a == "Failures"]

    def attach_profiles(self):
        if self.top.get("Profiles") is None:  # swapped to null: send the new list
            self.top["Profiles"] = self.profiles

    def attach_failures(self):
        if self.top.get("Failures", 0) is None:
            self.top["Failures"] = self.failures
        elif "Failures" not in self.top:
            # keep the key order of the API: Failures before LastComputedAt
            lca = self.top.pop("LastComputedAt")
            self.top["Failures"] = self.failures
            self.top["LastComputedAt"] = lca

    def other_type(self, orig, allow_null=True, allow_string=True, allow_number=True,
                   allow_object=True):
        choices = ["array", "bool"]
        if allow_object:
            choices.append("object")
        if allow_number:
            choices.append("number")
        if allow_string:
            choices.append("string")
        if allow_null:
            choices.append("null")
        t = self.rng.choice(choices)
        if t == "number":
            return t, self.rng.choice([42, 0, -1, 3.5])
        if t == "object":
            return t, {"value": orig}
        if t == "array":
            return t, [orig]
        if t == "bool":
            return t, self.rng.choice([True, False])
        if t == "string":
            return t, json.dumps(orig, ensure_ascii=False)[:200]
        return t, None

    def put_attr(self, e, key, val):
        """Profile.Attributes[key] = val (Profile[key] when another mutation
        made Attributes something else).  Returns where it went."""
        prof = e["Profile"]
        a = prof.setdefault("Attributes", {})
        if isinstance(a, dict):
            a[key] = val
            return "Profile.Attributes." + key
        prof[key] = val
        return "Profile." + key

    def profile_string_target(self):
        """A string member of a random PRESENT profile: (entry, container, key)."""
        p = self.present()
        if not p:
            return None
        e = self.rng.choice(p)
        prof = e["Profile"]
        cands = [(prof, k) for k, v in prof.items() if isinstance(v, str) and k != "ProfileId"]
        for sub in ("Address", "Attributes"):
            if isinstance(prof.get(sub), dict):
                cands += [(prof[sub], k) for k, v in prof[sub].items() if isinstance(v, str)]
        if not cands:
            return None
        c, k = self.rng.choice(cands)
        return e, c, k

    # -- mutations ------------------------------------------------------------

    def apply(self, kind):
        try:
            getattr(self, "m_" + kind.replace("-", "_"))()
        except IndexError:  # nothing in this reply to apply it to
            self.note(kind, "transparent", None, None, "not applicable to this reply")

    def m_truncate(self):
        self.cut = self.rng.choice([0.0, 0.01, 0.3, 0.5, 0.9, 0.999])
        self.note("truncate", "invalid", detail="kept %.3f of the body; Content-Length "
                  "matches what is sent" % self.cut)

    def m_truncate_conn(self):
        self.conn_cut = True
        self.note("truncate-conn", "invalid",
                  detail="full Content-Length announced, half sent, connection closed")

    def m_type_swap(self):
        r = self.rng
        targets = ["Profiles", "LastComputedAt", "SegmentDefinitionName", "entry"]
        fl = [e for a, i, e in self.entries() if a == "Failures"]
        pl = [e for a, i, e in self.entries() if a == "Profiles"]
        if fl and "Failures" in self.top:
            targets.append("Failures")
        if fl:
            targets += ["Status", "Message"]
        if pl:
            targets += ["ProfileId", "QueryResult"]
        if self.present():
            targets.append("Profile")
        t = r.choice(targets)
        if t in ("Profiles", "Failures"):
            typ, val = self.other_type(self.top[t], allow_null=True)
            ids = [e["ProfileId"] for a, i, e in self.entries() if a == t]
            self.top[t] = val
            if typ == "null":
                for pid in ids:
                    self.note("type-swap", "omit", pid, t, "%s -> null" % t)
                # later mutations must not touch entries that are not sent
                if t == "Profiles":
                    self.profiles = []
                else:
                    self.failures = []
            else:
                self.note("type-swap", "invalid", None, t, "%s -> %s" % (t, typ))
        elif t == "LastComputedAt":
            typ, val = self.other_type(float(SEGMENTS[self.segment]), allow_null=False,
                                       allow_number=False)
            self.top[t] = val
            self.note("type-swap", "invalid", None, t, "LastComputedAt -> " + typ)
        elif t == "SegmentDefinitionName":
            typ, val = self.other_type(self.segment)
            self.top[t] = val
            self.note("type-swap", "transparent", None, t,
                      "SegmentDefinitionName -> " + typ)
        elif t == "entry":
            arr, i, e = r.choice(self.entries())
            typ, val = self.other_type(e, allow_null=True)
            (self.profiles if arr == "Profiles" else self.failures)[i] = val
            self.note("type-swap", "invalid", e["ProfileId"], "%s[%d]" % (arr, i),
                      "entry -> " + typ)
        elif t in ("Status", "Message"):
            e = r.choice(fl)
            typ, val = self.other_type(e.get(t), allow_null=False,
                                       allow_string=(t == "Status"),
                                       allow_number=(t == "Message"))
            e[t] = val
            self.note("type-swap", "invalid", e["ProfileId"], "Failures." + t,
                      "%s -> %s" % (t, typ))
        elif t in ("ProfileId", "QueryResult"):
            e = r.choice(pl)
            pid = e["ProfileId"]
            typ, val = self.other_type(e.get(t), allow_string=False)
            e[t] = val
            self.note("type-swap", "invalid", pid, "Profiles." + t, "%s -> %s" % (t, typ))
        else:  # Profile
            e = r.choice(self.present())
            typ, val = self.other_type(e["ProfileId"], allow_null=False, allow_object=False)
            e["Profile"] = val
            self.note("type-swap", "invalid", e["ProfileId"], "Profiles.Profile",
                      "Profile -> " + typ)

    def m_profile_type_swap(self):
        e = self.rng.choice(self.present())  # IndexError: not applicable
        prof = e["Profile"]
        k = self.rng.choice([x for x in prof if x != "ProfileId"])
        typ, val = self.other_type(prof[k])
        prof[k] = val
        self.note("profile-type-swap", "value", e["ProfileId"], "Profile." + k,
                  "%s -> %s" % (k, typ))

    def m_huge_number(self):
        r = self.rng
        tok = r.choice(HUGE_NUMBERS)
        places = ["top-unknown", "entry-unknown", "LastComputedAt"]
        if self.failure_entries():
            places.append("Status")
        if self.present():
            places.append("Profile")
        pl = r.choice(places)
        if pl == "top-unknown":
            mk = self.top["HostileNumber"] = self.raw(tok)
            self.note("huge-number", "transparent", None, "HostileNumber", tok, mk)
        elif pl == "entry-unknown":
            arr, i, e = r.choice(self.entries())
            mk = e["Score"] = self.raw(tok)
            self.note("huge-number", "transparent", e["ProfileId"], arr + ".Score", tok, mk)
        elif pl == "LastComputedAt":
            mk = self.top["LastComputedAt"] = self.raw(tok)
            self.note("huge-number", "invalid", None, "LastComputedAt", tok, mk)
        elif pl == "Status":
            e = r.choice(self.failure_entries())
            mk = e["Status"] = self.raw(tok)
            self.note("huge-number", "invalid", e["ProfileId"], "Failures.Status", tok, mk)
        else:
            e = r.choice(self.present())
            mk = self.raw(tok)
            where = self.put_attr(e, "hostileNumber", mk)
            self.note("huge-number", "value", e["ProfileId"], where, tok, mk)

    def m_deep_nesting(self):
        r = self.rng
        places = ["body", "body-object", "top-unknown"]
        if self.present():
            places.append("Profile")
        pl = r.choice(places)
        if pl == "body":
            self.body = b"[" * 100000
            self.note("deep-nesting", "invalid", None, "body", "100000 '['")
        elif pl == "body-object":
            self.body = b'{"a":' * 50000
            self.note("deep-nesting", "invalid", None, "body", "50000 '{\"a\":'")
        elif pl == "top-unknown":
            mk = self.top["Nested"] = self.raw(b"[" * 100000 + b"]" * 100000)
            self.note("deep-nesting", "transparent", None, "Nested",
                      "100000 nested arrays (balanced)", mk)
        else:
            e = r.choice(self.present())
            depth = r.choice([100, 300, 100000])
            mk = self.raw(b"[" * depth + b"1" + b"]" * depth)
            where = self.put_attr(e, "nested", mk)
            self.note("deep-nesting", "value", e["ProfileId"], where,
                      "%d nested arrays (balanced)" % depth, mk)

    def str_messages(self):
        return [e for e in self.failure_entries() if isinstance(e.get("Message"), str)]

    def sdn_is_str(self):
        return isinstance(self.top.get("SegmentDefinitionName"), str)

    def m_bad_utf8(self):
        r = self.rng
        bad = r.choice(BAD_UTF8)
        marker = self.raw(bad, in_string=True)
        places = ["SegmentDefinitionName"] if self.sdn_is_str() else []
        if self.str_messages():
            places.append("Message")
        tgt = self.profile_string_target()
        if tgt is not None:
            places.append("Profile")
        pl = r.choice(places)  # IndexError: not applicable
        if pl == "SegmentDefinitionName":
            self.top["SegmentDefinitionName"] += marker
            pid = None
        elif pl == "Message":
            e = r.choice(self.str_messages())
            e["Message"] = e["Message"][:8] + marker + e["Message"][8:]
            pid = e["ProfileId"]
        else:
            e, c, k = tgt
            c[k] = c[k][:3] + marker + c[k][3:]
            pid = e["ProfileId"]
        self.note("bad-utf8", "invalid", pid, pl, bad.hex(), marker)

    def m_lone_surrogate(self):
        r = self.rng
        esc = r.choice(["\\ud800", "\\udc00", "\\udbff\\u0041", "\\ud83c"])
        marker = self.raw(esc.encode(), in_string=True)
        tgt = self.profile_string_target() if r.random() < 0.7 else None
        if tgt is not None:
            e, c, k = tgt
            c[k] = c[k] + marker
            self.note("lone-surrogate", "value", e["ProfileId"], "Profile." + k, esc, marker)
        elif self.str_messages() and (r.random() < 0.5 or not self.sdn_is_str()):
            e = r.choice(self.str_messages())
            e["Message"] += " " + marker
            self.note("lone-surrogate", "transparent", e["ProfileId"], "Failures.Message", esc,
                      marker)
        elif self.sdn_is_str():
            self.top["SegmentDefinitionName"] += marker
            self.note("lone-surrogate", "transparent", None, "SegmentDefinitionName", esc,
                      marker)
        else:
            raise IndexError("no string to put it in")

    def m_control_chars(self):
        r = self.rng
        txt = r.choice(CONTROL_TEXTS)
        pl = r.choice(["profile", "profile-raw", "message", "unknown"])
        tgt = self.profile_string_target()
        if pl in ("profile", "profile-raw") and tgt is None:
            pl = "unknown"
        if pl == "message" and not self.str_messages():
            pl = "unknown"
        if pl == "profile":
            e, c, k = tgt
            c[k] = txt + c[k]
            self.note("control-chars", "value", e["ProfileId"], "Profile." + k, repr(txt))
        elif pl == "profile-raw":
            # unescaped control characters inside a JSON string: invalid JSON
            e, c, k = tgt
            mk = self.raw(b"\x01\x1b[31m\x7f", in_string=True)
            c[k] = c[k] + mk
            self.note("control-chars", "invalid", e["ProfileId"], "Profile." + k,
                      "raw bytes 01 1b 7f in a string", mk)
        elif pl == "message":
            e = r.choice(self.str_messages())
            e["Message"] = txt + " " + e["Message"]
            self.note("control-chars", "transparent", e["ProfileId"], "Failures.Message",
                      repr(txt))
        else:
            self.top["Hostile" + txt[:1].encode("unicode_escape").decode()] = txt
            self.note("control-chars", "transparent", None, "unknown member", repr(txt))

    def m_duplicate_id(self):
        r = self.rng
        arr, i, e = r.choice(self.entries())
        if r.random() < 0.5:
            (self.profiles if arr == "Profiles" else self.failures).append(
                json.loads(json.dumps(e)))
            self.note("duplicate-id", "invalid", e["ProfileId"], arr, "entry repeated")
        else:
            pid = e["ProfileId"]
            if arr == "Profiles":
                self.failures.append({"ProfileId": pid, "Message": "Profile not found",
                                      "Status": 404})
                self.attach_failures()
            else:
                self.profiles.append({"ProfileId": pid, "QueryResult": "ABSENT"})
                self.attach_profiles()
            self.note("duplicate-id", "invalid", pid, "Profiles+Failures",
                      "id in both arrays")

    def m_unasked_id(self):
        r = self.rng
        asked = set(self.uniq)
        pid = "%032x" % r.getrandbits(128)
        while pid in asked:
            pid = "%032x" % r.getrandbits(128)
        if r.random() < 0.5:
            self.profiles.append({"ProfileId": pid, "QueryResult": "ABSENT"})
            self.attach_profiles()
            where = "Profiles"
        else:
            self.failures.append({"ProfileId": pid, "Message": "Profile not found",
                                  "Status": 404})
            self.attach_failures()
            where = "Failures"
        self.note("unasked-id", "invalid", pid, where, "answers an id nobody asked for")

    def m_missing_id(self):
        r = self.rng
        ents = self.entries()
        n = r.choice([1, 1, 1, max(1, len(ents) // 2), len(ents)])
        gone = r.sample(ents, min(n, len(ents)))
        ids = set()
        for arr, _, e in gone:
            ids.add(e["ProfileId"])
        def gone(e):
            return isinstance(e, dict) and isinstance(e.get("ProfileId"), str) and \
                e["ProfileId"] in ids

        self.profiles[:] = [e for e in self.profiles if not gone(e)]
        self.failures[:] = [e for e in self.failures if not gone(e)]
        for pid in sorted(ids):
            self.note("missing-id", "omit", pid, None, "left out of the reply")

    def m_huge_string(self):
        r = self.rng
        n = r.choice(HUGE_STRING_SIZES)
        s = (_HUGE_PATTERN * (n // len(_HUGE_PATTERN) + 1))[:n]
        if self.present() and r.random() < 0.7:
            e = r.choice(self.present())
            where = self.put_attr(e, "hostileBlob", s)
            self.note("huge-string", "value", e["ProfileId"], where, "%d characters" % n)
        elif self.str_messages():
            e = r.choice(self.str_messages())
            e["Message"] += " " + s
            self.note("huge-string", "transparent", e["ProfileId"], "Failures.Message",
                      "%d characters" % n)
        else:
            self.top["HostileBlob"] = s
            self.note("huge-string", "transparent", None, "HostileBlob", "%d characters" % n)

    def m_content_type(self):
        self.ctype = self.rng.choice(["text/html", "application/x-amz-json-1.1",
                                      "text/plain; charset=iso-8859-1", None,
                                      "application/json; charset=utf-16"])
        self.note("content-type", "transparent", None, "Content-Type", str(self.ctype))

    def m_error_500(self):
        r = self.rng
        self.status = r.choice([500, 500, 503])
        etype = "InternalServerException" if self.status == 500 else "ServiceUnavailableException"
        self.headers.append(("x-amzn-ErrorType", etype + ERR_NS_HEADER))
        bodies = [
            b'{"Message":1e1000000}',
            b'{"message":"An internal error occurred","retryAfterSeconds":1e1000000}',
            b'{"__type":-1e400,"message":123456789012345678901234567890}',
            b"<html><body>Internal Server Error</body></html>",
            b'{"Message":"unterminated',
            b"[" * 100000,
            b'{"Message":"bad \xff\xfe bytes"}',
            ('{"Message":"%s"}' % ("é€𝄞" * 3000)).encode(),
            b'{"Message":"\\u001b[31mred\\u001b[0m \\u0007 \\ud800"}',
            b"",
        ]
        i = r.randrange(len(bodies))
        self.body = bodies[i]
        self.note("error-500", "invalid", None, "status",
                  "HTTP %d, header %s, body variant %d" % (self.status, etype, i))

    def m_hostile_headers(self):
        r = self.rng
        v = r.choice(HOSTILE_REQUEST_IDS).replace("{rid}", self.rid)
        self.request_id = v
        if r.random() < 0.5 and self.status == 200:
            self.status = 500
            self.headers.append(("x-amzn-ErrorType", "InternalServerException" + ERR_NS_HEADER))
            self.body = b'{"Message":"An internal error occurred (hostile headers)."}'
            self.note("hostile-headers", "invalid", None, "x-amzn-RequestId",
                      "%d bytes on a 500 reply" % len(v))
        else:
            self.note("hostile-headers", "transparent", None, "x-amzn-RequestId",
                      "%d bytes" % len(v))

    # -- output ---------------------------------------------------------------

    def _marker_pattern(self, marker):
        """What _subst replaces for a marker: the marker itself inside a
        string, the quoted marker (a whole JSON value) otherwise."""
        i = int(marker[len("@@MOCKRAW"):-2])
        m = marker.encode()
        return m if self.raws[i].in_string else b'"' + m + b'"'

    def check_markers(self, model):
        """Relabel the mutations whose raw text does not reach the rendered
        model (before substitution): a later mutation replaced the value
        that held it (profile-type-swap turning the string with the bad
        bytes into a number, or cutting it to 200 characters; type-swap
        having detached the list it went into), or quoted it inside a
        string where it is no longer substituted.  Such a mutation was not
        made: keeping its label would claim, e.g., that a well-formed reply
        is invalid."""
        for m, marker in self.marked:
            if self._marker_pattern(marker) not in model:
                m["class"] = "transparent"
                m["detail"] = (m.get("detail", "") + "; not sent: a later mutation "
                               "replaced the value that held it").lstrip("; ")
        self.value_ids = {m["id"] for m in self.muts if m["class"] == "value"}

    def _subst(self, data):
        for i in range(len(self.raws) - 1, -1, -1):
            rw = self.raws[i]
            m = ("@@MOCKRAW%d@@" % i).encode()
            if rw.in_string:
                data = data.replace(m, rw.data)
            else:
                data = data.replace(b'"' + m + b'"', rw.data)
        return data

    def profile_hashes(self):
        """{id: sha256 of the canonical Profile as sent} for ids with value
        mutations (None when that Profile is not parseable JSON)."""
        out = {}
        for pid in self.value_ids:
            e = next((x for x in self.profiles if isinstance(x, dict) and
                      x.get("ProfileId") == pid and "Profile" in x), None)
            if e is None or not isinstance(e["Profile"], dict):
                out[pid] = None
                continue
            try:
                text = self._subst(dumps_wire(e["Profile"]).encode("utf-8"))
                out[pid] = canon_sha(text.decode("utf-8"))
            except (ValueError, RecursionError, UnicodeDecodeError):
                out[pid] = None
        return out

    def render(self):
        """The body to send; also settles the labels (check_markers), so it
        comes before .muts and profile_hashes() are read."""
        model = dumps_wire(self.top).encode("utf-8", "surrogatepass")
        self.check_markers(model)
        if self.body is not None:
            data = self.body
        else:
            data = self._subst(model)
        if self.cut is not None:
            data = data[: int(len(data) * self.cut)]
        return data


# --------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------

class MockServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 512

    def __init__(self, state, name, ssl_ctx):
        self.state = state
        self.name = name
        self.ssl_ctx = ssl_ctx
        super().__init__(("127.0.0.1", 0), Handler)

    def server_bind(self):
        # No getfqdn(): it may do a DNS lookup.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def process_request_thread(self, request, client_address):
        st = self.state
        with st.lock:
            st.connections[self.name] += 1
            st.connections["total"] += 1
        conn = request
        try:
            try:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            if self.ssl_ctx is not None:
                conn.settimeout(HANDSHAKE_TIMEOUT)
                try:
                    conn = self.ssl_ctx.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError, ValueError):
                    st.bump("tls_handshake_failures")
                    return
            self.RequestHandlerClass(conn, client_address, self)
        except Exception:
            pass
        finally:
            try:
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            try:
                conn.close()
            except OSError:
                pass
            if conn is not request:
                try:
                    request.close()
                except OSError:
                    pass

    def handle_error(self, request, client_address):
        pass


def make_certs(d):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    import ipaddress

    now = datetime.datetime.now(datetime.timezone.utc)
    start = now - datetime.timedelta(days=1)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mock-aws test bed"),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def ku(ca):
        return x509.KeyUsage(digital_signature=not ca, content_commitment=False,
                             key_encipherment=False, data_encipherment=False,
                             key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                             encipher_only=False, decipher_only=False)

    def make_ca(cn):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(ku(True), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False)
                .sign(key, hashes.SHA256()))
        return key, cert

    tag = now.strftime("%Y%m%dT%H%M%S") + "-" + str(os.getpid())
    ca_key, ca_cert = make_ca("mock-aws test CA " + tag)
    _, wrong_cert = make_ca("mock-aws unrelated CA " + tag)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("localhost"))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(now + datetime.timedelta(days=825))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(ku(False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    write_file(os.path.join(d, "ca.pem"), ca_cert.public_bytes(pem))
    write_file(os.path.join(d, "wrong-ca.pem"), wrong_cert.public_bytes(pem))
    write_file(os.path.join(d, "server.pem"), cert.public_bytes(pem))
    write_file(os.path.join(d, "server-key.pem"), key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Mock AWS endpoint (see module docstring)")
    ap.add_argument("--state-dir")
    ap.add_argument("--regions", default=DEFAULT_REGIONS)
    ap.add_argument("--credentials-file")
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--log")
    ap.add_argument("--print-profile", metavar="ID")
    args = ap.parse_args(argv)

    if args.print_profile:
        pid = args.print_profile
        if not ID_RE.fullmatch(pid) or pid[0] == "f":
            sys.exit("no profile for %r (ids starting with f do not exist)" % pid)
        sys.stdout.write(profile_json(pid) + "\n")
        return 0
    if not args.state_dir:
        ap.error("--state-dir is required")

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    if not regions:
        ap.error("--regions is empty")
    state = State(regions, args.latency_ms, args.log)
    if args.credentials_file:
        try:
            with open(args.credentials_file, encoding="utf-8") as f:
                state.add_creds(load_cred_list(json.load(f)))
        except (OSError, ValueError) as e:
            sys.exit("mock_aws: bad --credentials-file: %s" % e)

    d = args.state_dir
    os.makedirs(d, exist_ok=True)
    pid_path = os.path.join(d, "mock.pid")
    try:
        os.unlink(pid_path)
    except FileNotFoundError:
        pass
    state.hostile_file = open(os.path.join(d, "hostile.jsonl"), "a", encoding="ascii")
    make_certs(d)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(d, "server.pem"), os.path.join(d, "server-key.pem"))
    ctx.set_alpn_protocols(["http/1.1"])

    servers = [MockServer(state, "http", None), MockServer(state, "https", ctx)]
    threads = []
    for s in servers:
        t = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.25},
                             name="accept-" + s.name, daemon=True)
        t.start()
        threads.append(t)
    write_file(os.path.join(d, "http.port"), "%d\n" % servers[0].server_port)
    write_file(os.path.join(d, "https.port"), "%d\n" % servers[1].server_port)
    write_file(pid_path, "%d\n" % os.getpid())
    sys.stderr.write("mock_aws: ready http=%d https=%d pid=%d\n" % (
        servers[0].server_port, servers[1].server_port, os.getpid()))
    sys.stderr.flush()

    while not stop.wait(0.5):
        pass
    state.stopping = True
    for s in servers:
        s.shutdown()
        s.server_close()
    try:
        os.unlink(pid_path)
    except OSError:
        pass
    if state.log_file:
        state.log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
