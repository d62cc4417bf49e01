// Exercise: the backward of a BatchNorm that normalises with the *unbiased* variance
// (docs/exercises.md). One channel of n values; the forward is
//   mu = sum(x) / n,   v = sum((x - mu)^2) / (n - 1),   s = 1 / sqrt(v + eps)
//   x_hat = (x - mu) * s,   y = gamma * x_hat + beta
// (BatchNorm1d divides by n instead; docs/batchnorm.md derives its backward.)
#pragma once

#include <vector>

// dL/dx for the upstream gradient dy = dL/dy. x, dy: (n), n >= 2.
std::vector<double> unbiased_backward(const std::vector<double>& x, double gamma, double eps,
                                      const std::vector<double>& dy);
