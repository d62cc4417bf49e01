#include "optim/lr_scheduler.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

#include "core/error.hpp"

namespace mg::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (std::size_t g = 0; g < optimizer.num_groups(); ++g) base_lrs_.push_back(optimizer.lr(g));
}

void LRScheduler::step() {
  ++last_epoch_;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g)
    optimizer_.set_lr(g, lr_at(last_epoch_, base_lrs_[g]));
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  if (step_size <= 0)
    fail<std::invalid_argument>("StepLR: expected step_size > 0, got {}", step_size);
  if (!(gamma >= 0)) fail<std::invalid_argument>("StepLR: expected gamma >= 0, got {}", gamma);
  step();  // epoch 0
}

double StepLR::lr_at(int64_t t, double base) const {
  const int64_t decays = t / step_size_;  // whole periods completed: floor(t / step_size)
  return base * std::pow(gamma_, static_cast<double>(decays));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer), T_max_(T_max), eta_min_(eta_min) {
  if (T_max <= 0)
    fail<std::invalid_argument>("CosineAnnealingLR: expected T_max > 0, got {}", T_max);
  if (!(eta_min >= 0)) {
    fail<std::invalid_argument>("CosineAnnealingLR: expected eta_min >= 0, got {}", eta_min);
  }
  step();  // epoch 0
}

double CosineAnnealingLR::lr_at(int64_t t, double base) const {
  const double angle = std::numbers::pi * static_cast<double>(t) / static_cast<double>(T_max_);
  return eta_min_ + (base - eta_min_) * (1 + std::cos(angle)) / 2;
}

}  // namespace mg::optim
