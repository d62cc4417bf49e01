// mse_loss and cross_entropy: gradients (float64 gradcheck, random upstream) at three or more
// shapes, values against hand-computed ones, and every argument error pinned.
#include <cmath>

#include <catch2/catch.hpp>

#include "check_gradient.hpp"
#include "core/error.hpp"
#include "layers/loss.hpp"

using mg::Shape;
using mg::TensorD;
using mg::testing::normal;
using mg::testing::require_gradcheck;

TEST_CASE("mse_loss: gradcheck for pred and target", "[ops][gradcheck]") {
  mg::Generator gen(40);
  for (const Shape& s : {Shape{5}, Shape{3, 4}, Shape{2, 3, 4}}) {
    INFO(s.str());
    require_gradcheck([](const std::vector<TensorD>& in) { return mg::nn::mse_loss(in[0], in[1]); },
                      {normal(s, gen), normal(s, gen)});
  }
}

TEST_CASE("mse_loss: value", "[ops]") {
  const TensorD p = TensorD::from_vector({1, 2, 3, 4}, {2, 2});
  const TensorD t = TensorD::from_vector({1, 0, 3, 1}, {2, 2});
  CHECK(mg::nn::mse_loss(p, t).item() == Approx((0 + 4 + 0 + 9) / 4.0));
  CHECK(mg::nn::mse_loss(p, t).shape() == Shape{1});
}

TEST_CASE("cross_entropy: gradcheck", "[ops][gradcheck]") {
  mg::Generator gen(41);
  for (const Shape& s : {Shape{1, 3}, Shape{4, 3}, Shape{2, 5}, Shape{6, 2}}) {
    std::vector<int64_t> targets;
    for (int64_t i = 0; i < s[0]; ++i)
      targets.push_back(static_cast<int64_t>(gen.below(static_cast<uint64_t>(s[1]))));
    INFO(s.str());
    require_gradcheck(
        [&targets](const std::vector<TensorD>& in) {
          return mg::nn::cross_entropy(in[0], std::span<const int64_t>(targets));
        },
        {normal(s, gen)});
  }
}

TEST_CASE("cross_entropy: value, and stability for large logits", "[ops]") {
  // Row 0: logits (0, ln 3) -> softmax (1/4, 3/4); target 1 -> -ln(3/4).
  // Row 1: logits (2, 2)    -> softmax (1/2, 1/2); target 0 -> ln 2.
  const TensorD z = TensorD::from_vector({0, std::log(3.0), 2, 2}, {2, 2});
  const std::vector<int64_t> t{1, 0};
  CHECK(mg::nn::cross_entropy(z, std::span<const int64_t>(t)).item() ==
        Approx((-std::log(0.75) + std::log(2.0)) / 2));
  // Logits of 1000 overflow e^z; the max-shifted log-sum-exp does not.
  const mg::Tensor big = mg::Tensor::from_vector({1000.f, 0.f}, {1, 2});
  const std::vector<int64_t> t0{1};
  CHECK(mg::nn::cross_entropy(big, std::span<const int64_t>(t0)).item() == Approx(1000.f));
}

TEST_CASE("losses: argument errors are pinned", "[ops]") {
  const TensorD p = TensorD::zeros({2, 3});
  REQUIRE_THROWS_AS(mg::nn::mse_loss(p, TensorD::zeros({3, 2})), mg::ShapeError);
  REQUIRE_THROWS_WITH(mg::nn::mse_loss(p, TensorD::zeros({3, 2})),
                      "mse_loss: expected target of the same shape as pred (2, 3), got (3, 2)");
  REQUIRE_THROWS_WITH(mg::nn::mse_loss(p, TensorD::zeros({6})),
                      "mse_loss: expected target of the same shape as pred (2, 3), got (6)");

  const std::vector<int64_t> two{0, 1};
  const std::vector<int64_t> three{0, 1, 2};
  REQUIRE_THROWS_AS(mg::nn::cross_entropy(TensorD::zeros({3}), std::span<const int64_t>(three)),
                    mg::ShapeError);
  REQUIRE_THROWS_WITH(mg::nn::cross_entropy(TensorD::zeros({3}), std::span<const int64_t>(three)),
                      "cross_entropy: expected logits of shape (N, K) with N > 0, got (3)");
  REQUIRE_THROWS_WITH(
      mg::nn::cross_entropy(TensorD::zeros({2, 3, 4}), std::span<const int64_t>(two)),
      "cross_entropy: expected logits of shape (N, K) with N > 0, got (2, 3, 4)");
  REQUIRE_THROWS_WITH(mg::nn::cross_entropy(TensorD::zeros({0, 3}), std::span<const int64_t>()),
                      "cross_entropy: expected logits of shape (N, K) with N > 0, got (0, 3)");
  REQUIRE_THROWS_WITH(mg::nn::cross_entropy(p, std::span<const int64_t>(three)),
                      "cross_entropy: expected 2 targets for logits (2, 3), got 3");

  const std::vector<int64_t> too_big{0, 3};
  const std::vector<int64_t> negative{-1, 0};
  REQUIRE_THROWS_AS(mg::nn::cross_entropy(p, std::span<const int64_t>(too_big)),
                    std::invalid_argument);
  REQUIRE_THROWS_WITH(mg::nn::cross_entropy(p, std::span<const int64_t>(too_big)),
                      "cross_entropy: expected targets in [0, 3), got 3 at index 1");
  REQUIRE_THROWS_WITH(mg::nn::cross_entropy(p, std::span<const int64_t>(negative)),
                      "cross_entropy: expected targets in [0, 3), got -1 at index 0");
}
