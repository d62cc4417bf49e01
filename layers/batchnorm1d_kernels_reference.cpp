// BatchNorm1d's reference loops: one phase at a time, every element in memory order, as the math
// reads. They are what the fast versions in batchnorm1d_kernels.cpp are tested against
// (tests/test_kernels.cpp). Legend: N = batch, C = channels, L = length, n = N * L values per
// channel; element i is in channel i / L % C.
#include <algorithm>
#include <cmath>

#include "layers/batchnorm1d_kernels.hpp"

namespace mg::nn::kernels {

double inverse_std(double var, double eps) {
  return var == 0 && eps == 0 ? 0.0 : 1.0 / std::sqrt(var + eps);
}

template <typename T>
void bn_forward_eval_reference(const T* x, BnLayout s, const T* gamma, const T* beta,
                               const double* mean, const double* inv_std, T* y) {
  for (int64_t b = 0; b < s.N; ++b)
    for (int64_t c = 0; c < s.C; ++c) {
      const T scale = static_cast<T>((gamma ? gamma[c] : 1.0) * inv_std[c]);
      const T mu = static_cast<T>(mean[c]);
      const T shift = beta ? beta[c] : T(0);
      for (int64_t l = 0; l < s.L; ++l) {
        const int64_t i = (b * s.C + c) * s.L + l;
        y[i] = scale * (x[i] - mu) + shift;
      }
    }
}

template <typename T>
void bn_forward_train_reference(const T* x, BnLayout s, const T* gamma, const T* beta, double eps,
                                double* mean, double* m2, double* inv_std, T* y) {
  std::fill_n(mean, s.C, 0.0);
  std::fill_n(m2, s.C, 0.0);
  for (int64_t i = 0; i < s.numel(); ++i) mean[i / s.L % s.C] += x[i];
  for (int64_t c = 0; c < s.C; ++c) mean[c] /= static_cast<double>(s.n());
  for (int64_t i = 0; i < s.numel(); ++i) {
    const double d = x[i] - mean[i / s.L % s.C];
    m2[i / s.L % s.C] += d * d;
  }
  for (int64_t c = 0; c < s.C; ++c) inv_std[c] = inverse_std(m2[c] / s.n(), eps);
  bn_forward_eval_reference(x, s, gamma, beta, mean, inv_std, y);
}

template <typename T>
void bn_backward_reference(const T* x, const T* dy, BnLayout s, const T* gamma, BnBackwardArgs args,
                           double* sum_dy, double* sum_dy_xc, T* dx) {
  std::fill_n(sum_dy, s.C, 0.0);
  std::fill_n(sum_dy_xc, s.C, 0.0);
  for (int64_t i = 0; i < s.numel(); ++i) {
    const int64_t c = i / s.L % s.C;
    sum_dy[c] += dy[i];
    sum_dy_xc[c] += static_cast<double>(dy[i]) * (x[i] - args.mean[c]);
  }
  if (!dx) return;
  const double n = static_cast<double>(s.n());
  for (int64_t i = 0; i < s.numel(); ++i) {
    const int64_t c = i / s.L % s.C;
    const double inv = args.inv_std[c];
    const T a = static_cast<T>((gamma ? gamma[c] : 1.0) * inv);
    const T bc = static_cast<T>(args.batch_stats ? -a * inv * inv * sum_dy_xc[c] / n : 0);
    const T k = static_cast<T>(args.batch_stats ? -a * sum_dy[c] / n : 0);
    const T v = a * dy[i] + bc * (x[i] - static_cast<T>(args.mean[c])) + k;
    dx[i] = args.accumulate ? dx[i] + v : v;
  }
}

template void bn_forward_train_reference(const float*, BnLayout, const float*, const float*, double,
                                         double*, double*, double*, float*);
template void bn_forward_eval_reference(const float*, BnLayout, const float*, const float*,
                                        const double*, const double*, float*);
template void bn_backward_reference(const float*, const float*, BnLayout, const float*,
                                    BnBackwardArgs, double*, double*, float*);
template void bn_forward_train_reference(const double*, BnLayout, const double*, const double*,
                                         double, double*, double*, double*, double*);
template void bn_forward_eval_reference(const double*, BnLayout, const double*, const double*,
                                        const double*, const double*, double*);
template void bn_backward_reference(const double*, const double*, BnLayout, const double*,
                                    BnBackwardArgs, double*, double*, double*);

}  // namespace mg::nn::kernels
