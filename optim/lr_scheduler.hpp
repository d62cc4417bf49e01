// Learning-rate schedules with PyTorch's semantics: call step() once per epoch, after that
// epoch's optimizer steps. Constructing a schedule records each group's current lr as its base
// and applies epoch 0 (last_epoch() == 0, the lr is the base), as PyTorch's constructor does.
//
//   mg::optim::SGD sgd(net.parameters(), {.lr = 0.1, .momentum = 0.9});
//   mg::optim::CosineAnnealingLR schedule(sgd, /*T_max=*/epochs);
//   for (int epoch = 0; epoch < epochs; ++epoch) {
//     for (...) { ...; sgd.step(); }
//     schedule.step();
//   }
//
// Both schedules use the closed form lr(t) of the epoch t = last_epoch() and the base lr, so
// every epoch's lr is exact, not a product of rounding errors.
#pragma once

#include <cstdint>
#include <vector>

#include "optim/optimizer.hpp"

namespace mg::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // Advances one epoch and sets every group's lr to lr_at(last_epoch(), its base lr).
  void step();
  int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }

 protected:
  explicit LRScheduler(Optimizer& optimizer);
  // The lr of epoch t for a group whose base lr is `base`.
  virtual double lr_at(int64_t t, double base) const = 0;

 private:
  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;
};

// lr(t) = base * gamma^floor(t / step_size): decays by gamma every step_size epochs.
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  double lr_at(int64_t t, double base) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// lr(t) = eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2: from base at t = 0 down to
// eta_min at t = T_max along half a cosine (and, as in PyTorch, back up after T_max).
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0);

 protected:
  double lr_at(int64_t t, double base) const override;

 private:
  int64_t T_max_;
  double eta_min_;
};

}  // namespace mg::optim
