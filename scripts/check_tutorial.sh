#!/usr/bin/env bash
# Checks that every file docs/adding_a_layer.md prints in full (a fenced block right after a
# `<!-- file: PATH -->` line) is identical to PATH in the repository, so following the tutorial
# literally gives the committed code. Run by `make test` (ctest `tutorial_matches_code`).
#
#   scripts/check_tutorial.sh SOURCE_DIR
set -euo pipefail
root=$(realpath "$1")
doc="$root/docs/adding_a_layer.md"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Writes each printed file to $tmp/<n> and lists "<n> PATH" in $tmp/index.
awk -v dir="$tmp" '
  /^<!-- file: .* -->$/ { path = $3; n++; next }
  path != "" && /^```/ && !inside { inside = 1; out = dir "/" n; printf "" > out; print n, path >> (dir "/index"); next }
  inside && /^```$/ { inside = 0; path = ""; close(out); next }
  inside { print >> out }
' "$doc"

[[ -s "$tmp/index" ]] || { echo "check_tutorial: no printed files found in $doc" >&2; exit 1; }
status=0
while read -r n path; do
  if ! diff -u "$root/$path" "$tmp/$n" >"$tmp/diff"; then
    echo "check_tutorial: docs/adding_a_layer.md prints $path differently from the repository:" >&2
    cat "$tmp/diff" >&2
    status=1
  else
    echo "ok: $path"
  fi
done <"$tmp/index"
exit $status
