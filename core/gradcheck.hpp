// gradcheck: compares the gradients an op's or layer's backward computes with central
// differences, in float64.
//
// For a function y = f(inputs) it draws a *random* upstream gradient dy and checks the gradient
// of the scalar L = sum(y * dy) with respect to every input and parameter element:
//   analytic: y.backward(dy)
//   numeric:  (L(x + h) - L(x - h)) / (2h), one element at a time
// A random dy matters: through a normalisation, sum(y) is constant, its true gradient is zero,
// and a backward that returned zeros (or anything summing to zero) would pass.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.hpp"

namespace mg {

struct GradcheckOptions {
  double step = 1e-5;       // h of the central difference
  double tolerance = 1e-6;  // largest accepted relative error
  double min_scale = 1e-3;  // relative error = |a - n| / max(|a|, |n|, min_scale)
  uint64_t seed = 0;        // for the random upstream gradient
  TensorD upstream = {};    // an explicit dy instead of a random one (not all-equal)
  // Tensors f changes as a side effect (BatchNorm's running statistics and batch counter):
  // their values are saved before the check and restored after every evaluation of f, so every
  // probe sees the same state and the check leaves them as it found them.
  std::vector<TensorD> state = {};
};

struct GradcheckResult {
  bool ok = true;
  double max_error = 0;      // worst relative error over all checked elements
  std::string worst_tensor;  // "input 0", or a parameter's name
  int64_t worst_index = -1;  // flat index into that tensor
  double analytic = 0, numeric = 0;
  int64_t checked = 0;         // number of elements compared
  std::string report() const;  // one readable line
};

using GradcheckFn = std::function<TensorD(const std::vector<TensorD>&)>;

// Checks d(sum(f(inputs) * dy)) / d(inputs) and / d(params). The inputs are given
// requires_grad = true; params (for example a module's named_parameters()) must already require
// grad. Their values are unchanged afterwards; their .grad() is cleared.
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<TensorD>& inputs,
                          const std::vector<std::pair<std::string, TensorD>>& params = {},
                          const GradcheckOptions& options = {});

}  // namespace mg
