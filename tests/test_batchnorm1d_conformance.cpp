// BatchNorm1d against PyTorch 1.13, number for number: tests/fixtures/batchnorm.json, written by
// scripts/fixtures_batchnorm.py (its docstring describes the format and how to regenerate it).
// Every combination of momentum (0.1, 0.5, none), affine, track_running_stats and shapes (2, 3),
// (32, 10), (16, 4, 7), (1, 3, 2) is replayed in float32: three training steps, then eval. The
// plain loops of layers/batchnorm1d.cpp (what these small shapes run) must pass alone, and so
// must the fast path of layers/batchnorm1d_fast.cpp: each is forced in turn.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "layers/batchnorm1d.hpp"

using mg::Shape;
using mg::Tensor;
using nlohmann::json;

namespace {

// Relative error with a floor: |got - want| / max(|want|, kFloor). With kTolerance = 1e-5 this
// is "1e-5 relative", and an absolute 1e-6 for values near zero (where float32 rounding of the
// terms that cancel is all that is left).
constexpr double kTolerance = 1e-5;
constexpr double kFloor = 0.1;
// Where float32 PyTorch is itself off the exact (float64) value by more than the tolerance (a
// channel whose values differ by about 1% of their size or less: x - mean cancels, and the
// backward cancels again), we must be no further from the exact value than kTorchFactor times
// PyTorch's worst error on that array.
constexpr double kTorchFactor = 3;

struct Worst {
  double error = 0;        // the accepted error: vs float32, or vs float64 where the fixture has it
  double float32 = 0;      // vs PyTorch float32 alone
  int64_t with_exact = 0;  // values of arrays that have a float64 twin
  double vs_exact = 0, torch_vs_exact = 0;  // worst errors against float64 on those
  std::string where;
  int64_t compared = 0;
};

class Replay {
 public:
  explicit Replay(const json& shape_case)
      : pool_(shape_case.at("pool")), exact_(shape_case.at("exact")) {
    const std::vector<int64_t> dims = shape_case.at("shape").get<std::vector<int64_t>>();
    shape_ = Shape::checked("fixture", dims.data(), static_cast<int>(dims.size()));
  }
  const Shape& shape() const { return shape_; }

  std::vector<float> values(const json& index) const {
    const std::vector<double> v = pool_.at(index.get<size_t>()).get<std::vector<double>>();
    return {v.begin(), v.end()};  // decimal -> double -> float, as in the generator
  }
  Tensor tensor(const json& index, const Shape& shape, bool requires_grad = false) const {
    return Tensor::from_vector(values(index), shape, requires_grad);
  }

  // Each element must be within kTolerance of PyTorch float32, or of PyTorch float64 on the same
  // inputs where the fixture has it (where float32 PyTorch is itself off the exact value).
  void compare(const Tensor& got, const json& index, const std::string& where, Worst& worst) const {
    REQUIRE(got.defined());
    const std::vector<float> want = values(index);
    const std::string key = std::to_string(index.get<size_t>());
    const std::vector<double> exact =
        exact_.contains(key) ? exact_.at(key).get<std::vector<double>>() : std::vector<double>{};
    const std::vector<float> have = got.to_vector();
    REQUIRE(have.size() == want.size());
    auto error = [](double a, double b) { return std::abs(a - b) / std::max(std::abs(b), kFloor); };
    double torch_error = 0;  // how far PyTorch float32 is from the exact value, at worst
    for (size_t i = 0; i < exact.size(); ++i)
      torch_error = std::max(torch_error, error(want[i], exact[i]));
    for (size_t i = 0; i < want.size(); ++i) {
      const double vs_float = error(have[i], want[i]);
      double e = vs_float;
      if (!exact.empty()) {
        // Ill-conditioned array: PyTorch float32 is off the exact value by up to torch_error.
        // Our error against the exact value is measured in units of the tolerance, or of
        // PyTorch's own error if that is larger.
        e = std::min(vs_float, error(have[i], exact[i]) * kTolerance /
                                   std::max(kTolerance, kTorchFactor * torch_error));
        ++worst.with_exact;
        worst.vs_exact = std::max(worst.vs_exact, error(have[i], exact[i]));
        worst.torch_vs_exact = std::max(worst.torch_vs_exact, torch_error);
      }
      ++worst.compared;
      worst.float32 = std::max(worst.float32, vs_float);
      if (e > worst.error) {
        worst.error = e;
        worst.where = fmt::format("{}[{}]: got {}, PyTorch {}", where, i, have[i], want[i]);
      }
    }
  }

