#!/bin/sh
# bench_gemm.sh: runs the GEMM benchmark against each OpenBLAS kernel set worth comparing with.
#
# OpenBLAS picks its kernels once, at load time, from OPENBLAS_CORETYPE or else its own CPU detection,
# so each configuration needs its own process:
#   1. the environment as it is (these machines set OPENBLAS_CORETYPE=Haswell: AVX2 kernels);
#   2. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset: OpenBLAS's own detection, its best where it knows
#      the CPU (OpenBLAS 0.3.21 falls back to SSE3 "Prescott" kernels on CPUs newer than it);
#   3. on AVX-512 CPUs, OPENBLAS_CORETYPE=SkylakeX: its AVX-512 kernels, whatever detection says.
# Each run's header names the kernel set OpenBLAS reports. Usage: scripts/bench_gemm.sh [build-dir]
set -eu
build=${1:-build}
exe="$build/tests/bench/bench_gemm"
[ -x "$exe" ] || { echo "no $exe: run meson compile -C $build bench_gemm" >&2; exit 1; }

echo "## OpenBLAS as the environment sets it (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
"$exe"
echo "## OpenBLAS with its own CPU detection (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset)"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$exe"
if grep -qw avx512f /proc/cpuinfo; then
    echo "## OpenBLAS forced to its AVX-512 kernels (OPENBLAS_CORETYPE=SkylakeX)"
    env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=SkylakeX "$exe"
fi
