// Our own seeded random numbers: a seed gives the same stream on every compiler and platform
// (std::normal_distribution and friends are implementation-defined, so they are not used).
#pragma once

#include <cstdint>
#include <vector>

namespace mg {

// xoshiro256** seeded through splitmix64: fast, small state, good statistical quality.
class Generator {
 public:
  explicit Generator(uint64_t seed = 0);

  uint64_t next_u64();
  // Uniform in [0, 1) with 53 random bits.
  double uniform();
  // Uniform in [lo, hi).
  double uniform(double lo, double hi);
  // Standard normal by the Box-Muller transform (the second value of each pair is kept).
  double normal();
  double normal(double mean, double stddev) { return mean + stddev * normal(); }
  // Uniform integer in [0, n), without modulo bias.
  uint64_t below(uint64_t n);
  // A random permutation of 0..n-1 (Fisher-Yates).
  std::vector<int64_t> permutation(int64_t n);

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// The generator layers draw their initial weights from when none is given.
Generator& default_generator();
// Reseeds default_generator(): `mg::manual_seed(0)` makes initialisation reproducible.
void manual_seed(uint64_t seed);

}  // namespace mg
