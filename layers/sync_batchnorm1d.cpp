// SyncBatchNorm1d: the forward over P processes, and the hand-derived backward right below it.
// The whole derivation is in docs/distributed.md; BatchNorm1d's own is in docs/batchnorm.md.
//
// Legend: N = this process's batch, C = features (channels), L = length (1 for (N, C) input),
//         P = processes, n_r = N_r * L values per channel on rank r, n = sum of n_r (the whole
//         batch), c = a channel, i = an element of x in memory order.
#include "layers/sync_batchnorm1d.hpp"

#include <memory>
#include <optional>
#include <stdexcept>
#include <typeinfo>
#include <utility>
#include <vector>

#include "core/autograd.hpp"
#include "core/distributed.hpp"
#include "core/error.hpp"
#include "core/saved_tensor.hpp"
#include "layers/batchnorm1d_fast.hpp"
#include "layers/sequential.hpp"

namespace mg::nn {
namespace {

using batchnorm1d_fast::Layout;  // x seen as (N, C, L), row-major: (b, c, l) at (b * C + c) * L + l

// One rank's per-channel statistics, and what they merge into.
struct Moments {
  double count = 0;          // values per channel: n_r (a rank), or n (merged)
  std::vector<double> mean;  // (C)
  std::vector<double> m2;    // (C) sum((x - mean)^2)
};

// This rank's statistics, in double: the mean, then the squared deviations from it (two passes,
// so that no cancellation loses digits). An empty slice has count 0 and zeros.
template <typename T>
Moments local_moments(const T* x, Layout s) {
  Moments m{static_cast<double>(s.n()), std::vector<double>(s.C), std::vector<double>(s.C)};
  if (s.n() == 0) return m;
  for (int64_t i = 0; i < s.numel(); ++i) m.mean[i / s.L % s.C] += x[i];
  for (int64_t c = 0; c < s.C; ++c) m.mean[c] /= m.count;
  for (int64_t i = 0; i < s.numel(); ++i) {
    const double d = x[i] - m.mean[i / s.L % s.C];
    m.m2[i / s.L % s.C] += d * d;
  }
  return m;
}

// Chan, Golub and LeVeque's pairwise merge: the (count, mean, M2) of a batch made of two parts,
// exactly, from each part's own. With delta = mean_b - mean_a:
//   count = n_a + n_b,  mean = mean_a + delta * n_b / count,
//   M2 = M2_a + M2_b + delta^2 * n_a * n_b / count.
// Every rank merges the same numbers in rank order, so all get bit-identical statistics.
void merge_into(Moments& a, double nb, const double* mean_b, const double* m2_b) {
  if (nb == 0) return;
  const double n = a.count + nb;
  for (std::size_t c = 0; c < a.mean.size(); ++c) {
    const double delta = mean_b[c] - a.mean[c];
    a.mean[c] += delta * nb / n;
    a.m2[c] += m2_b[c] + delta * delta * a.count * nb / n;
  }
  a.count = n;
}

// Sends this rank's statistics to all (one all_gather of [ok, n_r, mean (C), M2 (C)]) and merges
// them. A rank whose input was refused sends [0] instead, so that every rank stops together.
Moments gather_moments(const Moments& mine, const std::string& refusal, int64_t C) {
  std::vector<double> packet = {1.0, mine.count};
  if (refusal.empty()) {
    packet.insert(packet.end(), mine.mean.begin(), mine.mean.end());
    packet.insert(packet.end(), mine.m2.begin(), mine.m2.end());
  } else {
    packet = {0.0};
  }
  std::vector<int64_t> sizes;
  const std::vector<double> all = dist::all_gather(std::span<const double>(packet), &sizes);
  if (!refusal.empty()) throw ShapeError(refusal);
  Moments whole{0, std::vector<double>(C), std::vector<double>(C)};
  const double* p = all.data();
  for (std::size_t r = 0; r < sizes.size(); p += sizes[r], ++r) {
    if (p[0] == 0) {
      fail<std::runtime_error>(
          "SyncBatchNorm1d: rank {} refused its input (its own error says why), so rank {} "
          "stops too",
          r, dist::rank());
    }
    if (sizes[r] != 2 + 2 * C) {
      fail<std::invalid_argument>(
          "SyncBatchNorm1d: expected {} features on every rank, got {} on rank {}", C,
          (sizes[r] - 2) / 2, r);
    }
    merge_into(whole, p[1], p + 2, p + 2 + C);
  }
  return whole;
}

// What the backward needs, [C] each, in double (as BatchNorm1d's).
struct Saved {
  std::vector<double> mean;     // (C) the whole batch's mean
  std::vector<double> inv_std;  // (C) 1 / sqrt(var + eps), var the whole batch's biased variance
  double n;                     // values per channel in the whole batch
};

}  // namespace

template <typename T>
BasicTensor<T> BasicSyncBatchNorm1d<T>::forward(const BasicTensor<T>& x) {
  require_defined("SyncBatchNorm1d", x);
  // PyTorch synchronises only a training forward with batch statistics, and only when there is
  // someone to synchronise with; everything else is BatchNorm1d.
  if (!this->is_training() || this->is_frozen() || dist::world_size() == 1)
    return BasicBatchNorm1d<T>::forward(x);

  // ---- checks: a refused input is announced to every rank before anyone throws ----
  const int64_t C = this->num_features();
  std::string refusal;
  if (x.rank() != 2 && x.rank() != 3) {
    refusal = fmt::format("SyncBatchNorm1d: expected 2D or 3D input (got {}D input)", x.rank());
  } else if (x.size(1) != C) {
    refusal = fmt::format("SyncBatchNorm1d: expected input with {} features, got {}", C, x.shape());
  }
  const Layout s =
      refusal.empty() ? Layout{x.size(0), C, x.rank() == 3 ? x.size(2) : 1} : Layout{0, C, 1};
  // ---- the whole batch's statistics: local moments, gathered and merged ----
  const Moments whole = gather_moments(local_moments(x.data(), s), refusal, C);
  if (whole.count == 0) {
    fail<ShapeError>(
        "SyncBatchNorm1d: expected a non-empty batch on at least one rank, got no values on any "
        "of the {} ranks (input of shape {} here)",
        dist::world_size(), x.shape());
  }
  if (whole.count == 1) {
    fail<ShapeError>(
        "SyncBatchNorm1d: expected more than 1 value per channel to compute batch statistics, "
        "got 1 over all {} ranks (input of shape {} here): a single value has no variance. Use "
        "a larger batch, or call eval() to normalise with the tracked running statistics",
        dist::world_size(), x.shape());
  }
  const BatchNormOptions& options = this->options();
  Saved saved{whole.mean, std::vector<double>(C), whole.count};
  for (int64_t c = 0; c < C; ++c)  // var = M2 / n, biased: it normalises this batch
    saved.inv_std[c] = batchnorm1d_fast::inverse_std(whole.m2[c] / whole.count, options.eps);

  // y = gamma * inv_std * (x - mean) + beta, with the whole batch's mean and inv_std.
  const bool affine = options.affine;
  // Parameters are read through const references: a non-const access counts as a write.
  const T* gamma = affine ? std::as_const(this->weight).data() : nullptr;  // (C) or none
  const T* beta = affine ? std::as_const(this->bias).data() : nullptr;
  const std::vector<BasicTensor<T>> inputs =
      affine ? std::vector<BasicTensor<T>>{x, this->weight, this->bias}
             : std::vector<BasicTensor<T>>{x};
  BasicTensor<T> y = BasicTensor<T>::empty(x.shape());  // (N, C, L)
  // BatchNorm1d's fast kernels, in T, where their arithmetic holds for these statistics; data
  // near T's limits (batchnorm1d_fast.hpp, fast_path_holds) are taken element by element in double.
  const bool fast =
      batchnorm1d_fast::fast_path_holds<T>(saved.mean.data(), saved.inv_std.data(), gamma, C);
  if (fast) {
    batchnorm1d_fast::forward_eval(x.data(), s, gamma, beta, saved.mean.data(),
                                   saved.inv_std.data(), y.data());
  } else {
    for (int64_t i = 0; i < s.numel(); ++i) {
      const int64_t c = i / s.L % C;
      y.data()[i] = static_cast<T>((gamma ? gamma[c] : 1.0) * saved.inv_std[c] *
                                       (x.data()[i] - saved.mean[c]) +
                                   (beta ? beta[c] : 0.0));
    }
  }

  if (options.track_running_stats) {
    // Anomaly mode refuses a NaN/Inf output before the statistics take it in, on every rank.
    if (is_anomaly_enabled()) {
      double ranks_with_nan[1] = {y.flat().isFinite().all() ? 0.0 : 1.0};
      dist::all_reduce_sum(std::span<double>(ranks_with_nan));
      check_finite_output("sync_batch_norm", y, inputs);  // throws on the rank that has one
      if (ranks_with_nan[0] > 0)
        fail<AnomalyError>("anomaly: 'sync_batch_norm' produced NaN or Inf on another rank");
    }
    // running = (1 - m) * running + m * batch, with the whole batch's *unbiased* variance
    // M2 / (n - 1): the same numbers on every rank.
    ++this->num_batches_tracked;
    const double m =
        options.momentum ? *options.momentum : 1.0 / static_cast<double>(this->num_batches_tracked);
    T* rm = this->running_mean.data();
    T* rv = this->running_var.data();
    for (int64_t c = 0; c < C; ++c) {
      rm[c] = static_cast<T>((1 - m) * rm[c] + m * whole.mean[c]);
      rv[c] = static_cast<T>((1 - m) * rv[c] + m * whole.m2[c] / (whole.count - 1));
    }
  }

  // ---- backward ----
  // BatchNorm1d's backward over the whole batch (docs/batchnorm.md), with x_hat = (x - mean) *
  // inv_std and n the whole batch's count:
  //   dx = (gamma * inv_std / n) * (n * dy - sum(dy) - x_hat * sum(dy * x_hat))
  // The two sums run over the whole batch, i.e. over every rank: each rank sums its own slice,
  // one all_reduce_sum adds the slices' sums, and each rank forms dx for its own rows, as
  //   dx = a * dy + b * (x - mean) + k,   a = gamma * inv_std,
  //   b = -a * inv_std * sum(dy * x_hat) / n,   k = -a * sum(dy) / n.
  // dgamma = sum(dy * x_hat) and dbeta = sum(dy) stay this rank's own sums: average_gradients
  // (or the caller) combines them across ranks like every other parameter's gradient.
  // Every rank must run this backward (it takes part in a collective) when x needs a gradient.
  // x and gamma are read as this forward saw them: a SavedTensor checks nothing wrote them since.
  std::optional<SavedTensor<T>> gamma_saved;
  if (affine) gamma_saved.emplace(this->weight);
  y.set_grad_fn(
      "sync_batch_norm", inputs,
      [saved = std::move(saved), x_saved = SavedTensor<T>(x), gamma_saved = std::move(gamma_saved),
       s, affine, fast](const BasicTensor<T>& dy, std::span<const BasicTensor<T>> in) {
        const int64_t C = s.C;
        const T* x = x_saved.get().data();                              // (N, C, L)
        const T* gamma = affine ? gamma_saved->get().data() : nullptr;  // (C)
        std::vector<double> local(2 * C);  // (2, C): this rank's sum(dy), sum(dy * x_hat)
        if (fast) {
          batchnorm1d_fast::backward(x, dy.data(), s, gamma,
                                     {saved.mean.data(), saved.inv_std.data(), true, false},
                                     local.data(), local.data() + C, static_cast<T*>(nullptr));
        } else {  // as the forward: in double
          for (int64_t i = 0; i < s.numel(); ++i) {
            const int64_t c = i / s.L % C;
            local[c] += dy.data()[i];
            local[C + c] += dy.data()[i] * (x[i] - saved.mean[c]) * saved.inv_std[c];
          }
        }
        if (in[0].requires_grad()) {
          std::vector<double> whole = local;  // (2, C): the same sums over the whole batch
          dist::all_reduce_sum(std::span<double>(whole));
          const double* sum_dy = whole.data();
          const double* sum_dy_x_hat = whole.data() + C;
          std::vector<double> a(C), b(C), k(C);  // (C) each: dx = a * dy + b * (x - mean) + k
          for (int64_t c = 0; c < C; ++c) {
            const double inv = saved.inv_std[c];
            a[c] = (affine ? gamma[c] : 1.0) * inv;
            b[c] = -a[c] * inv * sum_dy_x_hat[c] / saved.n;
            k[c] = -a[c] * sum_dy[c] / saved.n;
          }
          T* dx = in[0].grad_flat().data();  // (N, C, L)
          for (int64_t i = 0; i < s.numel(); ++i) {
            const int64_t c = i / s.L % C;
            dx[i] += static_cast<T>(a[c] * dy.data()[i] + b[c] * (x[i] - saved.mean[c]) + k[c]);
          }
        }
        if (affine && in[1].requires_grad()) {  // dgamma = sum(dy * x_hat), this rank's rows
          T* dgamma = in[1].grad_flat().data();
          for (int64_t c = 0; c < C; ++c) dgamma[c] += local[C + c];
        }
        if (affine && in[2].requires_grad()) {  // dbeta = sum(dy), this rank's rows
          T* dbeta = in[2].grad_flat().data();
          for (int64_t c = 0; c < C; ++c) dbeta[c] += local[c];
        }
      });
  return y;
}

template <typename T>
std::string BasicSyncBatchNorm1d<T>::repr() const {
  const BatchNormOptions& o = this->options();
  return fmt::format("SyncBatchNorm1d({}, eps={}, momentum={}, affine={}, track_running_stats={})",
                     this->num_features(), o.eps,
                     o.momentum ? fmt::format("{}", *o.momentum) : "None", o.affine,
                     o.track_running_stats);
}

// ---- convert_sync_batchnorm ----

template <typename T>
int convert_sync_batchnorm(BasicModule<T>& model) {
  using BN = BasicBatchNorm1d<T>;
  const auto is_plain_bn = [](BasicModule<T>& m) { return typeid(m) == typeid(BN); };
  if (is_plain_bn(model)) {
    fail<std::invalid_argument>(
        "convert_sync_batchnorm: expected a model that holds BatchNorm1d layers, got a "
        "BatchNorm1d itself (construct a SyncBatchNorm1d instead)");
  }
  // 1. Find every BatchNorm1d, and refuse before changing anything if one cannot be replaced.
  std::vector<std::pair<BasicSequential<T>*, std::size_t>> found;
  const auto visit = [&](auto& self, BasicModule<T>& m, const std::string& prefix) -> void {
    auto* seq = dynamic_cast<BasicSequential<T>*>(&m);
    std::size_t i = 0;
    for (auto& [name, child] : m.children()) {
      std::string path = prefix;
      if (!path.empty()) path += ".";
      path += name;
      if (is_plain_bn(*child)) {
        if (!seq) {
          fail<std::invalid_argument>(
              "convert_sync_batchnorm: expected every BatchNorm1d inside a Sequential, got '{}' "
              "held by a {} that cannot swap it; construct it as a SyncBatchNorm1d there",
              path, m.repr().substr(0, m.repr().find('(')));
        }
        found.emplace_back(seq, i);
      } else {
        self(self, *child, path);
      }
      ++i;
    }
  };
  visit(visit, model, "");
  // 2. Replace each by a SyncBatchNorm1d that shares its tensors and carries its state.
  for (auto [seq, i] : found) {
    auto& bn = dynamic_cast<BN&>((*seq)[i]);
    auto sync = std::make_unique<BasicSyncBatchNorm1d<T>>(bn.num_features(), bn.options());
    sync->weight = bn.weight;
    sync->bias = bn.bias;
    sync->running_mean = bn.running_mean;
    sync->running_var = bn.running_var;
    sync->num_batches_tracked = bn.num_batches_tracked;
    sync->train(bn.is_training());
    if (bn.is_frozen()) sync->freeze();  // keeps weight/bias's requires_grad as they are
    seq->replace(i, std::move(sync));
  }
  return static_cast<int>(found.size());
}

template class BasicSyncBatchNorm1d<float>;
template class BasicSyncBatchNorm1d<double>;
template int convert_sync_batchnorm(BasicModule<float>&);
template int convert_sync_batchnorm(BasicModule<double>&);

}  // namespace mg::nn
