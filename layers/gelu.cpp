// GELU: the forward in both forms, and the backward right below it.
// Legend: x input, y output, dy = dL/dy, Phi = the standard normal CDF, phi = its density.
#include "layers/gelu.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/saved_tensor.hpp"

namespace mg::nn {
namespace {

// The constants of the tanh form: sqrt(2 / pi) and the cubic term's coefficient.
constexpr double kSqrt2OverPi = std::numbers::sqrt2 * std::numbers::inv_sqrtpi;
constexpr double kCubic = 0.044715;

template <typename T>
T gelu_exact(T x) {
  return x * T(0.5) * (1 + std::erf(x * T(std::numbers::sqrt2 / 2)));  // x Phi(x)
}

template <typename T>
T gelu_tanh(T x) {
  const T inner = T(kSqrt2OverPi) * (x + T(kCubic) * x * x * x);
  return T(0.5) * x * (1 + std::tanh(inner));
}

// d/dx [x Phi(x)] = Phi(x) + x phi(x), phi(x) = e^(-x^2 / 2) / sqrt(2 pi).
template <typename T>
T dgelu_exact(T x) {
  const T cdf = T(0.5) * (1 + std::erf(x * T(std::numbers::sqrt2 / 2)));
  const T pdf = std::exp(T(-0.5) * x * x) * T(std::numbers::inv_sqrtpi / std::numbers::sqrt2);
  return cdf + x * pdf;
}

// y = left * right with left = x / 2 and right = 1 + tanh(u), u = sqrt(2/pi) (x + 0.044715 x^3):
// dy/dx = right / 2 + left (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2).
template <typename T>
T dgelu_tanh(T x) {
  const T tanh_u = std::tanh(T(kSqrt2OverPi) * (x + T(kCubic) * x * x * x));
  const T left = T(0.5) * x, right = 1 + tanh_u;
  const T dleft = T(0.5) * right;
  const T dright = left * (1 - tanh_u * tanh_u) * T(kSqrt2OverPi) * (1 + 3 * T(kCubic) * x * x);
  return dleft + dright;
}

}  // namespace

template <typename T>
BasicGELU<T>::BasicGELU(GELUOptions options)
    : options_(std::move(options)), tanh_(options_.approximate == "tanh") {
  if (options_.approximate != "none" && options_.approximate != "tanh") {
    fail<std::invalid_argument>("GELU: expected approximate 'none' or 'tanh', got '{}'",
                                options_.approximate);
  }
}

template <typename T>
BasicTensor<T> BasicGELU<T>::forward(const BasicTensor<T>& x) {
  require_defined("GELU", x);
  BasicTensor<T> y = BasicTensor<T>::empty(x.shape());
  if (tanh_)
    y.flat() = x.flat().unaryExpr([](T v) { return gelu_tanh(v); });
  else
    y.flat() = x.flat().unaryExpr([](T v) { return gelu_exact(v); });

  // dx += dy * gelu'(x). The derivative needs x alone: it is saved (checked for writes before
  // the backward, as PyTorch's GELU saves its input) and gelu'(x) recomputed from it, so the
  // forward allocates nothing beyond y.
  const bool tanh_form = tanh_;
  y.set_grad_fn("gelu", {x},
                [tanh_form, x_saved = SavedTensor<T>(x)](const BasicTensor<T>& dy,
                                                         std::span<const BasicTensor<T>> in) {
                  const T* px = x_saved.get().data();
                  const T* pdy = dy.data();
                  auto dx = in[0].grad_flat();
                  for (int64_t i = 0; i < dy.numel(); ++i)
                    dx[i] += pdy[i] * (tanh_form ? dgelu_tanh(px[i]) : dgelu_exact(px[i]));
                });
  return y;
}

template <typename T>
std::string BasicGELU<T>::repr() const {
  return fmt::format("GELU(approximate='{}')", options_.approximate);
}

template class BasicGELU<float>;
template class BasicGELU<double>;

}  // namespace mg::nn