 private:
  const json& pool_;
  const json& exact_;  // pool index -> float64 result, where float32 PyTorch is off it
  Shape shape_;
};

json load() {
  std::ifstream in(std::string(MINIGRAD_FIXTURES_DIR) + "/batchnorm.json");
  INFO("tests/fixtures/batchnorm.json is missing: run scripts/fixtures_batchnorm.py");
  REQUIRE(in.good());
  return json::parse(in);
}

// Replays every configuration of the fixture through the loops of `path`.
void replay_all(const json& fixture, mg::nn::BatchNormPath path, const char* path_name) {
  struct Force {  // the path for this replay, by_size again afterwards (even after a failure)
    explicit Force(mg::nn::BatchNormPath p) { mg::nn::set_batchnorm1d_path(p); }
    ~Force() { mg::nn::set_batchnorm1d_path(mg::nn::BatchNormPath::by_size); }
  } force(path);
  const int train_steps = fixture.at("train_steps").get<int>();
  Worst worst;
  int configs = 0;
  for (const json& shape_case : fixture.at("shapes")) {
    const Replay replay(shape_case);
    const Shape shape = replay.shape();
    const int64_t C = shape[1];
    for (const json& config : shape_case.at("configs")) {
      mg::nn::BatchNormOptions options{.eps = fixture.at("eps").get<double>()};
      options.momentum = config.at("momentum").is_null()
                             ? std::nullopt
                             : std::optional<double>(config.at("momentum").get<double>());
      options.affine = config.at("affine").get<bool>();
      options.track_running_stats = config.at("track_running_stats").get<bool>();
      mg::nn::BatchNorm1d bn(C, options);
      const std::string name =
          fmt::format("{} momentum={} affine={} track_running_stats={}", shape,
                      config.at("momentum").dump(), options.affine, options.track_running_stats);
      INFO(name);
      ++configs;
      if (options.affine) {
        bn.weight.flat() = replay.tensor(shape_case.at("weight"), Shape{C}).flat();
        bn.bias.flat() = replay.tensor(shape_case.at("bias"), Shape{C}).flat();
      }
      const json& steps = config.at("steps");
      REQUIRE(steps.size() == shape_case.at("inputs").size());
      for (size_t step = 0; step < steps.size(); ++step) {
        if (static_cast<int>(step) == train_steps) bn.eval();
        const json& input = shape_case.at("inputs")[step];
        const json& want = steps[step];
        const std::string where = fmt::format("{} step {}", name, step);
        bn.zero_grad();
        const Tensor x = replay.tensor(input.at("x"), shape, /*requires_grad=*/true);
        const Tensor y = bn(x);
        y.backward(replay.tensor(input.at("dy"), shape));
        replay.compare(y, want.at("y"), where + " y", worst);
        replay.compare(x.grad(), want.at("dx"), where + " dx", worst);
        CHECK(want.contains("dweight") == options.affine);
        if (options.affine) {
          replay.compare(bn.weight.grad(), want.at("dweight"), where + " dweight", worst);
          replay.compare(bn.bias.grad(), want.at("dbias"), where + " dbias", worst);
        }
        CHECK(want.contains("running_mean") == options.track_running_stats);
        if (options.track_running_stats) {
          replay.compare(bn.running_mean, want.at("running_mean"), where + " running_mean", worst);
          replay.compare(bn.running_var, want.at("running_var"), where + " running_var", worst);
          CHECK(bn.num_batches_tracked == want.at("num_batches_tracked").get<int64_t>());
        }
      }
    }
  }
  // 3 momenta x affine x track_running_stats x 4 shapes
  CHECK(configs == 48);
  INFO("worst: " << worst.where);
  fmt::print(
      "BatchNorm1d ({} path) vs PyTorch: {} values, worst relative error {:.3g} (floor {}) at {}; "
      "vs "
      "float32 PyTorch alone {:.3g}; on the {} values of ill-conditioned arrays, worst vs "
      "float64 {:.3g} "
      "(PyTorch float32: {:.3g})\n",
      path_name, worst.compared, worst.error, kFloor, worst.where, worst.float32, worst.with_exact,
      worst.vs_exact, worst.torch_vs_exact);
  CHECK(worst.error <= kTolerance);
}

}  // namespace

TEST_CASE("BatchNorm1d matches PyTorch 1.13 in every configuration (float32), on each path",
          "[batchnorm][conformance]") {
  const json fixture = load();
  SECTION("the plain loops alone") {
    replay_all(fixture, mg::nn::BatchNormPath::plain, "plain");
  }
  SECTION("the fast path alone") {
    replay_all(fixture, mg::nn::BatchNormPath::fast, "fast");
  }
}
