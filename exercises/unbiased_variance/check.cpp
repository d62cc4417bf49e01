// The check of exercises/unbiased_variance: your dx against central differences of
// L = sum(y * dy), for batches of 2, 3 and 10 values.
#include <cmath>
#include <vector>

#include <fmt/core.h>

#include <minigrad/minigrad.hpp>

#include "exercise.hpp"

namespace {

constexpr double weight = 0.8, bias = 0.1, eps = 1e-5;  // gamma, beta

// L = sum(y * dy) with y normalised by the unbiased variance (the forward of exercise.hpp).
double loss(const std::vector<double>& x, const std::vector<double>& dy) {
  const double n = static_cast<double>(x.size());
  double mu = 0, v = 0;
  for (double xi : x) mu += xi / n;
  for (double xi : x) v += (xi - mu) * (xi - mu) / (n - 1);
  double L = 0;
  for (size_t i = 0; i < x.size(); ++i)
    L += (weight * (x[i] - mu) / std::sqrt(v + eps) + bias) * dy[i];
  return L;
}

}  // namespace

int main() {
  mg::Generator gen(7);
  for (const int n : {2, 3, 10}) {
    std::vector<double> x(n), dy(n);
    for (int i = 0; i < n; ++i) x[i] = gen.normal(1.0, 2.0);
    for (int i = 0; i < n; ++i) dy[i] = gen.normal(0.0, 1.0);
    const std::vector<double> dx = unbiased_backward(x, weight, eps, dy);
    for (int i = 0; i < n; ++i) {
      const double h = 1e-6;
      std::vector<double> plus = x, minus = x;
      plus[i] += h;
      minus[i] -= h;
      const double numeric = (loss(plus, dy) - loss(minus, dy)) / (2 * h);
      if (dx.size() != x.size() || !(std::abs(dx[i] - numeric) < 1e-7)) {
        fmt::print(
            "exercise unbiased_variance: not yet: n = {}, dx[{}] = {:.9f}, central "
            "differences give {:.9f}\n",
            n, i, dx.size() == x.size() ? dx[i] : NAN, numeric);
        return 1;
      }
    }
  }
  fmt::print("exercise unbiased_variance: solved: dx agrees with central differences\n");
  return 0;
}
