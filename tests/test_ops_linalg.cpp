// matmul, transpose and reshape: gradients (float64 gradcheck, random upstream) at three or
// more shapes, forward values, and every shape error pinned.
#include <catch2/catch.hpp>

#include "check_gradient.hpp"
#include "core/error.hpp"
#include "core/ops.hpp"

using mg::Shape;
using mg::TensorD;
using mg::testing::normal;
using mg::testing::require_gradcheck;

TEST_CASE("matmul: gradcheck", "[ops][gradcheck]") {
  mg::Generator gen(30);
  const std::pair<Shape, Shape> pairs[] = {{Shape{2, 3}, Shape{3, 4}},
                                           {Shape{1, 5}, Shape{5, 1}},
                                           {Shape{4, 4}, Shape{4, 2}},
                                           {Shape{5, 1}, Shape{1, 3}}};
  for (const auto& [sa, sb] : pairs) {
    INFO(sa.str() << " x " << sb.str());
    require_gradcheck([](const std::vector<TensorD>& in) { return mg::matmul(in[0], in[1]); },
                      {normal(sa, gen), normal(sb, gen)});
  }
}

TEST_CASE("matmul: only the operand that requires grad gets a gradient", "[ops]") {
  TensorD a = TensorD::from_vector({1, 2, 3, 4}, {2, 2}, true);
  const TensorD b = TensorD::from_vector({5, 6, 7, 8}, {2, 2});
  const TensorD y = mg::matmul(a, b);
  CHECK(y.to_vector() == std::vector<double>{19, 22, 43, 50});
  y.backward(TensorD::from_vector({1, 0, 0, 1}, {2, 2}));
  // da = dy b^T = [[5, 7], [6, 8]]
  CHECK(a.grad().to_vector() == std::vector<double>{5, 7, 6, 8});
  CHECK_FALSE(b.grad().defined());
}

TEST_CASE("transpose: gradcheck for matrices and for a pair of dims of a rank-3 tensor",
          "[ops][gradcheck]") {
  mg::Generator gen(31);
  for (const Shape& s : {Shape{3, 4}, Shape{1, 5}, Shape{5, 2}}) {
    INFO(s.str());
    require_gradcheck([](const std::vector<TensorD>& in) { return mg::transpose(in[0]); },
                      {normal(s, gen)});
  }
  const std::pair<int, int> dims[] = {{0, 1}, {1, 2}, {0, 2}, {2, 0}, {-1, -2}};
  for (const Shape& s : {Shape{2, 3, 4}, Shape{3, 1, 2}, Shape{2, 2, 2}}) {
    for (const auto& [d0, d1] : dims) {
      INFO(s.str() << " dims " << d0 << ", " << d1);
      require_gradcheck(
          [d0, d1](const std::vector<TensorD>& in) { return mg::transpose(in[0], d0, d1); },
          {normal(s, gen)});
    }
  }
}

TEST_CASE("transpose: values and shapes", "[ops]") {
  const TensorD m = TensorD::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(mg::transpose(m).shape() == Shape{3, 2});
  CHECK(mg::transpose(m).to_vector() == std::vector<double>{1, 4, 2, 5, 3, 6});
  // x[i, j, k] = 100 i + 10 j + k, shape (2, 3, 2)
  std::vector<double> v;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) v.push_back(100 * i + 10 * j + k);
  const TensorD x = TensorD::from_vector(v, {2, 3, 2});
  const TensorD y = mg::transpose(x, 0, 2);  // y[k, j, i] = x[i, j, k]
  REQUIRE(y.shape() == Shape{2, 3, 2});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) CHECK(y.at(k, j, i) == x.at(i, j, k));
  const TensorD z = mg::transpose(x, 1, 2);  // z[i, k, j] = x[i, j, k]
  REQUIRE(z.shape() == Shape{2, 2, 3});
  CHECK(z.at(1, 1, 2) == x.at(1, 2, 1));
  CHECK(z.at(0, 1, 0) == x.at(0, 0, 1));
}

TEST_CASE("reshape: gradcheck and values", "[ops][gradcheck]") {
  mg::Generator gen(32);
  const std::pair<Shape, Shape> pairs[] = {{Shape{2, 3, 4}, Shape{6, 4}},
                                           {Shape{12}, Shape{3, 4}},
                                           {Shape{3, 4}, Shape{2, 2, 3}},
                                           {Shape{2, 3}, Shape{6}}};
  for (const auto& [from, to] : pairs) {
    INFO(from.str() << " -> " << to.str());
    require_gradcheck([to](const std::vector<TensorD>& in) { return mg::reshape(in[0], to); },
                      {normal(from, gen)});
  }
  const TensorD x = TensorD::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  const TensorD y = mg::reshape(x, {3, 2});
  CHECK(y.shape() == Shape{3, 2});
  CHECK(y.to_vector() == x.to_vector());
  CHECK(y.at(2, 0) == 5);
}

TEST_CASE("linalg ops: shape errors are pinned", "[ops]") {
  const TensorD a = TensorD::zeros({2, 3});
  REQUIRE_THROWS_AS(mg::matmul(a, TensorD::zeros({4, 5})), mg::ShapeError);
  REQUIRE_THROWS_WITH(mg::matmul(a, TensorD::zeros({4, 5})),
                      "matmul: expected (N, K) x (K, M) matrices, got (2, 3) x (4, 5)");
  REQUIRE_THROWS_WITH(mg::matmul(TensorD::zeros({3}), TensorD::zeros({3, 2})),
                      "matmul: expected (N, K) x (K, M) matrices, got (3) x (3, 2)");
  REQUIRE_THROWS_WITH(mg::matmul(TensorD::zeros({2, 3, 4}), TensorD::zeros({4, 2})),
                      "matmul: expected (N, K) x (K, M) matrices, got (2, 3, 4) x (4, 2)");

  REQUIRE_THROWS_AS(mg::transpose(a, 0, 2), mg::ShapeError);
  REQUIRE_THROWS_WITH(mg::transpose(a, 0, 2),
                      "transpose: expected two dims in [-2, 2) of a rank 2 or 3 input, got dims 0 "
                      "and 2 of shape (2, 3)");
  REQUIRE_THROWS_WITH(mg::transpose(TensorD::zeros({4})),
                      "transpose: expected a rank 2 or 3 input, got shape (4)");
  REQUIRE_THROWS_WITH(mg::transpose(TensorD::zeros({2, 3, 4}), 0, 3),
                      "transpose: expected two dims in [-3, 3) of a rank 2 or 3 input, got dims 0 "
                      "and 3 of shape (2, 3, 4)");
  // A negative dim is named as given, not as counted from the end.
  REQUIRE_THROWS_WITH(mg::transpose(TensorD::zeros({2, 3, 4}), -5, 0),
                      "transpose: expected two dims in [-3, 3) of a rank 2 or 3 input, got dims -5 "
                      "and 0 of shape (2, 3, 4)");

  REQUIRE_THROWS_AS(mg::reshape(a, {4}), mg::ShapeError);
  REQUIRE_THROWS_WITH(
      mg::reshape(a, {4}),
      "reshape: expected a shape with 6 elements like (2, 3), got (4) (4 elements)");
  REQUIRE_THROWS_WITH(
      mg::reshape(a, {2, 2, 2}),
      "reshape: expected a shape with 6 elements like (2, 3), got (2, 2, 2) (8 elements)");
}
