// BatchNorm1d: per-feature normalisation over a batch, with PyTorch 1.13's exact semantics.
//
//   training:  y = (x - mean_batch) / sqrt(var_batch + eps) * weight + bias
//   eval:      y = (x - running_mean) / sqrt(running_var + eps) * weight + bias
//
// Input (N, C) or (N, C, L); the statistics of channel c are taken over N (and L). Two variances
// meet here (docs/batchnorm.md, "Conventions"): the *biased* batch variance (divisor n = N*L)
// normalises, the *unbiased* one (divisor n - 1) feeds running_var. Momentum is PyTorch's:
// running = (1 - momentum) * running + momentum * batch, the opposite of Keras's convention.
//
// The forward and its hand-derived backward are one fused autograd node: the loops in
// batchnorm1d.cpp, which small inputs run, and the same arithmetic cache-blocked in
// batchnorm1d_fast.cpp for large ones (set_batchnorm1d_path below). Construction, buffers and
// freezing are in batchnorm1d_module.cpp. The same layer written two slower ways, as teaching
// material and test oracles, is in layers/batchnorm1d_reference.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "layers/module.hpp"

namespace mg::nn {

struct BatchNormOptions {
  double eps = 1e-5;  // added to the variance before the square root; >= 0
  // running = (1 - momentum) * running + momentum * batch, in [0, 1]. Empty: a cumulative
  // average, momentum = 1 / num_batches_tracked.
  std::optional<double> momentum = 0.1;
  bool affine = true;               // learnable weight (gamma) and bias (beta)
  bool track_running_stats = true;  // keep running_mean/var (and use them in eval())
};

template <typename T>
class BasicBatchNorm1d : public BasicModule<T> {
 public:
  explicit BasicBatchNorm1d(int64_t num_features, BatchNormOptions options = {});

  // x: (N, C) or (N, C, L) -> y of the same shape.
  BasicTensor<T> forward(const BasicTensor<T>& x) override;
  // "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)"
  std::string repr() const override;
  NamedTensors<T> own_parameters() override;         // weight, bias (when affine)
  std::vector<BufferRef<T>> own_buffers() override;  // running_mean, running_var,
                                                     // num_batches_tracked (when tracked)

  // running_mean = 0, running_var = 1, num_batches_tracked = 0 (nothing when not tracked).
  void reset_running_stats();
  // reset_running_stats(), then weight = 1 and bias = 0. Values change in place, so an
  // optimizer holding these tensors keeps working.
  void reset_parameters();

  // Frozen BatchNorm, for fine-tuning: normalise with running_mean/running_var and never update
  // them (nor num_batches_tracked), in train() as in eval(); a later train() on a parent does
  // not undo it. With freeze_affine, weight and bias also stop requiring grad (their .grad() is
  // dropped, so an optimizer skips them). unfreeze() undoes both. Needs track_running_stats.
  void freeze(bool freeze_affine = false);
  void unfreeze();
  bool is_frozen() const { return frozen_; }

  int64_t num_features() const { return num_features_; }
  const BatchNormOptions& options() const { return options_; }

  BasicTensor<T> weight;            // (C) gamma, ones; undefined unless affine
  BasicTensor<T> bias;              // (C) beta, zeros; undefined unless affine
  BasicTensor<T> running_mean;      // (C) zeros; undefined unless track_running_stats
  BasicTensor<T> running_var;       // (C) ones; undefined unless track_running_stats
  int64_t num_batches_tracked = 0;  // training forwards seen (int64, as in PyTorch)

 private:
  // Throws, naming what was expected and what came, unless x is (N, C) or (N, C, L) with
  // C = num_features, and with batch statistics a non-empty batch with more than one value per
  // channel (with the running statistics, an empty batch gives an empty output).
  void check_input(const BasicTensor<T>& x, bool batch_stats) const;
  // running = (1 - momentum) * running + momentum * batch, with the unbiased batch variance.
  void update_running_stats(const std::vector<double>& mean, const std::vector<double>& var,
                            int64_t n);

  int64_t num_features_;
  BatchNormOptions options_;
  bool frozen_ = false;
};

// Which loops BatchNorm1d runs. by_size, the default, is the rule: the plain loops of
// batchnorm1d.cpp below a measured number of elements, the fast path of batchnorm1d_fast.cpp
// above (docs/batchnorm.md, "Two paths"). Tests and the threshold measurement force one path to
// compare the two. The choice is read when a forward starts; its backward takes the same path.
enum class BatchNormPath { by_size, plain, fast };
void set_batchnorm1d_path(BatchNormPath path);

extern template class BasicBatchNorm1d<float>;
extern template class BasicBatchNorm1d<double>;
using BatchNorm1d = BasicBatchNorm1d<float>;

}  // namespace mg::nn
