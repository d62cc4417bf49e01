// Dropout: PyTorch's scale and gradient on the elements both keep, the statistics of minigrad's
// own mask, identity in eval and at p = 0, the saved mask, reproducibility from a generator, a
// float64 gradcheck through gradcheck_module, and the pinned errors.
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "activation_fixture.hpp"
#include "check_gradient.hpp"
#include "layers/dropout.hpp"
#include "layers/gradcheck_module.hpp"
#include "layers/linear.hpp"
#include "layers/sequential.hpp"

using mg::Shape;
using mg::Tensor;
using mg::TensorD;

TEST_CASE("Dropout scales the kept elements and their gradient as PyTorch does", "[dropout]") {
  for (const double p : {0.1, 0.3, 0.5}) {
    const std::string name = "dropout p=" + std::string(p == 0.1   ? "0.1"
                                                        : p == 0.3 ? "0.3"
                                                                   : "0.5");
    INFO(name);
    const nlohmann::json& c = mg::testing::activation_case(name);
    const Tensor x = mg::testing::fixture_tensor<float>(c.at("x"), /*requires_grad=*/true);
    const Tensor dy = mg::testing::fixture_tensor<float>(c.at("dy"));
    const Tensor want_y = mg::testing::fixture_tensor<float>(c.at("y"));
    const Tensor want_dx = mg::testing::fixture_tensor<float>(c.at("dx"));
    mg::Generator gen(static_cast<uint64_t>(p * 10));
    mg::nn::Dropout dropout({.p = p}, gen);
    const Tensor y = dropout(x);
    y.backward(dy);
    const float scale = 1.0f / static_cast<float>(1 - p);
    int64_t both = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const bool kept = y.data()[i] != 0, pytorch_kept = want_y.data()[i] != 0;
      if (pytorch_kept) REQUIRE(want_y.data()[i] == x.data()[i] * scale);  // PyTorch's rounding
      if (kept && pytorch_kept) {
        ++both;
        REQUIRE(y.data()[i] == want_y.data()[i]);
        REQUIRE(x.grad().data()[i] == want_dx.data()[i]);
      }
      if (!kept) REQUIRE(x.grad().data()[i] == 0.0f);
    }
    CHECK(both > 0);
  }
}

TEST_CASE("Dropout keeps each element with probability 1 - p and the mean unchanged", "[dropout]") {
  mg::Generator gen(21);
  const double p = 0.3;
  mg::nn::Dropout dropout({.p = p}, gen);
  const int64_t n = 200000;
  const Tensor y = dropout(Tensor::full(Shape{n}, 1.0f));
  int64_t kept = 0;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    kept += y.at(i) != 0;
    sum += y.at(i);
  }
  // Binomial(n, 0.7): standard deviation sqrt(n p (1 - p)) ~ 205; five of them.
  CHECK(std::abs(static_cast<double>(kept) - 0.7 * n) < 5 * std::sqrt(n * p * (1 - p)));
  CHECK(sum / n == Approx(1.0).epsilon(0.01));
}

TEST_CASE("Dropout is the identity in eval and at p = 0, drawing nothing", "[dropout]") {
  for (const char* name : {"dropout p=0.3 eval", "dropout p=0 train"}) {
    const bool eval = std::string(name).ends_with("eval");
    mg::Generator gen(3);
    mg::nn::Dropout dropout({.p = eval ? 0.3 : 0.0}, gen);
    if (eval) dropout.eval();
    mg::testing::require_matches_pytorch(dropout, name, 0.0);
    const Tensor x = Tensor::full(Shape{2, 2}, 1.0f, true);
    CHECK(dropout(x).same_as(x));
    CHECK(gen.state() == mg::Generator(3).state());
  }
}

TEST_CASE("Dropout's backward uses the mask of its own forward", "[dropout]") {
  mg::Generator gen(4);
  mg::nn::Dropout dropout({.p = 0.5}, gen);
  const Tensor x = Tensor::full(Shape{64}, 1.0f, true);
  const Tensor y = dropout(x);
  const Tensor other = dropout(x);  // another mask; the generator has moved on
  CHECK(other.to_vector() != y.to_vector());
  y.backward(Tensor::full(Shape{64}, 1.0f));
  CHECK(x.grad().to_vector() == y.to_vector());  // dx = dy * mask / (1 - p), with x = 1
}

TEST_CASE("Dropout's mask is fixed by its generator's seed or state", "[dropout]") {
  const Tensor x = Tensor::full(Shape{3, 40}, 2.0f);
  mg::Generator a(7), b(7);
  mg::nn::Dropout first({.p = 0.4}, a), second({.p = 0.4}, b);
  const mg::Generator::State before = a.state();
  const std::vector<float> mask = first(x).to_vector();
  CHECK(second(x).to_vector() == mask);  // the same seed
  a.set_state(before);
  CHECK(first(x).to_vector() == mask);  // the same state
  CHECK(first(x).to_vector() != mask);  // the next call draws anew
  // Without a generator, the default one: mg::manual_seed fixes it.
  mg::nn::Dropout by_default({.p = 0.4});
  CHECK(by_default.named_generators().at(0).first == "generator");
  CHECK(by_default.named_generators().at(0).second == &mg::default_generator());
  mg::manual_seed(5);
  const std::vector<float> seeded = by_default(x).to_vector();
  mg::manual_seed(5);
  CHECK(by_default(x).to_vector() == seeded);
}

TEST_CASE("Dropout gradcheck in float64: gradcheck_module replays the mask", "[dropout]") {
  mg::Generator gen(8), init(9);
  mg::nn::BasicDropout<double> dropout({.p = 0.5}, gen);
  const TensorD x = mg::testing::normal(Shape{6, 5}, init);
  const mg::Generator::State before = gen.state();
  const mg::GradcheckResult r = mg::nn::gradcheck_module(dropout, x);
  INFO(r.report());
  CHECK(r.ok);
  CHECK(r.max_error < 1e-6);
  CHECK(gen.state() == before);  // left as it was found, like the buffers
  // Inside a model, after a Linear whose weights are checked too.
  mg::nn::BasicSequential<double> net;
  net.push_back(mg::nn::BasicLinear<double>(5, 4, {}, init));
  net.push_back(mg::nn::BasicDropout<double>({.p = 0.3}, gen));
  const mg::GradcheckResult in_net = mg::nn::gradcheck_module(net, x);
  INFO(in_net.report());
  CHECK(in_net.ok);
}

TEST_CASE("Dropout refuses p below 0 or from 1 on and prints like PyTorch", "[dropout]") {
  for (const double p : {-0.1, 1.0, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    CHECK_THROWS_MATCHES(mg::nn::Dropout({.p = p}), std::invalid_argument,
                         Catch::Message(fmt::format("Dropout: expected p in [0, 1), got {}", p)));
  }
  CHECK(mg::nn::Dropout({.p = 0.3}).repr() == "Dropout(p=0.3, inplace=false)");
  CHECK(mg::nn::Dropout().repr() == "Dropout(p=0.5, inplace=false)");
  CHECK(mg::nn::Dropout().named_parameters().empty());
}
