// LayerNorm: PyTorch 1.13's values and gradients (tests/fixtures/layernorm.json, written by
// scripts/fixtures_layernorm.py), gradient checks in float64 with a random upstream, the row
// statistics, accumulation, modes, names and pinned errors.
#include <cmath>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"
#include "layers/gradcheck_module.hpp"
#include "layers/layernorm.hpp"

using mg::Shape;
using mg::Tensor;
using mg::TensorD;
using mg::nn::LayerNorm;
using LayerNormD = mg::nn::BasicLayerNorm<double>;
using nlohmann::json;

namespace {

json load_layernorm_fixture() {
  const std::string path = std::string(MINIGRAD_FIXTURES_DIR) + "/layernorm.json";
  std::ifstream in(path);
  INFO(path << " is missing: run scripts/make_fixtures.sh");
  REQUIRE(in.good());
  return json::parse(in);
}

template <typename T>
mg::BasicTensor<T> tensor_of(const json& t, bool requires_grad = false) {
  const auto values = t.at("data").get<std::vector<double>>();
  const auto dims = t.at("shape").get<std::vector<int64_t>>();
  return mg::BasicTensor<T>::from_vector(
      std::vector<T>(values.begin(), values.end()),
      Shape::checked("fixture", dims.data(), static_cast<int>(dims.size())), requires_grad);
}

// The worst |actual - expected| / max(|expected|, 1) over all elements.
template <typename T>
double worst_error(const mg::BasicTensor<T>& actual, const json& expected) {
  const auto want = expected.at("data").get<std::vector<double>>();
  REQUIRE(actual.numel() == static_cast<int64_t>(want.size()));
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double error = std::abs(actual.data()[i] - want[i]) / std::max(std::abs(want[i]), 1.0);
    worst = std::max(worst, error);
  }
  return worst;
}

// Compares output and gradients of `ln` (after y.backward(upstream)) with `expected` (a fixture
// case, or its "exact" part) within `tolerance`.
template <typename T>
void check_against(const mg::nn::BasicLayerNorm<T>& ln, const mg::BasicTensor<T>& x,
                   const mg::BasicTensor<T>& y, const json& expected, double tolerance) {
  CHECK(worst_error(y, expected.at("y")) < tolerance);
  CHECK(worst_error(x.grad(), expected.at("dx")) < tolerance);
  if (ln.options().elementwise_affine) {
    CHECK(worst_error(ln.weight.grad(), expected.at("dweight")) < tolerance);
    CHECK(worst_error(ln.bias.grad(), expected.at("dbias")) < tolerance);
  }
}

// Runs one fixture case in T: the same inputs, weight, bias and upstream as PyTorch.
template <typename T>
void check_case(const json& c) {
  const int64_t C = c.at("shape").back().get<int64_t>();
  const bool affine = c.at("elementwise_affine");
  mg::nn::BasicLayerNorm<T> ln(C, {.eps = c.at("eps"), .elementwise_affine = affine});
  if (affine) {
    std::copy_n(tensor_of<T>(c.at("weight")).data(), C, ln.weight.data());
    std::copy_n(tensor_of<T>(c.at("bias")).data(), C, ln.bias.data());
  }
  mg::BasicTensor<T> x = tensor_of<T>(c.at("x"), /*requires_grad=*/true);
  mg::BasicTensor<T> y = ln(x);
  y.backward(tensor_of<T>(c.at("upstream")));
  if constexpr (std::is_same_v<T, double>) {
    check_against(ln, x, y, c, 1e-10);
  } else {
    // Within 1e-5 of PyTorch's float32 and of the exact (float64) result on the same values.
    // On rows far from zero (offset 100) PyTorch's float32 is itself 1.2e-5 from exact (it
    // rounds its statistics to float32; minigrad accumulates them in double), so there the
    // comparison with PyTorch's float32 allows 2e-5.
    check_against(ln, x, y, c, c.at("offset").get<double>() > 0 ? 2e-5 : 1e-5);
    check_against(ln, x, y, c.at("exact"), 1e-5);
  }
}

}  // namespace

TEST_CASE("LayerNorm: matches PyTorch 1.13 values and gradients", "[layernorm]") {
  const json fixture = load_layernorm_fixture();
  REQUIRE(fixture.at("cases").size() == 12);
  for (const json& c : fixture.at("cases")) {
    INFO("shape " << c.at("shape").dump() << ", eps " << c.at("eps").get<double>() << ", affine "
                  << c.at("elementwise_affine").get<bool>() << ", " << c.at("dtype"));
    if (c.at("dtype") == "float32") {
      check_case<float>(c);
    } else {
      check_case<double>(c);
    }
  }
}

TEST_CASE("LayerNorm: every row has mean 0 and variance 1 before the affine", "[layernorm]") {
  mg::Generator gen(1);
  // Rows far from zero, rows of (N, L, C): the statistics are per row, in train and eval alike.
  TensorD x = TensorD::randn(Shape{3, 2, 6}, gen) * 5.0 + 1000.0;
  LayerNormD ln(6, {.elementwise_affine = false});
  for (bool training : {true, false}) {
    ln.train(training);
    const TensorD y = ln(x);
    for (int64_t r = 0; r < 6; ++r) {
      double mean = 0, var = 0;
      for (int64_t c = 0; c < 6; ++c) mean += y.data()[r * 6 + c] / 6;
      for (int64_t c = 0; c < 6; ++c) var += std::pow(y.data()[r * 6 + c] - mean, 2) / 6;
      CHECK(std::abs(mean) < 1e-12);
      CHECK(var == Approx(1.0).epsilon(1e-6));  // var / (var + eps), var = 25
    }
  }
}

