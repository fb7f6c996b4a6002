#!/bin/sh
# run_mpi.sh N PROGRAM ARGS...: PROGRAM on N local ranks through mpirun; exit 77 (skipped) without mpirun.
n=$1
shift
command -v mpirun >/dev/null 2>&1 || { echo "mpirun not found: skipped"; exit 77; }
exec mpirun --oversubscribe --allow-run-as-root -np "$n" "$@"
