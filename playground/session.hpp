// The playground's driver: what the browser page asks minigrad, and minigrad's answers, as JSON.
// The same code runs compiled to WebAssembly in the page (wasm_main.cpp) and natively
// (native_main.cpp, the twin the browser test compares the page with), so what the page draws is
// what the library computes.
//
// A request is one JSON object {"cmd": ..., ...}; the answer is one JSON object, or
// {"error": "<what went wrong>"} when the library (or the driver) refuses the request. The
// commands, one per panel of the page (docs/playground.md):
//
//   Train live          new_run, step, evaluate, boundary, time_steps
//   Inside BatchNorm    bn_state, bn_modes, bn_gap, bn_running
//   Step through the backward   backward_graph
//
// Legend: N = batch, C = channels (features) of a BatchNorm1d, K = classes, G = grid side.
#pragma once

#include <nlohmann/json.hpp>

namespace playground {

using Json = nlohmann::json;

// Answers one request. Never throws: an exception becomes {"error": e.what()}.
Json handle(const Json& request);

}  // namespace playground
