// The check of exercises/rmsnorm: the forward against the same formula from primitive ops, and
// the backward with mg::gradcheck (central differences, a random upstream gradient).
#include <cmath>

#include <fmt/core.h>

#include "exercise.hpp"

int main() {
  mg::Generator gen(3);
  const double eps = 1e-6;
  const mg::TensorD x = mg::TensorD::randn({4, 5}, gen);
  const mg::TensorD weight = mg::TensorD::randn({5}, gen, true);
  // y = weight * x / sqrt(mean(x^2) + eps), from primitive ops.
  const mg::TensorD expected = weight * x / mg::sqrt(mg::mean(x * x, 1, true) + eps);
  const mg::TensorD y = rms_norm(x, weight, eps);
  double worst = 0;
  for (int64_t i = 0; i < y.numel(); ++i)
    worst = std::max(worst, std::abs(y.data()[i] - expected.data()[i]));
  if (!(worst < 1e-12)) {
    fmt::print("exercise rmsnorm: not yet: the forward differs from the formula by {:.3g}\n",
               worst);
    return 1;
  }
  const mg::GradcheckResult result = mg::gradcheck(
      [&](const std::vector<mg::TensorD>& in) { return rms_norm(in[0], weight, eps); }, {x},
      {{"weight", weight}});
  if (!result.ok) {
    fmt::print("exercise rmsnorm: not yet: {}\n", result.report());
    return 1;
  }
  fmt::print("exercise rmsnorm: solved: {}\n", result.report());
  return 0;
}
