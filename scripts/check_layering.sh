#!/usr/bin/env bash
# Checks that the build enforces the layering core <- layers <- optim (run by `make test`,
# ctest `layering_enforced`):
#   1. every header of a folder preprocesses with only the include roots its library sees
#      (core/: core; layers/: layers, core; optim/: optim, layers, core), so a header that
#      includes upwards fails here even if no .cpp of its own folder includes it;
#   2. the fence holds: a file seeing only core's root cannot include "layers/module.hpp", one
#      seeing layers and core cannot include "optim/sgd.hpp" (and each can, given the roots).
#
#   scripts/check_layering.sh CXX BUILD_DIR SOURCE_DIR EIGEN_INCLUDE_DIR
set -euo pipefail
cxx=$1
roots="$(realpath "$2")/include_roots"
source=$(realpath "$3")
eigen=$4

# The include flags a folder's library compiles with: its own root and those below it.
declare -A sees=([core]="core" [layers]="layers core" [optim]="optim layers core")
flags_for() {
  local flags=() folder
  for folder in ${sees[$1]}; do flags+=("-I$roots/$folder"); done
  echo "${flags[@]}" "-I$eigen"
}
preprocess() {  # preprocess FOLDER FILE: succeeds when FILE's includes resolve for FOLDER
  # shellcheck disable=SC2046
  "$cxx" -std=c++20 -fopenmp -E -o /dev/null $(flags_for "$1") -x c++ "$2" 2>"$tmp/err"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

status=0
for folder in core layers optim; do
  for header in "$source/$folder"/*.hpp; do
    if ! preprocess "$folder" "$header"; then
      echo "check_layering: ${header#"$source"/} includes a header $folder/ may not see:" >&2
      grep -m1 "error" "$tmp/err" >&2
      status=1
    fi
  done
done

probe() {  # probe FOLDER HEADER EXPECTED(ok|fails)
  echo "#include \"$2\"" >"$tmp/probe.cpp"
  local got=fails
  preprocess "$1" "$tmp/probe.cpp" && got=ok
  if [[ $got != "$3" ]]; then
    echo "check_layering: a $1/ file including \"$2\" $got to compile; it should be '$3'" >&2
    status=1
  fi
}
probe core core/tensor.hpp ok
probe core layers/module.hpp fails
probe core optim/sgd.hpp fails
probe layers layers/module.hpp ok
probe layers optim/sgd.hpp fails
probe optim optim/sgd.hpp ok
probe core minigrad/minigrad.hpp fails

[[ $status -eq 0 ]] && echo "check_layering: core <- layers <- optim holds for every header"
exit $status
