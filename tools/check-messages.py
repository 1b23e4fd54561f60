#!/usr/bin/env python3
"""make check-messages: the core library speaks of parameters, not of the
CLI's options.  No string literal in src/ or include/cldyn/ may contain a
command-line option spelling (--name); messages name the parameter
("tau: must be > 0"), and the application layer adds the option's spelling
where it reports them (app/status.c, docs/cli.md s.6).  Nor may one start
with a command's name ("ode: ..."): the same code serves several commands,
and the CLI puts the one that ran in front (docs/hardening.md s.8).  Usage:
tools/check-messages.py [FILE...]"""
import glob
import os
import re
import sys

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OPTION = re.compile(r"--[A-Za-z%]")
COMMAND = re.compile(r"^(simulate|reduced|ode|pde|fixed|basin|sweep|reproduce|plot): ")


def literals(text):
    """(line, literal) for every string literal, comments skipped."""
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            line += text.count("\n", i, j)
            i = j
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c == "'":
            j = i + 1
            while j < n and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            yield line, text[i + 1:j]
            i = j + 1
            continue
        i += 1


files = sys.argv[1:] or sorted(glob.glob("src/*.[ch]") + glob.glob("include/cldyn/*.h"))
bad = 0
for f in files:
    with open(f, encoding="utf-8") as fh:
        text = fh.read()
    for line, lit in literals(text):
        if OPTION.search(lit):
            print('check-messages: %s:%d: a CLI option in a library string: "%s"' % (f, line, lit), file=sys.stderr)
            bad += 1
        if COMMAND.match(lit):
            print('check-messages: %s:%d: a command in front of a library string: "%s"' % (f, line, lit),
                  file=sys.stderr)
            bad += 1
if bad:
    sys.exit(1)
print("check-messages: %d library files name parameters, not CLI options or commands" % len(files))
