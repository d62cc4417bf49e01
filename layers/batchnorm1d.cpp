// BatchNorm1d: the forward's loops, then the hand-derived backward's loops right below them, as
// docs/batchnorm.md derives them (same names, same step numbers). These plain loops are what
// small inputs run, `make demo`'s included. Above a measured size the same arithmetic runs
// cache-blocked and multithreaded in layers/batchnorm1d_fast.cpp, chosen in one place
// (`choose_loops`); tests/test_batchnorm1d_paths.cpp proves the two paths equal.
//
// Legend: N = batch, C = features (channels), L = length (L = 1 for (N, C) input),
//         n = N * L values per channel, b = a sample, c = a channel, l = a position;
//         element (b, c, l) of x is x[(b * C + c) * L + l]. mean = mu, var = sigma^2,
//         inv_std = s = 1 / sqrt(var + eps), x_hat = (x - mean) * s, gamma = weight, beta = bias.
#include "layers/batchnorm1d.hpp"

#include <algorithm>
#include <atomic>
#include <optional>
#include <utility>
#include <vector>

#include "core/autograd.hpp"
#include "core/error.hpp"
#include "core/saved_tensor.hpp"
#include "layers/batchnorm1d_fast.hpp"
#include "layers/batchnorm1d_walk.hpp"

