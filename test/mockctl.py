#!/usr/bin/python3
"""Talk to the mock endpoint's control routes from tests and scripts.

    mockctl.py reset                 zero the counters
    mockctl.py stats [FIELD...]      print the stats JSON, or FIELD=value lines
                                     (FIELD may be dotted: faults.throttle)
    mockctl.py config JSON           merge settings (see mock_aws.py)
    mockctl.py quota RPS [BURST]     request quota: RPS requests/s (0 = off),
                                     bucket of BURST tokens (default max(1, RPS));
                                     over-quota requests get 429 ThrottlingException
    mockctl.py latency MS|default    latency of every GetSegmentMembership answer
    mockctl.py hostile RATE [SEED [KINDS]]   hostile replies: a RATE share (0..1) of
                                     GetSegmentMembership replies mutated, RNG seeded
                                     with SEED; KINDS "all" or a comma list
    mockctl.py hostile off           back to normal replies
    mockctl.py cred-mode SOURCE MODE SOURCE imds|container|sts; MODE normal, expired,
                                     no-expiration, expiration-null, expiration-number,
                                     token-ctl, api-token-ctl (imds), expiration:TEXT,
                                     odd:NAME (short-offset big-offset feb31 ...)
    mockctl.py sts-echo WHAT|off     STS errors quote session-token, web-identity-token,
                                     authorization, canonical-request or all
    mockctl.py sig-echo off|on|always   InvalidSignatureException quotes the
                                     canonical request (with the token) and string to sign
    mockctl.py expire-wave N [SOURCE,...]|off   after N more requests, credentials
                                     issued before get ExpiredTokenException (also in
                                     flight); stats wave.fetches_since.total counts
                                     refreshes since
    mockctl.py hostile-log [SINCE]   hostile log entries after seq SINCE, one JSON
                                     object a line (the full log is DIR/hostile.jsonl)

The mock's port comes from MOCK_HTTP_PORT.
"""
import json
import os
import sys
import urllib.request


def call(method, path, body=None):
    url = "http://127.0.0.1:%s%s" % (os.environ["MOCK_HTTP_PORT"], path)
    data = body.encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "reset":
        call("POST", "/_mock/reset")
    elif cmd == "stats":
        stats = call("GET", "/_mock/stats")
        if len(argv) == 2:
            print(json.dumps(stats, indent=1, sort_keys=True))
        for field in argv[2:]:
            v = stats
            for part in field.split("."):
                v = v.get(part, 0) if isinstance(v, dict) else 0
            print("%s=%s" % (field, v))
    elif cmd == "config":
        print(json.dumps(call("POST", "/_mock/config", argv[2]), sort_keys=True))
    elif cmd == "quota" and len(argv) in (3, 4):
        cfg = {"quota_rps": float(argv[2]),
               "quota_burst": float(argv[3]) if len(argv) == 4 else None}
        call("POST", "/_mock/config", json.dumps(cfg))
    elif cmd == "hostile" and len(argv) == 3 and argv[2] == "off":
        call("POST", "/_mock/config", json.dumps({"hostile": None}))
    elif cmd == "hostile" and 3 <= len(argv) <= 5:
        h = {"rate": float(argv[2]), "seed": int(argv[3]) if len(argv) > 3 else 0}
        if len(argv) > 4 and argv[4] != "all":
            h["kinds"] = [k for k in argv[4].replace(".", ",").split(",") if k]
        print(json.dumps(call("POST", "/_mock/config", json.dumps({"hostile": h}))["hostile"]))
    elif cmd == "hostile-log" and len(argv) <= 3:
        since = int(argv[2]) if len(argv) == 3 else 0
        while True:
            r = call("GET", "/_mock/hostile-log?since=%d&limit=1000" % since)
            for e in r["entries"]:
                print(json.dumps(e))
                since = e["seq"]
            if not r["entries"]:
                break
    elif cmd == "cred-mode" and len(argv) == 4:
        call("POST", "/_mock/config", json.dumps({"cred_mode": {argv[2]: argv[3]}}))
    elif cmd == "sts-echo" and len(argv) == 3:
        call("POST", "/_mock/config",
             json.dumps({"sts_echo": None if argv[2] == "off" else argv[2]}))
    elif cmd == "sig-echo" and len(argv) == 3:
        call("POST", "/_mock/config", json.dumps({"sig_echo": argv[2]}))
    elif cmd == "expire-wave" and len(argv) in (3, 4):
        if argv[2] == "off":
            w = None
        else:
            w = {"after_requests": int(argv[2])}
            if len(argv) == 4:
                w["sources"] = [x for x in argv[3].split(",") if x]
        call("POST", "/_mock/config", json.dumps({"expire_wave": w}))
    elif cmd == "latency" and len(argv) == 3:
        ms = None if argv[2] == "default" else float(argv[2])
        call("POST", "/_mock/config", json.dumps({"latency_ms": ms}))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
