// One answer to exercises/unbiased_variance. With v = sum(c^2) / (n - 1), step 4's local
// derivative is dv/dq_i = 1 / (n - 1) instead of 1 / n, so the variance path carries a factor
// n / (n - 1):
//   dx_i = (gamma s / n) (n dy_i - sum_j dy_j - n / (n - 1) x_hat_i sum_j dy_j x_hat_j)
#include <cmath>

#include "exercise.hpp"

std::vector<double> unbiased_backward(const std::vector<double>& x, double gamma, double eps,
                                      const std::vector<double>& dy) {
  const double n = static_cast<double>(x.size());
  double mu = 0, v = 0;
  for (double xi : x) mu += xi / n;
  for (double xi : x) v += (xi - mu) * (xi - mu) / (n - 1);
  const double s = 1 / std::sqrt(v + eps);
  double sum_dy = 0, sum_dy_xhat = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sum_dy += dy[i];
    sum_dy_xhat += dy[i] * (x[i] - mu) * s;
  }
  std::vector<double> dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double x_hat = (x[i] - mu) * s;
    dx[i] = gamma * s / n * (n * dy[i] - sum_dy - n / (n - 1) * x_hat * sum_dy_xhat);
  }
  return dx;
}
