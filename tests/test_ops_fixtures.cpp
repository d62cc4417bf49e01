// Every primitive op and loss against PyTorch 1.13 (tests/fixtures/ops.json, written by
// scripts/fixtures_ops.py): the output, and the input gradients for PyTorch's random upstream dy,
// in float32 (within 1e-5) and float64 (within 1e-10). Errors are relative to max(|expected|, 1):
// relative for values above 1, absolute below, where a sum's rounding depends on its order.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/ops.hpp"
#include "layers/loss.hpp"

using nlohmann::json;

namespace {

json load_ops_fixture() {
  const std::string path = std::string(MINIGRAD_FIXTURES_DIR) + "/ops.json";
  std::ifstream in(path);
  INFO(path << " is missing: run scripts/make_fixtures.sh");
  REQUIRE(in.good());
  return json::parse(in);
}

mg::Shape shape_of(const json& t) {
  const auto dims = t.at("shape").get<std::vector<int64_t>>();
  return mg::Shape::checked("fixture", dims.data(), static_cast<int>(dims.size()));
}

template <typename T>
mg::BasicTensor<T> tensor_of(const json& t, bool requires_grad = false) {
  const auto values = t.at("data").get<std::vector<double>>();
  return mg::BasicTensor<T>::from_vector(std::vector<T>(values.begin(), values.end()), shape_of(t),
                                         requires_grad);
}

// The op a case names, applied to its inputs with its arguments.
template <typename T>
mg::BasicTensor<T> run_op(const json& c, const std::vector<mg::BasicTensor<T>>& in) {
  const std::string op = c.at("op");
  const json& args = c.at("args");
  if (op == "add") return mg::add(in[0], in[1]);
  if (op == "sub") return mg::sub(in[0], in[1]);
  if (op == "mul") return mg::mul(in[0], in[1]);
  if (op == "div") return mg::div(in[0], in[1]);
  if (op == "add_scalar") return mg::add(in[0], args.at("scalar").get<double>());
  if (op == "mul_scalar") return mg::mul(in[0], args.at("scalar").get<double>());
  if (op == "neg") return mg::neg(in[0]);
  if (op == "exp") return mg::exp(in[0]);
  if (op == "log") return mg::log(in[0]);
  if (op == "sqrt") return mg::sqrt(in[0]);
  if (op == "pow") return mg::pow(in[0], args.at("exponent").get<double>());
  if (op == "relu") return mg::relu(in[0]);
  if (op == "tanh") return mg::tanh(in[0]);
  if (op == "sigmoid") return mg::sigmoid(in[0]);
  if (op == "sum" || op == "mean") {
    const bool is_sum = op == "sum";
    if (!args.contains("dim")) return is_sum ? mg::sum(in[0]) : mg::mean(in[0]);
    const int dim = args.at("dim");
    const bool keepdim = args.at("keepdim");
    return is_sum ? mg::sum(in[0], dim, keepdim) : mg::mean(in[0], dim, keepdim);
  }
  if (op == "matmul") return mg::matmul(in[0], in[1]);
  if (op == "transpose") return mg::transpose(in[0], args.at("dim0"), args.at("dim1"));
  if (op == "reshape") {
    const auto dims = args.at("shape").get<std::vector<int64_t>>();
    return mg::reshape(in[0], mg::Shape::checked("fixture", dims.data(), int(dims.size())));
  }
  if (op == "mse_loss") return mg::nn::mse_loss(in[0], in[1]);
  if (op == "cross_entropy") {
    const auto targets = args.at("targets").get<std::vector<int64_t>>();
    return mg::nn::cross_entropy(in[0], std::span<const int64_t>(targets));
  }
  FAIL("the fixture names an op this test does not know: " << op);
  return {};
}

// The largest |got - want| / max(|want|, 1) over the elements.
template <typename T>
double worst_error(const mg::BasicTensor<T>& got, const json& want) {
  REQUIRE(got.defined());
  REQUIRE(got.shape() == shape_of(want));
  const auto expected = want.at("data").get<std::vector<double>>();
  double worst = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double error = std::abs(static_cast<double>(got.data()[i]) - expected[i]) /
                         std::max(std::abs(expected[i]), 1.0);
    worst = std::max(worst, error);
  }
  return worst;
}

template <typename T>
void check_case(const json& c, double tolerance) {
  std::vector<mg::BasicTensor<T>> inputs;
  for (const json& t : c.at("inputs")) inputs.push_back(tensor_of<T>(t, /*requires_grad=*/true));
  const mg::BasicTensor<T> y = run_op<T>(c, inputs);
  const double output_error = worst_error(y, c.at("output"));
  INFO("output: worst error " << output_error);
  CHECK(output_error <= tolerance);
  y.backward(tensor_of<T>(c.at("upstream")));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const double grad_error = worst_error(inputs[i].grad(), c.at("grads")[i]);
    INFO("gradient of input " << i << ": worst error " << grad_error);
    CHECK(grad_error <= tolerance);
  }
}

}  // namespace

TEST_CASE("every op matches PyTorch 1.13 in float32 and float64", "[ops][fixtures]") {
  const json fixture = load_ops_fixture();
  const json& cases = fixture.at("cases");
  REQUIRE(cases.size() >= 100);
  std::vector<std::string> ops;
  for (const json& c : cases) {
    const std::string dtype = c.at("dtype");
    INFO("case " << c.at("op").get<std::string>() << " " << c.at("args").dump() << " in " << dtype
                 << " on " << c.at("inputs")[0].at("shape").dump());
    if (dtype == "float32") {
      check_case<float>(c, 1e-5);
    } else {
      check_case<double>(c, 1e-10);
    }
    ops.push_back(c.at("op"));
  }
  // The fixture covers every op (a generator that silently dropped one would fail here).
  for (const char* op :
       {"add", "sub",  "mul",    "div",       "add_scalar", "mul_scalar", "neg",
        "exp", "log",  "sqrt",   "pow",       "relu",       "tanh",       "sigmoid",
        "sum", "mean", "matmul", "transpose", "reshape",    "mse_loss",   "cross_entropy"}) {
    INFO(op);
    CHECK(std::count(ops.begin(), ops.end(), op) >= 4);  // two shapes, two dtypes
  }
}
