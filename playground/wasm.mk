# The playground's WebAssembly build (`make playground` runs it): the library, the examples code
# the driver uses and the driver, compiled by Emscripten (Debian's emscripten package) into one
# self-contained minigrad.js (the .wasm inlined, -sSINGLE_FILE=1), next to the page's files.
#
#   make -f playground/wasm.mk [OUT=build/playground] [-j1]
#
# Kept out of the CMake build: emcc is slow, and the native build must not need it.
OUT ?= build/playground
EMCC ?= emcc
# Debian's emcc 3.1.6 runs its optimiser under Node, which finds Debian's acorn only here.
export NODE_PATH := /usr/share/nodejs
# The compiled objects go through ccache, as the CMake build's do (paths relative to the tree).
ifneq ($(shell command -v ccache),)
export EM_COMPILER_WRAPPER := ccache
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
endif

# The library's sources, as its CMakeLists.txt files list them; what the driver uses of the
# examples; the driver itself.
# (Each name once, and only files that exist: the lists' comments name sources too.)
LIB_SRCS := $(foreach d,core layers optim,$(wildcard $(addprefix $(d)/,$(sort $(shell grep -o '[A-Za-z0-9_]*\.cpp' $(d)/CMakeLists.txt)))))
SRCS := $(LIB_SRCS) examples/common/mlp.cpp examples/common/training.cpp \
        examples/experiments/train_eval_gap.cpp \
        $(addprefix playground/,session.cpp run.cpp bn_panel.cpp backward_panel.cpp wasm_main.cpp)
OBJS := $(patsubst %.cpp,$(OUT)/obj/%.o,$(SRCS))

# -msimd128: WebAssembly SIMD (Eigen has no packets for it; LLVM vectorises the loops). One
# thread: no -fopenmp, and playground/wasm/omp.h answers the library's OpenMP calls.
# fmt, nlohmann/json and Eigen are header-only here; Emscripten's sysroot has none of them, so
# their Debian headers are linked in under $(OUT)/sysinc.
# playground/wasm/bit_cast.hpp: std::bit_cast, which Emscripten 3.1.6's libc++ 13 lacks.
CXXFLAGS := -std=c++20 -O3 -DNDEBUG -msimd128 -fwasm-exceptions -DFMT_HEADER_ONLY \
            -include playground/wasm/bit_cast.hpp -I. -Iinclude -Iplayground/wasm -Iexamples -isystem $(OUT)/sysinc \
            -isystem /usr/include/eigen3 -Wall -Wno-unknown-pragmas
LDFLAGS := -O3 -msimd128 -fwasm-exceptions -sSINGLE_FILE=1 -sMODULARIZE=1 \
           -sEXPORT_NAME=createMinigrad -sALLOW_MEMORY_GROWTH=1 -sENVIRONMENT=web \
           -sEXPORTED_FUNCTIONS=_playground_call -sEXPORTED_RUNTIME_METHODS=ccall

WEB := $(wildcard playground/web/*)

.PHONY: all
all: $(OUT)/web/minigrad.js $(patsubst playground/web/%,$(OUT)/web/%,$(WEB))

$(OUT)/web/minigrad.js: $(OBJS)
	@mkdir -p $(@D)
	$(EMCC) $(LDFLAGS) $(OBJS) -o $@

$(OUT)/web/%: playground/web/%
	@mkdir -p $(@D)
	cp $< $@

$(OUT)/obj/%.o: %.cpp $(OUT)/sysinc/.made
	@mkdir -p $(@D)
	$(EMCC) $(CXXFLAGS) -MMD -MP -c $< -o $@

$(OUT)/sysinc/.made:
	@mkdir -p $(@D)
	ln -sfn /usr/include/fmt $(@D)/fmt
	ln -sfn /usr/include/nlohmann $(@D)/nlohmann
	touch $@

-include $(OBJS:.o=.d)
