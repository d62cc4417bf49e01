// mg::gradcheck itself: it must catch wrong backwards, including one that an all-ones upstream
// would let through; it refuses such an upstream and other misuse with pinned messages; it
// checks parameters by name and leaves inputs and state as it found them.
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/gradcheck.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"

using Catch::Contains;
using mg::Shape;
using mg::TensorD;

namespace {

// y = x^2 with a backward that forgets the factor 2: dx += dy * x instead of 2 x dy.
TensorD bad_square(const TensorD& x) {
  TensorD y = TensorD::empty(x.shape());
  y.flat() = x.flat().square();
  y.set_grad_fn("bad_square", {x}, [](const TensorD& dy, std::span<const TensorD> in) {
    in[0].grad_flat() += dy.flat() * in[0].flat();
  });
  return y;
}

// y = x - mean(x) with a backward that returns nothing (dx += 0). The true gradient is
// dx = dy - mean(dy): zero when every dy is equal, so only a non-constant upstream catches it.
TensorD bad_center(const TensorD& x) {
  TensorD y = TensorD::empty(x.shape());
  y.flat() = x.flat() - x.flat().mean();
  y.set_grad_fn("bad_center", {x},
                [](const TensorD&, std::span<const TensorD> in) { in[0].grad_flat() += 0.0; });
  return y;
}

}  // namespace

TEST_CASE("gradcheck catches a backward that forgets a factor", "[gradcheck]") {
  mg::Generator gen(50);
  const TensorD x = TensorD::uniform({3, 4}, 0.5, 2.0, gen);
  const mg::GradcheckResult bad =
      mg::gradcheck([](const std::vector<TensorD>& in) { return bad_square(in[0]); }, {x});
  INFO(bad.report());
  CHECK_FALSE(bad.ok);
  // analytic = x dy, numeric = 2 x dy: relative error |x dy - 2 x dy| / |2 x dy| = 1/2.
  CHECK(bad.max_error == Approx(0.5).epsilon(1e-6));
  CHECK(bad.worst_tensor == "input 0");
  CHECK(bad.numeric == Approx(2 * bad.analytic).epsilon(1e-6));
  CHECK_THAT(bad.report(), Contains("gradcheck FAILED: 12 elements"));

  // The same function through the real ops passes.
  const mg::GradcheckResult good =
      mg::gradcheck([](const std::vector<TensorD>& in) { return in[0] * in[0]; }, {x});
  INFO(good.report());
  CHECK(good.ok);
  CHECK(good.max_error < 1e-6);
  CHECK_THAT(good.report(), Contains("gradcheck passed: 12 elements"));
}

TEST_CASE("gradcheck's random upstream catches a backward that sums to zero", "[gradcheck]") {
  mg::Generator gen(51);
  const TensorD x = TensorD::randn({2, 5}, gen);
  auto f = [](const std::vector<TensorD>& in) { return bad_center(in[0]); };
  const mg::GradcheckResult r = mg::gradcheck(f, {x});
  INFO(r.report());
  CHECK_FALSE(r.ok);
  CHECK(r.max_error == Approx(1.0));  // analytic 0 against a non-zero numeric value

  // An all-equal upstream would have checked only d(sum(y))/dx = 0 and passed: it is refused.
  const std::string refusal =
      "gradcheck: refusing an upstream gradient whose elements are all equal: it checks only "
      "d(sum(y))/dx, which is zero through a normalisation, so a wrong backward would pass; "
      "leave options.upstream empty for a random one";
  REQUIRE_THROWS_AS(mg::gradcheck(f, {x}, {}, {.upstream = TensorD::full({2, 5}, 1.0)}),
                    std::invalid_argument);
  REQUIRE_THROWS_WITH(mg::gradcheck(f, {x}, {}, {.upstream = TensorD::full({2, 5}, 1.0)}), refusal);
  REQUIRE_THROWS_WITH(mg::gradcheck(f, {x}, {}, {.upstream = TensorD::full({2, 5}, -0.5)}),
                      refusal);
  // A non-constant explicit upstream is accepted, and catches it too.
  const TensorD dy = TensorD::randn({2, 5}, gen);
  CHECK_FALSE(mg::gradcheck(f, {x}, {}, {.upstream = dy}).ok);
}

TEST_CASE("gradcheck checks named parameters and names the worst one", "[gradcheck]") {
  mg::Generator gen(52);
  TensorD w = TensorD::randn({3}, gen, /*requires_grad=*/true);
  // y = x * w^2 with the wrong backward for w^2: input 0 (x) is right, "weight" is not.
  auto f = [&w](const std::vector<TensorD>& in) { return mg::mul(in[0], bad_square(w)); };
  const mg::GradcheckResult r = mg::gradcheck(f, {TensorD::randn({4, 3}, gen)}, {{"weight", w}});
  INFO(r.report());
  CHECK_FALSE(r.ok);
  CHECK(r.worst_tensor == "weight");
  CHECK(r.checked == 12 + 3);
  CHECK_THAT(r.report(), Contains("at weight["));
  CHECK_FALSE(w.grad().defined());  // gradcheck clears what it accumulated
}

TEST_CASE("gradcheck leaves inputs unchanged and restores state", "[gradcheck]") {
  mg::Generator gen(53);
  const TensorD x = TensorD::randn({2, 3}, gen);
  const std::vector<double> before = x.to_vector();
  TensorD counter = TensorD::zeros({1});  // f's side effect: counts its calls
  auto f = [&counter](const std::vector<TensorD>& in) {
    counter.data()[0] += 1;
    return mg::tanh(in[0]);
  };
  const mg::GradcheckResult r = mg::gradcheck(f, {x}, {}, {.state = {counter}});
  INFO(r.report());
  CHECK(r.ok);
  CHECK(x.to_vector() == before);
  CHECK(counter.item() == 0);
}

TEST_CASE("gradcheck: misuse is refused with pinned messages", "[gradcheck]") {
  mg::Generator gen(54);
  auto f = [](const std::vector<TensorD>& in) { return mg::tanh(in[0]); };
  const TensorD x = TensorD::randn({2, 3}, gen);
  REQUIRE_THROWS_AS(mg::gradcheck(f, {x}, {}, {.upstream = TensorD::zeros({3, 2})}),
                    mg::ShapeError);
  REQUIRE_THROWS_WITH(mg::gradcheck(f, {x}, {}, {.upstream = TensorD::zeros({3, 2})}),
                      "gradcheck: expected an upstream gradient of shape (2, 3), got (3, 2)");

  TensorD leaf = TensorD::randn({2, 3}, gen, true);
  const TensorD not_leaf = leaf * 2.0;
  REQUIRE_THROWS_WITH(mg::gradcheck(f, {not_leaf}),
                      "gradcheck: expected input 0 to be a leaf tensor, got the output of "
                      "'mul_scalar'");
  const TensorD frozen = TensorD::randn({3}, gen);
  REQUIRE_THROWS_WITH(mg::gradcheck(f, {x}, {{"bias", frozen}}),
                      "gradcheck: expected parameter 'bias' to require grad");
  const TensorD constant = TensorD::randn({2}, gen);
  REQUIRE_THROWS_WITH(
      mg::gradcheck([&constant](const std::vector<TensorD>&) { return mg::exp(constant); }, {x}),
      "gradcheck: the function's output does not depend on any input or parameter that requires "
      "grad");
}
