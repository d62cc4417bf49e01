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

#include <cstdint>
#include <span>
#include <vector>

namespace experiments::variance {

// n float32 samples with the given mean and standard deviation 1.
std::vector<float> samples(double mean, int64_t n, uint64_t seed);

float naive_variance(std::span<const float> x);

float two_pass_variance(std::span<const float> x);

float welford_variance(std::span<const float> x);

// The exact (to float64) biased variance of the same float32 values.
double reference_variance(std::span<const float> x);

struct Row {
  double mean;       // the data's mean
  double reference;  // float64 variance of the float32 data
  float naive, two_pass, welford;
  double naive_error, two_pass_error, welford_error;  // |value - reference| / reference
};

Row measure(double mean, int64_t n = 1000, uint64_t seed = 0);

}  // namespace experiments::variance
