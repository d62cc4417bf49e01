// The check of exercises/staged_backward: builds the same forward from primitive ops, lets
// autograd compute every stage's gradient (retain_grad keeps them), and compares yours with
// them in the order the backward visits the stages, so the first difference names the step.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/core.h>

#include <minigrad/minigrad.hpp>

#include "exercise.hpp"

namespace {

// The largest |yours - autograd's| over a stage's values.
double worst(const std::vector<double>& yours, const mg::TensorD& stage) {
  const std::vector<double> reference = stage.grad().to_vector();
  if (yours.size() != reference.size()) return INFINITY;
  double w = 0;
  for (size_t i = 0; i < yours.size(); ++i) w = std::max(w, std::abs(yours[i] - reference[i]));
  return w;
}

// Returns "" when every stage agrees, else what is wrong.
std::string compare(int64_t n, uint64_t seed) {
  mg::Generator gen(seed);
  const mg::TensorD x = mg::TensorD::randn({n, 1}, gen, true);
  const mg::TensorD dy = mg::TensorD::randn({n, 1}, gen);
  const double gamma = 1.5, eps = 1e-5;
  mg::TensorD mu = mg::mean(x, 0, true);       // 1
  mg::TensorD c = x - mu;                      // 2
  mg::TensorD q = mg::pow(c, 2.0);             // 3
  mg::TensorD v = mg::mean(q, 0, true);        // 4
  mg::TensorD d = mg::sqrt(v + eps);           // 5
  mg::TensorD s = mg::pow(d, -1.0);            // 6
  mg::TensorD x_hat = c * s;                   // 7
  const mg::TensorD y = x_hat * gamma + 0.25;  // 8
  for (mg::TensorD* stage : {&mu, &c, &q, &v, &d, &s, &x_hat}) stage->retain_grad();
  y.backward(dy);

  const StagedGradients g = staged_backward(x.to_vector(), gamma, eps, dy.to_vector());
  // The backward's order: step 8 first, step 1 last.
  const std::vector<std::pair<const char*, double>> stages = {
      {"dx_hat (step 8)", worst(g.dx_hat, x_hat)},
      {"ds (step 7)", worst({g.ds}, s)},
      {"dd (step 6)", worst({g.dd}, d)},
      {"dv (step 5)", worst({g.dv}, v)},
      {"dq (step 4)", worst(g.dq, q)},
      {"dc (steps 7 and 3)", worst(g.dc, c)},
      {"dmu (step 2)", worst({g.dmu}, mu)},
      {"dx (steps 2 and 1)", worst(g.dx, x)},
  };
  for (const auto& [name, difference] : stages) {
    if (!(difference < 1e-10))
      return fmt::format("{} differs from autograd's by {:.3g} (n = {}); the steps before it agree",
                         name, difference, n);
  }
  return "";
}

}  // namespace

int main() {
  for (const int64_t n : {3, 5, 16}) {
    const std::string problem = compare(n, 100 + static_cast<uint64_t>(n));
    if (!problem.empty()) {
      fmt::print("exercise staged_backward: not yet: {}\n", problem);
      return 1;
    }
  }
  fmt::print("exercise staged_backward: solved: every stage's gradient agrees with autograd\n");
  return 0;
}
