#!/usr/bin/env python3
"""make check-deps: no circular dependency between the source files.

A module is a source file with its header (src/X.c, src/X.h,
include/cldyn/X.h; app/X.c, app/X.h).  Module A depends on module B when
one of A's files includes B's header, or (given object directories) when
A's object refers to a symbol that B's object defines.  The umbrella header
cldyn/cldyn.h is not a module.  The check fails, naming the modules, when
the dependencies form a cycle.  app/options.c (the option table) and
app/config.c (its reader: config files, parsing, printing) are one module
in two files: the table's rows call the reader (--config) and the reader
walks the table.  Usage: tools/check-deps.py [OBJDIR...]"""
import glob
import os
import re
import subprocess
import sys

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
INC = re.compile(r'\s*#\s*include\s+"(?:cldyn/|app/)?([A-Za-z0-9_]+)\.h"')


ONE = {"app:options": "app:config"}  # one module in two files (see above)


def module(path):
    layer = "app" if path.startswith("app/") else "core"
    m = layer + ":" + os.path.splitext(os.path.basename(path))[0]
    return ONE.get(m, m)


graph = {}
files = glob.glob("src/*.[ch]") + glob.glob("include/cldyn/*.h") + glob.glob("app/*.[ch]")
names = {module(f) for f in files}
for f in files:
    a = module(f)
    if a == "core:cldyn":
        continue
    graph.setdefault(a, set())
    with open(f, encoding="utf-8") as fh:
        for line in fh:
            m = INC.match(line)
            if not m or m.group(1) == "cldyn":
                continue
            # an app file's "X.h" is app/X.h when that exists, else cldyn/X.h
            b = "app:" + m.group(1)
            if a.startswith("core:") or b not in names or "cldyn/" in line:
                b = "core:" + m.group(1)
            b = ONE.get(b, b)
            if b != a and b in names:
                graph[a].add(b)

for d in sys.argv[1:]:
    defs, refs = {}, {}
    for o in glob.glob(os.path.join(d, "*.o")):
        a = ("app:" if os.path.basename(d.rstrip("/")) == "app" else "core:") + \
            os.path.basename(o)[:-2]
        a = ONE.get(a, a)
        out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            p = line.split()
            if len(p) == 3 and p[1] in "TDBRVW":
                defs[p[2]] = a
            elif len(p) == 2 and p[0] == "U":
                refs.setdefault(a, set()).add(p[1])
    for a, syms in refs.items():
        if a not in graph:
            continue  # objects of other builds (main-mpi.o, main-py.o)
        graph[a] |= {defs[s] for s in syms if s in defs and defs[s] != a}

# strongly connected components (Tarjan)
index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in sorted(graph.get(v, ())):
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
        if len(comp) > 1:
            cycles.append(sorted(comp))


sys.setrecursionlimit(10000)
for v in sorted(graph):
    if v not in index:
        visit(v)
for c in cycles:
    print("check-deps: circular dependency between " + ", ".join(c), file=sys.stderr)
if cycles:
    sys.exit(1)
print("check-deps: %d modules, no circular dependency" % len(graph))
