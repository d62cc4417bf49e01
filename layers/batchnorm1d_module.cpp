// BatchNorm1d's bookkeeping: construction and option checks, parameters and buffers, resets,
// freezing and printing. The math (forward and backward) is in batchnorm1d.cpp.
#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "core/error.hpp"
#include "layers/batchnorm1d.hpp"

namespace mg::nn {
namespace {

std::string batch_of_one_message(const Shape& shape, bool training, bool affine) {
  // One value per channel: x - mean = 0, so y = gamma * 0 + beta whatever the input.
  std::string why = fmt::format(
      "BatchNorm1d: expected more than 1 value per channel to compute batch statistics, got "
      "input of shape {} (N * L = 1): a single value has no variance, so every output would be "
      "{}. ",
      shape, affine ? "the bias (beta), whatever the input" : "0");
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
void BasicBatchNorm1d<T>::check_input(const BasicTensor<T>& x, bool batch_stats) const {
  if (x.rank() != 2 && x.rank() != 3)
    fail<ShapeError>("BatchNorm1d: expected 2D or 3D input (got {}D input)", x.rank());
  if (x.size(1) != num_features_)
    fail<ShapeError>("BatchNorm1d: expected input with {} features, got {}", num_features_,
                     x.shape());
  // Batch statistics of no values do not exist; the running statistics normalise an empty batch
  // to an empty output, as in PyTorch (a data-parallel evaluation may hand a process no rows).
  if (batch_stats && x.numel() == 0)
    fail<ShapeError>("BatchNorm1d: expected a non-empty batch, got input of shape {}", x.shape());
  const int64_t values_per_channel = x.size(0) * (x.rank() == 3 ? x.size(2) : 1);
  if (batch_stats && values_per_channel == 1)
    fail<ShapeError>("{}", batch_of_one_message(x.shape(), this->is_training(), options_.affine));
  // With eps = 0, a running variance of 0 divides by zero (PyTorch 1.13 returns NaN there).
  if (batch_stats || options_.eps != 0) return;
  const T* running = std::as_const(running_var).data();
  for (int64_t c = 0; c < num_features_; ++c) {
    if (running[c] == 0) {
      fail<std::invalid_argument>(
          "BatchNorm1d: expected running_var > 0 with eps = 0, got 0 in channel {}: normalising "
          "by it would divide by zero. Give eps > 0, or use batch statistics (train())",
          c);
    }
  }
}

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

// The class (its vtable included) is instantiated here; forward() and the running-statistics
// update are instantiated in batchnorm1d.cpp, where they are defined.
template class BasicBatchNorm1d<float>;
template class BasicBatchNorm1d<double>;

}  // namespace mg::nn
