#include "experiments/variance_lab.hpp"

#include <cmath>

#include <minigrad/minigrad.hpp>

namespace experiments::variance {

std::vector<float> samples(double mean, int64_t n, uint64_t seed) {
  mg::Generator gen(seed);
  std::vector<float> x(n);
  for (float& v : x) v = static_cast<float>(gen.normal(mean, 1.0));
  return x;
}

float naive_variance(std::span<const float> x) {
  float sum = 0, sum_squares = 0;
  for (float v : x) sum += v, sum_squares += v * v;
  const float n = static_cast<float>(x.size());
  const float mean = sum / n;
  return sum_squares / n - mean * mean;
}

float two_pass_variance(std::span<const float> x) {
  float sum = 0;
  for (float v : x) sum += v;
  const float n = static_cast<float>(x.size());
  const float mean = sum / n;
  float squares = 0;
  for (float v : x) squares += (v - mean) * (v - mean);
  return squares / n;
}

float welford_variance(std::span<const float> x) {
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

double reference_variance(std::span<const float> x) {
  double sum = 0;
  for (float v : x) sum += v;
  const double mean = sum / static_cast<double>(x.size());
  double squares = 0;
  for (float v : x) squares += (v - mean) * (v - mean);
  return squares / static_cast<double>(x.size());
}

Row measure(double mean, int64_t n, uint64_t seed) {
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
