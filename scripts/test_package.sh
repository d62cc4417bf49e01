#!/usr/bin/env bash
# The installed package, as a project that knows nothing of minigrad's own flags uses it (run by
# `make test`, ctest `package_consumer`):
#   1. installs BUILD_DIR into a temporary prefix;
#   2. checks that the exported targets impose no compile options on their consumers (no -m or
#      -W flags) and pin Eigen's alignment (EIGEN_MAX_ALIGN_BYTES=64);
#   3. builds tests/package_consumer with the compiler's defaults, checks its compile line has
#      no -march, and runs it: it trains a small model, saves it, and loads the checkpoint.
#
#   scripts/test_package.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "$1")
source=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/minigrad_package.XXXXXX")
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
targets="$work/prefix/lib/cmake/minigrad/minigradTargets.cmake"
[[ -f $targets ]] || targets=$(find "$work/prefix" -name minigradTargets.cmake | head -1)
if grep -n "INTERFACE_COMPILE_OPTIONS" "$targets"; then
  echo "test_package: the installed targets impose compile options on consumers (above)" >&2
  exit 1
fi
if ! grep -q "EIGEN_MAX_ALIGN_BYTES=64" "$targets"; then
  echo "test_package: the installed targets do not pin EIGEN_MAX_ALIGN_BYTES" >&2
  exit 1
fi

cmake -S "$source/tests/package_consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
if grep -n -- "-march" "$work/consumer/compile_commands.json"; then
  echo "test_package: the consumer was compiled with -march (above)" >&2
  exit 1
fi
cmake --build "$work/consumer" -j2 >/dev/null
"$work/consumer/consumer" "$work/model.safetensors"
