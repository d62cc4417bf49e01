// BatchNorm1d in float32 on values spread by 1e18 to 1e19, whose squares approach float32's
// largest value (3.4e38), against PyTorch 1.13: tests/fixtures/batchnorm_huge.json, written by
// scripts/fixtures_batchnorm_huge.py (its docstring describes the cases). Both paths, each forced.
//
// Where float32 PyTorch's statistics fit, minigrad must match them. Where they overflow (PyTorch
// keeps sum((x - mean)^2) in float32: past 3.4e38 it normalises everything to beta and its
// running_var is inf, although the variance fits), minigrad keeps the sum in double and must
// give the exact result, PyTorch's float64 one.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "layers/batchnorm1d.hpp"

using mg::Shape;
using mg::Tensor;
using nlohmann::json;

namespace {

std::vector<double> numbers(const json& array) {
  std::vector<double> v;
  for (const json& e : array) {
    v.push_back(e.is_string()
                    ? (e.get<std::string>() == "inf" ? std::numeric_limits<double>::infinity()
                                                     : -std::numeric_limits<double>::infinity())
                    : e.get<double>());
  }
  return v;
}

Tensor tensor(const json& array, const Shape& shape, bool requires_grad = false) {
  const std::vector<double> v = numbers(array);
  return Tensor::from_vector(std::vector<float>(v.begin(), v.end()), shape, requires_grad);
}

// Worst |got - want| relative to the largest |want| of the array (the arrays hold values of one
// scale: 1e-18 for dx, 1e19 for running_mean); every value must be finite.
double worst_error(const Tensor& got, const std::vector<double>& want) {
  const std::vector<float> have = got.to_vector();
  REQUIRE(have.size() == want.size());
  double scale = 0, worst = 0;
  for (double w : want) scale = std::max(scale, std::abs(w));
  for (size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(have[i])) return std::numeric_limits<double>::infinity();
    worst = std::max(worst, std::abs(double(have[i]) - want[i]) / scale);
  }
  return worst;
}

}  // namespace

TEST_CASE("BatchNorm1d float32 statistics do not overflow on values spread by 1e19, either path",
          "[batchnorm][conformance][huge]") {
  std::ifstream in(std::string(MINIGRAD_FIXTURES_DIR) + "/batchnorm_huge.json");
  INFO("tests/fixtures/batchnorm_huge.json is missing: run scripts/fixtures_batchnorm_huge.py");
  REQUIRE(in.good());
  const json fixture = json::parse(in);
  int overflowing = 0;
  for (mg::nn::BatchNormPath path : {mg::nn::BatchNormPath::plain, mg::nn::BatchNormPath::fast}) {
    struct Force {
      explicit Force(mg::nn::BatchNormPath p) { mg::nn::set_batchnorm1d_path(p); }
      ~Force() { mg::nn::set_batchnorm1d_path(mg::nn::BatchNormPath::by_size); }
    } force(path);
    for (const json& c : fixture.at("cases")) {
      const std::vector<int64_t> dims = c.at("shape").get<std::vector<int64_t>>();
      const Shape shape = Shape::checked("fixture", dims.data(), static_cast<int>(dims.size()));
      const bool torch_overflows = c.at("torch_float32_overflows").get<bool>();
      CAPTURE(path == mg::nn::BatchNormPath::fast, shape, torch_overflows);
      overflowing += torch_overflows;
      // The exact result where float32 PyTorch overflows, float32 PyTorch everywhere else.
      const json& want = c.at(torch_overflows ? "float64" : "float32");

      mg::nn::BatchNorm1d bn(shape[1], {.eps = fixture.at("eps").get<double>(),
                                        .momentum = fixture.at("momentum").get<double>()});
      bn.weight.flat() = tensor(c.at("weight"), Shape{shape[1]}).flat();
      bn.bias.flat() = tensor(c.at("bias"), Shape{shape[1]}).flat();
      const Tensor x = tensor(c.at("x"), shape, /*requires_grad=*/true);
      const Tensor y = bn(x);
      y.backward(tensor(c.at("dy"), shape));
      CHECK(worst_error(y, numbers(want.at("y"))) < 1e-5);
      CHECK(worst_error(x.grad(), numbers(want.at("dx"))) < 1e-5);
      CHECK(worst_error(bn.weight.grad(), numbers(want.at("dweight"))) < 1e-5);
      CHECK(worst_error(bn.bias.grad(), numbers(want.at("dbias"))) < 1e-5);
      CHECK(worst_error(bn.running_mean, numbers(want.at("running_mean"))) < 1e-5);
      CHECK(worst_error(bn.running_var, numbers(want.at("running_var"))) < 1e-5);
      bn.eval();
      CHECK(worst_error(bn(x), numbers(want.at("y_eval"))) < 1e-5);
    }
  }
  CHECK(overflowing == 2 * 3);  // the fixture keeps cases on both sides of PyTorch's overflow
}
