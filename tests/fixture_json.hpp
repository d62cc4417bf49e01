// Reading PyTorch reference values (tests/fixtures/*.json, written by scripts/fixtures_*.py).
// A tensor is stored as {"shape": [...], "data": [row-major values]}.
#pragma once

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/tensor.hpp"

namespace mg::testing {

inline nlohmann::json load_fixture(const std::string& file) {
  const std::string path = std::string(MINIGRAD_FIXTURES_DIR) + "/" + file;
  std::ifstream in(path);
  INFO("fixture " << path << " (regenerate with scripts/make_fixtures.sh)");
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

inline Shape fixture_shape(const nlohmann::json& t) {
  const std::vector<int64_t> dims = t.at("shape").get<std::vector<int64_t>>();
  return Shape::checked("fixture", dims.data(), static_cast<int>(dims.size()));
}

template <typename T>
BasicTensor<T> fixture_tensor(const nlohmann::json& t, bool requires_grad = false) {
  const std::vector<double> values = t.at("data").get<std::vector<double>>();
  return BasicTensor<T>::from_vector(std::vector<T>(values.begin(), values.end()), fixture_shape(t),
                                     requires_grad);
}

// Every element of `actual` within `relative` of the fixture's, relative to the element's size,
// but never to less than 1% of the tensor's largest element: a tiny element of a gradient is a
// sum of larger terms that cancel, and float32's rounding of those terms (summed in another order
// by PyTorch) is what it carries, not 1e-5 of its own size. Reports the worst element.
template <typename T>
void require_close(const BasicTensor<T>& actual, const nlohmann::json& expected, double relative) {
  REQUIRE(actual.defined());
  REQUIRE(actual.shape() == fixture_shape(expected));
  const std::vector<double> want = expected.at("data").get<std::vector<double>>();
  const std::vector<T> got = actual.to_vector();
  double largest = 0;
  for (double w : want) largest = std::max(largest, std::abs(w));
  const double floor = std::max(1e-2 * largest, 1e-30);
  double worst = 0;
  size_t worst_index = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double error =
        std::abs(static_cast<double>(got[i]) - want[i]) / std::max(std::abs(want[i]), floor);
    if (error > worst) {
      worst = error;
      worst_index = i;
    }
  }
  INFO("worst relative error " << worst << " at index " << worst_index << ": got "
                               << got[worst_index] << ", expected " << want[worst_index]);
  REQUIRE(worst <= relative);
}

// Every element of `actual` the same T as the fixture's (NaN matching NaN): for what minigrad
// computes in PyTorch's own order, rounding for rounding, such as the optimizers' updates.
// Reports the first element that differs.
template <typename T>
void require_same(const BasicTensor<T>& actual, const nlohmann::json& expected) {
  REQUIRE(actual.defined());
  REQUIRE(actual.shape() == fixture_shape(expected));
  const std::vector<double> want = expected.at("data").get<std::vector<double>>();
  const std::vector<T> got = actual.to_vector();
  for (size_t i = 0; i < want.size(); ++i) {
    const T w = static_cast<T>(want[i]);
    if (got[i] == w || (std::isnan(got[i]) && std::isnan(w))) continue;
    INFO("index " << i << ": got " << std::hexfloat << got[i] << ", expected " << w);
    REQUIRE(got[i] == w);
  }
}

}  // namespace mg::testing
