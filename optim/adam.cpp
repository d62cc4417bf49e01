// Adam's and AdamW's checks, update and state. The update formula, and how it follows PyTorch,
// is in adam.hpp.
#include "optim/adam.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "core/autograd.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"

namespace mg::optim {
namespace {

void check_options(const char* name, const AdamOptions& o) {
  // `!(x >= 0)` rather than `x < 0`, so that NaN is refused too.
  if (!(o.lr >= 0)) fail<std::invalid_argument>("{}: expected lr >= 0, got {}", name, o.lr);
  if (!(o.eps >= 0)) fail<std::invalid_argument>("{}: expected eps >= 0, got {}", name, o.eps);
  for (int k = 0; k < 2; ++k) {
    if (!(o.betas[k] >= 0 && o.betas[k] < 1)) {
      fail<std::invalid_argument>("{}: expected betas[{}] in [0, 1), got {}", name, k, o.betas[k]);
    }
  }
  if (!(o.weight_decay >= 0)) {
    fail<std::invalid_argument>("{}: expected weight_decay >= 0, got {}", name, o.weight_decay);
  }
}

AdamOptions as_adam(const AdamWOptions& o) {
  return {.lr = o.lr,
          .betas = o.betas,
          .eps = o.eps,
          .weight_decay = o.weight_decay,
          .amsgrad = o.amsgrad};
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam(one_group("Adam", std::move(params)), options) {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions defaults)
    : Adam(std::move(groups), defaults, "Adam", /*decoupled=*/false) {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions defaults, const char* name, bool decoupled)
    : Optimizer(name), options_(defaults), decoupled_(decoupled) {
  check_options(name, options_);
  set_groups(std::move(groups), options_.lr, options_.weight_decay);
  for (const Group& group : groups_) state_.emplace_back(group.params.size());
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : AdamW(one_group("AdamW", std::move(params)), options) {}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions defaults)
    : Adam(std::move(groups), as_adam(defaults), "AdamW", /*decoupled=*/true) {}

void Adam::step() {
  NoGradGuard no_grad;
  // Scalars are cast to float where PyTorch's ops take them, and the per-step ones are computed
  // in double first, as PyTorch computes them in Python.
  const auto [beta1, beta2] = options_.betas;
  const float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
  const float one_minus_b1 = static_cast<float>(1 - beta1);
  const float one_minus_b2 = static_cast<float>(1 - beta2);
  const float eps = static_cast<float>(options_.eps);
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const double lr = groups_[g].lr, weight_decay = groups_[g].weight_decay;
    const float wd = static_cast<float>(weight_decay);
    const float shrink = static_cast<float>(1 - lr * weight_decay);  // AdamW's factor
    for (std::size_t i = 0; i < groups_[g].params.size(); ++i) {
      Tensor& param = groups_[g].params[i];
      const Tensor grad = param.grad();
      if (!grad.defined()) continue;
      State& s = state_[g][i];
      if (s.step == 0) {
        s.exp_avg = Tensor::zeros(param.shape());
        s.exp_avg_sq = Tensor::zeros(param.shape());
        if (options_.amsgrad) s.max_exp_avg_sq = Tensor::zeros(param.shape());
      }
      ++s.step;
      const double t = static_cast<double>(s.step);
      const double correction1 = 1 - std::pow(beta1, t);
      const double correction2_sqrt = std::sqrt(1 - std::pow(beta2, t));
      const float neg_step_size = static_cast<float>(-(lr / correction1));
      const float c2 = static_cast<float>(correction2_sqrt);

      float* p = param.data();
      const float* dp = grad.data();
      float* m = s.exp_avg.data();
      float* v = s.exp_avg_sq.data();
      float* v_max = options_.amsgrad ? s.max_exp_avg_sq.data() : nullptr;
      const bool decoupled = decoupled_;
      // Large parameters are split over the threads (parallel_ranges): the same result.
      parallel_ranges(param.numel(), [=](int64_t k0, int64_t k1) {
        for (int64_t k = k0; k < k1; ++k) {
          float gk = dp[k];
          if (decoupled) {
            p[k] = p[k] * shrink;  // p = p (1 - lr wd)
          } else if (weight_decay != 0) {
            gk = std::fma(wd, p[k], gk);  // g = grad + wd p, one fused op as in PyTorch
          }
          m[k] = std::fma(one_minus_b1, gk, m[k] * b1);       // m = b1 m + (1 - b1) g
          v[k] = std::fma(one_minus_b2 * gk, gk, v[k] * b2);  // v = b2 v + (1 - b2) g^2, fused as
          // PyTorch's addcmul_ is: ((1 - b2) g) g added to b2 v in one rounding
          float second = v[k];
          // v_max = max(v_max, v), NaN from either side kept, as torch.maximum keeps it
          if (v_max) second = v_max[k] = std::isnan(v[k]) ? v[k] : std::max(v_max[k], v[k]);
          const float denom = std::sqrt(second) / c2 + eps;  // sqrt(v) / sqrt(1 - b2^t) + eps
          p[k] = p[k] + neg_step_size * m[k] / denom;        // p = p - lr / (1 - b1^t) m / denom
        }
      });
    }
  }
}

const Adam::State& Adam::state_of(const Tensor& p) const {
  for (std::size_t g = 0; g < groups_.size(); ++g)
    for (std::size_t i = 0; i < groups_[g].params.size(); ++i)
      if (groups_[g].params[i].same_as(p)) return state_[g][i];
  fail<std::invalid_argument>("{}: expected one of this optimizer's parameters, got another tensor",
                              name_);
}

int64_t Adam::step_count(const Tensor& p) const {
  return state_of(p).step;
}

NamedState Adam::state_dict() const {
  NamedState state;
  write_groups(state);
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string group = fmt::format("param_groups.{}.", g);
    state.reals[group + "betas.0"] = options_.betas[0];
    state.reals[group + "betas.1"] = options_.betas[1];
    state.reals[group + "eps"] = options_.eps;
    state.integers[group + "amsgrad"] = options_.amsgrad ? 1 : 0;
    for (std::size_t i = 0; i < groups_[g].params.size(); ++i) {
      const State& s = state_[g][i];
      if (s.step == 0) continue;  // PyTorch has no state for a parameter before its first step
      const std::string key = fmt::format("state.{}.", parameter_number(g, i));
      state.integers[key + "step"] = s.step;
      state.tensors[key + "exp_avg"] = s.exp_avg.clone();
      state.tensors[key + "exp_avg_sq"] = s.exp_avg_sq.clone();
      if (s.max_exp_avg_sq.defined())
        state.tensors[key + "max_exp_avg_sq"] = s.max_exp_avg_sq.clone();
    }
  }
  return state;
}

void Adam::load_state_dict(const NamedState& state) {
  // Check everything, then change anything.
  std::vector<std::string> keys = check_groups(state);
  AdamOptions options = options_;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string group = fmt::format("param_groups.{}.", g);
    const std::array<double, 2> betas = {state.real(name_, group + "betas.0"),
                                         state.real(name_, group + "betas.1")};
    const double eps = state.real(name_, group + "eps");
    const int64_t amsgrad = state.integer(name_, group + "amsgrad");
    if (amsgrad != 0 && amsgrad != 1) {
      fail<std::invalid_argument>("{}: load_state_dict: expected {}amsgrad 0 or 1, got {}", name_,
                                  group, amsgrad);
    }
    if (g > 0 &&
        (betas != options.betas || eps != options.eps || (amsgrad == 1) != options.amsgrad)) {
      fail<std::invalid_argument>(
          "{}: load_state_dict: expected the same betas, eps and amsgrad in every group "
          "(minigrad keeps one of each), got others in group {} than in group 0",
          name_, g);
    }
    options.betas = betas;
    options.eps = eps;
    options.amsgrad = amsgrad == 1;
    for (const char* name : {"betas.0", "betas.1", "eps", "amsgrad"}) keys.push_back(group + name);
  }
  check_options(name_, options);
  std::vector<std::vector<State>> loaded;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    loaded.emplace_back(groups_[g].params.size());
    for (std::size_t i = 0; i < groups_[g].params.size(); ++i) {
      const std::string key = fmt::format("state.{}.", parameter_number(g, i));
      if (!state.integers.count(key + "step")) continue;  // no step taken yet
      State& s = loaded[g][i];
      s.step = state.integer(name_, key + "step");
      if (s.step < 1) {
        fail<std::invalid_argument>("{}: load_state_dict: expected {}step >= 1, got {}", name_, key,
                                    s.step);
      }
      std::vector<std::pair<std::string, Tensor*>> slots = {{"exp_avg", &s.exp_avg},
                                                            {"exp_avg_sq", &s.exp_avg_sq}};
      if (options.amsgrad) slots.emplace_back("max_exp_avg_sq", &s.max_exp_avg_sq);
      for (const auto& [name, slot] : slots) {
        const Tensor& t = state.tensor(name_, key + name);
        if (t.shape() != groups_[g].params[i].shape()) {
          fail<std::invalid_argument>("{}: load_state_dict: expected {}{} of shape {}, got {}",
                                      name_, key, name, groups_[g].params[i].shape().str(),
                                      t.shape().str());
        }
        *slot = t.clone();
        keys.push_back(key + name);
      }
      keys.push_back(key + "step");
    }
  }
  state.require_keys(name_, keys);
  read_groups(state);
  options_ = options;
  state_ = std::move(loaded);
}

std::vector<ParamGroup> decay_groups(const std::vector<std::pair<std::string, Tensor>>& named,
                                     double weight_decay) {
  ParamGroup decay{.weight_decay = weight_decay}, no_decay{.weight_decay = 0.0};
  for (const auto& [name, p] : named) (p.rank() >= 2 ? decay : no_decay).params.push_back(p);
  std::vector<ParamGroup> groups;
  for (ParamGroup* group : {&decay, &no_decay})
    if (!group->params.empty()) groups.push_back(std::move(*group));
  return groups;
}

}  // namespace mg::optim
