// What one backward pass may leave behind, as in PyTorch 1.13: a retained non-leaf passes on
// only this pass's gradient (tests/fixtures/engine.json), a pass that throws leaves no partial
// gradient on any non-leaf (a retry after zero_grad() equals a fresh backward), and a leaf that
// starts requiring grad after a forward gets no gradient from that forward's graph.
#include <stdexcept>
#include <vector>

#include <catch2/catch.hpp>

#include "core/autograd.hpp"
#include "core/error.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"
#include "fixture_json.hpp"
#include "layers/linear.hpp"
#include "layers/loss.hpp"

using mg::Shape;
using mg::TensorD;

TEST_CASE("engine passes: a retained root passes on this pass's gradient alone", "[engine]") {
  const nlohmann::json expected = mg::testing::load_fixture("engine.json").at("retain_grad");
  TensorD x = TensorD::from_vector({1, 2}, {2}, true);
  const TensorD loss = mg::sum(x * x);
  TensorD(loss).retain_grad();
  loss.backward({}, /*retain_graph=*/true);
  loss.backward();
  mg::testing::require_close(x.grad(), expected.at("root_x_grad"), 0);  // 4 8, not 6 12
  CHECK(loss.grad().item() == expected.at("root_grad").at("data")[0].get<double>());  // 2
}

TEST_CASE("engine passes: a retained non-leaf accumulates for the user, not downstream",
          "[engine]") {
  const nlohmann::json expected = mg::testing::load_fixture("engine.json").at("retain_grad");
  TensorD x = TensorD::from_vector({1, 2}, {2}, true);
  TensorD h = x * 3.0;
  h.retain_grad();
  const TensorD loss = mg::sum(h * h);
  loss.backward({}, /*retain_graph=*/true);
  loss.backward();
  mg::testing::require_close(x.grad(), expected.at("middle_x_grad"), 0);  // 36 72
  mg::testing::require_close(h.grad(), expected.at("middle_h_grad"), 0);  // 12 24
}

namespace {

// y = x, with a backward that throws while `fail` is set, after adding dy into x's gradient:
// the worst case, a backward that fails half way through its own writes.
TensorD fragile(const TensorD& x, const bool& fail) {
  TensorD y = x.clone();
  y.set_grad_fn("fragile", {x}, [&fail](const TensorD& dy, std::span<const TensorD> in) {
    in[0].grad_flat() += dy.flat();
    if (fail) throw std::runtime_error("fragile: failed on purpose");
  });
  return y;
}

// loss = sum(h * h + 3 * fragile(h)) with h = 2 x: h's gradient is the sum of two paths, and
// fragile, visited first, adds its part into h's gradient before it throws.
TensorD fragile_loss(const TensorD& x, const bool& fail) {
  const TensorD h = x * 2.0;
  return mg::sum(h * h + fragile(h, fail) * 3.0);
}

}  // namespace

TEST_CASE("engine passes: a backward that throws leaves no partial gradient behind", "[engine]") {
  TensorD x = TensorD::from_vector({1, -2, 0.5}, {3}, true);
  bool fail = true;
  const TensorD loss = fragile_loss(x, fail);
  REQUIRE_THROWS_WITH(loss.backward({}, /*retain_graph=*/true), "fragile: failed on purpose");
  x.zero_grad();
  fail = false;
  loss.backward({}, /*retain_graph=*/true);
  TensorD fresh_x = TensorD::from_vector({1, -2, 0.5}, {3}, true);
  fragile_loss(fresh_x, fail).backward();
  CHECK(x.grad().to_vector() == fresh_x.grad().to_vector());  // 8 x + 6, computed twice alike
  CHECK(x.grad().to_vector() == std::vector<double>{14, -10, 10});
}

