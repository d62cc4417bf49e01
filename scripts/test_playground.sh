#!/usr/bin/env bash
# The playground's test in a real browser (docs/playground.md). Builds the page with Emscripten
# (playground/wasm.mk), the native twin of its driver and train_mlp, then drives the page in
# headless Chromium (scripts/playground_browser_test.mjs): one line per check, the step timing,
# exit 1 if a check fails.
#   scripts/test_playground.sh                 screenshots go to build/playground/screenshots
#   scripts/test_playground.sh --screenshots   they replace docs/img/playground_*.png
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
shots=build/playground/screenshots
if [[ "${1:-}" == "--screenshots" ]]; then shots=docs/img; fi

cmake --preset release >/dev/null
cmake --build --preset release --target playground_native train_mlp >/dev/null
echo "test_playground: compiling minigrad to WebAssembly (build/playground/web)"
make --no-print-directory -f playground/wasm.mk -j"$(nproc)" >/dev/null
mkdir -p build/playground/test
# Chromium runs as root in CI, which needs --no-sandbox (the test passes it).
node --experimental-websocket --no-warnings scripts/playground_browser_test.mjs build/playground/web \
  build/release/playground/playground_native build/release/examples/train_mlp build/playground/test \
  "$shots"
