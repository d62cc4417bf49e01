// The two reference BatchNorms: staged by hand (a), composed from primitive ops (b).
//
// Legend: N = batch, C = features, L = length, M = N * L values per channel.
#include "layers/batchnorm1d_reference.hpp"

#include <Eigen/Core>

#include "core/ops.hpp"

namespace mg::nn {
namespace {

// (M, C): one row per (sample, position), one column per channel. Column-major, so a channel's
// M values are contiguous and every colwise() reduction below is over the batch.
using Columns = Eigen::ArrayXXd;
using Row = Eigen::Array<double, 1, Eigen::Dynamic>;  // (1, C): one value per channel

// x (N, C) or (N, C, L) -> (M, C), and back. Row m = b * L + l holds x[b, :, l].
Columns to_columns(const TensorD& t) {
  const int64_t N = t.size(0), C = t.size(1), L = t.rank() == 3 ? t.size(2) : 1;
  Columns out(N * L, C);
  for (int64_t b = 0; b < N; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t l = 0; l < L; ++l) out(b * L + l, c) = t.data()[(b * C + c) * L + l];
  return out;
}

TensorD from_columns(const Columns& a, const Shape& shape) {
  const int64_t C = shape[1], L = shape.rank() == 3 ? shape[2] : 1;
  TensorD t = TensorD::empty(shape);
  for (int64_t m = 0; m < a.rows(); ++m)
    for (int64_t c = 0; c < C; ++c) t.data()[(m / L * C + c) * L + m % L] = a(m, c);
  return t;
}

Row to_row(const TensorD& t, int64_t C, double fallback) {
  return t.defined() ? Row(Eigen::Map<const Row>(t.data(), C)) : Row::Constant(C, fallback);
}

TensorD from_row(const Row& r) {
  return TensorD::from_vector(std::vector<double>(r.data(), r.data() + r.size()), Shape{r.size()});
}

}  // namespace

StagedResult batchnorm1d_staged(const TensorD& x, const TensorD& gamma, const TensorD& beta,
                                const TensorD& dy, double eps, const ReferenceStats& stats) {
  const Columns X = to_columns(x);  // (M, C)
  const int64_t C = X.cols();
  const double M = static_cast<double>(X.rows());
  const bool batch_stats = !stats.running_mean.defined();
  const Row g = to_row(gamma, C, 1.0);
  const Row b = to_row(beta, C, 0.0);

  // ---- forward, one node per line ----
  const Row mu = batch_stats ? Row(X.colwise().sum() / M)  // 1. mu = sum(x) / M
                             : to_row(stats.running_mean, C, 0.0);
  const Columns xc = X.rowwise() - mu;                       // 2. xc = x - mu
  const Columns sq = xc.square();                            // 3. sq = xc^2
  const Row var = batch_stats ? Row(sq.colwise().sum() / M)  // 4. var = sum(sq) / M
                              : to_row(stats.running_var, C, 1.0);
  const Row std = (var + eps).sqrt();                     // 5. std = sqrt(var + eps)
  const Row inv_std = 1.0 / std;                          // 6. inv_std = 1 / std
  const Columns x_hat = xc.rowwise() * inv_std;           // 7. x_hat = xc * inv_std
  const Columns y = (x_hat.rowwise() * g).rowwise() + b;  // 8. y = gamma * x_hat + beta

  // ---- backward: the same nodes in reverse; d<name> = dL/d<name> ----
  const Columns dY = to_columns(dy);
  // 8. y = gamma * x_hat + beta
  const Row dbeta = dY.colwise().sum();
  const Row dgamma = (dY * x_hat).colwise().sum();
  const Columns dx_hat = dY.rowwise() * g;
  // 7. x_hat = xc * inv_std: two parents, xc (elementwise) and inv_std (shared by the column)
  Columns dxc = dx_hat.rowwise() * inv_std;
  const Row dinv_std = (dx_hat * xc).colwise().sum();
  Columns dX = dxc;  // with running statistics, mu and var are constants: the walk ends here
  if (batch_stats) {
    // 6. inv_std = 1 / std            d inv_std / d std = -1 / std^2
    const Row dstd = -dinv_std / std.square();
    // 5. std = sqrt(var + eps)         d std / d var = 1 / (2 std)
    const Row dvar = dstd / (2.0 * std);
    // 4. var = sum(sq) / M             d var / d sq = 1 / M, for every row
    const Columns dsq = Columns::Ones(X.rows(), C).rowwise() * (dvar / M);
    // 3. sq = xc^2                     d sq / d xc = 2 xc  (xc's second path, so +=)
    dxc += 2.0 * xc * dsq;
    // 2. xc = x - mu                   d xc / d x = 1, d xc / d mu = -1 (summed over rows)
    const Row dmu = -dxc.colwise().sum();
    // 1. mu = sum(x) / M               d mu / d x = 1 / M (x's second path, so +=)
    dX = dxc.rowwise() + dmu / M;
  }
  return {from_columns(y, x.shape()), from_columns(dX, x.shape()), from_row(dgamma),
          from_row(dbeta)};
}

template <typename T>
BasicTensor<T> batchnorm1d_composed(const BasicTensor<T>& x, const BasicTensor<T>& weight,
                                    const BasicTensor<T>& bias, double eps,
                                    const BasicTensor<T>& running_mean,
                                    const BasicTensor<T>& running_var) {
  const bool rank3 = x.rank() == 3;
  const int64_t N = x.size(0), C = x.size(1), L = rank3 ? x.size(2) : 1;
  // (N, C, L) -> (N, L, C) -> (M, C): channels last, so reducing dim 0 reduces over N and L.
  const BasicTensor<T> x2 = rank3 ? reshape(transpose(x, 1, 2), Shape{N * L, C}) : x;
  BasicTensor<T> mu, var;  // (1, C) from the batch, or (C) running statistics
  if (!running_mean.defined()) {
    mu = mean(x2, 0, /*keepdim=*/true);
    const BasicTensor<T> xc = x2 - mu;
    var = mean(xc * xc, 0, /*keepdim=*/true);  // biased: divisor M
  } else {
    mu = running_mean.detach();
    var = running_var.detach();
  }
  BasicTensor<T> y = (x2 - mu) / sqrt(var + eps);  // x_hat, (M, C)
  if (weight.defined()) y = y * weight + bias;
  return rank3 ? transpose(reshape(y, Shape{N, L, C}), 1, 2) : y;
}

template Tensor batchnorm1d_composed(const Tensor&, const Tensor&, const Tensor&, double,
                                     const Tensor&, const Tensor&);
template TensorD batchnorm1d_composed(const TensorD&, const TensorD&, const TensorD&, double,
                                      const TensorD&, const TensorD&);

}  // namespace mg::nn
