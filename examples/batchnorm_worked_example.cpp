// BatchNorm1d by hand on the smallest interesting batch: N = 3 samples, C = 1 channel. Every
// stage of the forward and of the backward is computed here in plain loops, printed, and then
// checked four ways: against the staged reference layer (batchnorm1d_staged), the fused layer
// (BatchNorm1d in float64), autograd through primitive ops, and central finite differences.
// docs/batchnorm.md walks through the printout; the exit code is 1 if a check fails.
//
//   batchnorm_worked_example                     the printout
//   batchnorm_worked_example --dot FILE          also the staged graph, drawn by mg::to_dot
//
// Legend: n = N * L = 3 values of the one channel; d<name> = dL/d<name>, L = sum(y * dy).
#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <string>

#include <fmt/core.h>

#include <minigrad/minigrad.hpp>

#include "layers/batchnorm1d_reference.hpp"  // the staged layer, one of the checks

namespace {

constexpr int n = 3;
using Vec = std::array<double, n>;  // one value per sample

constexpr Vec x = {1.0, 2.0, 6.0};    // the input, (3, 1)
constexpr double weight = 2.0;        // gamma
constexpr double bias = 0.5;          // beta
constexpr double eps = 1e-5;          // PyTorch's default
constexpr Vec dy = {0.3, -0.1, 0.2};  // the upstream gradient dL/dy

double sum(const Vec& v) {
  return v[0] + v[1] + v[2];
}

// Rounding leaves sums that are 0 in exact arithmetic at about 1e-17, of either sign; print 0.
double shown(double v) {
  return std::abs(v) < 1e-12 ? 0.0 : v;
}

void row(const char* step, const char* what, const Vec& v) {
  fmt::print("  {:>2}  {:<26}{:>11.6f}{:>11.6f}{:>11.6f}\n", step, what, shown(v[0]), shown(v[1]),
             shown(v[2]));
}
void row(const char* step, const char* what, double s) {
  fmt::print("  {:>2}  {:<26}{:>11.6f}   (one per channel)\n", step, what, shown(s));
}

// The forward, stage by stage (docs/batchnorm.md, section 2); returns y.
struct Forward {
  double mu;
  Vec c, q;
  double v, d, s;
  Vec x_hat, y;
};
Forward forward(const Vec& in) {
  Forward f{};
  f.mu = sum(in) / n;                                               // 1
  for (int i = 0; i < n; ++i) f.c[i] = in[i] - f.mu;                // 2
  for (int i = 0; i < n; ++i) f.q[i] = f.c[i] * f.c[i];             // 3
  f.v = sum(f.q) / n;                                               // 4
  f.d = std::sqrt(f.v + eps);                                       // 5
  f.s = 1.0 / f.d;                                                  // 6
  for (int i = 0; i < n; ++i) f.x_hat[i] = f.c[i] * f.s;            // 7
  for (int i = 0; i < n; ++i) f.y[i] = weight * f.x_hat[i] + bias;  // 8
  return f;
}

double loss(const Vec& in) {
  const Vec y = forward(in).y;
  return y[0] * dy[0] + y[1] * dy[1] + y[2] * dy[2];
}

mg::TensorD column(const Vec& v, bool requires_grad = false) {
  return mg::TensorD::from_vector({v[0], v[1], v[2]}, {n, 1}, requires_grad);
}

double max_diff(const Vec& a, const std::vector<double>& b) {
  double worst = 0;
  for (int i = 0; i < n; ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

bool all_ok = true;
void check(const char* against, double difference, double bound) {
  const bool ok = difference < bound;
  all_ok = all_ok && ok;
  fmt::print("  {:<44} {:<6} (every value within {:.0e})\n", against, ok ? "agrees" : "FAILS",
             bound);
}

}  // namespace

int main(int argc, char** argv) {
  fmt::print("BatchNorm1d by hand: N = 3, C = 1, eps = {}, gamma = {}, beta = {}\n\n", eps, weight,
             bias);
  fmt::print("Forward{:>38}{:>11}{:>11}\n", "i = 1", "i = 2", "i = 3");
  const Forward f = forward(x);
  row("", "x", x);
  row("1", "mu = sum(x) / n", f.mu);
  row("2", "c = x - mu", f.c);
  row("3", "q = c^2", f.q);
  row("4", "v = sum(q) / n", f.v);
  row("5", "d = sqrt(v + eps)", f.d);
  row("6", "s = 1 / d", f.s);
  row("7", "x_hat = c * s", f.x_hat);
  row("8", "y = gamma * x_hat + beta", f.y);

  // The backward: the same stages in reverse. Two values have two paths: c (into q and into
  // x_hat) and x (into mu and into c); their gradients are the sums of both paths.
  fmt::print("\nBackward, from dy (L = sum(y * dy)){:>10}{:>11}{:>11}\n", "i = 1", "i = 2",
             "i = 3");
  row("", "dy", dy);
  const double dbeta = sum(dy);  // 8: dy/dbeta = 1
  double dgamma = 0;             // 8: dy/dgamma = x_hat
  for (int i = 0; i < n; ++i) dgamma += dy[i] * f.x_hat[i];
  Vec dx_hat{}, dc{}, dq{}, dx{};
  for (int i = 0; i < n; ++i) dx_hat[i] = weight * dy[i];  // 8: dy/dx_hat = weight
  row("8", "dbeta = sum(dy)", dbeta);
  row("8", "dgamma = sum(dy * x_hat)", dgamma);
  row("8", "dx_hat = gamma * dy", dx_hat);
  for (int i = 0; i < n; ++i) dc[i] = f.s * dx_hat[i];  // 7: dx_hat/dc = s (c's first path)
  double ds = 0;                                        // 7: dx_hat/ds = c
  for (int i = 0; i < n; ++i) ds += f.c[i] * dx_hat[i];
  row("7", "dc = s * dx_hat  (path 1)", dc);
  row("7", "ds = sum(c * dx_hat)", ds);
  const double dd = -ds / (f.d * f.d);  // 6: ds/dd = -1 / d^2
  row("6", "dd = -ds / d^2", dd);
  const double dv = dd / (2 * f.d);  // 5: dd/dv = 1 / (2 d)
  row("5", "dv = dd / (2 d)", dv);
  for (int i = 0; i < n; ++i) dq[i] = dv / n;  // 4: dv/dq = 1 / n
  row("4", "dq = dv / n", dq);
  for (int i = 0; i < n; ++i) dc[i] += 2 * f.c[i] * dq[i];  // 3: dq/dc = 2 c (c's second path)
  row("3", "dc += 2 c dq  (path 2)", dc);
  double dmu = 0;  // 2: dc/dx = 1, dc/dmu = -1
  for (int i = 0; i < n; ++i) dmu -= dc[i];
  for (int i = 0; i < n; ++i) dx[i] = dc[i];
  row("2", "dx = dc  (path 1)", dx);
  row("2", "dmu = -sum(dc)", dmu);
  for (int i = 0; i < n; ++i) dx[i] += dmu / n;  // 1: dmu/dx = 1 / n (x's second path)
  row("1", "dx += dmu / n  (path 2)", dx);

  // The closed form of docs/batchnorm.md, section 3, from the same numbers.
  const double sum_dy_xhat = dgamma;
  Vec closed{};
  for (int i = 0; i < n; ++i)
    closed[i] = weight * f.s / n * (n * dy[i] - sum(dy) - f.x_hat[i] * sum_dy_xhat);
  row("", "closed form dx", closed);

  // The Jacobian J[i][j] = dy_i/dx_j = (weight s / n) (n [i == j] - 1 - x_hat_i x_hat_j), and the
  // vector-Jacobian product dx = J^T dy (docs/batchnorm.md, section 4).
  fmt::print("\nJacobian dy_i/dx_j = (gamma s / n) (n [i = j] - 1 - x_hat_i x_hat_j)\n");
  std::array<Vec, n> J{};
  Vec jt_dy{}, column_sums{};
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      J[i][j] = weight * f.s / n * ((i == j ? n : 0) - 1 - f.x_hat[i] * f.x_hat[j]);
      jt_dy[j] += J[i][j] * dy[i];
      column_sums[j] += J[i][j];
    }
  }
  for (int i = 0; i < n; ++i) row("", fmt::format("row {}", i + 1).c_str(), J[i]);
  row("", "J^T dy (= dx)", jt_dy);
  row("", "J^T 1 (all-ones upstream)", column_sums);
  row("", "sum(dx)", shown(sum(dx)));

