#!/usr/bin/env bash
# Installs what dermfuse needs to build and test on Debian 12, skipping what is already there.
set -euo pipefail
# clang, its libFuzzer runtime (libclang-rt-14-dev: only recommended by clang, so named) and its OpenMP are
# for the fuzz targets (scripts/fuzz.sh); the build itself uses gcc. Open MPI (the library and mpirun) is
# for training over several processes or machines (core/dist) and its tests.
packages=(gcc pkg-config meson ninja-build libopenblas-dev libjpeg62-turbo-dev libpng-dev libyaml-dev python3 valgrind
          clang libclang-rt-14-dev libomp-dev libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
