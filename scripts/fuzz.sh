#!/usr/bin/env bash
# Fuzzes the checkpoint parser (mg::safetensors::parse) with libFuzzer, ASan and UBSan:
#   scripts/fuzz.sh [seconds]      (default 20; `make fuzz SECONDS=600` runs it for 10 minutes)
# It compiles tests/fuzz/fuzz_checkpoint.cpp into build/fuzz/, then fuzzes a copy of the seed
# corpus tests/fuzz/corpus/ (valid files and subtly broken ones), so the committed seeds stay
# as they are. A crash fails the script and leaves the input in build/fuzz/crash-*; replay it
# with `build/fuzz/fuzz_checkpoint build/fuzz/crash-...`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
cxx=clang++-14
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz.sh: $cxx not found, skipping the fuzzer (apt-get install clang-14 libclang-rt-14-dev)"
  exit 0
fi
if ! compgen -G "$("$cxx" -print-runtime-dir)/libclang_rt.fuzzer-*.a" >/dev/null; then
  echo "fuzz.sh: libFuzzer runtime not found, skipping the fuzzer (apt-get install libclang-rt-14-dev)"
  exit 0
fi

out=build/fuzz
binary="$out/fuzz_checkpoint"
sources=(tests/fuzz/fuzz_checkpoint.cpp core/safetensors_read.cpp core/safetensors_write.cpp)
mkdir -p "$out/corpus"
if [[ ! -x "$binary" || -n "$(find "${sources[@]}" core/safetensors.hpp core/error.hpp \
                               -newer "$binary")" ]]; then
  echo "fuzz.sh: compiling $binary"
  # _GLIBCXX_ASSERTIONS bounds-checks std::span and the containers; fmt is used header-only so
  # the fuzzer needs no library built without sanitizers.
  "$cxx" -std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=all -D_GLIBCXX_ASSERTIONS -DFMT_HEADER_ONLY -I. -I/usr/include/eigen3 \
    "${sources[@]}" -o "$binary.tmp.$$"
  mv "$binary.tmp.$$" "$binary"
fi

cp tests/fuzz/corpus/* "$out/corpus/"
echo "fuzz.sh: fuzzing for $seconds s"
if ! "$binary" "$out/corpus" -dict=tests/fuzz/checkpoint.dict -max_total_time="$seconds" \
    -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1 -artifact_prefix="$out/"; then
  echo "fuzz.sh: the fuzzer found a failing input (see build/fuzz/crash-* or leak-*/oom-*)" >&2
  exit 1
fi
