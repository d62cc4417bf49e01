// Losses, each one fused autograd node with a hand-derived backward (loss.cpp).
#pragma once

#include <cstdint>
#include <span>

#include "core/tensor.hpp"

namespace mg::nn {

// Mean squared error over all elements: L = mean((pred - target)^2), shape (1).
template <typename T>
BasicTensor<T> mse_loss(const BasicTensor<T>& pred, const BasicTensor<T>& target);

// Softmax cross-entropy, averaged over the batch (PyTorch's F.cross_entropy, reduction 'mean').
// logits: (N, K) raw scores; targets: N class indices in [0, K). Shape (1).
template <typename T>
BasicTensor<T> cross_entropy(const BasicTensor<T>& logits, std::span<const int64_t> targets);

}  // namespace mg::nn
