// Folding BatchNorm into the Linear before it, for inference.
//
// In eval() mode BatchNorm1d is a fixed per-feature affine map:
//   bn(h) = gamma * (h - running_mean) / sqrt(running_var + eps) + beta = scale * h + shift
// with scale = gamma / sqrt(running_var + eps) and shift = beta - scale * running_mean. Applied to
// h = x W^T + b it gives x (scale * W)^T + (scale * b + shift): one Linear with
//   W'[o, :] = scale[o] * W[o, :]        b'[o] = scale[o] * (b[o] - running_mean[o]) + beta[o]
// so the folded network computes the same function with one layer fewer per block.
#pragma once

#include <cstdint>

#include <minigrad/minigrad.hpp>

namespace experiments {

// A Linear equal to bn(linear(x)) in eval() mode. bn must track running statistics.
mg::nn::Linear fold(const mg::nn::Linear& linear, const mg::nn::BatchNorm1d& bn);

// The network with every (Linear, BatchNorm1d) pair replaced by one folded Linear; the other
// layers are ReLUs (and the last Linear), copied as they are.
mg::nn::Sequential fold_network(mg::nn::Sequential& net);

// Multiply-adds (or adds, or compares) per sample in a forward of `net` in eval() mode, counted
// the simple way: a Linear costs I * O multiply-adds plus O bias adds, a BatchNorm1d in eval 2
// per feature (scale, shift), a ReLU 1 per feature.
int64_t ops_per_sample(mg::nn::Sequential& net);

}  // namespace experiments
