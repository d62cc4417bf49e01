// LayerNorm: the forward, and the fused hand-derived backward right below it.
//
// Legend: R = rows (N for (N, C) input, N * L for (N, L, C)), C = normalized_shape (features),
//         r = a row, c = a feature. Row r is the C contiguous values x[r * C .. r * C + C).
#include "layers/layernorm.hpp"

#include <cmath>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/saved_tensor.hpp"

namespace mg::nn {

template <typename T>
BasicLayerNorm<T>::BasicLayerNorm(int64_t normalized_shape, LayerNormOptions options)
    : normalized_shape_(normalized_shape), options_(options) {
  if (normalized_shape <= 0) {
    fail<std::invalid_argument>("LayerNorm: expected normalized_shape > 0, got {}",
                                normalized_shape);
  }
  if (!(options.eps >= 0)) {
    fail<std::invalid_argument>("LayerNorm: expected eps >= 0, got {}", options.eps);
  }
  if (options.elementwise_affine) {
    weight = BasicTensor<T>::full(Shape{normalized_shape}, T(1), /*requires_grad=*/true);
    bias = BasicTensor<T>::zeros(Shape{normalized_shape}, /*requires_grad=*/true);
  }
}

template <typename T>
BasicTensor<T> BasicLayerNorm<T>::forward(const BasicTensor<T>& x) {
  require_defined("LayerNorm", x);
  const int64_t C = normalized_shape_;
  if ((x.rank() != 2 && x.rank() != 3) || x.size(x.rank() - 1) != C) {
    fail<ShapeError>("LayerNorm: expected input of shape (N, {0}) or (N, L, {0}), got {1}", C,
                     x.shape());
  }
  const int64_t R = x.numel() / C;

  // What the backward needs: x and gamma as this forward saw them (a SavedTensor checks, when
  // the backward reads it, that nothing wrote it since), and per row, in double, the
  // statistics. x_hat = (x - mean) * inv_std is not saved: it is as large as x, and the
  // backward can recompute it from x for one multiply-add per element.
  const bool affine = options_.elementwise_affine;
  struct Saved {
    SavedTensor<T> x;                     // (R, C)
    std::optional<SavedTensor<T>> gamma;  // (C), when affine
    std::vector<double> mean;             // (R)
    std::vector<double> inv_std;          // (R) 1 / sqrt(var + eps)
  };
  Saved saved{SavedTensor<T>(x), std::nullopt, std::vector<double>(R), std::vector<double>(R)};
  if (affine) saved.gamma.emplace(weight);

  // mean = sum(x) / C;  var = sum((x - mean)^2) / C  (biased, as in PyTorch). Two passes over
  // the row, accumulated in double: never E[x^2] - E[x]^2, which cancels when |mean| >> std.
  // y = x_hat * gamma + beta. The parameters are read through const references: a non-const
  // access counts as a write.
  const T* gamma = affine ? std::as_const(weight).data() : nullptr;  // (C)
  const T* beta = affine ? std::as_const(bias).data() : nullptr;     // (C)
  BasicTensor<T> y = BasicTensor<T>::empty(x.shape());
  for (int64_t r = 0; r < R; ++r) {
    const T* xr = x.data() + r * C;  // (C)
    T* yr = y.data() + r * C;        // (C)
    double sum = 0;
    for (int64_t c = 0; c < C; ++c) sum += xr[c];
    const double mean = sum / C;
    double squares = 0;
    for (int64_t c = 0; c < C; ++c) squares += (xr[c] - mean) * (xr[c] - mean);
    const double inv_std = 1.0 / std::sqrt(squares / C + options_.eps);
    for (int64_t c = 0; c < C; ++c) {
      const double x_hat = (xr[c] - mean) * inv_std;
      yr[c] = static_cast<T>(affine ? x_hat * gamma[c] + beta[c] : x_hat);
    }
    saved.mean[r] = mean;
    saved.inv_std[r] = inv_std;
  }

  // ---- backward ----
  // Per row: x_hat_i = (x_i - mean) * inv_std,  y_i = gamma_i * x_hat_i + beta_i.
  //   dbeta  = sum over rows of dy           (y moves one for one with beta)
  //   dgamma = sum over rows of dy * x_hat
  // For dx, let g = gamma * dy, the gradient reaching x_hat. Each x_j moves every x_hat_i of its
  // row: directly, through the mean (d mean / d x_j = 1 / C) and through the variance
  // (d var / d x_j = 2 (x_j - mean) / C, so d inv_std / d x_j = -inv_std^3 (x_j - mean) / C):
  //   d x_hat_i / d x_j = inv_std * ([i == j] - 1/C - x_hat_i * x_hat_j / C)
  // Summing g_i times that over i:
  //   dx = inv_std * (g - mean(g) - x_hat * mean(g * x_hat))      means over the row's C values
  // This is BatchNorm1d's closed form (layers/batchnorm1d.cpp) with the sums taken over a row
  // instead of over the batch, and gamma moved inside because it varies along the row.
  std::vector<BasicTensor<T>> inputs{x};  // {x}, or {x, gamma, beta} when affine
  if (affine) inputs = {x, weight, bias};
  y.set_grad_fn(
      "layer_norm", std::move(inputs),
      [saved = std::move(saved), affine, R, C](const BasicTensor<T>& dy,
                                               std::span<const BasicTensor<T>> in) {
        const T* px = saved.x.get().data();                                  // (R, C)
        const T* pdy = dy.data();                                            // (R, C)
        const T* gamma = affine ? saved.gamma->get().data() : nullptr;       // (C)
        T* dx = in[0].requires_grad() ? in[0].grad_flat().data() : nullptr;  // (R, C)
        std::vector<double> dgamma(C, 0.0), dbeta(C, 0.0);  // (C) each, summed over rows
        std::vector<double> g(C), x_hat(C);                 // (C) each, one row at a time
        for (int64_t r = 0; r < R; ++r) {
          const T* xr = px + r * C;
          const T* dyr = pdy + r * C;
          double mean_g = 0, mean_g_x_hat = 0;
          for (int64_t c = 0; c < C; ++c) {
            x_hat[c] = (xr[c] - saved.mean[r]) * saved.inv_std[r];
            g[c] = affine ? gamma[c] * dyr[c] : dyr[c];
            mean_g += g[c];
            mean_g_x_hat += g[c] * x_hat[c];
            dgamma[c] += dyr[c] * x_hat[c];
            dbeta[c] += dyr[c];
          }
          mean_g /= C;
          mean_g_x_hat /= C;
          if (!dx) continue;
          T* dxr = dx + r * C;
          for (int64_t c = 0; c < C; ++c) {  // accumulate: x may feed other ops too
            dxr[c] += static_cast<T>(saved.inv_std[r] * (g[c] - mean_g - x_hat[c] * mean_g_x_hat));
          }
        }
        if (affine && in[1].requires_grad()) {
          T* dw = in[1].grad_flat().data();
          for (int64_t c = 0; c < C; ++c) dw[c] += static_cast<T>(dgamma[c]);
        }
        if (affine && in[2].requires_grad()) {
          T* db = in[2].grad_flat().data();
          for (int64_t c = 0; c < C; ++c) db[c] += static_cast<T>(dbeta[c]);
        }
      });
  return y;
}

template <typename T>
NamedTensors<T> BasicLayerNorm<T>::own_parameters() {
  if (!options_.elementwise_affine) return {};
  return {{"weight", weight}, {"bias", bias}};
}

template <typename T>
void BasicLayerNorm<T>::reset_parameters() {
  if (!options_.elementwise_affine) return;
  weight.flat().setOnes();
  bias.flat().setZero();
}

template <typename T>
std::string BasicLayerNorm<T>::repr() const {
  return fmt::format("LayerNorm(({},), eps={}, elementwise_affine={})", normalized_shape_,
                     options_.eps, options_.elementwise_affine);
}

template class BasicLayerNorm<float>;
template class BasicLayerNorm<double>;

}  // namespace mg::nn
