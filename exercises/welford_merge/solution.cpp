// One answer to exercises/welford_merge (Chan, Golub and LeVeque's pairwise update). With
// delta = b.mean - a.mean and n = a.count + b.count:
//   mean = a.mean + delta * b.count / n        (the weighted mean, written so it cannot overflow)
//   m2   = a.m2 + b.m2 + delta^2 * a.count * b.count / n
// The last term is the spread between the two chunks' means, which neither m2 contains.
#include "exercise.hpp"

Moments merge(const Moments& a, const Moments& b) {
  if (a.count == 0) return b;
  if (b.count == 0) return a;
  Moments out;
  out.count = a.count + b.count;
  const double n = static_cast<double>(out.count);
  const double delta = b.mean - a.mean;
  out.mean = a.mean + delta * static_cast<double>(b.count) / n;
  out.m2 =
      a.m2 + b.m2 + delta * delta * static_cast<double>(a.count) * static_cast<double>(b.count) / n;
  return out;
}
