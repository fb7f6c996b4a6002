#!/usr/bin/env bash
# Builds dermfuse with warnings as errors and runs the whole test suite; the last line is
# "N passed, N failed". Usage: scripts/test.sh [build-dir] (default build-test).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-test}
bash scripts/install-deps.sh || { echo "dependency install failed"; echo "0 passed, 1 failed"; exit 1; }
if [ ! -d "$build" ]; then
  meson setup "$build" -Dwerror=true --buildtype=release >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
fi
meson compile -C "$build" || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
meson test -C "$build" --num-processes 2 --print-errorlogs 2>&1 | tee "$build/test-summary.txt"
status=${PIPESTATUS[0]}
ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$build/test-summary.txt" | tail -1)
fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$build/test-summary.txt" | tail -1)
timeout=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$build/test-summary.txt" | tail -1)
skipped=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$build/test-summary.txt" | tail -1)
ok=${ok:-0}; fail=$(( ${fail:-0} + ${timeout:-0} ))
[ "$status" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
echo "${ok} passed, ${fail} failed, ${skipped:-0} skipped"
exit "$status"
