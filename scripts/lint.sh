#!/usr/bin/env bash
# Static checks over the library (core/, layers/, optim/); fails on any finding.
#   scripts/lint.sh [build-dir]      (default build/release, as left by `make test`)
# 1. clang-tidy with the repo's .clang-tidy, on every library source listed in the build dir's
#    compile_commands.json (so it sees the real flags), two files at a time (LINT_JOBS=2).
# 2. cppcheck (warning, performance, portability) with the suppressions in
#    scripts/cppcheck-suppressions.txt, each of which says why it is there.
set -euo pipefail
cd "$(dirname "$0")/.."

build="${1:-build/release}"
jobs="${LINT_JOBS:-2}"
db="$build/compile_commands.json"
if [[ ! -f "$db" ]]; then
  echo "lint.sh: $db not found; configure a build first (make build)" >&2
  exit 2
fi
tidy=$(command -v clang-tidy-14 || command -v clang-tidy || true)
if [[ -z "$tidy" ]] || ! command -v cppcheck >/dev/null; then
  echo "lint.sh: clang-tidy and cppcheck are needed (apt-get install clang-tidy cppcheck)" >&2
  exit 2
fi

# The library's translation units, as the build compiles them.
mapfile -t sources < <(grep -o '"file": *"[^"]*"' "$db" | sed 's/.*"\([^"]*\)"$/\1/' |
                       grep -E "/(core|layers|optim)/[^/]+\.cpp$" | sort -u)
if [[ ${#sources[@]} -eq 0 ]]; then
  echo "lint.sh: no core/, layers/ or optim/ sources in $db" >&2
  exit 2
fi

status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "lint.sh: clang-tidy on ${#sources[@]} files ($jobs at a time)"
# -Wno-unknown-warning-option: the database holds GCC's flags, which clang does not all know.
if ! printf '%s\n' "${sources[@]}" |
    xargs -P "$jobs" -n 1 "$tidy" -p "$build" --quiet \
      --extra-arg=-Wno-unknown-warning-option >"$log" 2>&1; then
  status=1
fi
# clang-tidy prints "N warnings generated." for warnings in system headers it then hides.
grep -v -E "^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$" "$log" || true
[[ $status -eq 0 ]] && echo "lint.sh: clang-tidy clean" || echo "lint.sh: clang-tidy FAILED"

echo "lint.sh: cppcheck on core/ layers/ optim/"
if ! cppcheck -j "$jobs" --std=c++20 --language=c++ -q --inline-suppr --error-exitcode=1 \
    --enable=warning,performance,portability \
    --suppressions-list=scripts/cppcheck-suppressions.txt -I . core layers optim; then
  echo "lint.sh: cppcheck FAILED"
  status=1
else
  echo "lint.sh: cppcheck clean"
fi
exit $status
