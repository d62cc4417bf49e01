// Exercise: merge the statistics of two chunks of data without seeing the data again
// (docs/exercises.md). This is how statistics are combined across threads or machines.
#pragma once

#include <cstdint>

struct Moments {
  int64_t count = 0;  // how many values
  double mean = 0;    // their mean
  double m2 = 0;      // sum of (value - mean)^2: the variance is m2 / count (biased)
};

// The moments of the values of a and of b together.
Moments merge(const Moments& a, const Moments& b);
