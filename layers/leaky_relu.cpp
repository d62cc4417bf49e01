// LeakyReLU: the forward, and its backward right below it. Legend: x input, y output, dy = dL/dy.
#include "layers/leaky_relu.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/saved_tensor.hpp"

namespace mg::nn {

template <typename T>
BasicLeakyReLU<T>::BasicLeakyReLU(LeakyReLUOptions options) : options_(options) {
  if (!std::isfinite(options.negative_slope)) {
    fail<std::invalid_argument>("LeakyReLU: expected a finite negative_slope, got {}",
                                options.negative_slope);
  }
}

template <typename T>
BasicTensor<T> BasicLeakyReLU<T>::forward(const BasicTensor<T>& x) {
  require_defined("LeakyReLU", x);
  // The slope in the tensor's type, as PyTorch casts its scalar.
  const T slope = static_cast<T>(options_.negative_slope);
  // y = x if x > 0 else slope * x
  BasicTensor<T> y = BasicTensor<T>::empty(x.shape());
  y.flat() = x.flat().unaryExpr([slope](T v) { return v > 0 ? v : v * slope; });

  // dy/dx = 1 where x > 0, else slope (slope at x = 0, as in PyTorch). x is saved for the
  // test, checked for writes before the backward reads it, as PyTorch's LeakyReLU saves it.
  y.set_grad_fn("leaky_relu", {x},
                [slope, x_saved = SavedTensor<T>(x)](const BasicTensor<T>& dy,
                                                     std::span<const BasicTensor<T>> in) {
                  const T* px = x_saved.get().data();
                  const T* pdy = dy.data();
                  auto dx = in[0].grad_flat();
                  for (int64_t i = 0; i < dy.numel(); ++i)
                    dx[i] += px[i] > 0 ? pdy[i] : pdy[i] * slope;
                });
  return y;
}

template <typename T>
std::string BasicLeakyReLU<T>::repr() const {
  return fmt::format("LeakyReLU(negative_slope={})", options_.negative_slope);
}

template class BasicLeakyReLU<float>;
template class BasicLeakyReLU<double>;

}  // namespace mg::nn
