// Optimizer: what every optimizer shares, so a learning-rate schedule (optim/lr_scheduler.hpp)
// can drive any of them: parameter groups with their own learning rate and weight decay,
// zero_grad(), step(), and state_dict() / load_state_dict().
//
// A group is a list of parameters updated with the same settings. The usual use: weights decay,
// while biases and BatchNorm's gamma and beta do not, so they go in a group with
// weight_decay = 0. Settings a group leaves empty come from the optimizer's options.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/named_state.hpp"
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

  // The optimizer's state under PyTorch's names (each optimizer's header lists them), copied:
  // later steps do not change it. Every group has "param_groups.{g}.lr", ".weight_decay" and
  // ".params.{k}", the number of its k-th parameter counted over all groups, as PyTorch
  // numbers them; per-parameter state is "state.{number}.{name}".
  virtual NamedState state_dict() const = 0;
  // Restores a state_dict() taken from an optimizer of the same kind over parameters of the
  // same shapes, in the same groups: the groups' settings (lr included, as a schedule left it)
  // and the per-parameter state, so the next step() is the one the saved optimizer would have
  // taken. Checks everything first; on any mismatch it throws std::invalid_argument naming it,
  // and the optimizer is unchanged.
  virtual void load_state_dict(const NamedState& state) = 0;

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

  // Every parameter in one group: what the constructors taking a list of tensors pass on.
  static std::vector<ParamGroup> one_group(const char* name, std::vector<Tensor> params);
  // Checks the groups (at least one, none empty, defined leaf tensors, no parameter twice, valid
  // settings) and fills groups_, empty settings taken from the defaults.
  void set_groups(std::vector<ParamGroup> groups, double default_lr, double default_weight_decay);

  void check_lr(double lr) const {
    if (!(lr >= 0)) fail<std::invalid_argument>("{}: expected lr >= 0, got {}", name_, lr);
  }
  // The settings every group has (lr, weight_decay, params), named as state_dict() says.
  void write_groups(NamedState& state) const;
  // Checks that `state` has this optimizer's number of groups, each with as many parameters,
  // numbered as write_groups numbers them, and valid lr and weight_decay. Returns the names of
  // those entries, for NamedState::require_keys.
  std::vector<std::string> check_groups(const NamedState& state) const;
  // Sets every group's lr and weight_decay from a `state` check_groups accepted.
  void read_groups(const NamedState& state);
  // The number PyTorch gives parameter `index` of group `group`: its position over all groups.
  std::size_t parameter_number(std::size_t group, std::size_t index) const;

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
