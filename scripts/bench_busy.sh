#!/bin/sh
# bench_busy.sh: training speed on a busy machine, dermfuse against PyTorch under the same load.
#
# A shared workstation runs other work beside a training run. This benchmark trains the recipe
# configs/recipes/small-cnn-fusion-28.yaml (a small CNN with metadata fusion on 28x28 gray PNGs, many short
# steps: the case where synchronisation costs the most) with `dermfuse train`, and its PyTorch twin
# (scripts/busy_pytorch.py, 2 threads, malloc tuned as in bench_compare.sh), each alone and then beside
# busy_load (tests/bench/busy_load.c: THREADS threads of CPU-bound work that never synchronise). Each round
# runs the four cases back to back, in alternating order, so a drifting VM moves them together; a case's
# figure is its epochs' median time per epoch, the first epoch left out (it fills dermfuse's image cache).
# It prints a line per case and round, then, over the rounds, the medians (and ranges) of:
#
#   BENCH busy_alone    ours=<dermfuse img/s> ref=<PyTorch img/s> unit=img/s ratio=<ours/ref>
#   BENCH busy_loaded   ours=...               ref=...              unit=img/s ratio=<ours/ref>
#   BENCH busy_slowdown ours=<dermfuse loaded/alone time> ref=<PyTorch's> unit=x ratio=<ref/ours>
#
# (ratio > 1: dermfuse is faster, or slows down less). dermfuse runs with the OpenMP wait policy its command
# chooses (core/wait_policy.h) unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set when this script starts;
# PyTorch always runs with libgomp's defaults. Exits 77 (skipped) without python3-torch or python3-pil.
# Usage: scripts/bench_busy.sh [build-dir] [--rounds N] [--images N] [--epochs E] [--load-threads T]
set -eu
build=build
rounds=3
images=10000
epochs=3
load_threads=2
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) rounds=$2; shift ;;
    --images) images=$2; shift ;;
    --epochs) epochs=$2; shift ;;
    --load-threads) load_threads=$2; shift ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) build=$1 ;;
    esac
    shift
done
[ "$epochs" -ge 2 ] || { echo "--epochs must be at least 2 (the first one is left out)" >&2; exit 2; }
py=/usr/bin/python3
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
for exe in dermfuse tests/bench/busy_load; do
    [ -x "$build/$exe" ] || { echo "no $build/$exe: meson compile -C $build" >&2; exit 1; }
done
$py -c 'import torch, PIL' 2>/dev/null || { echo "skipped: $py cannot import torch and PIL (python3-torch, python3-pil)"; exit 77; }
tune='glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=17179869184'
tmp=$(mktemp -d)
load_pid=
trap '[ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

echo "# CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) logical CPUs"
echo "# dermfuse waits: $("$build/dermfuse" version | sed -n 's/^openmp waiting: *//p')"
echo "# load: $load_threads CPU-bound threads; $images training images, $epochs epochs a run, $rounds rounds"

# The data: 28x28 synthetic lesions saved as 8-bit gray PNGs, 80% for training (the recipe's layout).
total=$((images + images / 4))
"$build/dermfuse" synth --out "$tmp/data" --n "$total" --size 28 --seed 4 --signal 0.8 --format png >/dev/null
$py - "$tmp/data" "$images" <<'PY'
import csv, os, sys
from PIL import Image
root, n = sys.argv[1], int(sys.argv[2])
rows = list(csv.DictReader(open(os.path.join(root, "metadata.csv"))))
cols = ["age_approx", "sex", "anatom_site_general"]
for r in rows:
    p = os.path.join(root, "images", r["image"])
    Image.open(p).convert("L").save(p)
for name, part in (("train.csv", rows[:n]), ("test.csv", rows[n:])):
    with open(os.path.join(root, name), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "label"] + cols)
        w.writerows([r["image"], r["class"]] + [r[c] for c in cols] for r in part)
PY

