#!/usr/bin/env bash
# The out-of-tree extension path, end to end (run by `make test`, see tests/CMakeLists.txt):
# installs the minigrad already built in BUILD_DIR into BUILD_DIR/custom_layer_prefix, then
# configures, builds and runs examples/custom_layer against that installed copy, as a user would.
#
#   scripts/test_custom_layer.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "$1")
source=$(realpath "$2")
prefix="$build/custom_layer_prefix"
project="$build/custom_layer_build"

cmake --install "$build" --prefix "$prefix" >/dev/null
cmake -S "$source/examples/custom_layer" -B "$project" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$project" -j2
"$project/test_swish"
"$project/train_swish"
