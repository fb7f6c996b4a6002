#!/usr/bin/env python3
"""The dermfuse command's OpenMP wait policy (core/wait_policy.h), through the command itself:
- with neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT set, the command runs with GOMP_SPINCOUNT set to about 200 us
  of spinning on this CPU (at least 1000 iterations), then sleep, in its environment from its start (it
  re-executes itself once: one execve more, no more), and says so in `version`;
- a policy the user set is kept as it is, OMP_WAIT_POLICY or GOMP_SPINCOUNT, and not re-executed;
- the re-executed command gets its arguments unchanged (one with spaces, one empty) and
  returns its own exit status (2 for a bad usage, with the message).
Usage: test_wait_policy.py DERMFUSE"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "session"))
from checks import check, summary  # noqa: E402

DERMFUSE = os.path.abspath(sys.argv[1])
OURS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "DF_WAIT_POLICY_DEFAULTED")


def run(args, extra=None, cwd=None, stdin=None):
    env = {k: v for k, v in os.environ.items() if k not in OURS}
    env.update(extra or {})
    return subprocess.run([DERMFUSE] + args, env=env, cwd=cwd, input=stdin, capture_output=True, text=True)


def waiting(p):
    lines = [l for l in p.stdout.splitlines() if l.startswith("openmp waiting:")]
    return lines[0] if lines else ""


def execs(args, extra=None):
    """How many programs the command executed (strace), or None without strace."""
    strace = shutil.which("strace")
    if not strace:
        return None
    env = {k: v for k, v in os.environ.items() if k not in OURS}
    env.update(extra or {})
    p = subprocess.run([strace, "-f", "-qq", "-e", "trace=execve", DERMFUSE] + args, env=env,
                       capture_output=True, text=True)
    return sum(1 for l in p.stderr.splitlines() if "execve(" in l and "= 0" in l)


def main():
    p = run(["version"])
    m = re.search(r"spin (\d+) iterations \(about 200 us on this CPU\), then sleep \(dermfuse's default", waiting(p))
    check(p.returncode == 0 and m is not None and 1000 <= int(m.group(1)) <= 1000000, f"default policy: {p.stdout}")
    p = run(["version"], {"OMP_WAIT_POLICY": "active"})
    check(waiting(p).endswith("active: threads spin at barriers (OMP_WAIT_POLICY)"), f"active kept: {waiting(p)}")
    p = run(["version"], {"OMP_WAIT_POLICY": "PASSIVE"})
    check(waiting(p).endswith("passive: threads sleep at once (OMP_WAIT_POLICY)"),
          f"the user's passive is the user's: {waiting(p)}")
    p = run(["version"], {"GOMP_SPINCOUNT": "2000"})
    check(waiting(p).endswith("spin 2000 iterations, then sleep (GOMP_SPINCOUNT)"),
          f"GOMP_SPINCOUNT kept: {waiting(p)}")

    n = execs(["version"])
    if n is not None:
        check(n == 2, f"the default policy costs one re-execution, not {n - 1}")
        n = execs(["version"], {"OMP_WAIT_POLICY": "active"})
        check(n == 1, f"a policy the user set is not re-executed for ({n} executions)")

    with tempfile.TemporaryDirectory() as tmp:
        out = "a folder with spaces"
        p = run(["synth", "--out", out, "--n", "3", "--size", "16", "--format", "png", "--no-hair"], cwd=tmp)
        check(p.returncode == 0 and os.path.isfile(os.path.join(tmp, out, "metadata.csv")),
              f"arguments with spaces reach the re-executed command: {p.returncode} {p.stderr}")
        p = run(["synth", "--out", "", "--n", "3"], cwd=tmp)
        check(p.returncode == 2 and "--out" in p.stderr, f"an empty argument arrives empty: {p.returncode} {p.stderr}")
        p = run(["synth", "--bogus"], cwd=tmp)
        check(p.returncode == 2 and "--bogus" in p.stderr, f"the exit status and message come back: {p.returncode}")
        p = run(["config-keys"], cwd=tmp)
        check(p.returncode == 0 and "train.epochs" in p.stdout, "config-keys after the re-execution")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
