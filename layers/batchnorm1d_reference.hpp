// BatchNorm1d written two more ways, as teaching material and as test oracles for the fused
// layer (layers/batchnorm1d.cpp). Neither updates running statistics: both are the pure
// function y = BN(x; gamma, beta, statistics); tests prove all three agree.
//
//   (a) batchnorm1d_staged: the forward as a chain of small steps, and the backward walking the
//       same chain in reverse, one labelled local derivative per step, as on a drawing of the
//       computational graph (docs/batchnorm.md, "The staged backward").
//   (b) batchnorm1d_composed: the forward written with primitive ops (mg::mean, sub, mul, div,
//       sqrt, ...), whose backward autograd derives from theirs.
//
// Legend: N = batch, C = features, L = length; M = N * L rows once (N, C, L) is flattened.
#pragma once

#include "core/tensor.hpp"

namespace mg::nn {

// Which statistics normalise x: the batch's (training, or eval without running statistics), or
// given running statistics (eval with track_running_stats).
struct ReferenceStats {
  TensorD running_mean;  // (C); undefined: use the batch statistics
  TensorD running_var;   // (C)
};

struct StagedResult {
  TensorD y;       // (N, C) or (N, C, L)
  TensorD dx;      // like x
  TensorD dgamma;  // (C)
  TensorD dbeta;   // (C)
};

// (a) Forward and backward, step by step, in double. gamma and beta may be undefined (no affine:
// gamma = 1, beta = 0; dgamma and dbeta are then still returned, for gamma = 1 and beta = 0).
StagedResult batchnorm1d_staged(const TensorD& x, const TensorD& gamma, const TensorD& beta,
                                const TensorD& dy, double eps, const ReferenceStats& stats = {});

// (b) The forward from primitive ops; call .backward(dy) on the result. weight and bias may be
// undefined (no affine).
template <typename T>
BasicTensor<T> batchnorm1d_composed(const BasicTensor<T>& x, const BasicTensor<T>& weight,
                                    const BasicTensor<T>& bias, double eps,
                                    const BasicTensor<T>& running_mean = {},
                                    const BasicTensor<T>& running_var = {});

}  // namespace mg::nn
