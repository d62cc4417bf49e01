// neg, exp, log, sqrt, pow, relu, tanh, sigmoid: gradients (float64 gradcheck, random upstream)
// at three shapes, inputs kept away from poles (log, sqrt, negative powers near 0) and kinks
// (relu at 0); a few forward values and edge cases.
#include <omp.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "check_gradient.hpp"
#include "core/ops.hpp"
#include "core/parallel.hpp"
#include "fixture_json.hpp"

using mg::Shape;
using mg::TensorD;
using mg::testing::require_gradcheck;

namespace {

enum class Domain { kAny, kPositive, kAwayFromZero };

struct Case {
  const char* name;
  TensorD (*op)(const TensorD&);
  Domain domain;
};

const Case kOps[] = {
    {"neg", [](const TensorD& x) { return mg::neg(x); }, Domain::kAny},
    {"exp", [](const TensorD& x) { return mg::exp(x); }, Domain::kAny},
    {"log", [](const TensorD& x) { return mg::log(x); }, Domain::kPositive},
    {"sqrt", [](const TensorD& x) { return mg::sqrt(x); }, Domain::kPositive},
    {"pow 2", [](const TensorD& x) { return mg::pow(x, 2.0); }, Domain::kAny},
    {"pow 3", [](const TensorD& x) { return mg::pow(x, 3.0); }, Domain::kAny},
    {"pow 0.5", [](const TensorD& x) { return mg::pow(x, 0.5); }, Domain::kPositive},
    {"pow -1.5", [](const TensorD& x) { return mg::pow(x, -1.5); }, Domain::kPositive},
    {"relu", [](const TensorD& x) { return mg::relu(x); }, Domain::kAwayFromZero},
    {"tanh", [](const TensorD& x) { return mg::tanh(x); }, Domain::kAny},
    {"sigmoid", [](const TensorD& x) { return mg::sigmoid(x); }, Domain::kAny},
};

TensorD input(Domain domain, const Shape& s, mg::Generator& gen) {
  switch (domain) {
    case Domain::kPositive:
      return mg::testing::positive(s, gen);
    case Domain::kAwayFromZero:
      return mg::testing::away_from_zero(s, gen);
    case Domain::kAny:
      break;
  }
  return mg::testing::normal(s, gen);
}

}  // namespace

TEST_CASE("unary ops: gradcheck at three shapes", "[ops][gradcheck]") {
  mg::Generator gen(10);
  for (const Case& c : kOps) {
    for (const Shape& s : {Shape{6}, Shape{3, 4}, Shape{2, 3, 2}}) {
      INFO(c.name << " at " << s.str());
      require_gradcheck([&c](const std::vector<TensorD>& in) { return c.op(in[0]); },
                        {input(c.domain, s, gen)});
    }
  }
}

TEST_CASE("unary ops: forward values", "[ops]") {
  const TensorD x = TensorD::from_vector({-2, -0.5, 0, 0.5, 2}, {5});
  CHECK(mg::relu(x).to_vector() == std::vector<double>{0, 0, 0, 0.5, 2});
  CHECK(mg::neg(x).to_vector() == std::vector<double>{2, 0.5, -0, -0.5, -2});
  CHECK(mg::pow(x, 2.0).to_vector() == std::vector<double>{4, 0.25, 0, 0.25, 4});
  const std::vector<double> s = mg::sigmoid(x).to_vector();
  for (size_t i = 0; i < s.size(); ++i) CHECK(s[i] == Approx(1 / (1 + std::exp(-x.at(i)))));
  CHECK(mg::tanh(x).at(4) == Approx(std::tanh(2.0)));
  CHECK(mg::log(mg::exp(x)).at(0) == Approx(-2.0));
  CHECK(mg::sqrt(TensorD::from_vector({9}, {1})).item() == 3.0);
}

TEST_CASE("unary ops: sigmoid does not overflow for large |x|", "[ops]") {
  const TensorD x = TensorD::from_vector({-1000, 1000}, {2});
  CHECK(mg::sigmoid(x).to_vector() == std::vector<double>{0, 1});
  mg::Tensor xf = mg::Tensor::from_vector({-200.f, 200.f}, {2});
  CHECK(mg::sigmoid(xf).to_vector() == std::vector<float>{0.f, 1.f});
}

TEST_CASE("unary ops: relu's gradient at exactly 0 is 0, as in PyTorch", "[ops]") {
  TensorD x = TensorD::from_vector({-1, 0, 1}, {3}, true);
  mg::relu(x).backward(TensorD::from_vector({5, 6, 7}, {3}));
  CHECK(x.grad().to_vector() == std::vector<double>{0, 0, 7});
}

