// Swish's forward and, directly below it, its backward. Legend: x input, y output, s sigmoid(x).
#include "swish.hpp"

#include <cmath>
#include <span>

namespace custom {
namespace {

// 1 / (1 + e^-x), without overflowing e^-x for very negative x.
template <typename T>
T sigmoid(T x) {
  if (x >= 0) return 1 / (1 + std::exp(-x));
  const T e = std::exp(x);
  return e / (1 + e);
}

template <typename T>
void swish_backward(const mg::SavedTensor<T>& x_saved, const mg::BasicTensor<T>& dy,
                    std::span<const mg::BasicTensor<T>> in);

}  // namespace

template <typename T>
mg::BasicTensor<T> BasicSwish<T>::forward(const mg::BasicTensor<T>& x) {
  // y = x * s,  s = sigmoid(x)
  mg::BasicTensor<T> y = mg::BasicTensor<T>::empty(x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = x.data()[i] * sigmoid(x.data()[i]);
  // The node keeps x (a SavedTensor, which throws if something wrote x between this forward and
  // the backward); s is recomputed from it rather than saved: one exp per element, and the node
  // holds no extra buffer.
  y.set_grad_fn("swish", {x},
                [x_saved = mg::SavedTensor<T>(x)](const mg::BasicTensor<T>& dy,
                                                  std::span<const mg::BasicTensor<T>> in) {
                  swish_backward(x_saved, dy, in);
                });
  return y;
}

namespace {

// Backward. With s' = s (1 - s):
//   dy/dx = s + x * s (1 - s) = s (1 + x (1 - s))
// so dx += dy * s * (1 + x * (1 - s)). The gradient is *added* into x's .grad(): x may feed
// other ops too.
template <typename T>
void swish_backward(const mg::SavedTensor<T>& x_saved, const mg::BasicTensor<T>& dy,
                    std::span<const mg::BasicTensor<T>> in) {
  const T* px = x_saved.get().data();
  const T* pdy = dy.data();
  T* dx = in[0].grad_flat().data();
  for (int64_t i = 0; i < dy.numel(); ++i) {
    const T s = sigmoid(px[i]);
    dx[i] += pdy[i] * s * (1 + px[i] * (1 - s));
  }
}

}  // namespace

template class BasicSwish<float>;
template class BasicSwish<double>;

}  // namespace custom
