# The user's entry points. `make demo` and `make test` work on a fresh Debian machine.
MAKEFLAGS += --no-print-directory
.PHONY: all deps build test demo asan tsan bench clean playground

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release

test: build
	ctest --preset release

# The demo installs and builds only what it runs (the library and train_mlp), in the same build
# directory as `make test` (its preset leaves the tests and the bench unconfigured); the build's
# own output goes to a log, shown only if it fails, so what is printed is train_mlp's.
demo:
	@scripts/install-deps.sh --demo
	@cmake --preset demo >/dev/null
	@echo "demo: building minigrad and train_mlp (log: build/release/demo-build.log)"
	@cmake --build --preset demo >build/release/demo-build.log 2>&1 || \
	  { cat build/release/demo-build.log; exit 1; }
	@./build/release/examples/train_mlp --compare-bn

asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan
	ctest --preset asan

# The [concurrency] tests (threads training, saving and drawing random numbers at once) under
# ThreadSanitizer. OpenMP runs one thread: libgomp's own synchronisation is invisible to TSan.
tsan: deps
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan --target minigrad_tests
	OMP_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1 ./build/tsan/tests/minigrad_tests "[concurrency]"

bench: build
	./build/release/bench/bench_all

clean:
	rm -rf build

# Fuzz the checkpoint parser for SECONDS seconds (default 20): `make fuzz SECONDS=600`.
.PHONY: fuzz
fuzz:
	scripts/fuzz.sh $(SECONDS)

# The BatchNorm playground in the browser (docs/playground.md): minigrad compiled to WebAssembly
# with Emscripten into build/playground/web, then served on http://127.0.0.1:$(PORT)/. Not part
# of `make build` or `make test` (emcc is slow); scripts/test_playground.sh tests it in Chromium.
PORT ?= 8017
playground: deps
	@$(MAKE) --no-print-directory -f playground/wasm.mk -j2
	@node playground/serve.mjs build/playground/web $(PORT)
