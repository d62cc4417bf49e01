// The parameter-group part of every optimizer's state_dict (optim/optimizer.hpp).
#include "optim/optimizer.hpp"

#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace mg::optim {

std::vector<ParamGroup> Optimizer::one_group(const char* name, std::vector<Tensor> params) {
  if (params.empty()) {
    fail<std::invalid_argument>("{}: expected at least one parameter, got an empty list", name);
  }
  return {ParamGroup{std::move(params), std::nullopt, std::nullopt}};
}

void Optimizer::set_groups(std::vector<ParamGroup> groups, double default_lr,
                           double default_weight_decay) {
  if (groups.empty())
    fail<std::invalid_argument>("{}: expected at least one parameter group, got none", name_);
  struct Seen {
    Tensor tensor;
    std::size_t group, index;
  };
  std::vector<Seen> seen;  // every parameter so far, to refuse one listed twice
  std::vector<Group> checked;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    ParamGroup& group = groups[g];
    const double lr = group.lr.value_or(default_lr);
    const double weight_decay = group.weight_decay.value_or(default_weight_decay);
    if (!(lr >= 0))
      fail<std::invalid_argument>("{}: expected lr >= 0 in group {}, got {}", name_, g, lr);
    if (!(weight_decay >= 0)) {
      fail<std::invalid_argument>("{}: expected weight_decay >= 0 in group {}, got {}", name_, g,
                                  weight_decay);
    }
    if (group.params.empty()) {
      fail<std::invalid_argument>(
          "{}: expected at least one parameter in group {}, got an empty list", name_, g);
    }
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      const Tensor& p = group.params[i];
      if (!p.defined()) {
        fail<std::invalid_argument>(
            "{}: expected a defined tensor as parameter {} of group {}, got an undefined one",
            name_, i, g);
      }
      if (!p.is_leaf()) {
        fail<std::invalid_argument>(
            "{}: expected a leaf tensor as parameter {} of group {}, got the output of '{}'", name_,
            i, g, p.op());
      }
      // A parameter listed twice would be updated twice per step.
      for (const Seen& other : seen) {
        if (other.tensor.same_as(p)) {
          fail<std::invalid_argument>(
              "{}: parameter {} of group {} is also parameter {} of group {}; a parameter may "
              "appear only once",
              name_, i, g, other.index, other.group);
        }
      }
      seen.push_back({p, g, i});
    }
    checked.push_back({std::move(group.params), lr, weight_decay});
  }
  groups_ = std::move(checked);
}

std::size_t Optimizer::parameter_number(std::size_t group, std::size_t index) const {
  std::size_t number = index;
  for (std::size_t g = 0; g < group; ++g) number += groups_[g].params.size();
  return number;
}

void Optimizer::write_groups(NamedState& state) const {
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string group = fmt::format("param_groups.{}.", g);
    state.reals[group + "lr"] = groups_[g].lr;
    state.reals[group + "weight_decay"] = groups_[g].weight_decay;
    for (std::size_t k = 0; k < groups_[g].params.size(); ++k) {
      state.integers[fmt::format("{}params.{}", group, k)] =
          static_cast<int64_t>(parameter_number(g, k));
    }
  }
}

std::vector<std::string> Optimizer::check_groups(const NamedState& state) const {
  std::size_t saved_groups = 0;
  while (state.reals.count(fmt::format("param_groups.{}.lr", saved_groups))) ++saved_groups;
  if (saved_groups != groups_.size()) {
    fail<std::invalid_argument>("{}: load_state_dict: expected {} parameter groups, got {}", name_,
                                groups_.size(), saved_groups);
  }
  std::vector<std::string> keys;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string group = fmt::format("param_groups.{}.", g);
    std::size_t saved_params = 0;
    while (state.integers.count(fmt::format("{}params.{}", group, saved_params))) ++saved_params;
    if (saved_params != groups_[g].params.size()) {
      fail<std::invalid_argument>("{}: load_state_dict: expected {} parameters in group {}, got {}",
                                  name_, groups_[g].params.size(), g, saved_params);
    }
    for (std::size_t k = 0; k < saved_params; ++k) {
      const std::string key = fmt::format("{}params.{}", group, k);
      const int64_t number = state.integer(name_, key);
      if (number != static_cast<int64_t>(parameter_number(g, k))) {
        fail<std::invalid_argument>("{}: load_state_dict: expected {} = {}, got {}", name_, key,
                                    parameter_number(g, k), number);
      }
      keys.push_back(key);
    }
    const double lr = state.real(name_, group + "lr");
    const double weight_decay = state.real(name_, group + "weight_decay");
    if (!(lr >= 0)) {
      fail<std::invalid_argument>("{}: load_state_dict: expected {}lr >= 0, got {}", name_, group,
                                  lr);
    }
    if (!(weight_decay >= 0)) {
      fail<std::invalid_argument>("{}: load_state_dict: expected {}weight_decay >= 0, got {}",
                                  name_, group, weight_decay);
    }
    keys.push_back(group + "lr");
    keys.push_back(group + "weight_decay");
  }
  return keys;
}

void Optimizer::read_groups(const NamedState& state) {
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string group = fmt::format("param_groups.{}.", g);
    groups_[g].lr = state.real(name_, group + "lr");
    groups_[g].weight_decay = state.real(name_, group + "weight_decay");
  }
}

}  // namespace mg::optim