namespace mg::nn {
namespace {

using batchnorm1d_fast::BackwardArgs;
using batchnorm1d_fast::inverse_std;
using batchnorm1d_fast::Layout;            // x seen as (N, C, L)
using batchnorm1d_walk::for_each_element;  // f(i, c) for every element i, c its channel
using batchnorm1d_walk::sum_per_channel;   // sums[k][c] += terms[k](i, c) over channel c

// ---- forward: docs/batchnorm.md, sections 1 and 2 ----

// Steps 7 and 8, with mean and s per channel (the batch's, or the running ones in eval):
//   x_hat = (x - mean) * s,   y = gamma * x_hat + beta   (gamma = 1, beta = 0 without affine)
template <typename T>
void forward_eval_plain(const T* x, Layout s, const T* gamma, const T* beta, const double* mean,
                        const double* inv_std, T* y) {
  if (!gamma) {
    for_each_element(s, [=](int64_t i, int64_t c) {
      y[i] = static_cast<T>((x[i] - mean[c]) * inv_std[c]);  // y = x_hat
    });
    return;
  }
  for_each_element(s, [=](int64_t i, int64_t c) {
    const double x_hat = (x[i] - mean[c]) * inv_std[c];
    y[i] = static_cast<T>(gamma[c] * x_hat + beta[c]);
  });
}

// Steps 1 to 8 with the batch's statistics; every sum in double. Two passes: the one-pass
// E[x^2] - E[x]^2 cancels when |mean| >> std (docs/batchnorm.md, section 7).
template <typename T>
void forward_train_plain(const T* x, Layout s, const T* gamma, const T* beta, double eps,
                         double* mean, double* var, double* inv_std, T* y) {
  const double n = static_cast<double>(s.n());
  std::fill_n(mean, s.C, 0.0);
  std::fill_n(var, s.C, 0.0);
  // step 1: mean = sum(x) / n
  sum_per_channel(s, {mean}, [=](int64_t i, int64_t) { return double(x[i]); });
  for (int64_t c = 0; c < s.C; ++c) mean[c] /= n;
  // steps 2-4: centred = x - mean,  var = sum(centred^2) / n   (biased: it normalises the batch)
  sum_per_channel(s, {var}, [=](int64_t i, int64_t c) {
    const double centred = x[i] - mean[c];
    return centred * centred;
  });
  for (int64_t c = 0; c < s.C; ++c) {
    var[c] /= n;
    inv_std[c] = inverse_std(var[c], eps);  // steps 5-6: s = 1 / sqrt(var + eps)
  }
  forward_eval_plain(x, s, gamma, beta, mean, inv_std, y);  // steps 7-8
}

// ---- backward: docs/batchnorm.md, sections 2 and 3 ----

// Given dy, per channel (step 8, then steps 7 to 1 substituted into the boxed closed form):
//   dbeta = sum(dy)    dgamma = sum(dy * x_hat)
//   dx    = (gamma * s / n) * (n * dy  -  sum(dy)  -  x_hat * sum(dy * x_hat))
//                              direct    via mean    via var
// Every x moves every output of its channel through the mean and the variance; in eval with
// running statistics those are constants, and only the direct term is left: dx = gamma s dy.
// x_hat is recomputed from x: saving it would cost a buffer as large as x.
template <typename T>
void backward_plain(const T* x, const T* dy, Layout s, const T* gamma, BackwardArgs saved,
                    double* sum_dy, double* sum_dy_x_hat, T* dx) {
  const double n = static_cast<double>(s.n());
  const double* mean = saved.mean;  // (C) each
  const double* inv_std = saved.inv_std;
  std::fill_n(sum_dy, s.C, 0.0);
  std::fill_n(sum_dy_x_hat, s.C, 0.0);
  sum_per_channel(
      s, {sum_dy, sum_dy_x_hat}, [=](int64_t i, int64_t) { return double(dy[i]); },
      [=](int64_t i, int64_t c) {
        const double x_hat = (x[i] - mean[c]) * inv_std[c];
        return dy[i] * x_hat;
      });
  if (!dx) return;  // x needs no gradient: the sums were for dgamma and dbeta
  std::vector<double> gamma_s_over_n(s.C);  // (C)
  for (int64_t c = 0; c < s.C; ++c) gamma_s_over_n[c] = (gamma ? gamma[c] : 1.0) * inv_std[c] / n;
  const double* scale = gamma_s_over_n.data();
  const bool accumulate = saved.accumulate;
  if (saved.batch_stats) {
    for_each_element(s, [=](int64_t i, int64_t c) {
      const double x_hat = (x[i] - mean[c]) * inv_std[c];
      const double direct = n * dy[i];
      const double via_mean = sum_dy[c];
      const double via_var = x_hat * sum_dy_x_hat[c];
      const T dx_i = static_cast<T>(scale[c] * (direct - via_mean - via_var));
      dx[i] = accumulate ? dx[i] + dx_i : dx_i;  // grad_buffer()'s rule (docs/architecture.md)
    });
  } else {  // eval with running statistics: mean and var are constants, only the direct term
    for_each_element(s, [=](int64_t i, int64_t c) {
      const T dx_i = static_cast<T>(scale[c] * n * dy[i]);
      dx[i] = accumulate ? dx[i] + dx_i : dx_i;
    });
  }
}

// ---- which loops run: the one dispatch ----

// The loops of one forward and its backward: the plain ones above, or the fast path's.
template <typename T>
struct Loops {
  decltype(&forward_train_plain<T>) forward_train;
  decltype(&forward_eval_plain<T>) forward_eval;
  decltype(&backward_plain<T>) backward;
};
template <typename T>
constexpr Loops<T> kPlainLoops{forward_train_plain<T>, forward_eval_plain<T>, backward_plain<T>};

// Below this many elements the plain loops cost under 1 µs more per call than the fast path
// (at 32x10 they are faster: no per-thread scratch, no chunking, no team to start), and they are
// what a reader steps through: make bench's 32x10 and make demo's training batches (32x64). From
// here on the fast path's float SIMD, 16 values per AVX-512 operation against the plain loops' 8
// doubles, wins by 1.4x and more. Measured with `build/release/bench/bench_minigrad --paths`
// (docs/batchnorm.md, "Two paths").
constexpr int64_t kFastPathElements = int64_t{1} << 12;  // 4096 values: 16 KiB of float

std::atomic<BatchNormPath> forced_path{BatchNormPath::by_size};

template <typename T>
Loops<T> choose_loops(Layout s) {
  const BatchNormPath path = forced_path.load(std::memory_order_relaxed);
  const bool fast =
      path == BatchNormPath::by_size ? s.numel() >= kFastPathElements : path == BatchNormPath::fast;
  if (fast) {
    return {batchnorm1d_fast::forward_train<T>, batchnorm1d_fast::forward_eval<T>,
            batchnorm1d_fast::backward<T>};
  }
  return kPlainLoops<T>;
}

// Data near T's limits: where the fast path's statistics fail fast_path_holds (|mean| above
// 2^103, std outside about 1e-15 to 1e15 in float, gamma inv_std beyond float's normal range,
// a NaN or infinite mean), the plain loops, in double, compute them again (in training), write
// y again and take the backward. Returns the loops that hold for these statistics.
template <typename T>
Loops<T> plain_where_fast_fails(Loops<T> loops, const T* x, Layout s, const T* gamma, const T* beta,
                                double eps, double* mean, double* var, double* inv_std, T* y) {
  if (loops.backward == backward_plain<T> ||
      batchnorm1d_fast::fast_path_holds<T>(mean, inv_std, gamma, s.C))
    return loops;
  if (var) {
    forward_train_plain(x, s, gamma, beta, eps, mean, var, inv_std, y);
  } else {
    forward_eval_plain(x, s, gamma, beta, mean, inv_std, y);
  }
  return kPlainLoops<T>;
}

// What the backward needs, saved by the forward and read by name. x_hat is not saved (see
// backward_plain). x and gamma are SavedTensors: reading them checks that nothing wrote them
// since the forward (beta is not read; mean and inv_std are the node's own copies).
template <typename T>
struct Saved {
  SavedTensor<T> x;                     // (N, C, L)
  std::optional<SavedTensor<T>> gamma;  // (C), when affine
  std::vector<double> mean;             // (C) batch mean, or running_mean in eval
  std::vector<double> inv_std;  // (C) s = 1 / sqrt(var + eps), var biased batch or running_var
  Layout s;
  bool batch_stats;  // mean and var came from this batch: the paths through them exist
  bool affine;       // the node's inputs are {x, gamma, beta}; otherwise {x}
  Loops<T> loops;    // the forward's path, so the backward takes the same one
};

template <typename T>
void batch_norm_backward(const Saved<T>& saved, const BasicTensor<T>& dy,
                         std::span<const BasicTensor<T>> in);

}  // namespace

void set_batchnorm1d_path(BatchNormPath path) {
  forced_path.store(path, std::memory_order_relaxed);
}

template <typename T>
BasicTensor<T> BasicBatchNorm1d<T>::forward(const BasicTensor<T>& x) {
  require_defined("BatchNorm1d", x);
  // Batch statistics in training (unless frozen), and always without running statistics.
  const bool batch_stats = (this->is_training() && !frozen_) || !options_.track_running_stats;
  check_input(x, batch_stats);  // every check comes before any state changes
  const Layout s{x.size(0), x.size(1), x.rank() == 3 ? x.size(2) : 1};

  const bool affine = options_.affine;
  // Read through const references: a non-const access counts as a write.
  const T* gamma = affine ? std::as_const(weight).data() : nullptr;  // (C), or none: 1, 0
  const T* beta = affine ? std::as_const(bias).data() : nullptr;     // (C)
  const bool record = affine ? records_graph(x, weight, bias) : records_graph(x);
  const auto inputs = [&] {  // the node's: x, and gamma and beta when affine
    return affine ? std::vector<BasicTensor<T>>{x, weight, bias} : std::vector<BasicTensor<T>>{x};
  };
  Loops<T> loops = choose_loops<T>(s);
  std::vector<double> mean(s.C);                        // (C) batch mean, or running_mean in eval
  std::vector<double> inv_std(s.C);                     // (C) s = 1 / sqrt(var + eps)
  std::vector<double> var(batch_stats ? s.C : 0);       // (C) biased: it normalises this batch
  BasicTensor<T> y = BasicTensor<T>::empty(x.shape());  // (N, C, L)
  if (batch_stats) {
    loops.forward_train(x.data(), s, gamma, beta, options_.eps, mean.data(), var.data(),
                        inv_std.data(), y.data());
  } else {
    for (int64_t c = 0; c < s.C; ++c) {
      mean[c] = std::as_const(running_mean).data()[c];
      inv_std[c] = inverse_std(std::as_const(running_var).data()[c], options_.eps);
    }
    loops.forward_eval(x.data(), s, gamma, beta, mean.data(), inv_std.data(), y.data());
  }
  loops = plain_where_fast_fails(loops, x.data(), s, gamma, beta, options_.eps, mean.data(),
                                 batch_stats ? var.data() : nullptr, inv_std.data(), y.data());
  if (batch_stats && this->is_training() && options_.track_running_stats) {
    // Anomaly mode refuses a NaN/Inf output; it must do so before the statistics take it in.
    if (is_anomaly_enabled()) check_finite_output("batch_norm", y, inputs());
    update_running_stats(mean, var, s.n());
  }
  if (!record) {  // no node (under NoGradGuard, say): nothing to save
    if (is_anomaly_enabled()) check_finite_output("batch_norm", y, inputs());
    return y;
  }
  Saved<T> saved{.x = SavedTensor<T>(x),
                 .gamma = affine ? std::optional(SavedTensor<T>(weight)) : std::nullopt,
                 .mean = std::move(mean),
                 .inv_std = std::move(inv_std),
                 .s = s,
                 .batch_stats = batch_stats,
                 .affine = affine,
                 .loops = loops};
  y.set_grad_fn(
      "batch_norm", inputs(),
      [saved = std::move(saved)](const BasicTensor<T>& dy, std::span<const BasicTensor<T>> in) {
        batch_norm_backward(saved, dy, in);
      });
  return y;
}

namespace {

// The node's backward: the loops (backward_plain, or the fast path's) give the two sums and dx;
// dgamma and dbeta are those sums. Every gradient follows the rule of docs/architecture.md:
// added into the buffer, or written into a fresh one that grad_buffer() says holds nothing.
template <typename T>
void batch_norm_backward(const Saved<T>& saved, const BasicTensor<T>& dy,
                         std::span<const BasicTensor<T>> in) {
  const BasicTensor<T>& x = in[0];
  const int64_t C = saved.s.C;
  std::vector<double> sums(2 * C);  // (2, C): sum(dy) = dbeta, sum(dy * x_hat) = dgamma
  double* sum_dy = sums.data();
  double* sum_dy_x_hat = sums.data() + C;
  typename BasicTensor<T>::GradBuffer dx{nullptr, false};  // (N, C, L), or none
  if (x.requires_grad()) dx = x.grad_buffer();
  const T* gamma = saved.affine ? saved.gamma->get().data() : nullptr;
  saved.loops.backward(saved.x.get().data(), dy.data(), saved.s, gamma,
                       {saved.mean.data(), saved.inv_std.data(), saved.batch_stats, dx.accumulate},
                       sum_dy, sum_dy_x_hat, dx.data);
  if (saved.affine && in[1].requires_grad()) {  // dgamma = sum(dy * x_hat)
    T* dgamma = in[1].grad_flat().data();
    for (int64_t c = 0; c < C; ++c) dgamma[c] += static_cast<T>(sum_dy_x_hat[c]);
  }
  if (saved.affine && in[2].requires_grad()) {  // dbeta = sum(dy)
    T* dbeta = in[2].grad_flat().data();
    for (int64_t c = 0; c < C; ++c) dbeta[c] += static_cast<T>(sum_dy[c]);
  }
}

}  // namespace

// running = (1 - m) * running + m * batch: PyTorch's momentum is the weight of the new batch.
// running_var takes the *unbiased* variance var * n / (n - 1), while the biased one normalised
// the batch (docs/batchnorm.md, "Conventions"). In double, so an unbiased variance that float
// can hold does not overflow on the way.
template <typename T>
void BasicBatchNorm1d<T>::update_running_stats(const std::vector<double>& mean,
                                               const std::vector<double>& var, int64_t n) {
  ++num_batches_tracked;  // also under NoGradGuard: only eval() and freeze() stop it
  const double m = options_.momentum ? *options_.momentum : 1.0 / num_batches_tracked;
  const double bessel = static_cast<double>(n) / static_cast<double>(n - 1);
  T* rm = running_mean.data();
  T* rv = running_var.data();
  for (size_t c = 0; c < mean.size(); ++c) {
    rm[c] = static_cast<T>((1 - m) * rm[c] + m * mean[c]);
    rv[c] = static_cast<T>((1 - m) * rv[c] + m * var[c] * bessel);
  }
}

template BasicTensor<float> BasicBatchNorm1d<float>::forward(const BasicTensor<float>&);
template BasicTensor<double> BasicBatchNorm1d<double>::forward(const BasicTensor<double>&);
template void BasicBatchNorm1d<float>::update_running_stats(const std::vector<double>&,
                                                            const std::vector<double>&, int64_t);
template void BasicBatchNorm1d<double>::update_running_stats(const std::vector<double>&,
                                                             const std::vector<double>&, int64_t);

}  // namespace mg::nn
