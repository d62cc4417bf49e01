// The reverse-mode engine's switches: grad mode (NoGradGuard) and anomaly detection.
// The engine itself is run_backward() in autograd.cpp, reached through Tensor::backward().
#pragma once

#include <vector>

#include "core/tensor.hpp"

namespace mg {

// Whether ops record the graph. Off inside a NoGradGuard (per thread).
bool is_grad_enabled();

// Whether an op on these inputs records a node for its backward: grad mode is on and some input
// requires grad. set_grad_fn decides by it; an op may ask first, to save nothing when no node
// will keep it (an eval forward under NoGradGuard).
template <typename T>
bool records_graph(const std::vector<BasicTensor<T>>& inputs) {
  if (!is_grad_enabled()) return false;
  for (const BasicTensor<T>& in : inputs)
    if (in.requires_grad()) return true;
  return false;
}
template <typename T, typename... More>
bool records_graph(const BasicTensor<T>& input, const More&... more) {
  return is_grad_enabled() && (input.requires_grad() || ... || more.requires_grad());
}

// RAII: no graph is recorded while it lives (evaluation, optimizer updates). Nestable.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Anomaly mode (off by default): every op checks its output, and the engine every gradient it
// computes, for NaN/Inf, and throws mg::AnomalyError naming the first op that produced one.
bool is_anomaly_enabled();
void set_detect_anomaly(bool enabled);

// RAII form of set_detect_anomaly(true).
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard();
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

// Throws AnomalyError if `out` holds a NaN or Inf (called by set_grad_fn in anomaly mode).
template <typename T>
void check_finite_output(const char* op, const BasicTensor<T>& out,
                         const std::vector<BasicTensor<T>>& inputs);

// The engine: dL/d(leaf) for every leaf behind `root`, accumulated into their .grad().
template <typename T>
void run_backward(const BasicTensor<T>& root, const BasicTensor<T>& grad, bool retain_graph);

}  // namespace mg
