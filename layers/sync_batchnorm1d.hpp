// SyncBatchNorm1d: BatchNorm1d whose training statistics are those of the whole batch spread over
// every process of a data-parallel job (core/distributed.hpp), as PyTorch's SyncBatchNorm.
//
// With P processes each holding a slice of the batch, plain BatchNorm1d normalises every slice
// with its own mean and variance: P processes with batch B are then not one process with batch
// P * B, and small slices give noisy statistics. SyncBatchNorm1d combines the per-channel
// (count, mean, M2) of all slices into the whole batch's statistics before normalising, and its
// backward sums the two per-channel reductions of the gradient over the slices, so each process
// gets exactly its part of what one process holding the whole batch would compute
// (docs/distributed.md derives it; tests/distributed/ checks it to 1e-12 in float64).
//
// It is constructed, saved and loaded like BatchNorm1d (same options, public members, state_dict
// keys and errors). Synchronisation happens only where PyTorch's does: a training forward with
// batch statistics in a world of more than one process. In eval(), when frozen, and in a world
// of one it *is* BatchNorm1d. Every process must run the same forwards and backwards (each one
// takes part in a collective), with its own slice: slices may differ in size, and may be empty,
// as long as the whole batch has more than one value per channel.
#pragma once

#include <string>

#include "layers/batchnorm1d.hpp"

namespace mg::nn {

template <typename T>
class BasicSyncBatchNorm1d : public BasicBatchNorm1d<T> {
 public:
  // (num_features, BatchNormOptions), exactly as BatchNorm1d.
  using BasicBatchNorm1d<T>::BasicBatchNorm1d;

  // x: (N, C) or (N, C, L) -> y of the same shape; N may differ between processes, and be 0.
  BasicTensor<T> forward(const BasicTensor<T>& x) override;
  // "SyncBatchNorm1d(3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)"
  std::string repr() const override;
};

extern template class BasicSyncBatchNorm1d<float>;
extern template class BasicSyncBatchNorm1d<double>;
using SyncBatchNorm1d = BasicSyncBatchNorm1d<float>;

// Replaces every BatchNorm1d inside `model` by a SyncBatchNorm1d that carries on with the same
// tensors (weight, bias, running_mean, running_var: shared, so an optimizer built on the model
// keeps working), num_batches_tracked, training mode and frozen state, as PyTorch's
// SyncBatchNorm.convert_sync_batchnorm. Returns how many it replaced. A BatchNorm1d can be
// replaced where it is held through a pointer, i.e. inside a Sequential; if `model` is itself a
// BatchNorm1d, or one is a plain member of a custom module, it throws std::invalid_argument
// naming it, and nothing is changed.
template <typename T>
int convert_sync_batchnorm(BasicModule<T>& model);

}  // namespace mg::nn
