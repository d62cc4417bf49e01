// Optimizer: what every optimizer shares, so a learning-rate schedule (optim/lr_scheduler.hpp)
// can drive any of them: parameter groups with their own learning rate and weight decay,
// zero_grad(), and step().
//
// A group is a list of parameters updated with the same settings. The usual use: weights decay,
// while biases and BatchNorm's gamma and beta do not, so they go in a group with
// weight_decay = 0. Settings a group leaves empty come from the optimizer's options.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <vector>

#include "core/error.hpp"
#include "core/tensor.hpp"

namespace mg::optim {

struct ParamGroup {
  std::vector<Tensor> params = {};
  std::optional<double> lr = std::nullopt;            // empty: the optimizer's lr
  std::optional<double> weight_decay = std::nullopt;  // empty: the optimizer's weight_decay
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient, from its .grad().
  virtual void step() = 0;

  // Zero-fills every parameter's .grad() (its memory is kept for the next backward).
  void zero_grad() {
    for (Group& g : groups_)
      for (Tensor& p : g.params) p.zero_grad();
  }

  std::size_t num_groups() const { return groups_.size(); }
  const std::vector<Tensor>& params(std::size_t group = 0) const {
    check_group(group);
    return groups_[group].params;
  }
  double lr(std::size_t group = 0) const {
    check_group(group);
    return groups_[group].lr;
  }
  double weight_decay(std::size_t group = 0) const {
    check_group(group);
    return groups_[group].weight_decay;
  }
  // Sets one group's learning rate (what a schedule does every epoch).
  void set_lr(std::size_t group, double lr) {
    check_group(group);
    check_lr(lr);
    groups_[group].lr = lr;
  }
  // Sets every group's learning rate.
  void set_lr(double lr) {
    check_lr(lr);
    for (Group& g : groups_) g.lr = lr;
  }

 protected:
  struct Group {
    std::vector<Tensor> params;
    double lr;
    double weight_decay;
  };

  // `name` ("SGD") starts every error message.
  explicit Optimizer(const char* name) : name_(name) {}

  void check_lr(double lr) const {
    if (!(lr >= 0)) fail<std::invalid_argument>("{}: expected lr >= 0, got {}", name_, lr);
  }
  void check_group(std::size_t group) const {
    if (group >= groups_.size()) {
      fail<std::out_of_range>("{}: expected a group index below {}, got {}", name_, groups_.size(),
                              group);
    }
  }

  const char* name_;
  std::vector<Group> groups_;
};

}  // namespace mg::optim
