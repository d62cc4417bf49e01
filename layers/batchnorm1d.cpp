// BatchNorm1d: the forward, the fused hand-derived backward right below it, and the kernels.
// The derivation, step by step, is in docs/batchnorm.md.
//
// Legend: N = batch, C = features (channels), L = length (L = 1 for (N, C) input),
//         n = N * L values per channel, c = a channel, i = an element of x in memory order.
#include "layers/batchnorm1d.hpp"

#include <cmath>

#include "core/autograd.hpp"
#include "core/error.hpp"

namespace mg::nn {
namespace {

// x seen as (N, C, L), row-major: element (b, c, l) is at (b * C + c) * L + l.
struct Layout {
  int64_t N, C, L;
  int64_t n() const { return N * L; }
};

// ---- kernels: each streams x once, keeping one accumulator per channel ----
// For (N, C) the inner loop walks a row's C contiguous channels (vectorised across channels);
// for (N, C, L) it walks a contiguous run of L values of one channel.

// Two passes, accumulated in double: mean[c] = sum(x) / n, then m2[c] = sum((x - mean)^2).
// Never E[x^2] - E[x]^2, which cancels catastrophically when |mean| >> std.
template <typename T>
void channel_stats(const T* x, Layout s, double* mean, double* m2) {  // x: (N, C, L); mean, m2: (C)
  std::fill_n(mean, s.C, 0.0);
  std::fill_n(m2, s.C, 0.0);
  for (int64_t b = 0; b < s.N; ++b)
    for (int64_t c = 0; c < s.C; ++c) {
      const T* run = x + (b * s.C + c) * s.L;
      double sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t l = 0; l < s.L; ++l) sum += run[l];
      mean[c] += sum;
    }
  for (int64_t c = 0; c < s.C; ++c) mean[c] /= static_cast<double>(s.n());
  for (int64_t b = 0; b < s.N; ++b)
    for (int64_t c = 0; c < s.C; ++c) {
      const T* run = x + (b * s.C + c) * s.L;
      double sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t l = 0; l < s.L; ++l) sum += (run[l] - mean[c]) * (run[l] - mean[c]);
      m2[c] += sum;
    }
}

// Calls f(c, i) for every element i in memory order, c being its channel. The inner loop is
// contiguous (a row's C channels for (N, C), one channel's run of L for (N, C, L)), so an
// elementwise f vectorises. f must not reduce: iterations of the inner loop run as SIMD lanes.
template <typename F>
void for_each_element(Layout s, F f) {
  for (int64_t b = 0; b < s.N; ++b) {
    if (s.L == 1) {
#pragma omp simd
      for (int64_t c = 0; c < s.C; ++c) f(c, b * s.C + c);
      continue;
    }
    for (int64_t c = 0; c < s.C; ++c) {
      const int64_t begin = (b * s.C + c) * s.L;
#pragma omp simd
      for (int64_t i = begin; i < begin + s.L; ++i) f(c, i);
    }
  }
}

// The backward's two reductions, in double: sum_dy[c] = sum(dy), sum_dy_xc[c] = sum(dy * (x -
// mean)); sum(dy * x_hat) is inv_std * sum_dy_xc. x, dy: (N, C, L); mean, sums: (C).
template <typename T>
void channel_grad_sums(const T* x, const T* dy, Layout s, const double* mean, double* sum_dy,
                       double* sum_dy_xc) {
  std::fill_n(sum_dy, s.C, 0.0);
  std::fill_n(sum_dy_xc, s.C, 0.0);
  for (int64_t b = 0; b < s.N; ++b)
    for (int64_t c = 0; c < s.C; ++c) {
      const int64_t o = (b * s.C + c) * s.L;
      double sd = 0, sdx = 0;
#pragma omp simd reduction(+ : sd, sdx)
      for (int64_t l = 0; l < s.L; ++l) {
        sd += dy[o + l];
        sdx += dy[o + l] * (x[o + l] - mean[c]);
      }
      sum_dy[c] += sd;
      sum_dy_xc[c] += sdx;
    }
}

// 1 / sqrt(var + eps). A constant channel with eps = 0 gets 0 (so y = bias, not NaN), as in
// PyTorch's kernel.
double inverse_std(double var, double eps) {
  return var == 0 && eps == 0 ? 0.0 : 1.0 / std::sqrt(var + eps);
}

// What the backward needs, [C] each, in double. x_hat = (x - mean) * inv_std is recomputed from
// x rather than saved: it is as large as x, and the backward streams x anyway, so recomputing
// costs one multiply-add per element and saves an (N, C, L) buffer.
struct Saved {
  std::vector<double> mean;     // (C) batch mean, or running_mean in eval
  std::vector<double> inv_std;  // (C) 1 / sqrt(var + eps), var biased batch or running_var
};

