#!/bin/sh
# Every TEST_CASE of minigrad_tests must be a ctest entry of its own, under its exact name.
# catch_discover_tests cannot register a name holding ';' (CMake splits it into two entries that
# match nothing) and a '[' can swallow the names after it; either way tests would silently not
# run. Usage: check_every_case_registered.sh <minigrad_tests> <build dir>
set -eu
exe=$1
build=$2
cases=$(mktemp)
registered=$(mktemp)
trap 'rm -f "$cases" "$registered"' EXIT
"$exe" --list-test-names-only | sed '/^$/d' | sort > "$cases"
ctest --test-dir "$build" -N | sed -n 's/^ *Test *#[0-9]*: //p' | sort > "$registered"
missing=$(comm -23 "$cases" "$registered")
if [ -n "$missing" ]; then
  echo "check_every_case_registered: these test cases are not ctest entries (rename them without ';' or '['):"
  echo "$missing"
  exit 1
fi
echo "check_every_case_registered: all $(wc -l < "$cases") test cases are ctest entries"
