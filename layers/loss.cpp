// Losses. Legend: N = batch, K = classes.
#include "layers/loss.hpp"

#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "core/saved_tensor.hpp"
#include "core/summation.hpp"

namespace mg::nn {

template <typename T>
BasicTensor<T> mse_loss(const BasicTensor<T>& pred, const BasicTensor<T>& target) {
  require_defined("mse_loss", pred, "prediction");
  require_defined("mse_loss", target, "target");
  if (!(pred.shape() == target.shape())) {
    fail<ShapeError>("mse_loss: expected target of the same shape as pred {}, got {}", pred.shape(),
                     target.shape());
  }
  if (pred.numel() == 0)
    fail<ShapeError>("mse_loss: expected a non-empty input, got shape {}", pred.shape());
  // L = (1/n) sum_i (p_i - t_i)^2, the sum pairwise in double (core/summation.hpp).
  const T n = static_cast<T>(pred.numel());
  const T* p = pred.data();
  const T* t = target.data();
  const double squares = pairwise_sum(0, pred.numel(), [p, t](int64_t i) {
    const double d = p[i] - t[i];  // the difference rounded to T, as PyTorch's is
    return d * d;
  });
  BasicTensor<T> loss = BasicTensor<T>::empty(Shape{1});
  loss.data()[0] = static_cast<T>(squares / static_cast<double>(pred.numel()));
  // dL/dp_i = (2/n)(p_i - t_i),  dL/dt_i = -(2/n)(p_i - t_i); both read pred and target
  loss.set_grad_fn("mse_loss", {pred, target},
                   [n, p_saved = SavedTensor<T>(pred), t_saved = SavedTensor<T>(target)](
                       const BasicTensor<T>& dL, std::span<const BasicTensor<T>> in) {
                     const T scale = 2 * dL.item() / n;
                     const BasicTensor<T>& p = p_saved.get();
                     const BasicTensor<T>& t = t_saved.get();
                     if (in[0].requires_grad()) in[0].grad_flat() += scale * (p.flat() - t.flat());
                     if (in[1].requires_grad()) in[1].grad_flat() -= scale * (p.flat() - t.flat());
                   });
  return loss;
}

template <typename T>
BasicTensor<T> cross_entropy(const BasicTensor<T>& logits, std::span<const int64_t> targets) {
  require_defined("cross_entropy", logits, "logits");
  if (logits.rank() != 2 || logits.size(0) == 0) {
    fail<ShapeError>("cross_entropy: expected logits of shape (N, K) with N > 0, got {}",
                     logits.shape());
  }
  const int64_t N = logits.size(0), K = logits.size(1);
  if (K == 0) {
    fail<ShapeError>("cross_entropy: expected logits with at least one class (K > 0), got {}",
                     logits.shape());
  }
  if (static_cast<int64_t>(targets.size()) != N) {
    fail<ShapeError>("cross_entropy: expected {} targets for logits {}, got {}", N, logits.shape(),
                     targets.size());
  }
  for (int64_t i = 0; i < N; ++i) {
    if (targets[i] < 0 || targets[i] >= K) {
      fail<std::invalid_argument>("cross_entropy: expected targets in [0, {}), got {} at index {}",
                                  K, targets[i], i);
    }
  }
  // Per row: L_i = logsumexp(z_i) - z_i[t_i], with logsumexp(z) = m + log sum_k e^(z_k - m) and
  // m = max_k z_k, so no e^z overflows. L = (1/N) sum_i L_i.
  // The backward needs softmax(z_i) = e^(z_i - logsumexp(z_i)); it is kept, (N, K), because
  // recomputing it costs as much as the forward.
  BasicTensor<T> softmax = BasicTensor<T>::empty(logits.shape());  // (N, K)
  std::vector<int64_t> t(targets.begin(), targets.end());
  double total = 0;
  for (int64_t i = 0; i < N; ++i) {
    const T* z = logits.data() + i * K;
    T* p = softmax.data() + i * K;
    T m = z[0];
    for (int64_t k = 1; k < K; ++k) m = std::max(m, z[k]);
    double s = 0;  // sum_k e^(z_k - m), in double: K may be large
    for (int64_t k = 0; k < K; ++k) s += (p[k] = std::exp(z[k] - m));
    const double lse = m + std::log(s);
    for (int64_t k = 0; k < K; ++k) p[k] = static_cast<T>(p[k] / s);
    total += lse - z[t[i]];
  }
  BasicTensor<T> loss = BasicTensor<T>::empty(Shape{1});
  loss.data()[0] = static_cast<T>(total / static_cast<double>(N));
  // dL/dz_ik = (softmax(z_i)_k - [k == t_i]) / N. The logits are not read (nothing to check):
  // softmax is the node's own, and no one else can write it.
  loss.set_grad_fn(
      "cross_entropy", {logits},
      [softmax, t = std::move(t)](const BasicTensor<T>& dL, std::span<const BasicTensor<T>> in) {
        const int64_t N = softmax.size(0);
        const T scale = dL.item() / static_cast<T>(N);
        typename BasicTensor<T>::MatrixMap dz = in[0].grad_matrix();  // (N, K)
        dz += scale * softmax.matrix();
        for (int64_t i = 0; i < N; ++i) dz(i, t[i]) -= scale;
      });
  return loss;
}

template BasicTensor<float> mse_loss(const BasicTensor<float>&, const BasicTensor<float>&);
template BasicTensor<double> mse_loss(const BasicTensor<double>&, const BasicTensor<double>&);
template BasicTensor<float> cross_entropy(const BasicTensor<float>&, std::span<const int64_t>);
template BasicTensor<double> cross_entropy(const BasicTensor<double>&, std::span<const int64_t>);

}  // namespace mg::nn
