// Exercise: the staged backward of BatchNorm, one channel, in plain loops (docs/exercises.md).
//
// The forward, one node per line (docs/batchnorm.md, section 2), over the n values of a channel:
//   1 mu = sum(x) / n   2 c = x - mu   3 q = c^2   4 v = sum(q) / n   5 d = sqrt(v + eps)
//   6 s = 1 / d         7 x_hat = c * s            8 y = gamma * x_hat + beta
#pragma once

#include <vector>

struct StagedGradients {       // d<name> = dL/d<name> for the upstream gradient dy
  std::vector<double> dx_hat;  // (n)  step 8
  double ds = 0;               //      step 7
  double dd = 0;               //      step 6
  double dv = 0;               //      step 5
  std::vector<double> dq;      // (n)  step 4
  std::vector<double> dc;      // (n)  both paths into c: steps 7 and 3
  double dmu = 0;              //      step 2
  std::vector<double> dx;      // (n)  both paths into x: steps 2 and 1
};

// x, dy: the n values of one channel and their upstream gradients.
StagedGradients staged_backward(const std::vector<double>& x, double gamma, double eps,
                                const std::vector<double>& dy);
