// BatchNorm1d: the forward, and the fused hand-derived backward right below it. The loops are
// in batchnorm1d_kernels.cpp: a plain reference version of each, and the cache-blocked fast one
// called here (tests/test_kernels.cpp proves them equal). The derivation, step by step, is in
// docs/batchnorm.md.
//
// Legend: N = batch, C = features (channels), L = length (L = 1 for (N, C) input),
//         n = N * L values per channel, c = a channel, i = an element of x in memory order.
#include "layers/batchnorm1d.hpp"

#include <cmath>
#include <optional>
#include <utility>

#include "core/autograd.hpp"
#include "core/error.hpp"
#include "core/saved_tensor.hpp"
#include "layers/batchnorm1d_kernels.hpp"

namespace mg::nn {
namespace {

using kernels::BnLayout;  // x seen as (N, C, L), row-major: (b, c, l) is at (b * C + c) * L + l

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
  const BnLayout s{x.size(0), x.size(1), x.rank() == 3 ? x.size(2) : 1};
  // Batch statistics in training (unless frozen), and always without running statistics.
  const bool batch_stats = (this->is_training() && !frozen_) || !options_.track_running_stats;
  if (batch_stats && s.n() == 1)
    fail<ShapeError>("{}", batch_of_one_message(x.shape(), this->is_training()));

  const int64_t C = s.C;
  const bool affine = options_.affine;
  // Parameters are read through const references: a non-const access counts as a write.
  const T* gamma = affine ? std::as_const(weight).data() : nullptr;  // (C) or none (1, 0)
  const T* beta = affine ? std::as_const(bias).data() : nullptr;
  // The autograd node's inputs: x, and gamma and beta when affine.
  const std::vector<BasicTensor<T>> inputs =
      affine ? std::vector<BasicTensor<T>>{x, weight, bias} : std::vector<BasicTensor<T>>{x};
  Saved saved{std::vector<double>(C), std::vector<double>(C)};
  BasicTensor<T> y = BasicTensor<T>::empty(x.shape());  // (N, C, L)
  // y = x_hat * gamma + beta = gamma * inv_std * (x - mean) + beta
  if (batch_stats) {
    // mean = sum(x) / n;  var = sum((x - mean)^2) / n   (biased: it normalises this batch)
    std::vector<double> m2(C);  // (C) sum((x - mean)^2)
    kernels::bn_forward_train_fast(x.data(), s, gamma, beta, options_.eps, saved.mean.data(),
                                   m2.data(), saved.inv_std.data(), y.data());
    if (this->is_training() && options_.track_running_stats) {
      // Anomaly mode refuses a NaN/Inf output; it must do so before the statistics take it in.
      if (is_anomaly_enabled()) check_finite_output("batch_norm", y, inputs);
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
  } else {
    for (int64_t c = 0; c < C; ++c) {
      saved.mean[c] = std::as_const(running_mean).data()[c];
      saved.inv_std[c] = kernels::inverse_std(std::as_const(running_var).data()[c], options_.eps);
    }
    kernels::bn_forward_eval_fast(x.data(), s, gamma, beta, saved.mean.data(), saved.inv_std.data(),
                                  y.data());
  }

  // ---- backward ----
  // Training (batch statistics), with x_hat = (x - mean) * inv_std and n = N * L:
  //   dbeta  = sum(dy)                 dgamma = sum(dy * x_hat)
  //   dx     = (gamma * inv_std / n) * (n * dy - sum(dy) - x_hat * sum(dy * x_hat))
  // The last two terms are the paths through mean and var: every x moves every output of its
  // channel. Written per element as dx = a * dy + b * (x - mean) + k with
  //   a = gamma * inv_std,  b = -a * inv_std^2 * sum(dy * (x - mean)) / n,  k = -a * sum(dy) / n.
  // Eval with running statistics: mean and var are constants, so b = k = 0: dx = dy * a.
  // Sums run over N (and L), accumulated in double (kernels::bn_backward_*).
  // x and gamma are read as this forward saw them: a SavedTensor checks that nothing wrote them
  // since (beta is not read; mean and inv_std are the node's own copies).
  std::optional<SavedTensor<T>> gamma_saved;
  if (affine) gamma_saved.emplace(weight);
  y.set_grad_fn("batch_norm", inputs,
                [saved = std::move(saved), x_saved = SavedTensor<T>(x),
                 gamma_saved = std::move(gamma_saved), s, batch_stats, affine](
                    const BasicTensor<T>& dy, std::span<const BasicTensor<T>> in) {
                  const int64_t C = s.C;
                  std::vector<double> sums(2 * C);  // (2, C): sum(dy), sum(dy * (x - mean))
                  double *sum_dy = sums.data(), *sum_dy_xc = sum_dy + C;
                  typename BasicTensor<T>::GradBuffer dx{nullptr, false};  // (N, C, L), or none
                  if (in[0].requires_grad()) dx = in[0].grad_buffer();
                  kernels::bn_backward_fast(
                      x_saved.get().data(), dy.data(), s,
                      affine ? gamma_saved->get().data() : nullptr,
                      {saved.mean.data(), saved.inv_std.data(), batch_stats, dx.accumulate}, sum_dy,
                      sum_dy_xc, dx.data);
                  if (affine && in[1].requires_grad()) {  // dgamma = sum(dy * x_hat)
                    T* dgamma = in[1].grad_flat().data();
                    for (int64_t c = 0; c < C; ++c) dgamma[c] += sum_dy_xc[c] * saved.inv_std[c];
                  }
                  if (affine && in[2].requires_grad()) {  // dbeta = sum(dy)
                    T* dbeta = in[2].grad_flat().data();
                    for (int64_t c = 0; c < C; ++c) dbeta[c] += sum_dy[c];
                  }
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
void BasicBatchNorm1d<T>::freeze(bool freeze_affine) {
  if (!options_.track_running_stats) {
    fail<std::logic_error>(
        "BatchNorm1d: freeze() expected running statistics to normalise with, got "
        "track_running_stats=false");
  }
  frozen_ = true;
  if (freeze_affine && options_.affine) {
    for (BasicTensor<T>* p : {&weight, &bias}) {
      p->set_requires_grad(false);
      p->clear_grad();
    }
  }
}

template <typename T>
void BasicBatchNorm1d<T>::unfreeze() {
  frozen_ = false;
  if (options_.affine) {
    weight.set_requires_grad(true);
    bias.set_requires_grad(true);
  }
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
