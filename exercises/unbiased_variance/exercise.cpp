// Exercise: this is BatchNorm1d's closed-form backward, derived for the biased variance (divisor
// n). The forward of exercise.hpp divides by n - 1. Redo docs/batchnorm.md's section 3 with that
// divisor (only step 4's local derivative changes) and change the formula below to match. Run
// build/release/exercises/exercise_unbiased_variance to check.
#include <cmath>

#include "exercise.hpp"

std::vector<double> unbiased_backward(const std::vector<double>& x, double gamma, double eps,
                                      const std::vector<double>& dy) {
  const double n = static_cast<double>(x.size());
  double mu = 0, v = 0;
  for (double xi : x) mu += xi / n;
  for (double xi : x) v += (xi - mu) * (xi - mu) / (n - 1);  // the forward's variance
  const double s = 1 / std::sqrt(v + eps);
  double sum_dy = 0, sum_dy_xhat = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sum_dy += dy[i];
    sum_dy_xhat += dy[i] * (x[i] - mu) * s;
  }
  std::vector<double> dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double x_hat = (x[i] - mu) * s;
    dx[i] = gamma * s / n * (n * dy[i] - sum_dy - x_hat * sum_dy_xhat);
  }
  return dx;
}
