#!/usr/bin/python3
"""test/check_architecture.py -- static checks of src/'s structure (issue 11).

  * no two files of src/ depend on each other in a cycle, counting both
    #include "x.h" edges (x.h belongs to x.c) and call edges (an undefined
    symbol of a.o that b.o defines, read with nm from the built objects);
  * every .c and .h file starts with a header comment naming the file and
    saying its concern;
  * no function is longer than LIMIT lines unless the comment above it
    says why it must be long (contains "long" ... "because" or "must be long").

Usage: test/check_architecture.py [--graph]   (run after `make`)
Prints one line per check and "N passed, M failed".
"""
import os
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SRC = os.path.join(ROOT, "src")
LIMIT = 100

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("ok: " + what)
    else:
        failed += 1
        print("FAIL: " + what)


def unit(name):
    return os.path.splitext(name)[0]


files = sorted(f for f in os.listdir(SRC) if f.endswith((".c", ".h")))
units = sorted({unit(f) for f in files})

edges = {u: set() for u in units}
for f in files:
    text = open(os.path.join(SRC, f), encoding="utf-8").read()
    for inc in re.findall(r'^#include "([^"]+)\.h"', text, re.M):
        if inc in edges and inc != unit(f):
            edges[unit(f)].add(inc)

# call edges from the objects
defined = {}
undefined = {}
for u in units:
    obj = os.path.join(SRC, u + ".o")
    if not os.path.exists(obj):
        continue
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    undefined[u] = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBR":
            defined[parts[2]] = u
        elif len(parts) == 2 and parts[0] == "U":
            undefined[u].add(parts[1])
check(len(undefined) > 0, "built objects found in src/ (run make first)")
for u, syms in undefined.items():
    for s in syms:
        d = defined.get(s)
        if d is not None and d != u:
            edges[u].add(d)

# cycles: Tarjan's strongly connected components
index = {}
low = {}
stack = []
onstack = set()
sccs = []
counter = [0]


def strong(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    onstack.add(v)
    for w in sorted(edges[v]):
        if w not in index:
            strong(w)
            low[v] = min(low[v], low[w])
        elif w in onstack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            onstack.discard(w)
            comp.append(w)
            if w == v:
                break
        sccs.append(comp)


sys.setrecursionlimit(10000)
for u in units:
    if u not in index:
        strong(u)
cycles = [sorted(c) for c in sccs if len(c) > 1]
check(not cycles, "no dependency cycle among src/ files" +
      ("" if not cycles else ": " + "; ".join(" <-> ".join(c) for c in cycles)))

# header comments
for f in files:
    head = open(os.path.join(SRC, f), encoding="utf-8").read(600)
    m = re.match(r"/\*-+\n \*\n \* (\S+)\n \*\s+(\S.*)", head)
    check(m is not None and m.group(1) == f,
          f"{f} starts with a header comment naming it and its concern")

# long functions
for f in files:
    if not f.endswith(".c"):
        continue
    lines = open(os.path.join(SRC, f), encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        # a function body starts with "{" at column 0 after a line with "("
        if lines[i] == "{" and i > 0 and "(" in "".join(lines[max(0, i - 6):i]):
            start = i
            j = i + 1
            while j < len(lines) and lines[j] != "}":
                j += 1
            length = j - start + 1
            if length > LIMIT:
                k = start - 1
                while k > 0 and lines[k] and not lines[k].startswith(" */"):
                    k -= 1
                name = next((l for l in lines[k:start] if re.match(r"^[a-z_]\w*\(", l)), "?")
                comment = "\n".join(lines[max(0, k - 40):k + 1])
                cstart = comment.rfind("/*")
                comment = comment[cstart:] if cstart >= 0 else ""
                why = re.search(r"long because|must be long|is long:", comment)
                check(why is not None,
                      f"{f}: {name.split('(')[0]} is {length} lines"
                      + (" (the comment above says why)" if why else ", over " + str(LIMIT) + " with no comment saying why"))
            i = j
        i += 1

if "--graph" in sys.argv:
    for u in units:
        if edges[u]:
            print(f"  {u} -> {', '.join(sorted(edges[u]))}")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
