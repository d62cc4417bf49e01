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
//
// state_dict(), PyTorch's names: "last_epoch" and "_step_count" (step() calls, the
// constructor's included) as integers, "base_lrs.{g}" and "_last_lr.{g}" (the lr each group was
// last given) as reals, and the schedule's own settings ("step_size" and "gamma", or "T_max" and
// "eta_min"). As in PyTorch, load_state_dict restores the settings too: a cosine schedule built
// with T_max = 15 that loads a state saved with T_max = 10 continues with T_max = 10. It leaves
// the optimizer's lr alone (the optimizer's own state holds it); the next step() sets the lr of
// epoch last_epoch + 1.

#include <cstdint>
#include <string>
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

  // A copy of the schedule's state, named as in the comment at the top.
  NamedState state_dict() const;
  // Checks everything first (the number of groups, the settings), then restores; on any error
  // std::invalid_argument naming it, and the schedule is unchanged.
  void load_state_dict(const NamedState& state);

 protected:
  // `name` ("StepLR") starts every error message.
  LRScheduler(Optimizer& optimizer, const char* name);
  // The schedule's own settings in a state_dict.
  virtual void write_settings(NamedState& state) const = 0;
  // Checks the settings in `state` and returns their names; sets them only if `apply`.
  virtual std::vector<std::string> read_settings(const NamedState& state, bool apply) = 0;
  // The lr of epoch t for a group whose base lr is `base`.
  virtual double lr_at(int64_t t, double base) const = 0;

 private:
  Optimizer& optimizer_;
  const char* name_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lrs_;  // what the last step() set, one per group
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;
};

// lr(t) = base * gamma^floor(t / step_size): decays by gamma every step_size epochs.
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  double lr_at(int64_t t, double base) const override;
  void write_settings(NamedState& state) const override;
  std::vector<std::string> read_settings(const NamedState& state, bool apply) override;

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
  void write_settings(NamedState& state) const override;
  std::vector<std::string> read_settings(const NamedState& state, bool apply) override;

 private:
  int64_t T_max_;
  double eta_min_;
};

}  // namespace mg::optim
