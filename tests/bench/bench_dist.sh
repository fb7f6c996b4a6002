#!/bin/sh
# bench_dist.sh BENCH_DIST_STEP [N]: the data-parallel step on N ranks x 1 thread (default 2) against 1 rank x N
# threads and N x 1 rank x 1 thread (bench_dist_step.c says what it prints). Exit 77 (skipped) where mpirun is
# missing or the build has no MPI.
exe=$1
n=${2:-2}
command -v mpirun >/dev/null 2>&1 || { echo "mpirun not found: skipped"; exit 77; }
threads=$(OMP_NUM_THREADS=$n "$exe" local) || exit 1
one=$(OMP_NUM_THREADS=1 "$exe" local) || exit 1
echo "1 rank x $n threads: $threads img/s; 1 rank x 1 thread: $one img/s"
OMP_NUM_THREADS=1 mpirun --oversubscribe --allow-run-as-root -np "$n" "$exe" ranks "$threads" "$one"
