#!/bin/sh
# bench_compare.sh: dermfuse's layer and training-step benchmarks against PyTorch on this machine.
#
# Runs scripts/bench_pytorch.py with Debian's python3-torch: out of the box (PyTorch's own thread count,
# NCHW, glibc malloc as it comes) and at its best (2 threads, channels-last, malloc tuned to keep big blocks
# instead of returning them to the kernel and faulting them in again). Then runs bench_layers and bench_step
# with PyTorch's best figures as their references (DF_BENCH_REF_<NAME>), so their BENCH lines' ratio is
# dermfuse / PyTorch-best (> 1: dermfuse is faster).
#
# The machines are shared VMs whose speed drifts over minutes, so with --runs N the whole sequence (PyTorch
# out of the box, PyTorch best, dermfuse) is repeated N times, alternating, and the summary takes each
# figure's median over the runs (each run's BENCH lines are printed as they come, with that run's ratio).
# Usage: scripts/bench_compare.sh [build-dir] [--quick] [--runs N]
set -eu
build=build
quick=
runs=1
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=--quick ;;
    --runs) runs=$2; shift ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) build=$1 ;;
    esac
    shift
done
py=/usr/bin/python3
tune='glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=17179869184'
for exe in bench_layers bench_step; do
    [ -x "$build/tests/bench/$exe" ] || { echo "no $build/tests/bench/$exe: meson compile -C $build $exe" >&2; exit 1; }
done
$py -c 'import torch' 2>/dev/null || { echo "$py cannot import torch (apt-get install python3-torch)" >&2; exit 1; }
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One line per figure and run: "<name> <dermfuse> <unit> <PyTorch best> <PyTorch out of the box>".
i=1
while [ "$i" -le "$runs" ]; do
    echo "## run $i of $runs: PyTorch out of the box"
    env -u GLIBC_TUNABLES $py "$here/bench_pytorch.py" $quick | tee "$tmp/oob"
    echo "## run $i: PyTorch at its best: 2 threads, channels-last, GLIBC_TUNABLES=$tune"
    GLIBC_TUNABLES=$tune $py "$here/bench_pytorch.py" --threads 2 --channels-last $quick | tee "$tmp/best"
    # DF_BENCH_REF_<NAME>=<value> for each of PyTorch's best figures.
    refs=$(awk '$1 == "TORCH" { printf "DF_BENCH_REF_%s=%s ", toupper($2), $3 }' "$tmp/best")
    echo "## run $i: dermfuse, references: PyTorch at its best"
    env $refs OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} "$build/tests/bench/bench_layers" | tee "$tmp/ours"
    env $refs OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} "$build/tests/bench/bench_step" | tee -a "$tmp/ours"
    awk 'FILENAME ~ /oob$/ && $1 == "TORCH" { oob[$2] = $3 }
         FILENAME ~ /best$/ && $1 == "TORCH" { best[$2] = $3 }
         FILENAME ~ /ours$/ && $1 == "BENCH" {
             name = $2; split($3, o, "="); split($5, u, "=")
             if (name in best) print name, o[2], u[2], best[name], oob[name]
         }' "$tmp/oob" "$tmp/best" "$tmp/ours" >>"$tmp/all"
    i=$((i + 1))
done

echo "## summary: dermfuse / PyTorch (> 1: dermfuse is faster), median of $runs run(s)"
sort -k1,1 -s "$tmp/all" | awk '
    function median(s,   a, n, i, j, t) {
        n = split(s, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function flush() {
        if (name == "") return
        o = median(ours); b = median(best); x = median(oob)
        printf "%-24s dermfuse %8.1f %-8s  PyTorch best %8.1f (x%.2f)  out of the box %8.1f (x%.2f)\n",
               name, o, unit, b, o / b, x, o / x
    }
    $1 != name { flush(); name = $1; unit = $3; ours = best = oob = "" }
    { ours = ours " " $2; best = best " " $4; oob = oob " " $5 }
    END { flush() }'
