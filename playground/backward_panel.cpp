// "Step through the backward": BatchNorm1d's staged graph for one channel of N = 3 values, as
// docs/batchnorm.md draws it (examples/batchnorm_worked_example.cpp computes the same by hand).
// The forward is built from primitive ops, one node per stage, so autograd's engine walks it; the
// answer lists every node with its forward value and its gradient, the engine's order, and the
// input gradient four ways: autograd through the stages, the hand-derived fused layer
// (BatchNorm1d<double>), the staged reference layer, and central finite differences.
// Legend: n = 3 values of the channel; L = sum(y * dy), so dy is the upstream gradient.
#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "layers/batchnorm1d_reference.hpp"
#include "panels.hpp"

namespace playground {
namespace {

constexpr int64_t n = 3;

mg::TensorD column(const std::vector<double>& v, bool requires_grad = false) {
  return mg::TensorD::from_vector(v, {n, 1}, requires_grad);
}

// The fused layer (the hand-derived backward), train mode, on one channel.
struct Fused {
  std::vector<double> y, dx;
  double dgamma, dbeta;
};
Fused fused(const std::vector<double>& x, double gamma, double beta, const std::vector<double>& dy,
            double eps) {
  mg::nn::BasicBatchNorm1d<double> bn(1, {.eps = eps});
  bn.weight.data()[0] = gamma;
  bn.bias.data()[0] = beta;
  const mg::TensorD xt = column(x, true);
  const mg::TensorD y = bn(xt);
  y.backward(column(dy));
  return {y.to_vector(), xt.grad().to_vector(), bn.weight.grad().item(), bn.bias.grad().item()};
}

double loss(const std::vector<double>& x, double gamma, double beta, const std::vector<double>& dy,
            double eps) {
  mg::NoGradGuard no_grad;
  mg::nn::BasicBatchNorm1d<double> bn(1, {.eps = eps});
  bn.weight.data()[0] = gamma;
  bn.bias.data()[0] = beta;
  const std::vector<double> y = bn(column(x)).to_vector();
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += y[i] * dy[i];
  return sum;
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

}  // namespace

Json backward_graph(const Json& r) {
  const std::vector<double> x = r.value("x", std::vector<double>{1.0, 2.0, 6.0});
  const std::vector<double> dy = r.value("dy", std::vector<double>{0.3, -0.1, 0.2});
  const double gamma = r.value("gamma", 2.0), beta = r.value("beta", 0.5);
  const double eps = r.value("eps", 1e-5), h = r.value("h", 1e-6);
  if (x.size() != n || dy.size() != n)
    throw std::invalid_argument(
        fmt::format("playground: backward_graph expected 3 values of x and of dy, got {} and {}",
                    x.size(), dy.size()));

  // The forward, one node per stage (docs/batchnorm.md, "The staged backward").
  const mg::TensorD xa = column(x, true);  // (3, 1)
  const mg::TensorD g = mg::TensorD::from_vector({gamma}, {1}, true);
  const mg::TensorD b = mg::TensorD::from_vector({beta}, {1}, true);
  mg::TensorD mu = mg::mean(xa, 0, /*keepdim=*/true);  // 1  (1, 1)
  mg::TensorD c = xa - mu;                             // 2  (3, 1)
  mg::TensorD q = mg::pow(c, 2.0);                     // 3
  mg::TensorD v = mg::mean(q, 0, /*keepdim=*/true);    // 4  (1, 1)
  mg::TensorD v_eps = v + eps;                         // 5
  mg::TensorD d = mg::sqrt(v_eps);                     //
  mg::TensorD s = mg::pow(d, -1.0);                    // 6
  mg::TensorD x_hat = c * s;                           // 7  (3, 1)
  mg::TensorD scaled = g * x_hat;                      // 8
  mg::TensorD y = scaled + b;                          //
  const std::vector<std::pair<std::string, mg::TensorD>> named = {
      {"x", xa}, {"gamma", g}, {"beta", b},      {"mu", mu},
      {"c", c},  {"q", q},     {"v", v},         {"v + eps", v_eps},
      {"d", d},  {"s", s},     {"x_hat", x_hat}, {"gamma * x_hat", scaled},
      {"y", y}};

  // Every node from y back to the leaves, named by stage or by op, in the engine's order
  // (reverse topological: a node comes before every node it was computed from).
  std::vector<mg::TensorD> post;  // post-order: inputs before the node
  std::map<const void*, std::size_t> index;
  std::vector<std::pair<mg::TensorD, bool>> stack = {{y, false}};
  std::map<const void*, bool> seen;
  while (!stack.empty()) {
    auto [t, expanded] = stack.back();
    stack.pop_back();
    if (expanded) {
      index[t.id()] = post.size();
      post.push_back(t);
      continue;
    }
    if (seen[t.id()]) continue;
    seen[t.id()] = true;
    stack.push_back({t, true});
    for (const mg::TensorD& in : t.inputs())
      if (!seen[in.id()]) stack.push_back({in, false});
  }
  for (mg::TensorD& t : post)
    if (!t.is_leaf()) t.retain_grad();
  y.backward(column(dy), /*retain_graph=*/true);

  Json nodes = Json::array();
  for (std::size_t k = post.size(); k-- > 0;) {
    const mg::TensorD& t = post[k];
    std::string name = t.op();
    for (const auto& [label, tensor] : named)
      if (tensor.same_as(t)) name = label;
    Json inputs = Json::array();
    for (const mg::TensorD& in : t.inputs()) inputs.push_back(post.size() - 1 - index[in.id()]);
    nodes.push_back({{"name", name},
                     {"op", t.op()},
                     {"inputs", inputs},  // positions in this list
                     {"value", t.to_vector()},
                     {"grad", t.grad().defined() ? Json(t.grad().to_vector()) : Json()}});
  }

  // The input gradient three more ways.
  const Fused f = fused(x, gamma, beta, dy, eps);
  const mg::nn::StagedResult staged =
      mg::nn::batchnorm1d_staged(column(x), mg::TensorD::from_vector({gamma}, {1}),
                                 mg::TensorD::from_vector({beta}, {1}), column(dy), eps);
  std::vector<double> fd_dx(n);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> plus = x, minus = x;
    plus[i] += h;
    minus[i] -= h;
    fd_dx[i] = (loss(plus, gamma, beta, dy, eps) - loss(minus, gamma, beta, dy, eps)) / (2 * h);
  }
  const double fd_dgamma =
      (loss(x, gamma + h, beta, dy, eps) - loss(x, gamma - h, beta, dy, eps)) / (2 * h);
  const double fd_dbeta =
      (loss(x, gamma, beta + h, dy, eps) - loss(x, gamma, beta - h, dy, eps)) / (2 * h);
  const std::vector<double> autograd_dx = xa.grad().to_vector();
  return {
      {"nodes", nodes},
      {"dy", dy},
      {"autograd", {{"dx", autograd_dx}, {"dgamma", g.grad().item()}, {"dbeta", b.grad().item()}}},
      {"fused", {{"y", f.y}, {"dx", f.dx}, {"dgamma", f.dgamma}, {"dbeta", f.dbeta}}},
      {"staged", {{"dx", staged.dx.to_vector()}}},
      {"finite_difference", {{"h", h}, {"dx", fd_dx}, {"dgamma", fd_dgamma}, {"dbeta", fd_dbeta}}},
      {"max_diff",
       {{"fused_vs_autograd", max_diff(f.dx, autograd_dx)},
        {"fused_vs_staged", max_diff(f.dx, staged.dx.to_vector())},
        {"fused_vs_finite_difference",
         std::max({max_diff(f.dx, fd_dx), std::abs(f.dgamma - fd_dgamma),
                   std::abs(f.dbeta - fd_dbeta)})}}}};
}

}  // namespace playground
