// Unary elementwise ops and their backwards. Legend: x input, y output, dy = dL/dy.
//
// Each backward is dx += dy * dy/dx, with dy/dx written in terms of x or of y, whichever is
// cheaper, and that one is what the forward saves (as PyTorch does): exp, sqrt, relu, tanh and
// sigmoid save the output y (a detached alias of the same buffer, so nothing is copied and the
// graph stays acyclic), log and pow save x, neg saves nothing.
#include <cmath>

#include "core/ops.hpp"
#include "core/parallel.hpp"
#include "core/saved_tensor.hpp"

namespace mg {
namespace {

// Large tensors are split over the threads (parallel_ranges): elementwise, so the same result.
template <typename T, typename F>
BasicTensor<T> forward_unary(const BasicTensor<T>& x, F f) {
  BasicTensor<T> y = BasicTensor<T>::empty(x.shape());
  const T* px = x.data();
  T* py = y.data();
  parallel_ranges(x.numel(), [=](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) py[i] = f(px[i]);
  });
  return y;
}

// The shared backward: dx += local(dy, v), elementwise, where v is the saved tensor (x or y) the
// derivative is written in. A fresh gradient is written directly (dx = ...), which saves
// zero-filling it and reading the zeros.
template <typename T, typename F>
BackwardFn<T> backward_unary(SavedTensor<T> saved, F local) {
  return [saved = std::move(saved), local](const BasicTensor<T>& dy,
                                           std::span<const BasicTensor<T>> in) {
    const T* pdy = dy.data();
    const T* pv = saved.get().data();
    const typename BasicTensor<T>::GradBuffer dx = in[0].grad_buffer();
    T* pdx = dx.data;
    const bool accumulate = dx.accumulate;
    parallel_ranges(dy.numel(), [=](int64_t i0, int64_t i1) {
      if (accumulate)
        for (int64_t i = i0; i < i1; ++i) pdx[i] += local(pdy[i], pv[i]);
      else
        for (int64_t i = i0; i < i1; ++i) pdx[i] = local(pdy[i], pv[i]);
    });
  };
}

// For a derivative written in the input x, or in the output y (saved as a detached alias).
template <typename T, typename F>
BackwardFn<T> backward_from_input(const BasicTensor<T>& x, F local) {
  return backward_unary(SavedTensor<T>(x), local);
}
template <typename T, typename F>
BackwardFn<T> backward_from_output(const BasicTensor<T>& y, F local) {
  return backward_unary(SavedTensor<T>(y.detach()), local);
}

}  // namespace

template <typename T>
BasicTensor<T> neg(const BasicTensor<T>& x) {
  require_defined("neg", x);
  // y = -x
  BasicTensor<T> y = forward_unary(x, [](T x) { return -x; });
  // dy/dx = -1: nothing saved
  y.set_grad_fn("neg", {x}, [](const BasicTensor<T>& dy, std::span<const BasicTensor<T>> in) {
    in[0].grad_flat() -= dy.flat();
  });
  return y;
}

template <typename T>
BasicTensor<T> exp(const BasicTensor<T>& x) {
  require_defined("exp", x);
  // y = e^x
  BasicTensor<T> y = forward_unary(x, [](T x) { return std::exp(x); });
  // dy/dx = e^x = y
  y.set_grad_fn("exp", {x}, backward_from_output(y, [](T dy, T y) { return dy * y; }));
  return y;
}

template <typename T>
BasicTensor<T> log(const BasicTensor<T>& x) {
  require_defined("log", x);
  // y = ln x
  BasicTensor<T> y = forward_unary(x, [](T x) { return std::log(x); });
  // dy/dx = 1 / x
  y.set_grad_fn("log", {x}, backward_from_input(x, [](T dy, T x) { return dy / x; }));
  return y;
}

template <typename T>
BasicTensor<T> sqrt(const BasicTensor<T>& x) {
  require_defined("sqrt", x);
  // y = x^(1/2)
  BasicTensor<T> y = forward_unary(x, [](T x) { return std::sqrt(x); });
  // dy/dx = 1 / (2 sqrt(x)) = 1 / (2 y)
  y.set_grad_fn("sqrt", {x}, backward_from_output(y, [](T dy, T y) { return dy / (2 * y); }));
  return y;
}

