// One answer to exercises/rmsnorm.
//
// Legend: N = rows, C = features.
#include <cmath>
#include <vector>

#include "exercise.hpp"

mg::TensorD rms_norm(const mg::TensorD& x, const mg::TensorD& weight, double eps) {
  const int64_t N = x.size(0), C = x.size(1);
  std::vector<double> inv_r(N);  // (N) 1 / r per row: all the backward needs besides x
  mg::TensorD y = mg::TensorD::empty(x.shape());
  for (int64_t n = 0; n < N; ++n) {
    double squares = 0;
    for (int64_t c = 0; c < C; ++c) squares += x.at(n, c) * x.at(n, c);
    inv_r[n] = 1 / std::sqrt(squares / C + eps);
    for (int64_t c = 0; c < C; ++c) y.data()[n * C + c] = weight.at(c) * x.at(n, c) * inv_r[n];
  }
  // ---- backward ----
  // y_i = w_i x_i / r, with dr/dx_j = x_j / (C r), so d(1/r)/dx_j = -x_j / (C r^3):
  //   dweight_i = sum over rows of dy_i x_i / r
  //   dx_j = w_j dy_j / r - x_j / (C r^3) sum_i w_i dy_i x_i
  y.set_grad_fn("rms_norm", {x, weight},
                [inv_r, N, C](const mg::TensorD& dy, std::span<const mg::TensorD> in) {
                  const mg::TensorD& xs = in[0];
                  const mg::TensorD& w = in[1];
                  for (int64_t n = 0; n < N; ++n) {
                    double dot = 0;  // sum_i w_i dy_i x_i
                    for (int64_t c = 0; c < C; ++c) dot += w.at(c) * dy.at(n, c) * xs.at(n, c);
                    const double ir = inv_r[n];
                    for (int64_t c = 0; c < C; ++c) {
                      if (in[0].requires_grad())
                        in[0].grad_flat()[n * C + c] +=
                            w.at(c) * dy.at(n, c) * ir - xs.at(n, c) * ir * ir * ir / C * dot;
                      if (in[1].requires_grad())
                        in[1].grad_flat()[c] += dy.at(n, c) * xs.at(n, c) * ir;
                    }
                  }
                });
  return y;
}
