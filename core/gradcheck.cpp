#include "core/gradcheck.hpp"

#include <algorithm>
#include <cmath>

#include "core/autograd.hpp"
#include "core/error.hpp"
#include "core/random.hpp"

namespace mg {
namespace {

struct Checked {
  std::string name;
  TensorD tensor;
};

// L = sum(y * dy) in double, without recording a graph.
double objective(const GradcheckFn& f, const std::vector<TensorD>& inputs, const TensorD& dy) {
  NoGradGuard no_grad;
  const TensorD y = f(inputs);
  return (y.flat() * dy.flat()).sum();
}

void restore(std::vector<TensorD>& state, const std::vector<std::vector<double>>& saved) {
  for (size_t i = 0; i < state.size(); ++i)
    std::copy(saved[i].begin(), saved[i].end(), state[i].data());
}

}  // namespace

std::string GradcheckResult::report() const {
  if (checked == 0) return "gradcheck: nothing was checked";
  return fmt::format(
      "gradcheck {}: {} elements, worst relative error {:.3g} at {}[{}] "
      "(analytic {:.10g}, numeric {:.10g})",
      ok ? "passed" : "FAILED", checked, max_error, worst_tensor, worst_index, analytic, numeric);
}

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<TensorD>& inputs,
                          const std::vector<std::pair<std::string, TensorD>>& params,
                          const GradcheckOptions& options) {
  std::vector<Checked> checked;
  for (size_t i = 0; i < inputs.size(); ++i)
    checked.push_back({fmt::format("input {}", i), inputs[i]});
  for (const auto& [name, p] : params) {
    if (!p.requires_grad()) {
      fail<std::invalid_argument>("gradcheck: expected parameter '{}' to require grad", name);
    }
    checked.push_back({name, p});
  }
  for (Checked& c : checked) {
    if (!c.tensor.is_leaf()) {
      fail<std::invalid_argument>(
          "gradcheck: expected {} to be a leaf tensor, got the output of '{}'", c.name,
          c.tensor.op());
    }
    c.tensor.set_requires_grad(true);
    c.tensor.clear_grad();
  }
  std::vector<TensorD> state = options.state;
  std::vector<std::vector<double>> saved;
  saved.reserve(state.size());
  for (const TensorD& s : state) saved.push_back(s.to_vector());

  // Analytic gradients: one backward with upstream dy.
  TensorD y = f(inputs);
  restore(state, saved);
  TensorD dy = options.upstream;
  if (dy.defined()) {
    if (!(dy.shape() == y.shape())) {
      fail<ShapeError>("gradcheck: expected an upstream gradient of shape {}, got {}", y.shape(),
                       dy.shape());
    }
    if (dy.numel() > 1 && (dy.flat() == dy.flat()(0)).all()) {
      fail<std::invalid_argument>(
          "gradcheck: refusing an upstream gradient whose elements are all equal: it checks only "
          "d(sum(y))/dx, which is zero through a normalisation, so a wrong backward would pass; "
          "leave options.upstream empty for a random one");
    }
  } else {
    Generator gen(options.seed);
    dy = TensorD::randn(y.shape(), gen);
  }
  if (!y.requires_grad()) {
    fail<std::invalid_argument>(
        "gradcheck: the function's output does not depend on any input "
        "or parameter that requires grad");
  }
  y.backward(dy);

  // Numeric gradients, element by element, compared as we go.
  GradcheckResult result;
  const double h = options.step;
  for (Checked& c : checked) {
    const TensorD analytic = c.tensor.grad();
    double* x = c.tensor.data();
    for (int64_t i = 0; i < c.tensor.numel(); ++i) {
      const double original = x[i];
      x[i] = original + h;
      const double plus = objective(f, inputs, dy);
      restore(state, saved);
      x[i] = original - h;
      const double minus = objective(f, inputs, dy);
      restore(state, saved);
      x[i] = original;
      const double numeric = (plus - minus) / (2 * h);
      const double a = analytic.defined() ? analytic.data()[i] : 0.0;
      const double error =
          std::abs(a - numeric) / std::max({std::abs(a), std::abs(numeric), options.min_scale});
      ++result.checked;
      if (error > result.max_error || result.worst_index < 0) {
        result.max_error = error;
        result.worst_tensor = c.name;
        result.worst_index = i;
        result.analytic = a;
        result.numeric = numeric;
      }
    }
    c.tensor.clear_grad();
  }
  result.ok = result.max_error <= options.tolerance;
  return result;
}

}  // namespace mg