TEST_CASE("LayerNorm: gradcheck in float64 with a random upstream", "[layernorm]") {
  mg::Generator gen(7);
  for (Shape shape : {Shape{4, 5}, Shape{2, 3, 4}, Shape{1, 3}}) {
    for (bool affine : {true, false}) {
      INFO("shape " << shape.str() << ", affine " << affine);
      LayerNormD ln(shape[shape.rank() - 1], {.elementwise_affine = affine});
      if (affine) {  // not ones and zeros, so a backward that ignored gamma would fail
        for (int64_t c = 0; c < ln.weight.numel(); ++c) {
          ln.weight.data()[c] = gen.normal(1.0, 0.5);
          ln.bias.data()[c] = gen.normal(0.0, 0.5);
        }
      }
      const TensorD x = TensorD::randn(shape, gen);
      const mg::GradcheckResult r = mg::nn::gradcheck_module(ln, x, {.seed = 11});
      INFO(r.report());
      CHECK(r.ok);
      CHECK(r.checked == x.numel() + (affine ? 2 * ln.weight.numel() : 0));
    }
  }
}

TEST_CASE("LayerNorm: gradients accumulate into x, weight and bias", "[layernorm]") {
  mg::Generator gen(3);
  LayerNormD ln(4);
  const TensorD x = TensorD::randn(Shape{3, 4}, gen, /*requires_grad=*/true);
  const TensorD dy = TensorD::randn(Shape{3, 4}, gen);
  ln(x).backward(dy);
  const std::vector<double> dx1 = x.grad().to_vector(), dw1 = ln.weight.grad().to_vector();
  // A second backward through a fresh graph adds the same amount again.
  ln(x).backward(dy);
  for (size_t i = 0; i < dx1.size(); ++i) CHECK(x.grad().data()[i] == Approx(2 * dx1[i]));
  for (size_t i = 0; i < dw1.size(); ++i) CHECK(ln.weight.grad().data()[i] == Approx(2 * dw1[i]));
  // x used twice in one graph: y = LN(x) + x, so dx = dLN + dy.
  TensorD x2 = x.detach().clone().set_requires_grad(true);
  ln(x2).backward(dy);
  const std::vector<double> d_ln = x2.grad().to_vector();
  x2.clear_grad();
  mg::add(ln(x2), x2).backward(dy);
  for (size_t i = 0; i < d_ln.size(); ++i)
    CHECK(x2.grad().data()[i] == Approx(d_ln[i] + dy.data()[i]));
}

TEST_CASE("LayerNorm: a batch of one works, in train and eval alike", "[layernorm]") {
  LayerNorm ln(3);
  const Tensor x = Tensor::from_vector({1, 2, 4}, Shape{1, 3});
  const std::vector<float> train = ln(x).to_vector();
  ln.eval();
  CHECK(ln(x).to_vector() == train);
  // (1 - 7/3, 2 - 7/3, 4 - 7/3) / sqrt(14/9 + 1e-5)
  CHECK(train[0] == Approx(-1.0690).epsilon(1e-4));
  CHECK(train[2] == Approx(1.3363).epsilon(1e-4));
}

TEST_CASE("LayerNorm: parameters, state_dict names and repr follow PyTorch", "[layernorm]") {
  LayerNorm ln(4);
  CHECK(ln.weight.to_vector() == std::vector<float>{1, 1, 1, 1});
  CHECK(ln.bias.to_vector() == std::vector<float>{0, 0, 0, 0});
  CHECK(ln.weight.requires_grad());
  std::vector<std::string> keys;
  for (auto& [name, value] : ln.state_dict()) keys.push_back(name);
  CHECK(keys == std::vector<std::string>{"weight", "bias"});
  CHECK(ln.repr() == "LayerNorm((4,), eps=1e-05, elementwise_affine=true)");
  LayerNorm plain(4, {.eps = 1e-3, .elementwise_affine = false});
  CHECK(plain.state_dict().empty());
  CHECK(plain.repr() == "LayerNorm((4,), eps=0.001, elementwise_affine=false)");
  ln.weight.data()[0] = 3;
  ln.reset_parameters();
  CHECK(ln.weight.to_vector() == std::vector<float>{1, 1, 1, 1});
}

TEST_CASE("LayerNorm: errors name the layer, what was expected and what came", "[layernorm]") {
  LayerNorm ln(4);
  CHECK_THROWS_MATCHES(
      ln(Tensor::zeros(Shape{8, 3})), mg::ShapeError,
      Catch::Message("LayerNorm: expected input of shape (N, 4) or (N, L, 4), got (8, 3)"));
  CHECK_THROWS_MATCHES(
      ln(Tensor::zeros(Shape{2, 4, 3})), mg::ShapeError,
      Catch::Message("LayerNorm: expected input of shape (N, 4) or (N, L, 4), got (2, 4, 3)"));
  CHECK_THROWS_MATCHES(
      ln(Tensor::zeros(Shape{4})), mg::ShapeError,
      Catch::Message("LayerNorm: expected input of shape (N, 4) or (N, L, 4), got (4)"));
  CHECK_THROWS_MATCHES(LayerNorm(0), std::invalid_argument,
                       Catch::Message("LayerNorm: expected normalized_shape > 0, got 0"));
  CHECK_THROWS_MATCHES(LayerNorm(4, {.eps = -1}), std::invalid_argument,
                       Catch::Message("LayerNorm: expected eps >= 0, got -1"));
}