// x^p as PyTorch 1.13 computes it, so that pow gives its bits and its special values: these
// exponents by their own formulas (0.5 takes sqrt, so (-inf)^0.5 is NaN and (-0)^-0.5 is -inf),
// the others by std::pow.
template <typename T>
T power(T x, double p) {
  if (p == 0.5) return std::sqrt(x);
  if (p == -0.5) return T(1) / std::sqrt(x);
  if (p == -1) return T(1) / x;
  if (p == 2) return x * x;
  if (p == 3) return x * x * x;
  if (p == -2) return T(1) / (x * x);
  return std::pow(x, static_cast<T>(p));
}

template <typename T>
BasicTensor<T> pow(const BasicTensor<T>& x, double exponent) {
  require_defined("pow", x);
  const T p = static_cast<T>(exponent);
  // y = x^p
  BasicTensor<T> y = forward_unary(x, [exponent](T x) { return power(x, exponent); });
  // dy/dx = p x^(p-1); 0 for p = 0, where p x^(p-1) would be 0 * inf = NaN at x = 0 (PyTorch
  // returns zeros there too)
  y.set_grad_fn("pow", {x}, backward_from_input(x, [p, exponent](T dy, T x) {
                  return exponent == 0 ? T(0) : dy * (p * power(x, exponent - 1));
                }));
  return y;
}

template <typename T>
BasicTensor<T> relu(const BasicTensor<T>& x) {
  require_defined("relu", x);
  // y = max(x, 0), and NaN stays NaN (as in PyTorch): `x < 0` is false for NaN, where `x > 0 ?
  // x : 0` would turn it into 0 and hide a diverged input from everything downstream. -0 stays
  // -0, as PyTorch's relu(-0.0) does.
  BasicTensor<T> y = forward_unary(x, [](T x) { return x < 0 ? T(0) : x; });
  // dy/dx = 1 where x > 0, else 0 (0 at x = 0, as in PyTorch); y <= 0 exactly where x <= 0, and
  // a NaN passes dy on, as PyTorch's threshold_backward does
  y.set_grad_fn("relu", {x}, backward_from_output(y, [](T dy, T y) { return y <= 0 ? T(0) : dy; }));
  return y;
}

template <typename T>
BasicTensor<T> tanh(const BasicTensor<T>& x) {
  require_defined("tanh", x);
  // y = tanh x
  BasicTensor<T> y = forward_unary(x, [](T x) { return std::tanh(x); });
  // dy/dx = 1 - tanh^2 x = 1 - y^2
  y.set_grad_fn("tanh", {x}, backward_from_output(y, [](T dy, T y) { return dy * (1 - y * y); }));
  return y;
}

template <typename T>
BasicTensor<T> sigmoid(const BasicTensor<T>& x) {
  require_defined("sigmoid", x);
  // y = 1 / (1 + e^-x), written to avoid overflow of e^-x for very negative x
  BasicTensor<T> y = forward_unary(x, [](T x) {
    if (x >= 0) return 1 / (1 + std::exp(-x));
    const T e = std::exp(x);
    return e / (1 + e);
  });
  // dy/dx = y (1 - y)
  y.set_grad_fn("sigmoid", {x},
                backward_from_output(y, [](T dy, T y) { return dy * y * (1 - y); }));
  return y;
}

#define MINIGRAD_INSTANTIATE(T)                               \
  template BasicTensor<T> neg(const BasicTensor<T>&);         \
  template BasicTensor<T> exp(const BasicTensor<T>&);         \
  template BasicTensor<T> log(const BasicTensor<T>&);         \
  template BasicTensor<T> sqrt(const BasicTensor<T>&);        \
  template BasicTensor<T> pow(const BasicTensor<T>&, double); \
  template BasicTensor<T> relu(const BasicTensor<T>&);        \
  template BasicTensor<T> tanh(const BasicTensor<T>&);        \
  template BasicTensor<T> sigmoid(const BasicTensor<T>&);
MINIGRAD_INSTANTIATE(float)
MINIGRAD_INSTANTIATE(double)

}  // namespace mg
