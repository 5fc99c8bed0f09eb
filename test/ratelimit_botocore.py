#!/usr/bin/python3
"""Cross-check src/ratelimit.c against botocore's adaptive retry mode.

Generates a random trace of requests and responses (some throttled), runs it
through botocore's ClientRateLimiter (botocore/retries/adaptive.py,
bucket.py, throttling.py) with a fake clock, and through test/ratelimit_check
--trace, and compares the limiter's state after every event.  Prints
"N passed, M failed" (one check per trace).

    ratelimit_botocore.py PROGRAM [--traces N] [--seed S]
"""
import argparse
import random
import subprocess
import sys

from botocore.exceptions import CapacityNotAvailableError
from botocore.retries import adaptive, bucket, throttling


class FakeClock:
    def __init__(self, t):
        self.t = t

    def current_time(self):
        return self.t

    def sleep(self, amount):
        self.t += amount


class Detector:
    def __init__(self):
        self.throttled = False

    def is_throttling_error(self, **kwargs):
        return self.throttled


def run_botocore(events):
    clock = FakeClock(events[0][1])
    cubic = throttling.CubicCalculator(starting_max_rate=0,
                                       start_time=clock.current_time())
    tb = bucket.TokenBucket(max_rate=1, clock=clock)
    rc = adaptive.RateClocker(clock)
    det = Detector()
    lim = adaptive.ClientRateLimiter(rate_adjustor=cubic, rate_clocker=rc,
                                     token_bucket=tb, throttling_detector=det,
                                     clock=clock)
    out = []
    for ev in events:
        clock.t = ev[1]
        if ev[0] == "r":
            det.throttled = bool(ev[2])
            lim.on_receiving_response()
            out.append((tb.max_rate, tb.available_capacity, int(lim._enabled),
                        rc.measured_rate))
        else:
            got = 1
            if lim._enabled:
                try:
                    tb.acquire(block=False)
                except CapacityNotAvailableError:
                    got = 0
            out.append((tb.max_rate, tb.available_capacity, int(lim._enabled),
                        rc.measured_rate, got))
    return out


def make_trace(rng):
    t = 1000.0 + rng.random() * 100
    events = []
    quota = rng.choice([5, 20, 50, 200])
    sent = []
    for _ in range(rng.randint(200, 2000)):
        t += rng.expovariate(rng.choice([20, 100, 400]))
        if rng.random() < 0.5:
            events.append(("a", t))
        else:
            # throttled when more than quota responses in the last second
            sent = [s for s in sent if s > t - 1.0]
            sent.append(t)
            events.append(("r", t, int(len(sent) > quota)))
    return events


def close(a, b):
    return abs(a - b) <= 1e-6 * (1 + abs(b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("program")
    ap.add_argument("--traces", type=int, default=40)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print("seed", seed)
    rng = random.Random(seed)
    passed = failed = 0
    for n in range(args.traces):
        events = make_trace(rng)
        text = "".join("r %.9f %d\n" % (e[1], e[2]) if e[0] == "r"
                       else "a %.9f\n" % e[1] for e in events)
        res = subprocess.run([args.program, "--trace"], input=text,
                             capture_output=True, text=True, check=True)
        mine = [tuple(float(x) for x in line.split())
                for line in res.stdout.splitlines()]
        # the C program prints the events rounded to ns; so do we
        events = [(e[0], float("%.9f" % e[1])) + e[2:] for e in events]
        theirs = run_botocore(events)
        bad = None
        for i, (m, b) in enumerate(zip(mine, theirs)):
            if len(m) != len(b) or not all(close(x, y) for x, y in zip(m, b)):
                bad = (i, m, b)
                break
        if len(mine) != len(theirs):
            bad = (len(mine), None, None)
        if bad is None:
            passed += 1
        else:
            failed += 1
            print("trace %d differs at event %d: ours %s, botocore %s (%s)"
                  % (n, bad[0], bad[1], bad[2], events[bad[0]] if bad[0] < len(events) else "-"),
                  file=sys.stderr)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
