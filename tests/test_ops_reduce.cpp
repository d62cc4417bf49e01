// sum and mean over all elements and over one dim (0, 1, 2 and negative, with and without
// keepdim): gradients (float64 gradcheck, random upstream) at three shapes, output shapes and
// values, and the bad-dim error pinned.
#include <catch2/catch.hpp>

#include "check_gradient.hpp"
#include "core/error.hpp"
#include "core/ops.hpp"

using mg::Shape;
using mg::TensorD;
using mg::testing::normal;
using mg::testing::require_gradcheck;

TEST_CASE("sum and mean over all elements: gradcheck", "[ops][gradcheck]") {
  mg::Generator gen(20);
  for (const Shape& s : {Shape{5}, Shape{3, 4}, Shape{2, 3, 4}}) {
    INFO(s.str());
    require_gradcheck([](const std::vector<TensorD>& in) { return mg::sum(in[0]); },
                      {normal(s, gen)});
    require_gradcheck([](const std::vector<TensorD>& in) { return mg::mean(in[0]); },
                      {normal(s, gen)});
  }
}

TEST_CASE("sum and mean over one dim: gradcheck", "[ops][gradcheck]") {
  mg::Generator gen(21);
  for (const Shape& s : {Shape{5}, Shape{3, 4}, Shape{2, 3, 4}}) {
    for (int dim = -s.rank(); dim < s.rank(); ++dim) {
      for (bool keepdim : {false, true}) {
        INFO(s.str() << " dim " << dim << " keepdim " << keepdim);
        require_gradcheck(
            [=](const std::vector<TensorD>& in) { return mg::sum(in[0], dim, keepdim); },
            {normal(s, gen)});
        require_gradcheck(
            [=](const std::vector<TensorD>& in) { return mg::mean(in[0], dim, keepdim); },
            {normal(s, gen)});
      }
    }
  }
}

TEST_CASE("reductions: output shapes", "[ops]") {
  const TensorD x = TensorD::zeros({2, 3, 4});
  CHECK(mg::sum(x).shape() == Shape{1});
  CHECK(mg::sum(x, 0).shape() == Shape{3, 4});
  CHECK(mg::sum(x, 1).shape() == Shape{2, 4});
  CHECK(mg::sum(x, 2).shape() == Shape{2, 3});
  CHECK(mg::mean(x, -1).shape() == Shape{2, 3});
  CHECK(mg::mean(x, 1, true).shape() == Shape{2, 1, 4});
  CHECK(mg::sum(TensorD::zeros({5}), 0).shape() == Shape{1});
  CHECK(mg::sum(TensorD::zeros({5}), 0, true).shape() == Shape{1});
}

TEST_CASE("reductions: values", "[ops]") {
  // x[i, j] = 3 i + j
  const TensorD x = TensorD::from_vector({0, 1, 2, 3, 4, 5}, {2, 3});
  CHECK(mg::sum(x).item() == 15);
  CHECK(mg::mean(x).item() == 2.5);
  CHECK(mg::sum(x, 0).to_vector() == std::vector<double>{3, 5, 7});
  CHECK(mg::sum(x, 1).to_vector() == std::vector<double>{3, 12});
  CHECK(mg::mean(x, 1).to_vector() == std::vector<double>{1, 4});
  // (2, 2, 2): mean over dim 1 pairs x[i, 0, k] with x[i, 1, k].
  const TensorD y = TensorD::from_vector({0, 1, 2, 3, 4, 5, 6, 7}, {2, 2, 2});
  CHECK(mg::mean(y, 1).to_vector() == std::vector<double>{1, 2, 5, 6});
  CHECK(mg::sum(y, 2).to_vector() == std::vector<double>{1, 5, 9, 13});
  CHECK(mg::sum(y, 0).to_vector() == std::vector<double>{4, 6, 8, 10});
}

TEST_CASE("reductions: a dim out of range is refused", "[ops]") {
  const TensorD x = TensorD::zeros({2, 3});
  REQUIRE_THROWS_AS(mg::sum(x, 2), mg::ShapeError);
  REQUIRE_THROWS_WITH(mg::sum(x, 2),
                      "sum: expected dim in [-2, 1] for an input of shape (2, 3), got 2");
  REQUIRE_THROWS_WITH(mg::mean(x, -3),
                      "mean: expected dim in [-2, 1] for an input of shape (2, 3), got -3");
  REQUIRE_THROWS_WITH(mg::sum(TensorD::zeros({4}), 1, true),
                      "sum: expected dim in [-1, 0] for an input of shape (4), got 1");
}
