#!/usr/bin/python3
"""Baseline for test/bench.sh: what a Python job around the AWS SDK does.

Debian's botocore (1.29) has no GetSegmentMembership model, so this signs
each request with botocore's SigV4Auth (as boto3 would) and sends it with
http.client over one keep-alive connection per worker, in batches of 100,
parsing the JSON reply with the json module - the work a boto3 job does,
without boto3's per-call overhead (so it flatters the baseline).

    bench_python.py --port P --ids N --latency MS --concurrency C
"""
import argparse
import hashlib
import http.client
import json
import os
import queue
import threading
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ids", type=int, default=10000)
    ap.add_argument("--latency", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=1)
    a = ap.parse_args()

    creds = Credentials(os.environ.get("SM_TEST_AKID", "AKIDSEGMENTMEMBERSHIP1"),
                        os.environ.get("SM_TEST_SECRET", "smTestSecretKey/0123456789abcdefghijklmnopqrstu"),
                        os.environ.get("SM_TEST_TOKEN", "smTestSessionToken0123456789"))
    ids = [hashlib.md5(("bench%d" % i).encode()).hexdigest() for i in range(1, a.ids + 1)]
    batches = [ids[i:i + 100] for i in range(0, len(ids), 100)]
    path = "/mock/latency=%d/domains/demo-domain/segments/high-value/membership" % a.latency
    host = "127.0.0.1:%d" % a.port
    work = queue.Queue()
    for b in batches:
        work.put(b)
    results = {}
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", a.port)
        while True:
            try:
                b = work.get_nowait()
            except queue.Empty:
                return
            body = json.dumps({"ProfileIds": b}).encode()
            req = AWSRequest(method="POST", url="http://%s%s" % (host, path), data=body,
                             headers={"Content-Type": "application/json"})
            SigV4Auth(creds, "profile", "eu-west-2").add_auth(req)
            conn.request("POST", path, body=body, headers=dict(req.headers.items()))
            r = conn.getresponse()
            reply = json.loads(r.read())
            with lock:
                for p in reply.get("Profiles", []):
                    results[p["ProfileId"]] = p["QueryResult"]
                for f in reply.get("Failures", []):
                    results[f["ProfileId"]] = "FAILED"

    cpu0 = time.process_time()
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    cpu = time.process_time() - cpu0
    ideal = -(-len(batches) // a.concurrency) * a.latency / 1000.0
    print("python N=%d latency=%d ms concurrency=%d answered=%d wall=%.3f s ids/s=%d ratio=%.3f cpu=%.3f s per 10k ids"
          % (a.ids, a.latency, a.concurrency, len(results), wall, a.ids / wall,
             wall / ideal if ideal else 0, cpu * 10000.0 / a.ids))


if __name__ == "__main__":
    main()
