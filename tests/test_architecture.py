#!/usr/bin/env python3
"""The source tree keeps the shape docs/ARCHITECTURE.md describes:
- every library folder is a floor, and a file includes headers of its own floor or of floors below it only,
  so there is no include cycle between concerns;
- no source file is longer than MAX_LINES lines;
- only the command-line layer (train/cli) may end the process (exit, abort through df_abort is for broken
  invariants and is allowed everywhere);
- no fixed-size path buffer: paths are built with df_path_join.
Usage: test_architecture.py SOURCE_ROOT"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1])
MAX_LINES = 500

# Floors, lowest first. A folder not listed is an error (a new folder must be given its place here and in
# docs/ARCHITECTURE.md).
FLOORS = [
    ["core", "core/gemm", "core/io", "core/dist"],
    ["layers", "layers/conv"],
    ["optim"],
    ["data/table", "data/layouts", "data/image", "data", "data/synth"],
    ["train/metrics"],
    ["train/model"],
    ["train/config"],
    ["train/session"],
    ["train/late"],
    ["train/analysis"],
    ["train/report"],
    ["train/study"],
    ["train/cli"],
]
RANK = {folder: i for i, floor in enumerate(FLOORS) for folder in floor}
LIBRARY_TOPS = ("core", "layers", "optim", "data", "train")

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def sources():
    for top in LIBRARY_TOPS:
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, f), ROOT)


def folder_of(rel):
    return os.path.dirname(rel)


include_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
exit_re = re.compile(r"\b(_?exit|quick_exit)\s*\(")
# File-system paths only: a dotted config key ("train.lr") in a small buffer is not one.
path_buf_re = re.compile(r"\bchar\s+(\w*(path|dir)\w*)\s*\[\s*\d{4,}\s*\]")

edges = {}
n_files = 0
for rel in sources():
    n_files += 1
    text = open(os.path.join(ROOT, rel), encoding="utf-8").read()
    folder = folder_of(rel)
    if folder not in RANK:
        fail(f"{rel}: folder {folder} has no floor in tests/test_architecture.py")
        continue
    lines = text.count("\n")
    if lines > MAX_LINES:
        fail(f"{rel}: {lines} lines, more than {MAX_LINES}")
    for inc in include_re.findall(text):
        target = folder_of(inc)
        if target == "" or target.startswith("tests"):
            continue
        if target not in RANK:
            fail(f"{rel}: includes {inc}, which lies in no floor")
            continue
        if RANK[target] > RANK[folder]:
            fail(f"{rel}: includes {inc} from {target}, a floor above {folder}")
        if target != folder:
            edges.setdefault(folder, set()).add(target)
    code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    if folder != "train/cli" and exit_re.search(code):
        fail(f"{rel}: ends the process (exit); only train/cli may")
    for m in path_buf_re.finditer(code):
        fail(f"{rel}: fixed-size path buffer '{m.group(0)}'; build paths with df_path_join")


# No cycle between folders (the rank rule implies it across floors; this also covers folders of one floor).
def find_cycle():
    state = {}

    def visit(n, stack):
        state[n] = 1
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                return stack + [n, m]
            if not state.get(m):
                c = visit(m, stack + [n])
                if c:
                    return c
        state[n] = 2
        return None

    for n in sorted(edges):
        if not state.get(n):
            c = visit(n, [])
            if c:
                return c
    return None


cycle = find_cycle()
if cycle:
    fail("include cycle between folders: " + " -> ".join(cycle))

checks = n_files
print(f"{n_files} files checked; {len(failures)} problems")
print(f"{checks - len(failures) if checks >= len(failures) else 0} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