std::string batch_of_one_message(const Shape& shape, bool training) {
  std::string why = fmt::format(
      "BatchNorm1d: expected more than 1 value per channel to compute batch statistics, got "
      "input of shape {} (N * L = 1): a single value has no variance, so every output would be "
      "0. ",
      shape);
  if (training) {
    return why +
           "Use a batch with more than one sample (drop_last skips a final batch of one), or "
           "call eval() to normalise with the tracked running statistics";
  }
  return why +
         "This module does not track running statistics (track_running_stats=false), so it uses "
         "batch statistics in eval() too. Use a batch with more than one sample (drop_last "
         "skips a final batch of one), or construct it with track_running_stats=true";
}

}  // namespace

template <typename T>
BasicTensor<T> BasicBatchNorm1d<T>::forward(const BasicTensor<T>& x) {
  // ---- every check comes before any state changes ----
  if (x.rank() != 2 && x.rank() != 3) {
    fail<ShapeError>("BatchNorm1d: expected 2D or 3D input (got {}D input)", x.rank());
  }
  if (x.size(1) != num_features_) {
    fail<ShapeError>("BatchNorm1d: expected input with {} features, got {}", num_features_,
                     x.shape());
  }
  if (x.numel() == 0) {
    fail<ShapeError>("BatchNorm1d: expected a non-empty batch, got input of shape {}", x.shape());
  }
  const Layout s{x.size(0), x.size(1), x.rank() == 3 ? x.size(2) : 1};
  const bool batch_stats = this->is_training() || !options_.track_running_stats;
  if (batch_stats && s.n() == 1)
    fail<ShapeError>("{}", batch_of_one_message(x.shape(), this->is_training()));

  const int64_t C = s.C;
  Saved saved{std::vector<double>(C), std::vector<double>(C)};
  if (batch_stats) {
    // mean = sum(x) / n;  var = sum((x - mean)^2) / n   (biased: it normalises this batch)
    std::vector<double>& m2 = saved.inv_std;  // holds sum((x - mean)^2) until converted below
    channel_stats(x.data(), s, saved.mean.data(), m2.data());
    if (this->is_training() && options_.track_running_stats) {
      // running = (1 - m) * running + m * batch, with the *unbiased* variance m2 / (n - 1).
      ++num_batches_tracked;  // also under NoGradGuard: only eval() stops the updates
      const double m = options_.momentum ? *options_.momentum : 1.0 / num_batches_tracked;
      T* rm = running_mean.data();
      T* rv = running_var.data();
      for (int64_t c = 0; c < C; ++c) {
        rm[c] = static_cast<T>((1 - m) * rm[c] + m * saved.mean[c]);
        rv[c] = static_cast<T>((1 - m) * rv[c] + m * m2[c] / static_cast<double>(s.n() - 1));
      }
    }
    for (int64_t c = 0; c < C; ++c) saved.inv_std[c] = inverse_std(m2[c] / s.n(), options_.eps);
  } else {
    for (int64_t c = 0; c < C; ++c) {
      saved.mean[c] = running_mean.data()[c];
      saved.inv_std[c] = inverse_std(running_var.data()[c], options_.eps);
    }
  }

  // y = x_hat * gamma + beta = scale * (x - mean) + beta, with scale = gamma * inv_std.
  const bool affine = options_.affine;
  std::vector<T> coef(3 * C);  // (3, C): scale, mean, beta
  T *scale = coef.data(), *mean = scale + C, *beta = scale + 2 * C;
  for (int64_t c = 0; c < C; ++c) {
    scale[c] = static_cast<T>((affine ? weight.data()[c] : 1.0) * saved.inv_std[c]);
    mean[c] = static_cast<T>(saved.mean[c]);
    beta[c] = affine ? bias.data()[c] : T(0);
  }
  BasicTensor<T> y = BasicTensor<T>::empty(x.shape());  // (N, C, L)
  const T* px = x.data();
  T* py = y.data();
  for_each_element(s,
                   [&](int64_t c, int64_t i) { py[i] = scale[c] * (px[i] - mean[c]) + beta[c]; });

  // ---- backward ----
  // Training (batch statistics), with x_hat = (x - mean) * inv_std and n = N * L:
  //   dbeta  = sum(dy)                 dgamma = sum(dy * x_hat)
  //   dx     = (gamma * inv_std / n) * (n * dy - sum(dy) - x_hat * sum(dy * x_hat))
  // The last two terms are the paths through mean and var: every x moves every output of its
  // channel. Written per element as dx = a * dy + b * (x - mean) + k with
  //   a = gamma * inv_std,  b = -a * inv_std^2 * sum(dy * (x - mean)) / n,  k = -a * sum(dy) / n.
  // Eval with running statistics: mean and var are constants, so b = k = 0: dx = dy * a.
  // Sums run over N (and L); the two reductions are accumulated in double.
  std::vector<BasicTensor<T>> inputs{x};
  if (affine) inputs = {x, weight, bias};
  y.set_grad_fn(
      "batch_norm", std::move(inputs),
      [saved = std::move(saved), s, batch_stats](const BasicTensor<T>& dy,
                                                 std::span<BasicTensor<T>> in) {
        const int64_t C = s.C;
        const double n = static_cast<double>(s.n());
        const bool affine = in.size() == 3;
        const bool x_grad = in[0].requires_grad();
        std::vector<double> sums(2 * C);  // (2, C): sum(dy), sum(dy * (x - mean))
        double *sum_dy = sums.data(), *sum_dy_xc = sum_dy + C;
        if (affine || batch_stats) {
          channel_grad_sums(in[0].data(), dy.data(), s, saved.mean.data(), sum_dy, sum_dy_xc);
        }
        if (affine && in[1].requires_grad()) {  // dgamma = sum(dy * x_hat)
          T* dgamma = in[1].grad_flat().data();
          for (int64_t c = 0; c < C; ++c) dgamma[c] += sum_dy_xc[c] * saved.inv_std[c];
        }
        if (affine && in[2].requires_grad()) {  // dbeta = sum(dy)
          T* dbeta = in[2].grad_flat().data();
          for (int64_t c = 0; c < C; ++c) dbeta[c] += sum_dy[c];
        }
        if (!x_grad) return;
        std::vector<T> coef(4 * C);  // (4, C): a, b, mean, k
        T *a = coef.data(), *b = a + C, *mean = a + 2 * C, *k = a + 3 * C;
        for (int64_t c = 0; c < C; ++c) {
          const double inv_std = saved.inv_std[c];
          const double scale = (affine ? in[1].data()[c] : 1.0) * inv_std;
          a[c] = static_cast<T>(scale);
          b[c] = static_cast<T>(batch_stats ? -scale * inv_std * inv_std * sum_dy_xc[c] / n : 0);
          mean[c] = static_cast<T>(saved.mean[c]);
          k[c] = static_cast<T>(batch_stats ? -scale * sum_dy[c] / n : 0);
        }
        const T* px = in[0].data();
        const T* pdy = dy.data();
        T* dx = in[0].grad_flat().data();
        for_each_element(s, [&](int64_t c, int64_t i) {
          dx[i] += a[c] * pdy[i] + b[c] * (px[i] - mean[c]) + k[c];
        });
      });
  return y;
}

