// LayerNorm: normalises each sample over its last dimension, with the semantics of PyTorch 1.13's
// nn.LayerNorm for a one-dimensional normalized_shape.
//
//   y = (x - mean_row) / sqrt(var_row + eps) * weight + bias
//
// A row is the C values of the last dimension: input (N, C) has N rows, input (N, L, C) has N * L
// (each position of a sequence is normalised alone). var_row is the *biased* variance (divisor C),
// as in PyTorch. Unlike BatchNorm1d (docs/batchnorm.md), the statistics belong to one row, not to
// the batch: there are no running statistics, train() and eval() compute the same thing, and a
// batch of one is fine. docs/adding_a_layer.md builds this layer step by step.
//
// The forward and its hand-derived backward are one fused autograd node (layernorm.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "layers/module.hpp"

namespace mg::nn {

struct LayerNormOptions {
  double eps = 1e-5;               // added to the variance before the square root; >= 0
  bool elementwise_affine = true;  // learnable per-feature weight (gamma) and bias (beta)
};

template <typename T>
class BasicLayerNorm : public BasicModule<T> {
 public:
  // normalized_shape: C, the size of the last dimension of every input.
  explicit BasicLayerNorm(int64_t normalized_shape, LayerNormOptions options = {});

  // x: (N, C) or (N, L, C) -> y of the same shape.
  BasicTensor<T> forward(const BasicTensor<T>& x) override;
  // "LayerNorm((4,), eps=1e-05, elementwise_affine=true)", as PyTorch prints it.
  std::string repr() const override;
  NamedTensors<T> own_parameters() override;  // weight, bias (when elementwise_affine)

  // weight = 1 and bias = 0, in place (an optimizer holding them keeps working).
  void reset_parameters();

  int64_t normalized_shape() const { return normalized_shape_; }
  const LayerNormOptions& options() const { return options_; }

  BasicTensor<T> weight;  // (C) gamma, ones; undefined unless elementwise_affine
  BasicTensor<T> bias;    // (C) beta, zeros; undefined unless elementwise_affine

 private:
  int64_t normalized_shape_;
  LayerNormOptions options_;
};

extern template class BasicLayerNorm<float>;
extern template class BasicLayerNorm<double>;
using LayerNorm = BasicLayerNorm<float>;

}  // namespace mg::nn