  fmt::print("\nChecks of dx = ({:.6f}, {:.6f}, {:.6f}):\n", dx[0], dx[1], dx[2]);
  check("closed form and J^T dy",
        std::max(max_diff(closed, std::vector<double>(dx.begin(), dx.end())),
                 max_diff(jt_dy, {dx.begin(), dx.end()})),
        1e-12);

  // (a) the staged reference layer, in Eigen arrays.
  const mg::nn::StagedResult staged =
      mg::nn::batchnorm1d_staged(column(x), mg::TensorD::from_vector({weight}, {1}),
                                 mg::TensorD::from_vector({bias}, {1}), column(dy), eps);
  check("staged layer (batchnorm1d_staged): y, dx",
        std::max(max_diff(f.y, staged.y.to_vector()), max_diff(dx, staged.dx.to_vector())), 1e-12);

  // (b) the fused layer, float64, training mode.
  mg::nn::BasicBatchNorm1d<double> bn(1, {.eps = eps});
  bn.weight.data()[0] = weight;
  bn.bias.data()[0] = bias;
  const mg::TensorD xt = column(x, true);
  const mg::TensorD y_fused = bn(xt);
  y_fused.backward(column(dy));
  check("fused layer (BatchNorm1d<double>): y, dx",
        std::max(max_diff(f.y, y_fused.to_vector()), max_diff(dx, xt.grad().to_vector())), 1e-12);
  check(
      "fused layer: dgamma, dbeta",
      std::max(std::abs(bn.weight.grad().item() - dgamma), std::abs(bn.bias.grad().item() - dbeta)),
      1e-12);

