#!/usr/bin/env python3
"""Table from a bench log (stderr of `store-compare bench`), for runs cut short.
Usage: log2table.py results/bench-1m.log"""
import re, sys, collections
vals = collections.defaultdict(list)
order = []
for line in open(sys.argv[1]):
    m = re.match(r'\s*\[(\w+) (\w+)\] (\S+) (\S+)$', line)
    if not m:
        continue
    _, cfg, k, v = m.groups()
    if k not in order:
        order.append(k)
    vals[(k, cfg)].append(float(v))
def f(x):
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"
print("| metric | lmdb (heed) | redb (1 GiB cache) | redb (16 MiB cache) |")
print("|---|---|---|---|")
for k in order:
    row = []
    for c in ("lmdb", "redb", "redb16"):
        v = vals.get((k, c))
        row.append(", ".join(f(x) for x in v) if v else "–")
    print(f"| {k} | " + " | ".join(row) + " |")
