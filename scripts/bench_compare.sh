#!/bin/sh
# bench_compare.sh: dermfuse's layer and training-step benchmarks against PyTorch on this machine.
#
# Runs scripts/bench_pytorch.py twice with Debian's python3-torch: out of the box (PyTorch's own thread
# count, NCHW, glibc malloc as it comes) and at its best (2 threads, channels-last, malloc tuned to keep
# big blocks instead of returning them to the kernel and faulting them in again). Then runs bench_layers
# and bench_step with PyTorch's best figures as their references (DF_BENCH_REF_<NAME>), so their BENCH lines'
# ratio is dermfuse / PyTorch-best (> 1: dermfuse is faster), and prints the ratio to out-of-the-box too.
# The machines are shared VMs: run it when they are quiet, and read ratios from one run.
# Usage: scripts/bench_compare.sh [build-dir] [--quick]
set -eu
build=${1:-build}
quick=${2:-}
py=/usr/bin/python3
tune='glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=17179869184'
for exe in bench_layers bench_step; do
    [ -x "$build/tests/bench/$exe" ] || { echo "no $build/tests/bench/$exe: meson compile -C $build $exe" >&2; exit 1; }
done
$py -c 'import torch' 2>/dev/null || { echo "$py cannot import torch (apt-get install python3-torch)" >&2; exit 1; }
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "## PyTorch out of the box"
env -u GLIBC_TUNABLES $py "$here/bench_pytorch.py" $quick | tee "$tmp/oob"
echo "## PyTorch at its best: 2 threads, channels-last, GLIBC_TUNABLES=$tune"
GLIBC_TUNABLES=$tune $py "$here/bench_pytorch.py" --threads 2 --channels-last $quick | tee "$tmp/best"

# DF_BENCH_REF_<NAME>=<value> for each of PyTorch's best figures.
refs=$(awk '$1 == "TORCH" { printf "DF_BENCH_REF_%s=%s ", toupper($2), $3 }' "$tmp/best")
echo "## dermfuse, references: PyTorch at its best"
env $refs OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} "$build/tests/bench/bench_layers" | tee "$tmp/ours"
env $refs OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} "$build/tests/bench/bench_step" | tee -a "$tmp/ours"

echo "## summary: dermfuse / PyTorch (> 1: dermfuse is faster)"
awk 'FILENAME ~ /oob$/ && $1 == "TORCH" { oob[$2] = $3 }
     FILENAME ~ /best$/ && $1 == "TORCH" { best[$2] = $3 }
     FILENAME ~ /ours$/ && $1 == "BENCH" {
         name = $2; split($3, o, "="); split($5, u, "=")
         if (!(name in best)) next
         printf "%-24s dermfuse %8.1f %-8s  PyTorch best %8.1f (x%.2f)  out of the box %8.1f (x%.2f)\n",
                name, o[2], u[2], best[name], o[2] / best[name], oob[name], o[2] / oob[name]
     }' "$tmp/oob" "$tmp/best" "$tmp/ours"
