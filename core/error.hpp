// The two kinds of error: misuse by a user (a bad shape, a bad option, a second backward through
// a freed graph) throws one of these with a message that names the op, what it expected and
// what it got; a broken internal invariant asserts instead.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/core.h>

namespace mg {

// A tensor of the wrong shape or rank: "matmul: expected (N, K) x (K, M), got (2, 3) x (4, 5)".
class ShapeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Misuse of the autograd graph: backward through a freed graph, backward on a non-scalar
// without a gradient, a gradient of the wrong shape.
class GraphError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// A backward needed values its forward saved, and they were changed since (an optimizer step,
// load_state_dict, a DataLoader refilling its batch, a write through data()): using them would
// give a wrong gradient. PyTorch's "modified by an inplace operation".
class VersionError : public GraphError {
 public:
  using GraphError::GraphError;
};

// Anomaly mode found a NaN or Inf; the message names the first op that produced it.
class AnomalyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws E with a fmt-formatted message. `fail<ShapeError>("relu: ...")`.
template <typename E, typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw E(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace mg