TEST_CASE("engine passes: an anomaly half way leaves no partial gradient behind", "[engine]") {
  // loss = sum(sqrt(h) + h * h), h = x * 1. At x = 0, sqrt's backward makes Inf; anomaly mode
  // throws there, after mul has already sent h its part. The retry must not count it twice.
  const auto build = [](const TensorD& x) {
    const TensorD h = x * 1.0;
    return mg::sum(mg::sqrt(h) + h * h);
  };
  TensorD x = TensorD::from_vector({0, 4}, {2}, true);
  const TensorD loss = build(x);
  {
    mg::DetectAnomalyGuard anomaly;
    REQUIRE_THROWS_AS(loss.backward({}, /*retain_graph=*/true), mg::AnomalyError);
  }
  x.zero_grad();
  loss.backward({}, /*retain_graph=*/true);
  TensorD fresh_x = TensorD::from_vector({0, 4}, {2}, true);
  build(fresh_x).backward();
  CHECK(x.grad().at(1) == fresh_x.grad().at(1));  // 1 / (2 sqrt 4) + 2 * 4 = 8.25
  CHECK(x.grad().at(1) == 8.25);
}

TEST_CASE("engine passes: a failed pass leaves a retained non-leaf's gradient as it was",
          "[engine]") {
  TensorD x = TensorD::from_vector({1, 2}, {2}, true);
  bool fail = false;
  TensorD h = x * 2.0;
  h.retain_grad();
  const TensorD loss = mg::sum(fragile(h, fail) * 3.0);
  loss.backward({}, /*retain_graph=*/true);
  const std::vector<double> kept = h.grad().to_vector();  // 3 3
  fail = true;
  REQUIRE_THROWS(loss.backward({}, /*retain_graph=*/true));
  CHECK(h.grad().to_vector() == kept);
}

TEST_CASE("engine passes: a version error half way leaves no partial gradient behind", "[engine]") {
  // loss = sum(h * c) + sum(h * h) with h = 3 x. Writing c breaks the first product only; the
  // engine has sent h the second product's part before it finds out.
  TensorD x = TensorD::from_vector({1, 2}, {2}, true);
  const TensorD h = x * 3.0;
  TensorD c = TensorD::from_vector({1, 1}, {2});
  const TensorD loss = mg::sum(h * c) + mg::sum(h * h);
  c.flat() += 1.0;  // a write: version 0 -> 1
  REQUIRE_THROWS_AS(loss.backward({}, /*retain_graph=*/true), mg::VersionError);
  c.flat() -= 1.0;  // the old values, but a later version: the error stays
  REQUIRE_THROWS_AS(loss.backward({}, /*retain_graph=*/true), mg::VersionError);
  CHECK_FALSE(x.grad().defined());  // h's backward never ran: nothing reached x
}

TEST_CASE("engine passes: set_requires_grad(true) after a forward does not reach that graph",
          "[engine]") {
  SECTION("an elementwise op") {
    TensorD a = TensorD::from_vector({1, 2}, {2});  // a constant for this forward
    const TensorD w = TensorD::from_vector({3, 4}, {2}, true);
    const TensorD loss = mg::sum(a * w);
    a.set_requires_grad(true);
    loss.backward();
    CHECK_FALSE(a.grad().defined());  // PyTorch: a.grad is None
    CHECK(w.grad().to_vector() == std::vector<double>{1, 2});
  }
  SECTION("Linear's fused backward") {
    mg::Generator gen(8);
    mg::nn::BasicLinear<double> linear(3, 2, {}, gen);
    TensorD x = TensorD::randn({4, 3}, gen);
    const TensorD loss = mg::sum(linear(x));
    x.set_requires_grad(true);
    loss.backward();
    CHECK_FALSE(x.grad().defined());
    CHECK(linear.weight.grad().defined());
  }
  SECTION("set_requires_grad(false) after the forward: no gradient either, as in PyTorch") {
    TensorD a = TensorD::from_vector({1, 2}, {2}, true);
    const TensorD w = TensorD::from_vector({3, 4}, {2}, true);
    const TensorD loss = mg::sum(a * w);
    a.set_requires_grad(false);
    loss.backward();
    CHECK_FALSE(a.grad().defined());
    CHECK(w.grad().to_vector() == std::vector<double>{1, 2});
  }
}
