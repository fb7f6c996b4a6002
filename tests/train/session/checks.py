"""checks.py: the counted checks the end-to-end tests of this folder share. check() prints what failed and
goes on, so one run shows every failure; summary() prints how many passed and gives the exit status."""
import sys

_counts = {"checks": 0, "failures": 0}


def check(cond, what):
    """Counts one check; prints `what` when cond is false. Returns cond, so a test can stop on it."""
    _counts["checks"] += 1
    if not cond:
        _counts["failures"] += 1
        print(f"FAIL: {what}", file=sys.stderr)
    return cond


def summary():
    """Prints "N of M checks passed" and returns the exit status: 1 when any check failed, else 0."""
    print(f"{_counts['checks'] - _counts['failures']} of {_counts['checks']} checks passed")
    return 1 if _counts["failures"] else 0
