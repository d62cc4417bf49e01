// The variance lab: three ways to compute a variance in float32, on data whose mean is far
// larger than its spread (mean 1, 1e2, 1e4, 1e6; standard deviation 1), each against the exact
// variance of the same float32 values computed in float64.
//
//   naive     E[x^2] - E[x]^2, one pass: both terms are ~mean^2 and their difference ~1, so
//             float32's 24 bits cancel away (at mean 1e4, mean^2 = 1e8 has an ulp of 8).
//   two-pass  the mean first, then the mean of (x - mean)^2: the subtraction happens before
//             squaring, on numbers of size ~std.
//   Welford   one pass that updates the mean and the sum of squared deviations per sample.
//
// All three divide by n (the biased variance, the one BatchNorm normalises with).
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include <minigrad/minigrad.hpp>

namespace experiments::variance {

// n float32 samples with the given mean and standard deviation 1.
inline std::vector<float> samples(double mean, int64_t n, uint64_t seed) {
  mg::Generator gen(seed);
  std::vector<float> x(n);
  for (float& v : x) v = static_cast<float>(gen.normal(mean, 1.0));
  return x;
}

inline float naive_variance(std::span<const float> x) {
  float sum = 0, sum_squares = 0;
  for (float v : x) sum += v, sum_squares += v * v;
  const float n = static_cast<float>(x.size());
  const float mean = sum / n;
  return sum_squares / n - mean * mean;
}

inline float two_pass_variance(std::span<const float> x) {
  float sum = 0;
  for (float v : x) sum += v;
  const float n = static_cast<float>(x.size());
  const float mean = sum / n;
  float squares = 0;
  for (float v : x) squares += (v - mean) * (v - mean);
  return squares / n;
}

inline float welford_variance(std::span<const float> x) {
  float mean = 0, m2 = 0;
  int64_t k = 0;
  for (float v : x) {
    ++k;
    const float delta = v - mean;
    mean += delta / static_cast<float>(k);
    m2 += delta * (v - mean);  // the old and the new deviation
  }
  return m2 / static_cast<float>(x.size());
}

// The exact (to float64) biased variance of the same float32 values.
inline double reference_variance(std::span<const float> x) {
  double sum = 0;
  for (float v : x) sum += v;
  const double mean = sum / static_cast<double>(x.size());
  double squares = 0;
  for (float v : x) squares += (v - mean) * (v - mean);
  return squares / static_cast<double>(x.size());
}

struct Row {
  double mean;       // the data's mean
  double reference;  // float64 variance of the float32 data
  float naive, two_pass, welford;
  double naive_error, two_pass_error, welford_error;  // |value - reference| / reference
};

inline Row measure(double mean, int64_t n = 1000, uint64_t seed = 0) {
  const std::vector<float> x = samples(mean, n, seed);
  Row r{mean,
        reference_variance(x),
        naive_variance(x),
        two_pass_variance(x),
        welford_variance(x),
        0,
        0,
        0};
  auto error = [&](float v) { return std::abs(v - r.reference) / r.reference; };
  r.naive_error = error(r.naive);
  r.two_pass_error = error(r.two_pass);
  r.welford_error = error(r.welford);
  return r;
}

}  // namespace experiments::variance