// ---- construction, state, printing ----

template <typename T>
BasicBatchNorm1d<T>::BasicBatchNorm1d(int64_t num_features, BatchNormOptions options)
    : num_features_(num_features), options_(options) {
  if (num_features <= 0) {
    fail<std::invalid_argument>("BatchNorm1d: expected num_features > 0, got {}", num_features);
  }
  if (!(options.eps >= 0)) {
    fail<std::invalid_argument>("BatchNorm1d: expected eps >= 0, got {}", options.eps);
  }
  if (options.momentum && !(*options.momentum >= 0 && *options.momentum <= 1)) {
    fail<std::invalid_argument>(
        "BatchNorm1d: expected momentum in [0, 1] (or none for a cumulative average), got {}",
        *options.momentum);
  }
  const Shape shape{num_features};
  if (options.affine) {
    weight = BasicTensor<T>::full(shape, T(1), /*requires_grad=*/true);
    bias = BasicTensor<T>::zeros(shape, /*requires_grad=*/true);
  }
  if (options.track_running_stats) {
    running_mean = BasicTensor<T>::zeros(shape);
    running_var = BasicTensor<T>::full(shape, T(1));
  }
}

template <typename T>
NamedTensors<T> BasicBatchNorm1d<T>::own_parameters() {
  if (!options_.affine) return {};
  return {{"weight", weight}, {"bias", bias}};
}

template <typename T>
std::vector<BufferRef<T>> BasicBatchNorm1d<T>::own_buffers() {
  if (!options_.track_running_stats) return {};
  return {{"running_mean", running_mean, nullptr},
          {"running_var", running_var, nullptr},
          {"num_batches_tracked", {}, &num_batches_tracked}};
}

template <typename T>
void BasicBatchNorm1d<T>::reset_running_stats() {
  if (!options_.track_running_stats) return;
  running_mean.flat().setZero();
  running_var.flat().setOnes();
  num_batches_tracked = 0;
}

template <typename T>
void BasicBatchNorm1d<T>::reset_parameters() {
  reset_running_stats();
  if (!options_.affine) return;
  weight.flat().setOnes();
  bias.flat().setZero();
}

template <typename T>
std::string BasicBatchNorm1d<T>::repr() const {
  return fmt::format("BatchNorm1d({}, eps={}, momentum={}, affine={}, track_running_stats={})",
                     num_features_, options_.eps,
                     options_.momentum ? fmt::format("{}", *options_.momentum) : "None",
                     options_.affine, options_.track_running_stats);
}

template class BasicBatchNorm1d<float>;
template class BasicBatchNorm1d<double>;

}  // namespace mg::nn
