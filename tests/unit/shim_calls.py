#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The shim's own code never calls a symbol the shim wraps.

Every EXPORT function of src/preload/ wraps a libc symbol.  Called from
the shim's own helpers, such a symbol would come back into the shim (or,
before the shim is resolved, into nothing): they use real.NAME or a static
do_NAME instead.  A wrapper may hand over to a sibling wrapper of the same
call (fstat64 to fstat); nothing else may.  Prints one line per offence.
"""
import pathlib
import re
import sys

src = pathlib.Path(sys.argv[1]) / "src" / "preload"
files = sorted(src.glob("*.c"))
export = re.compile(r"^EXPORT\s+[\w\s\*]+?\b(\w+)\s*\(", re.M)
wrapped = set()
for f in files:
    wrapped.update(export.findall(f.read_text()))

# Top-level function definitions: a line at column 0 ending a declarator,
# the body between a "{" and a "}" at column 0 (the house style).
defn = re.compile(r"^(EXPORT\s+)?(?:static\s+)?[\w\s\*]+?\b(\w+)\s*\([^;]*$")
call = re.compile(r"(?<![\w.>])(\w+)\s*\(")
bad = 0
for f in files:
    lines = f.read_text().splitlines()
    name, is_export, body = None, False, False
    for no, line in enumerate(lines, 1):
        if not body:
            m = defn.match(line)
            if m and not line.startswith((" ", "\t", "#")):
                name, is_export = m.group(2), bool(m.group(1))
            if line == "{" and name:
                body = True
            continue
        if line == "}":
            body, name = False, None
            continue
        code = re.sub(r'"(\\.|[^"\\])*"', '""', line.split("//")[0])
        if code.lstrip().startswith(("*", "/*")):
            continue
        for callee in call.findall(code):
            if callee not in wrapped or callee == name:
                continue
            if is_export:
                continue  # a wrapper handing over to a sibling wrapper
            print(f"{f.name}:{no}: {name}() calls the wrapped {callee}()")
            bad += 1
print(f"{len(wrapped)} wrapped symbols, {bad} internal calls to them")
sys.exit(1 if bad or len(wrapped) < 40 else 0)
