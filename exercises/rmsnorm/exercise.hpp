// Exercise: RMSNorm, forward and hand-derived backward, as one autograd node (docs/exercises.md).
//
// Each row of x (N, C) is divided by its root mean square, then scaled per feature:
//   r = sqrt(sum_j x_j^2 / C + eps),   y_i = weight_i * x_i / r
// Unlike LayerNorm it does not subtract the mean, and it has no bias.
#pragma once

#include <minigrad/minigrad.hpp>

// x: (N, C), weight: (C) -> y: (N, C). In float64, the type gradient checks use.
mg::TensorD rms_norm(const mg::TensorD& x, const mg::TensorD& weight, double eps);
