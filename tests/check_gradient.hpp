// Helpers shared by the op tests: random float64 inputs and a gradcheck that must pass.
#pragma once

#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "core/gradcheck.hpp"
#include "core/random.hpp"

namespace mg::testing {

// Standard normal values.
inline TensorD normal(const Shape& shape, Generator& gen) {
  return TensorD::randn(shape, gen);
}

// Values in [lo, hi): for log, sqrt, pow and divisors, keep lo well above 0.
inline TensorD positive(const Shape& shape, Generator& gen, double lo = 0.5, double hi = 2.0) {
  return TensorD::uniform(shape, lo, hi, gen);
}

// Values of either sign with |v| in [0.2, 1.5]: relu's kink at 0 stays out of reach of the
// central difference's step.
inline TensorD away_from_zero(const Shape& shape, Generator& gen) {
  TensorD t = TensorD::uniform(shape, 0.2, 1.5, gen);
  for (double& v : std::span(t.data(), t.numel()))
    if (gen.uniform() < 0.5) v = -v;
  return t;
}

// gradcheck with a random upstream gradient must report a relative error below 1e-6. The
// report (worst element: tensor, index, analytic, numeric) is printed through INFO.
inline void require_gradcheck(const GradcheckFn& f, const std::vector<TensorD>& inputs,
                              uint64_t seed = 0) {
  const GradcheckResult r = gradcheck(f, inputs, {}, {.seed = seed});
  INFO(r.report());
  REQUIRE(r.checked > 0);
  REQUIRE(r.max_error < 1e-6);
  REQUIRE(r.ok);
}

}  // namespace mg::testing
