# The user's entry points. `make demo` and `make test` work on a fresh Debian machine.
MAKEFLAGS += --no-print-directory
.PHONY: all deps build test demo asan bench clean

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

bench: build
	./build/release/bench/bench_all

clean:
	rm -rf build

# Fuzz the checkpoint parser for SECONDS seconds (default 20): `make fuzz SECONDS=600`.
.PHONY: fuzz
fuzz:
	scripts/fuzz.sh $(SECONDS)