  // (c) autograd through primitive ops, one node per stage: the graph of the picture.
  const mg::TensorD xa = column(x, true);
  const mg::TensorD g = mg::TensorD::from_vector({weight}, {1}, true);
  const mg::TensorD b = mg::TensorD::from_vector({bias}, {1}, true);
  mg::TensorD mu = mg::mean(xa, 0, /*keepdim=*/true);  // 1  (1, 1)
  mg::TensorD c = xa - mu;                             // 2  (3, 1)
  mg::TensorD q = mg::pow(c, 2.0);                     // 3
  mg::TensorD v = mg::mean(q, 0, /*keepdim=*/true);    // 4  (1, 1)
  mg::TensorD d = mg::sqrt(v + eps);                   // 5
  mg::TensorD s = mg::pow(d, -1.0);                    // 6
  mg::TensorD x_hat = c * s;                           // 7  (3, 1)
  mg::TensorD y = g * x_hat + b;                       // 8
  // Keep every stage's gradient after the backward, to draw it; keep the graph to draw too.
  for (mg::TensorD* stage : {&mu, &c, &q, &v, &d, &s, &x_hat, &y}) stage->retain_grad();
  y.backward(column(dy), /*retain_graph=*/true);
  check("autograd through primitive ops: y, dx",
        std::max(max_diff(f.y, y.to_vector()), max_diff(dx, xa.grad().to_vector())), 1e-12);

  // (d) central differences of L = sum(y * dy), one input at a time.
  Vec numeric{};
  const double h = 1e-6;
  for (int i = 0; i < n; ++i) {
    Vec plus = x, minus = x;
    plus[i] += h;
    minus[i] -= h;
    numeric[i] = (loss(plus) - loss(minus)) / (2 * h);
  }
  check("central differences (h = 1e-6): dx", max_diff(dx, {numeric.begin(), numeric.end()}), 1e-8);

  // A batch of one: x - mu = 0, so y would be bias whatever x is; the layer refuses it.
  fmt::print("\nA batch of one, x = ({}), in training mode:\n", x[0]);
  try {
    bn(mg::TensorD::from_vector({x[0]}, {1, 1}));
    all_ok = false;  // it must not get here
  } catch (const mg::ShapeError& e) {
    fmt::print("  {}\n", e.what());
  }

  if (argc == 3 && std::strcmp(argv[1], "--dot") == 0) {
    const mg::DotOptions<double> options{.names = {{"x", xa},
                                                   {"gamma", g},
                                                   {"beta", b},
                                                   {"mu", mu},
                                                   {"c", c},
                                                   {"q", q},
                                                   {"v", v},
                                                   {"d", d},
                                                   {"s", s},
                                                   {"x_hat", x_hat},
                                                   {"y", y}},
                                         .max_values = 3};
    std::ofstream(argv[2]) << mg::to_dot(y, options);
  }
  return all_ok ? 0 : 1;
}
