// StepLR and CosineAnnealingLR against PyTorch's lr sequences over 12 epochs, per group.
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

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

TEST_CASE("A loaded schedule continues as PyTorch's, also when built with other settings",
          "[lr_scheduler]") {
  const nlohmann::json fixture = mg::testing::load_fixture("optim.json");
  REQUIRE(fixture.at("resumes").size() == 2);
  for (const auto& [name, c] : fixture.at("resumes").items()) {
    SECTION(name) {
      const auto base_lrs = c.at("base_lrs").get<std::vector<double>>();
      const int64_t saved_epochs = c.at("saved_epochs").get<int64_t>();
      const bool cosine = name.starts_with("Cosine");
      auto make_saved = [&](SGD& sgd) -> std::unique_ptr<mg::optim::LRScheduler> {
        if (cosine) return std::make_unique<CosineAnnealingLR>(sgd, 10, 0.001);
        return std::make_unique<StepLR>(sgd, 3, 0.5);
      };
      auto make_fresh = [&](SGD& sgd) -> std::unique_ptr<mg::optim::LRScheduler> {
        if (cosine) return std::make_unique<CosineAnnealingLR>(sgd, 15);
        return std::make_unique<StepLR>(sgd, 5);
      };
      SGD sgd = make_sgd(base_lrs);
      auto schedule = make_saved(sgd);
      for (int64_t epoch = 0; epoch < saved_epochs; ++epoch) schedule->step();
      const mg::NamedState saved = schedule->state_dict();
      const mg::NamedState saved_sgd = sgd.state_dict();

      // The saved state holds PyTorch's values.
      const nlohmann::json& want = c.at("saved_state");
      CHECK(saved.integers.at("last_epoch") == want.at("last_epoch").get<int64_t>());
      CHECK(saved.integers.at("_step_count") == want.at("_step_count").get<int64_t>());
      for (size_t g = 0; g < base_lrs.size(); ++g) {
        CHECK(saved.reals.at("base_lrs." + std::to_string(g)) == want.at("base_lrs")[g]);
        CHECK(saved.reals.at("_last_lr." + std::to_string(g)) ==
              Approx(want.at("_last_lr")[g].get<double>()).epsilon(1e-12));
      }
      if (cosine) {
        CHECK(saved.integers.at("T_max") == want.at("T_max").get<int64_t>());
        CHECK(saved.reals.at("eta_min") == want.at("eta_min").get<double>());
      } else {
        CHECK(saved.integers.at("step_size") == want.at("step_size").get<int64_t>());
        CHECK(saved.reals.at("gamma") == want.at("gamma").get<double>());
      }

      // A fresh optimizer and a schedule with other settings load both states, then step on.
      SGD resumed_sgd = make_sgd(base_lrs);
      auto resumed = make_fresh(resumed_sgd);
      resumed_sgd.load_state_dict(saved_sgd);
      resumed->load_state_dict(saved);
      CHECK(resumed->last_epoch() == saved_epochs);
      CHECK(resumed->base_lrs() == base_lrs);
      const nlohmann::json& lrs = c.at("lrs_after_resume");
      for (size_t k = 0; k < lrs.size(); ++k) {
        resumed->step();
        schedule->step();  // the uninterrupted schedule
        for (size_t g = 0; g < base_lrs.size(); ++g) {
          INFO("epoch " << saved_epochs + 1 + static_cast<int64_t>(k) << ", group " << g);
          CHECK(resumed_sgd.lr(g) == Approx(lrs[k][g].get<double>()).epsilon(1e-12).margin(1e-15));
          CHECK(resumed_sgd.lr(g) == sgd.lr(g));  // bit for bit
        }
      }
      CHECK(resumed->state_dict().integers == schedule->state_dict().integers);
      CHECK(resumed->state_dict().reals == schedule->state_dict().reals);
    }
  }
}

TEST_CASE("A schedule refuses a state that does not fit, and changes nothing", "[lr_scheduler]") {
  SGD sgd = make_sgd({0.1, 0.2});
  CosineAnnealingLR cosine(sgd, 10);
  cosine.step();
  const mg::NamedState good = cosine.state_dict();
  auto refuses = [&](mg::optim::LRScheduler& schedule, const mg::NamedState& state,
                     const std::string& message) {
    const mg::NamedState before = schedule.state_dict();
    CHECK_THROWS_MATCHES(schedule.load_state_dict(state), std::invalid_argument,
                         Catch::Message(message));
    CHECK(schedule.state_dict().integers == before.integers);
    CHECK(schedule.state_dict().reals == before.reals);
  };
  CosineAnnealingLR target(sgd, 20);
  StepLR step(sgd, 3);
  refuses(step, good, "StepLR: load_state_dict: expected an integer 'step_size', missing");
  SGD one_group = make_sgd({0.1});
  CosineAnnealingLR other(one_group, 10);
  refuses(other, good,
          "CosineAnnealingLR: load_state_dict: expected 1 base_lrs (one per group), got 2");
  mg::NamedState state = good;
  state.integers["T_max"] = 0;
  refuses(target, state, "CosineAnnealingLR: load_state_dict: expected T_max > 0, got 0");
  state = good;
  state.integers["last_epoch"] = -1;
  refuses(target, state,
          "CosineAnnealingLR: load_state_dict: expected last_epoch >= 0 and _step_count >= 1, got "
          "-1 and 2");
  state = good;
  state.reals["base_lrs.1"] = std::numeric_limits<double>::quiet_NaN();
  state.reals["_last_lr.1"] = 0.2;
  refuses(target, state,
          "CosineAnnealingLR: load_state_dict: expected base_lrs.1 and _last_lr.1 >= 0, got nan "
          "and 0.2");
  state = good;
  state.reals["_last_lr.0"] = -0.5;
  refuses(target, state,
          "CosineAnnealingLR: load_state_dict: expected base_lrs.0 and _last_lr.0 >= 0, got 0.1 "
          "and -0.5");
  state = good;
  state.integers["verbose"] = 0;
  refuses(target, state,
          "CosineAnnealingLR: load_state_dict: missing keys [], unexpected keys [verbose]");
}
