#!/usr/bin/env bash
# Builds dermfuse with warnings as errors and runs the whole test suite, then the fuzz smoke (scripts/fuzz.sh,
# in <build-dir>-fuzz); the last line is "N passed, N failed, N skipped".
# Usage: scripts/test.sh [build-dir] (default build-test); DF_MESON_ARGS adds options to a new build's setup.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-test}
bash scripts/install-deps.sh || { echo "dependency install failed"; echo "0 passed, 1 failed"; exit 1; }
if [ ! -d "$build" ]; then
  meson setup "$build" -Dwerror=true --buildtype=release ${DF_MESON_ARGS:-} >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
fi
meson compile -C "$build" || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
meson test -C "$build" --num-processes 2 --print-errorlogs 2>&1 | tee "$build/test-summary.txt"
status=${PIPESTATUS[0]}
ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$build/test-summary.txt" | tail -1)
fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$build/test-summary.txt" | tail -1)
timeout=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$build/test-summary.txt" | tail -1)
skipped=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$build/test-summary.txt" | tail -1)
ok=${ok:-0}; fail=$(( ${fail:-0} + ${timeout:-0} )); skipped=${skipped:-0}
[ "$status" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1

# The fuzz smoke (docs/FUZZING.md), counted as one more test: every libFuzzer target for
# DF_FUZZ_SMOKE_SECONDS (default 20; 0 leaves it out) from its seed corpus with a fixed seed, in its own
# clang build folder. Skipped where clang or its libFuzzer runtime is missing.
fuzz_seconds=${DF_FUZZ_SMOKE_SECONDS:-20}
if [ "$fuzz_seconds" -gt 0 ]; then
  echo "fuzz smoke: ${fuzz_seconds} s per target"
  DF_FUZZ_SMOKE=1 DF_FUZZ_BUILD="$build-fuzz" bash scripts/fuzz.sh "$fuzz_seconds" 2>&1 | tee "$build/fuzz-smoke.txt"
  case "${PIPESTATUS[0]}" in
    0) ok=$((ok + 1)) ;;
    77) skipped=$((skipped + 1)) ;;
    *) fail=$((fail + 1)); status=1 ;;
  esac
fi
echo "${ok} passed, ${fail} failed, ${skipped} skipped"
exit "$status"
