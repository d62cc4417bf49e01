// Unary elementwise ops and their backwards. Legend: x input, y output, dy = dL/dy.
//
// Each backward is dx += dy * dy/dx, with dy/dx written in terms of x or of y, whichever is
// cheaper: exp, sqrt, tanh and sigmoid reuse the saved output y (a detached alias of the same
// buffer, so nothing is copied and the graph stays acyclic).
#include <cmath>

#include "core/ops.hpp"

namespace mg {
namespace {

template <typename T, typename F>
BasicTensor<T> forward_unary(const BasicTensor<T>& x, F f) {
  BasicTensor<T> y = BasicTensor<T>::empty(x.shape());
  y.flat() = x.flat().unaryExpr(f);
  return y;
}

// The shared backward: dx += local(dy, x, y), elementwise. `y` is the saved output. A fresh
// gradient is written directly (dx = ...), which saves zero-filling it and reading the zeros.
template <typename T, typename F>
BackwardFn<T> backward_unary(const BasicTensor<T>& y, F local) {
  return [y = y.detach(), local](const BasicTensor<T>& dy, std::span<BasicTensor<T>> in) {
    const T* pdy = dy.data();
    const T* px = in[0].data();
    const T* py = y.data();
    const typename BasicTensor<T>::GradBuffer dx = in[0].grad_buffer();
    const int64_t n = dy.numel();
    if (dx.accumulate)
      for (int64_t i = 0; i < n; ++i) dx.data[i] += local(pdy[i], px[i], py[i]);
    else
      for (int64_t i = 0; i < n; ++i) dx.data[i] = local(pdy[i], px[i], py[i]);
  };
}

}  // namespace

template <typename T>
BasicTensor<T> neg(const BasicTensor<T>& x) {
  // y = -x
  BasicTensor<T> y = forward_unary(x, [](T x) { return -x; });
  // dy/dx = -1
  y.set_grad_fn("neg", {x}, backward_unary(y, [](T dy, T, T) { return -dy; }));
  return y;
}

template <typename T>
BasicTensor<T> exp(const BasicTensor<T>& x) {
  // y = e^x
  BasicTensor<T> y = forward_unary(x, [](T x) { return std::exp(x); });
  // dy/dx = e^x = y
  y.set_grad_fn("exp", {x}, backward_unary(y, [](T dy, T, T y) { return dy * y; }));
  return y;
}

template <typename T>
BasicTensor<T> log(const BasicTensor<T>& x) {
  // y = ln x
  BasicTensor<T> y = forward_unary(x, [](T x) { return std::log(x); });
  // dy/dx = 1 / x
  y.set_grad_fn("log", {x}, backward_unary(y, [](T dy, T x, T) { return dy / x; }));
  return y;
}

template <typename T>
BasicTensor<T> sqrt(const BasicTensor<T>& x) {
  // y = x^(1/2)
  BasicTensor<T> y = forward_unary(x, [](T x) { return std::sqrt(x); });
  // dy/dx = 1 / (2 sqrt(x)) = 1 / (2 y)
  y.set_grad_fn("sqrt", {x}, backward_unary(y, [](T dy, T, T y) { return dy / (2 * y); }));
  return y;
}

template <typename T>
BasicTensor<T> pow(const BasicTensor<T>& x, double exponent) {
  const T p = static_cast<T>(exponent);
  // y = x^p
  BasicTensor<T> y = forward_unary(x, [p](T x) { return std::pow(x, p); });
  // dy/dx = p x^(p-1)
  y.set_grad_fn("pow", {x},
                backward_unary(y, [p](T dy, T x, T) { return dy * p * std::pow(x, p - 1); }));
  return y;
}

template <typename T>
BasicTensor<T> relu(const BasicTensor<T>& x) {
  // y = max(x, 0)
  BasicTensor<T> y = forward_unary(x, [](T x) { return x > 0 ? x : T(0); });
  // dy/dx = 1 where x > 0, else 0 (0 at x = 0, as in PyTorch)
  y.set_grad_fn("relu", {x}, backward_unary(y, [](T dy, T x, T) { return x > 0 ? dy : T(0); }));
  return y;
}

template <typename T>
BasicTensor<T> tanh(const BasicTensor<T>& x) {
  // y = tanh x
  BasicTensor<T> y = forward_unary(x, [](T x) { return std::tanh(x); });
  // dy/dx = 1 - tanh^2 x = 1 - y^2
  y.set_grad_fn("tanh", {x}, backward_unary(y, [](T dy, T, T y) { return dy * (1 - y * y); }));
  return y;
}

template <typename T>
BasicTensor<T> sigmoid(const BasicTensor<T>& x) {
  // y = 1 / (1 + e^-x), written to avoid overflow of e^-x for very negative x
  BasicTensor<T> y = forward_unary(x, [](T x) {
    if (x >= 0) return 1 / (1 + std::exp(-x));
    const T e = std::exp(x);
    return e / (1 + e);
  });
  // dy/dx = y (1 - y)
  y.set_grad_fn("sigmoid", {x}, backward_unary(y, [](T dy, T, T y) { return dy * y * (1 - y); }));
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
