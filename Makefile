# The user's entry points. `make demo` and `make test` work on a fresh Debian machine.
.PHONY: all deps build test demo asan bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release

test: build
	ctest --preset release

demo: build
	./build/release/examples/train_mlp --compare-bn

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
