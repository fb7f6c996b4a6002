#!/usr/bin/env bash
# Fuzzes dermfuse's parsers with libFuzzer (docs/FUZZING.md).
# Usage: scripts/fuzz.sh [seconds-per-target] [target...]   (default 30 s, every target)
#
# Configures a build folder (build-fuzz, or $DF_FUZZ_BUILD) with clang, AddressSanitizer, UBSan and
# -Dfuzz=true, builds the targets only, and runs each for the given time on its corpus: build-fuzz/corpus/
# <target>, which starts as a copy of tests/fuzz/corpus/<target> and keeps what the fuzzer adds. Crashes
# (and timeouts, out-of-memory) go to build-fuzz/crashes/<target>/. Per target it prints executions, exec/s
# and crashes (distinct ones counted by their first report line and first frame in dermfuse's code, each
# with one example file); the last line is "N targets, N crashed".
#
# Modes: by default each target runs in libFuzzer's fork mode and goes on after a crash, to find more than
# one. With DF_FUZZ_SMOKE=1 (the CI smoke in scripts/test.sh) each target runs in one process with a fixed
# seed and stops at its first crash, so a run is repeatable. Exit status: 0 when nothing crashed, 1 when a
# target crashed or the build failed, 77 when clang or its libFuzzer runtime is missing.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-30}
[ $# -gt 0 ] && shift
all=(fuzz_csv fuzz_config fuzz_safetensors fuzz_checkpoint fuzz_jpeg fuzz_png fuzz_study)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
build=${DF_FUZZ_BUILD:-build-fuzz}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
smoke=${DF_FUZZ_SMOKE:-0}

# Inputs larger than this are not generated: enough for a few files of config, a small checkpoint, an image
# of some hundred pixels; larger inputs only slow every execution down.
max_len() {
  case "$1" in
    fuzz_checkpoint|fuzz_jpeg|fuzz_png) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "unknown target '$t' (targets: ${all[*]})"; exit 1; }
done
if ! command -v clang >/dev/null ||
   ! echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' |
     clang -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null; then
  echo "clang with libFuzzer is not installed (Debian: clang libclang-rt-14-dev libomp-dev); nothing fuzzed"
  echo "0 targets, 0 crashed"
  exit 77
fi

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dfuzz=true -Dmpi=disabled -Db_sanitize=address,undefined --buildtype=debugoptimized \
    >"$build.setup.log" 2>&1 ||
    { cat "$build.setup.log"; echo "fuzz build setup failed"; echo "0 targets, 1 crashed"; exit 1; }
fi
if ! nice meson compile -C "$build" "${targets[@]}" >"$build/fuzz-build.log" 2>&1; then
  tail -30 "$build/fuzz-build.log"
  echo "fuzz build failed"
  echo "0 targets, 1 crashed"
  exit 1
fi