namespace {

// The op's output, then x's gradient after two backwards (a fresh gradient, then one added into
// it), on `threads` threads, for an x large enough to be split over them.
std::vector<std::vector<double>> forward_and_backward(const Case& c, int threads) {
  omp_set_num_threads(threads);
  REQUIRE(omp_get_max_threads() == threads);
  mg::Generator gen(11);
  const Shape shape{3, mg::kParallelElements / 2 + 7};  // 1.5 times the threshold, split unevenly
  TensorD x = input(c.domain, shape, gen);
  x.set_requires_grad(true);
  const TensorD dy = mg::testing::normal(shape, gen);
  const TensorD y = c.op(x);
  y.backward(dy, /*retain_graph=*/true);
  const std::vector<double> fresh = x.grad().to_vector();
  y.backward(dy);
  omp_set_num_threads(1);
  return {y.to_vector(), fresh, x.grad().to_vector()};
}

}  // namespace

TEST_CASE("unary ops: split over 2 threads give the same bits as on 1", "[ops]") {
  for (const Case& c : kOps) {
    INFO(c.name);
    const bool same = forward_and_backward(c, 1) == forward_and_backward(c, 2);
    CHECK(same);  // a bool: Catch would print every value of the two sides
  }
}

namespace {

// A value of tests/fixtures/pow.json: a number, or "inf", "-inf", "nan".
double fixture_value(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  const std::string s = v.get<std::string>();
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  return s == "inf" ? std::numeric_limits<double>::infinity()
                    : -std::numeric_limits<double>::infinity();
}

template <typename T>
std::vector<T> fixture_values(const nlohmann::json& list) {
  std::vector<T> out;
  for (const nlohmann::json& v : list) out.push_back(static_cast<T>(fixture_value(v)));
  return out;
}

// The same T, bit for bit (signed zeros told apart), or both NaN, or for `ulps` > 0 both finite
// and within that many ulps; the index of the first element that differs, or -1.
template <typename T>
int64_t first_difference(const std::vector<T>& got, const std::vector<T>& want, int ulps = 0) {
  for (size_t i = 0; i < want.size(); ++i) {
    const T w = want[i], g = got[i];
    const T ulp = std::nextafter(std::abs(w), std::numeric_limits<T>::infinity()) - std::abs(w);
    const bool same = std::isnan(w) ? std::isnan(g)
                                    : (g == w && std::signbit(g) == std::signbit(w)) ||
                                          (ulps > 0 && std::isfinite(w) && std::isfinite(g) &&
                                           std::abs(g - w) <= T(ulps) * ulp);
    if (!same) return static_cast<int64_t>(i);
  }
  return -1;
}

// The exponents PyTorch 1.13 computes by their own formulas (core/ops_unary.cpp, power); others
// run its vectorised pow (SLEEF, within 1 ulp), which std::pow matches only to an ulp or two.
bool by_formula(double p) {
  for (double q : {0.0, 1.0, 0.5, -0.5, -1.0, 2.0, 3.0, -2.0})
    if (p == q) return true;
  return false;
}

template <typename T>
void check_pow_case(const nlohmann::json& c) {
  const std::vector<T> x = fixture_values<T>(c.at("x"));
  const auto n = static_cast<int64_t>(x.size());
  const mg::BasicTensor<T> xt = mg::BasicTensor<T>::from_vector(x, Shape{n}, true);
  const mg::BasicTensor<T> y = mg::pow(xt, c.at("exponent").get<double>());
  y.backward(mg::BasicTensor<T>::from_vector(fixture_values<T>(c.at("dy")), Shape{n}));
  const std::vector<T> want_y = fixture_values<T>(c.at("y"));
  const std::vector<T> want_dx = fixture_values<T>(c.at("dx"));
  const int64_t iy = first_difference(y.to_vector(), want_y);
  // dx = dy p x^(p-1): bit for bit where x^(p-1) is by formula too (or p = 0: dx = 0)
  const double p = c.at("exponent").get<double>();
  const int64_t idx =
      first_difference(xt.grad().to_vector(), want_dx, p == 0 || by_formula(p - 1) ? 0 : 2);
  INFO("y differs first at " << iy << ", dx at " << idx << " (x = "
                             << (iy >= 0    ? x[iy]
                                 : idx >= 0 ? x[idx]
                                            : T(0))
                             << ")");
  CHECK(iy == -1);
  CHECK(idx == -1);
}

}  // namespace

TEST_CASE("unary ops: pow gives PyTorch's bits for the exponents it computes by formula", "[ops]") {
  // 0, 1, 0.5 (sqrt), -0.5, -1, 2, 3 (x * x * x), -2: y bit for bit, and dx too where its
  // x^(p-1) is by formula (p = -0.5 and -2 need x^-1.5 and x^-3: within 2 ulps), at zeros of both
  // signs, infinities, NaN, a denormal and random values (scripts/fixtures_pow.py). At x = 0 the
  // gradient of x^0 is 0, not 0 * inf; (-inf)^0.5 is NaN and (-0)^-0.5 is -inf, as sqrt gives.
  const nlohmann::json fixture = mg::testing::load_fixture("pow.json");
  REQUIRE(fixture.at("cases").size() == 16);
  for (const nlohmann::json& c : fixture.at("cases")) {
    INFO("exponent " << c.at("exponent").get<double>() << ", " << c.at("dtype").get<std::string>());
    if (c.at("dtype") == "float32") {
      check_pow_case<float>(c);
    } else {
      check_pow_case<double>(c);
    }
  }
}
