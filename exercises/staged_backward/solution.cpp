// One answer to exercises/staged_backward: every step as docs/batchnorm.md's table has it.
#include <cmath>

#include "exercise.hpp"

StagedGradients staged_backward(const std::vector<double>& x, double gamma, double eps,
                                const std::vector<double>& dy) {
  const size_t n = x.size();
  // ---- forward ----
  double mu = 0;
  for (double xi : x) mu += xi / n;  // 1
  std::vector<double> c(n);
  for (size_t i = 0; i < n; ++i) c[i] = x[i] - mu;  // 2
  double v = 0;
  for (size_t i = 0; i < n; ++i) v += c[i] * c[i] / n;  // 3, 4
  const double d = std::sqrt(v + eps);                  // 5
  const double s = 1 / d;                               // 6
  // ---- backward ----
  StagedGradients g;
  for (size_t i = 0; i < n; ++i) g.dx_hat.push_back(gamma * dy[i]);  // 8: dy/dx_hat = gamma
  for (size_t i = 0; i < n; ++i) g.ds += c[i] * g.dx_hat[i];         // 7: dx_hat/ds = c
  g.dd = -g.ds / (d * d);                                            // 6: ds/dd = -1 / d^2
  g.dv = g.dd / (2 * d);                                             // 5: dd/dv = 1 / (2 d)
  g.dq.assign(n, g.dv / n);                                          // 4: dv/dq = 1 / n
  for (size_t i = 0; i < n; ++i)
    g.dc.push_back(s * g.dx_hat[i] + 2 * c[i] * g.dq[i]);  // 7: dx_hat/dc = s; 3: dq/dc = 2c
  for (size_t i = 0; i < n; ++i) g.dmu -= g.dc[i];         // 2: dc/dmu = -1
  for (size_t i = 0; i < n; ++i) g.dx.push_back(g.dc[i] + g.dmu / n);  // 2: dc/dx = 1; 1: 1/n
  return g;
}
