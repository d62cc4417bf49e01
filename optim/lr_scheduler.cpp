#include "optim/lr_scheduler.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

#include <fmt/format.h>

#include "core/error.hpp"

namespace mg::optim {
namespace {

void check_step_lr(const char* where, int64_t step_size, double gamma) {
  if (step_size <= 0)
    fail<std::invalid_argument>("StepLR: {}expected step_size > 0, got {}", where, step_size);
  if (!(gamma >= 0))
    fail<std::invalid_argument>("StepLR: {}expected gamma >= 0, got {}", where, gamma);
}

void check_cosine(const char* where, int64_t T_max, double eta_min) {
  if (T_max <= 0)
    fail<std::invalid_argument>("CosineAnnealingLR: {}expected T_max > 0, got {}", where, T_max);
  if (!(eta_min >= 0)) {
    fail<std::invalid_argument>("CosineAnnealingLR: {}expected eta_min >= 0, got {}", where,
                                eta_min);
  }
}

constexpr const char* kLoading = "load_state_dict: ";

}  // namespace

LRScheduler::LRScheduler(Optimizer& optimizer, const char* name)
    : optimizer_(optimizer), name_(name) {
  for (std::size_t g = 0; g < optimizer.num_groups(); ++g) base_lrs_.push_back(optimizer.lr(g));
}

void LRScheduler::step() {
  ++last_epoch_;
  ++step_count_;
  last_lrs_.clear();
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    last_lrs_.push_back(lr_at(last_epoch_, base_lrs_[g]));
    optimizer_.set_lr(g, last_lrs_.back());
  }
}

NamedState LRScheduler::state_dict() const {
  NamedState state;
  state.integers["last_epoch"] = last_epoch_;
  state.integers["_step_count"] = step_count_;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    state.reals[fmt::format("base_lrs.{}", g)] = base_lrs_[g];
    state.reals[fmt::format("_last_lr.{}", g)] = last_lrs_[g];
  }
  write_settings(state);
  return state;
}

void LRScheduler::load_state_dict(const NamedState& state) {
  // Check everything, then change anything.
  std::size_t groups = 0;
  while (state.reals.count(fmt::format("base_lrs.{}", groups))) ++groups;
  if (groups != base_lrs_.size()) {
    fail<std::invalid_argument>("{}: load_state_dict: expected {} base_lrs (one per group), got {}",
                                name_, base_lrs_.size(), groups);
  }
  const int64_t last_epoch = state.integer(name_, "last_epoch");
  const int64_t step_count = state.integer(name_, "_step_count");
  if (last_epoch < 0 || step_count < 1) {
    fail<std::invalid_argument>(
        "{}: load_state_dict: expected last_epoch >= 0 and _step_count >= 1, got {} and {}", name_,
        last_epoch, step_count);
  }
  std::vector<std::string> keys = read_settings(state, /*apply=*/false);
  std::vector<double> base_lrs, last_lrs;
  for (std::size_t g = 0; g < groups; ++g) {
    keys.push_back(fmt::format("base_lrs.{}", g));
    keys.push_back(fmt::format("_last_lr.{}", g));
    base_lrs.push_back(state.real(name_, keys[keys.size() - 2]));
    last_lrs.push_back(state.real(name_, keys.back()));
    // Learning rates the optimizer would accept: a NaN or negative one would be taken in here
    // and refused only at the next step(), far from the file it came from.
    for (const double lr : {base_lrs.back(), last_lrs.back()}) {
      if (!(lr >= 0)) {
        fail<std::invalid_argument>(
            "{}: load_state_dict: expected base_lrs.{} and _last_lr.{} >= 0, got {} and {}", name_,
            g, g, base_lrs.back(), last_lrs.back());
      }
    }
  }
  keys.push_back("last_epoch");
  keys.push_back("_step_count");
  state.require_keys(name_, keys);
  read_settings(state, /*apply=*/true);
  base_lrs_ = std::move(base_lrs);
  last_lrs_ = std::move(last_lrs);
  last_epoch_ = last_epoch;
  step_count_ = step_count;
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer, "StepLR"), step_size_(step_size), gamma_(gamma) {
  check_step_lr("", step_size, gamma);
  step();  // epoch 0
}

double StepLR::lr_at(int64_t t, double base) const {
  const int64_t decays = t / step_size_;  // whole periods completed: floor(t / step_size)
  return base * std::pow(gamma_, static_cast<double>(decays));
}

void StepLR::write_settings(NamedState& state) const {
  state.integers["step_size"] = step_size_;
  state.reals["gamma"] = gamma_;
}

std::vector<std::string> StepLR::read_settings(const NamedState& state, bool apply) {
  const int64_t step_size = state.integer("StepLR", "step_size");
  const double gamma = state.real("StepLR", "gamma");
  check_step_lr(kLoading, step_size, gamma);
  if (apply) {
    step_size_ = step_size;
    gamma_ = gamma;
  }
  return {"step_size", "gamma"};
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer, "CosineAnnealingLR"), T_max_(T_max), eta_min_(eta_min) {
  check_cosine("", T_max, eta_min);
  step();  // epoch 0
}

double CosineAnnealingLR::lr_at(int64_t t, double base) const {
  const double angle = std::numbers::pi * static_cast<double>(t) / static_cast<double>(T_max_);
  return eta_min_ + (base - eta_min_) * (1 + std::cos(angle)) / 2;
}

void CosineAnnealingLR::write_settings(NamedState& state) const {
  state.integers["T_max"] = T_max_;
  state.reals["eta_min"] = eta_min_;
}

std::vector<std::string> CosineAnnealingLR::read_settings(const NamedState& state, bool apply) {
  const int64_t T_max = state.integer("CosineAnnealingLR", "T_max");
  const double eta_min = state.real("CosineAnnealingLR", "eta_min");
  check_cosine(kLoading, T_max, eta_min);
  if (apply) {
    T_max_ = T_max;
    eta_min_ = eta_min;
  }
  return {"T_max", "eta_min"};
}

}  // namespace mg::optim
