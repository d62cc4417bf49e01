// StepLR and CosineAnnealingLR against PyTorch's lr sequences over 12 epochs, per group.
#include <stdexcept>

#include <catch2/catch.hpp>

#include "fixture_json.hpp"
#include "optim/lr_scheduler.hpp"
#include "optim/sgd.hpp"

using mg::Shape;
using mg::Tensor;
using mg::optim::CosineAnnealingLR;
using mg::optim::ParamGroup;
using mg::optim::SGD;
using mg::optim::StepLR;

namespace {

// One group per base lr, as in the fixture script.
SGD make_sgd(const std::vector<double>& base_lrs) {
  std::vector<ParamGroup> groups;
  for (double lr : base_lrs)
    groups.push_back({.params = {Tensor::zeros(Shape{1}, true)}, .lr = lr});
  return SGD(groups, {.lr = 1.0});
}

}  // namespace

TEST_CASE("Schedules match PyTorch's lr sequences", "[lr_scheduler]") {
  const nlohmann::json fixture = mg::testing::load_fixture("optim.json");
  REQUIRE(fixture.at("schedules").size() == 4);
  for (const auto& [name, c] : fixture.at("schedules").items()) {
    SECTION(name) {
      const auto base_lrs = c.at("base_lrs").get<std::vector<double>>();
      SGD sgd = make_sgd(base_lrs);
      std::unique_ptr<mg::optim::LRScheduler> schedule;
      if (name == "StepLR step_size=3 gamma=0.5") schedule = std::make_unique<StepLR>(sgd, 3, 0.5);
      if (name == "StepLR step_size=4") schedule = std::make_unique<StepLR>(sgd, 4);
      if (name == "CosineAnnealingLR T_max=5 eta_min=0.001")
        schedule = std::make_unique<CosineAnnealingLR>(sgd, 5, 0.001);
      if (name == "CosineAnnealingLR T_max=12")
        schedule = std::make_unique<CosineAnnealingLR>(sgd, 12);
      REQUIRE(schedule);
      CHECK(schedule->base_lrs() == base_lrs);
      const nlohmann::json& lrs = c.at("lrs");
      for (size_t epoch = 0; epoch < lrs.size(); ++epoch) {
        if (epoch > 0) schedule->step();
        CHECK(schedule->last_epoch() == static_cast<int64_t>(epoch));
        for (size_t g = 0; g < base_lrs.size(); ++g) {
          INFO("epoch " << epoch << ", group " << g);
          // Relative 1e-6, with a floor for the cosine's exact zero at T_max.
          CHECK(sgd.lr(g) == Approx(lrs[epoch][g].get<double>()).epsilon(1e-6).margin(1e-12));
        }
      }
      CHECK(schedule->last_epoch() == c.at("last_epoch").get<int64_t>());
    }
  }
}

TEST_CASE("Schedules refuse invalid settings", "[lr_scheduler]") {
  SGD sgd({Tensor::zeros(Shape{1}, true)}, {.lr = 0.1});
  CHECK_THROWS_MATCHES(StepLR(sgd, 0), std::invalid_argument,
                       Catch::Message("StepLR: expected step_size > 0, got 0"));
  CHECK_THROWS_MATCHES(StepLR(sgd, 2, -0.5), std::invalid_argument,
                       Catch::Message("StepLR: expected gamma >= 0, got -0.5"));
  CHECK_THROWS_MATCHES(CosineAnnealingLR(sgd, -3), std::invalid_argument,
                       Catch::Message("CosineAnnealingLR: expected T_max > 0, got -3"));
  CHECK_THROWS_MATCHES(CosineAnnealingLR(sgd, 10, -1e-3), std::invalid_argument,
                       Catch::Message("CosineAnnealingLR: expected eta_min >= 0, got -0.001"));
  CHECK(sgd.lr() == 0.1);  // a refused schedule leaves the optimizer alone
}
