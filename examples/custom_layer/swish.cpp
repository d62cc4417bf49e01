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

}  // namespace

template <typename T>
mg::BasicTensor<T> BasicSwish<T>::forward(const mg::BasicTensor<T>& x) {
  // y = x * s,  s = sigmoid(x)
  mg::BasicTensor<T> y = mg::BasicTensor<T>::empty(x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = x.data()[i] * sigmoid(x.data()[i]);

  // Backward. With s' = s (1 - s):
  //   dy/dx = s + x * s (1 - s) = s (1 + x (1 - s))
  // so dx += dy * s * (1 + x * (1 - s)). x is saved (a SavedTensor, which throws if something
  // wrote x between this forward and the backward); s is recomputed from it rather than saved:
  // it costs one exp per element and keeps the node free of extra buffers. The gradient is
  // *added* into x's .grad(): x may feed other ops too.
  y.set_grad_fn("swish", {x}, [x_saved = mg::SavedTensor<T>(x)](
                                  const mg::BasicTensor<T>& dy,
                                  std::span<const mg::BasicTensor<T>> in) {
    const T* px = x_saved.get().data();
    const T* pdy = dy.data();
    T* dx = in[0].grad_flat().data();
    for (int64_t i = 0; i < dy.numel(); ++i) {
      const T s = sigmoid(px[i]);
      dx[i] += pdy[i] * s * (1 + px[i] * (1 - s));
    }
  });
  return y;
}

template class BasicSwish<float>;
template class BasicSwish<double>;

}  // namespace custom