# The median of the numbers on standard input.
median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Seconds per epoch of one dermfuse run (epochs 2.., median).
run_dermfuse() {
    rm -rf "$tmp/runs"
    OMP_NUM_THREADS=2 "$build/dermfuse" train "$here/../configs/recipes/small-cnn-fusion-28.yaml" --quiet \
        --set "data.train_csv=$tmp/data/train.csv" --set "data.test_csv=$tmp/data/test.csv" \
        --set "data.image_dir=$tmp/data/images" --set "run.out_dir=$tmp/runs" --set "train.epochs=$epochs" \
        >"$tmp/dermfuse.log" 2>&1 || { cat "$tmp/dermfuse.log" >&2; exit 1; }
    sed -n 's/.*"epoch": \([0-9]*\),.*"seconds": \([0-9.e+-]*\),.*/\1 \2/p' "$tmp/runs/small-cnn-fusion-28/metrics.jsonl" |
        awk '$1 > 1 { print $2 }' | median
}

# The same for PyTorch (its loop only).
run_pytorch() {
    env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT GLIBC_TUNABLES=$tune $py "$here/busy_pytorch.py" --data "$tmp/data" \
        --epochs "$epochs" --threads 2 >"$tmp/pytorch.log" 2>&1 || { cat "$tmp/pytorch.log" >&2; exit 1; }
    awk '$1 == "EPOCH" && $2 > 1 { print $3 }' "$tmp/pytorch.log" | median
}

# One case: program (dermfuse or pytorch), load (alone or loaded); prints its seconds per epoch.
run_case() {
    if [ "$2" = loaded ]; then
        "$build/tests/bench/busy_load" "$load_threads" 36000 &
        load_pid=$!
        sleep 0.5
    fi
    s=$(run_"$1")
    if [ -n "$load_pid" ]; then
        kill "$load_pid"
        wait "$load_pid" 2>/dev/null || true
        load_pid=
    fi
    echo "$s"
}

: >"$tmp/results"
r=1
while [ "$r" -le "$rounds" ]; do
    if [ $((r % 2)) -eq 1 ]; then order="dermfuse pytorch"; else order="pytorch dermfuse"; fi
    for load in alone loaded; do
        for prog in $order; do
            s=$(run_case "$prog" "$load")
            echo "round $r: $prog $load: $s s an epoch ($(awk -v n="$images" -v s="$s" 'BEGIN { printf "%.0f", n / s }') img/s)"
            echo "$r $prog $load $s" >>"$tmp/results"
        done
    done
    r=$((r + 1))
done

# Per round: dermfuse and PyTorch img/s alone and loaded, and their slowdowns.
awk -v n="$images" '{ t[$1 " " $2 " " $3] = $4; if ($1 > R) R = $1 }
    END { for (r = 1; r <= R; r++) {
        da = t[r " dermfuse alone"]; dl = t[r " dermfuse loaded"]; pa = t[r " pytorch alone"]; pl = t[r " pytorch loaded"]
        print "alone", n / da, n / pa, pa / da
        print "loaded", n / dl, n / pl, pl / dl
        print "slowdown", dl / da, pl / pa, (pl / pa) / (dl / da) } }' "$tmp/results" >"$tmp/rounds"
for what in alone loaded slowdown; do
    unit=img/s
    [ "$what" = slowdown ] && unit=x
    ours=$(awk -v w=$what '$1 == w { print $2 }' "$tmp/rounds" | median)
    ref=$(awk -v w=$what '$1 == w { print $3 }' "$tmp/rounds" | median)
    ratio=$(awk -v w=$what '$1 == w { print $4 }' "$tmp/rounds" | median)
    range=$(awk -v w=$what '$1 == w { print $4 }' "$tmp/rounds" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }')
    printf 'BENCH busy_%s ours=%.3g ref=%.3g unit=%s ratio=%.3f\n' "$what" "$ours" "$ref" "$unit" "$ratio"
    echo "#   per-round ratios over $rounds rounds: $range"
done
