// The check of exercises/welford_merge: 10,000 values of mean 1e4 cut into chunks of uneven
// sizes; each chunk's moments from two passes, merged left to right with your merge(); the result
// against two passes over all the values.
#include <cmath>
#include <vector>

#include <fmt/core.h>

#include <minigrad/minigrad.hpp>

#include "exercise.hpp"

namespace {

Moments two_pass(const double* v, int64_t n) {
  Moments m{n, 0, 0};
  for (int64_t i = 0; i < n; ++i) m.mean += v[i] / n;
  for (int64_t i = 0; i < n; ++i) m.m2 += (v[i] - m.mean) * (v[i] - m.mean);
  return m;
}

}  // namespace

int main() {
  mg::Generator gen(11);
  std::vector<double> values(10000);
  for (double& v : values) v = gen.normal(1e4, 3.0);
  const Moments all = two_pass(values.data(), static_cast<int64_t>(values.size()));
  Moments merged;
  int64_t start = 0, chunk = 1, chunks = 0;
  while (start < static_cast<int64_t>(values.size())) {  // chunks of 1, 3, 7, 15, ... values
    const int64_t n = std::min<int64_t>(chunk, static_cast<int64_t>(values.size()) - start);
    merged = merge(merged, two_pass(values.data() + start, n));
    start += n;
    ++chunks;
    chunk = 2 * chunk + 1;
  }
  const double mean_error = std::abs(merged.mean - all.mean) / std::abs(all.mean);
  const double var_error = std::abs(merged.m2 - all.m2) / all.m2;
  if (merged.count != all.count || !(mean_error < 1e-12) || !(var_error < 1e-9)) {
    fmt::print(
        "exercise welford_merge: not yet: count {} (expected {}), mean {:.9f} (expected "
        "{:.9f}), variance {:.9f} (expected {:.9f})\n",
        merged.count, all.count, merged.mean, all.mean,
        merged.m2 / static_cast<double>(merged.count), all.m2 / static_cast<double>(all.count));
    return 1;
  }
  fmt::print(
      "exercise welford_merge: solved: mean and variance of {} values in {} chunks agree "
      "with two passes (relative errors {:.1e}, {:.1e})\n",
      all.count, chunks, mean_error, var_error);
  return 0;
}
