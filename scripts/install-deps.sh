#!/usr/bin/env bash
# Installs the Debian packages minigrad needs, when they are missing. Silent and fast when
# everything is present. Nothing else is downloaded at build time.
#   scripts/install-deps.sh --demo     what `make demo` needs: compiler, CMake, the library's and
#                                      train_mlp's headers
#   scripts/install-deps.sh            that, plus what `make test` and .ci/run need
#   scripts/install-deps.sh --torch    also python3-torch (fixtures, benchmarks; never needed to build)
set -euo pipefail

# The library (Eigen, fmt, nlohmann-json) and train_mlp (CLI11).
packages=(build-essential cmake libeigen3-dev libfmt-dev libcli11-dev nlohmann-json3-dev)
# OpenBLAS's OpenMP build: large matrix products (core/gemm.cpp; Eigen's GEMM without it).
packages+=(libopenblas-openmp-dev)
if [[ "${1:-}" != "--demo" ]]; then
  # The tests (Catch2); clang + libFuzzer for the checkpoint fuzzer smoke run; graphviz renders
  # graph.dot pictures.
  packages+=(catch2 clang-14 libclang-rt-14-dev graphviz)
  # Static checks run by scripts/lint.sh in .ci/run.
  packages+=(clang-tidy-14 cppcheck)
  # Open MPI: mg::dist's collectives, and mpirun for the distributed tests and data-parallel
  # runs (a build without it is a world of one).
  packages+=(libopenmpi-dev openmpi-bin)
  # The browser playground (make playground, scripts/test_playground.sh): Emscripten compiles
  # minigrad to WebAssembly, Node runs emcc's optimiser, serves the page and drives Chromium.
  packages+=(emscripten nodejs chromium)
fi
# PyTorch for fixtures and the benchmark's comparison; OpenBLAS so that its GEMMs are not run
# on the reference BLAS (which would flatter minigrad ten times over); libtorch's headers for the
# benchmark's C++ PyTorch worker; BLIS, a GEMM candidate the benchmark measures.
if [[ "${1:-}" == "--torch" ]]; then
  packages+=(python3-torch libopenblas0-openmp libtorch-dev libblis4-openmp)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
