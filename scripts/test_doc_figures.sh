#!/usr/bin/env bash
# The doc check (scripts/make_doc_figures.pl) must catch a changed figure. In a scratch tree with
# one page whose marked block, inline figure and picture the update mode has just written, each
# of these changes must fail --check with a message naming it:
#   a digit of the block's output, a line dropped from it, the inline figure, a byte of the
#   picture, a picture no command writes;
# and the untouched tree, and the tree after the update mode has run again, must pass. Then the
# same on a copy of docs/faq.md given back a figure it really quoted before the code changed.
#   scripts/test_doc_figures.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/docs/img"
cat > "$work/docs/page.md" <<'PAGE'
The naive formula returns 16<!-- lab /^ +1e\+04/ --> at mean 1e4.

<!-- output: lab -->
```
build/release/examples/variance_lab docs/img

```
PAGE

figures() { "$src/scripts/make_doc_figures.pl" --root "$work" --build "$build" "$@"; }
must_pass() {
  figures --check > "$work/out" 2>&1 || { cat "$work/out"; echo "FAIL: $1 does not pass"; exit 1; }
}
must_fail() {  # must_fail WHAT EXPECTED_MESSAGE
  if figures --check > "$work/out" 2>&1; then
    echo "FAIL: the check passes with $1"
    exit 1
  fi
  grep -qF -- "$2" "$work/out" || { cat "$work/out"; echo "FAIL: $1: no '$2'"; exit 1; }
  echo "caught $1: $(grep -F -- "$2" "$work/out" | head -1)"
}
keep() { cp -r "$work/docs" "$work/kept"; }
restore() { rm -rf "$work/docs"; cp -r "$work/kept" "$work/docs"; }

figures > /dev/null  # writes the block's output and the picture
must_pass "the freshly written page"
grep -q "returns 16<" "$work/docs/page.md" || { echo "FAIL: variance_lab no longer prints 16"; exit 1; }
keep

# A digit of the block's output: the first "1.000488" becomes "1.000489".
sed -i '0,/1\.000488/s//1.000489/' "$work/docs/page.md"
must_fail "a changed figure in a block" "docs/page.md: block lab: the command prints something else"
restore

sed -i '/^   1e+02 /d' "$work/docs/page.md"
must_fail "a line dropped from a block" "docs/page.md: block lab: the command prints something else"
figures > /dev/null  # the update mode writes the line back
must_pass "the page rewritten by the update mode"
restore

sed -i 's/returns 16</returns 17</' "$work/docs/page.md"
must_fail "a changed inline figure" "docs/page.md:1: 17 is not what block lab prints"
restore

printf ' ' >> "$work/docs/img/variance_lab.svg"
must_fail "a changed picture" "docs/img/variance_lab.svg: differs from what the commands write now"
restore

cp "$work/docs/img/variance_lab.svg" "$work/docs/img/stale.svg"
must_fail "a picture no command writes" "docs/img/stale.svg: no marked command writes it"
restore
must_pass "the restored page"

# The real thing: a copy of docs/faq.md given back the figure it quoted before the kernels
# changed (BatchNorm at batch size 2: test accuracy 0.620) in the sweep's table.
rm -rf "$work/docs" && mkdir -p "$work/docs" && cp -r "$src/docs/img" "$src/docs/faq.md" "$work/docs/"
figures --check docs/faq.md > "$work/out" 2>&1 || { cat "$work/out"; echo "FAIL: faq.md"; exit 1; }
row='^ BatchNorm      2      '
now=$(grep -m1 "$row" "$work/docs/faq.md" | awk '{print $3}')
old=0.620
[[ "$now" != "$old" ]] || old=0.621
sed -i "s/\($row\)$now/\1$old/" "$work/docs/faq.md"
grep -q "${row}$old" "$work/docs/faq.md" || { echo "FAIL: no sweep row to change"; exit 1; }
if figures --check docs/faq.md > "$work/out" 2>&1; then
  echo "FAIL: the check passes with faq.md's old sweep figure"
  exit 1
fi
grep -q ">  BatchNorm      2      $now" "$work/out" || { cat "$work/out"; echo "FAIL: faq.md"; exit 1; }
echo "caught faq.md's old sweep figure: $(grep -F -- "<  BatchNorm      2" "$work/out")"
echo "the doc check catches every change"