# The targets' temporary folders (and libFuzzer's in fork mode) in one folder of this run, on a RAM disk
# where there is one (several targets write their input to a file for each execution), removed at the end
# with what crashed processes left there.
tmp_parent=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && tmp_parent=/dev/shm
TMPDIR=$(mktemp -d "$tmp_parent/dermfuse-fuzz-run.XXXXXX") || exit 1
export TMPDIR
touch "$TMPDIR/.started"
# clang's OpenMP runtime registers each process in /dev/shm and removes the entry at exit; a crashed process
# leaves its entry behind. Those of processes that ended during this run go with the folder.
clean_up() {
  local f pid
  for f in $(find /dev/shm -maxdepth 1 -name '__KMP_REGISTERED_LIB_*' -newer "$TMPDIR/.started" 2>/dev/null); do
    pid=${f#/dev/shm/__KMP_REGISTERED_LIB_}
    pid=${pid%%_*}
    kill -0 "$pid" 2>/dev/null || rm -f "$f"
  done
  rm -rf "$TMPDIR"
}
trap clean_up EXIT

# The first line of a crash's report and its first frame in dermfuse's code (not the harness's abort
# helper, not libc), without addresses or temporary paths.
signature() {
  local exe=$1 input=$2 report first frame
  local what='fuzz invariant broken|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error|invariant failed'
  what+='|ERROR: libFuzzer|Timeout|out-of-memory'
  local not_ours='fuzz_util\.c|libc\.so|sanitizer|libFuzzer|fuzzer::|abort|raise|__pthread'
  report=$(timeout 20 "$exe" "$input" 2>&1)
  first=$(grep -m1 -E "$what" <<<"$report" |
          sed -E -e 's/0x[0-9a-f]+//g; s#/[^ :]*dermfuse-fuzz\.[A-Za-z0-9]+#<tmp>#g; s/^==[0-9]+==//' \
                 -e 's/[0-9]+ bytes?/N bytes/g' -e "s/'[^']*'/'…'/g" | cut -c1-160)
  frame=$(grep -E '^ +#[0-9]+ .* in ' <<<"$report" | grep -v -E "$not_ours" | grep -m1 -E "$root|\.\./" |
          sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ in //; s# /[^ ]*/\.\./# #; s#\(BuildId.*##' | cut -c1-120)
  echo "${first:-no report} @ ${frame:-?}"
}

# What libFuzzer saved in a crash folder (crash-, leak-, timeout-, oom- files), newest first.
findings() { ls -t "$1" | grep -E '^(crash|leak|timeout|oom)-'; }

n_crashed=0
for t in "${targets[@]}"; do
  exe="$build/tests/fuzz/$t"
  corpus="$build/corpus/$t"
  crashes="$build/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  cp -n "$root/tests/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null
  log="$build/crashes/$t.log"
  before=$(findings "$crashes" | wc -l)
  slow_before=$(ls "$crashes" | grep -c '^slow-unit-')
  common=(-max_len="$(max_len "$t")" -timeout=20 -rss_limit_mb=4096 -artifact_prefix="$crashes/"
          -print_final_stats=1)
  start=$(date +%s%N)
  if [ "$smoke" = 1 ]; then
    "$exe" "${common[@]}" -seed=1 -max_total_time="$seconds" "$corpus" >"$log" 2>&1
  else
    "$exe" "${common[@]}" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
      -max_total_time="$seconds" "$corpus" >"$log" 2>&1
  fi
  elapsed_ns=$(($(date +%s%N) - start))
  # Executions: the final stats of a single process; the last progress line's count in fork mode.
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -z "$execs" ] && execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  execs=${execs:-0}
  rate=$((execs * 1000000000 / (elapsed_ns > 0 ? elapsed_ns : 1)))
  new=$(($(findings "$crashes" | wc -l) - before))
  slow=$(($(ls "$crashes" | grep -c '^slow-unit-') - slow_before))
  slow_note=""
  [ "$slow" -gt 0 ] && slow_note=" (and $slow inputs slower than 10 s: slow-unit-* in $crashes)"
  distinct=""
  if [ "$new" -gt 0 ]; then
    n_crashed=$((n_crashed + 1))
    declare -A seen=()
    for f in $(findings "$crashes" | head -n "$new" | head -50); do
      s=$(signature "$exe" "$crashes/$f")
      [ -z "${seen[$s]+x}" ] && seen[$s]="$crashes/$f"
    done
    distinct=" (${#seen[@]} distinct)"
    printf '%-17s executions %-9s exec/s %-6s crashes %s%s%s\n' "$t" "$execs" "$rate" "$new" "$distinct" "$slow_note"
    for s in "${!seen[@]}"; do echo "    $s"; echo "      e.g. ${seen[$s]}"; done
    unset seen
  elif [ "$execs" -eq 0 ]; then
    # A harness that stops before its first input (a broken setup, an invariant of its own) fuzzes nothing.
    n_crashed=$((n_crashed + 1))
    printf '%-17s ran no input: the harness stopped at start (%s):\n' "$t" "$log"
    tail -3 "$log" | sed 's/^/    /'
  else
    printf '%-17s executions %-9s exec/s %-6s crashes 0%s\n' "$t" "$execs" "$rate" "$slow_note"
  fi
done
echo "${#targets[@]} targets, $n_crashed crashed"
[ "$n_crashed" -eq 0 ]
