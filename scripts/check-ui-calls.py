#!/usr/bin/env python3
"""check-ui-calls: no circle of calls between the console's files (ui/*.o).

File A uses file B when A's object refers to a symbol B's object defines (nm). The loop
(app.c) may call every file; the views and everything below them call only down, so the
graph has no cycle. Exit 1 naming each circle and the symbols that make it.
Usage: scripts/check-ui-calls.py BUILD/ui"""
import glob
import os
import subprocess
import sys


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defs, uses = set(), set()
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "TDBRC":
            defs.add(f[2])
        elif len(f) == 2 and f[0] == "U":
            uses.add(f[1])
    return defs, uses


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "build/ui"
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ui")
    # objects of the sources there are (not of a file since removed)
    objs = sorted(o for o in glob.glob(os.path.join(d, "*.o"))
                  if os.path.exists(os.path.join(src, os.path.basename(o)[:-2] + ".c")))
    if not objs:
        print(f"check-ui-calls: no objects in {d}: build first", file=sys.stderr)
        return 2
    defs, uses, owner = {}, {}, {}
    for o in objs:
        n = os.path.basename(o)[:-2] + ".c"
        defs[n], uses[n] = symbols(o)
        for s in defs[n]:
            owner[s] = n
    edges = {n: {} for n in defs}
    for n, u in uses.items():
        for s in u:
            t = owner.get(s)
            if t and t != n:
                edges[n].setdefault(t, set()).add(s)
    # Tarjan's strongly connected components
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    bad = [sorted(c) for c in comps if len(c) > 1]
    for c in bad:
        print(f"check-ui-calls: ui/ files call each other in a circle: {', '.join(c)}",
              file=sys.stderr)
        for a in c:
            for b in sorted(edges[a]):
                if b in c:
                    print(f"  {a} -> {b}: {' '.join(sorted(edges[a][b]))}", file=sys.stderr)
    if bad:
        print("check-ui-calls: a view calls up into the loop or into a view that calls it; "
              "pass what it needs down (ui/view.h)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
