#!/usr/bin/env python3
"""README.md's table of input limits says what `dermfuse limits` (core/limits.h) says: the same names, in the
same order, with the same values. Usage: test_limits_doc.py DERMFUSE SOURCE_ROOT"""
import os
import re
import subprocess
import sys

UNITS = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}


def readme_limits(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        m = re.match(r"\|\s*`([a-z_.]+)`\s*\|\s*([0-9][0-9 ]*)(KiB|MiB|GiB|TiB)?[^|]*\|", line)
        if m:
            value = int(m.group(2).replace(" ", "")) * UNITS.get(m.group(3), 1)
            rows.append((m.group(1), value))
    return rows


def program_limits(dermfuse):
    out = subprocess.run([dermfuse, "limits"], capture_output=True, text=True, check=True).stdout.splitlines()
    rows = []
    for line in out[1:]:
        parts = line.split()
        if len(parts) >= 2 and re.fullmatch(r"[a-z_.]+", parts[0]) and re.fullmatch(r"[0-9.e+]+", parts[1]):
            rows.append((parts[0], int(float(parts[1]))))
    return rows


def main():
    dermfuse, root = sys.argv[1], sys.argv[2]
    doc, prog = readme_limits(os.path.join(root, "README.md")), program_limits(dermfuse)
    ok = bool(prog) and doc == prog
    if not ok:
        print("README.md's limits table and `dermfuse limits` differ:", file=sys.stderr)
        for i in range(max(len(doc), len(prog))):
            a = doc[i] if i < len(doc) else None
            b = prog[i] if i < len(prog) else None
            if a != b:
                print(f"  row {i + 1}: README {a}, dermfuse limits {b}", file=sys.stderr)
    print(f"{len(prog)} limits, README {'agrees' if ok else 'differs'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
