// SGD's checks and its update. The update formula, and how it follows PyTorch, is in sgd.hpp.
#include "optim/sgd.hpp"

#include <cmath>
#include <stdexcept>
#include <utility>

#include "core/autograd.hpp"
#include "core/error.hpp"

namespace mg::optim {
namespace {

void check_options(const SGDOptions& o) {
  // `!(x >= 0)` rather than `x < 0`, so that NaN is refused too.
  if (!(o.lr >= 0)) fail<std::invalid_argument>("SGD: expected lr >= 0, got {}", o.lr);
  if (!(o.momentum >= 0)) {
    fail<std::invalid_argument>("SGD: expected momentum >= 0, got {}", o.momentum);
  }
  if (!(o.weight_decay >= 0)) {
    fail<std::invalid_argument>("SGD: expected weight_decay >= 0, got {}", o.weight_decay);
  }
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0)) {
    fail<std::invalid_argument>(
        "SGD: nesterov needs momentum > 0 and dampening = 0, got momentum {} and dampening {}",
        o.momentum, o.dampening);
  }
}

std::vector<ParamGroup> one_group(std::vector<Tensor> params) {
  if (params.empty()) {
    fail<std::invalid_argument>("SGD: expected at least one parameter, got an empty list");
  }
  return {ParamGroup{std::move(params), std::nullopt, std::nullopt}};
}

}  // namespace

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : SGD(one_group(std::move(params)), options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions defaults)
    : Optimizer("SGD"), options_(defaults) {
  check_options(options_);
  if (groups.empty())
    fail<std::invalid_argument>("SGD: expected at least one parameter group, got none");
  struct Seen {
    Tensor tensor;
    std::size_t group, index;
  };
  std::vector<Seen> seen;  // every parameter so far, to refuse one listed twice
  for (std::size_t g = 0; g < groups.size(); ++g) {
    ParamGroup& group = groups[g];
    const double lr = group.lr.value_or(options_.lr);
    const double weight_decay = group.weight_decay.value_or(options_.weight_decay);
    if (!(lr >= 0)) fail<std::invalid_argument>("SGD: expected lr >= 0 in group {}, got {}", g, lr);
    if (!(weight_decay >= 0)) {
      fail<std::invalid_argument>("SGD: expected weight_decay >= 0 in group {}, got {}", g,
                                  weight_decay);
    }
    if (group.params.empty()) {
      fail<std::invalid_argument>(
          "SGD: expected at least one parameter in group {}, got an empty list", g);
    }
    for (std::size_t i = 0; i < group.params.size(); ++i) {
      const Tensor& p = group.params[i];
      if (!p.defined()) {
        fail<std::invalid_argument>(
            "SGD: expected a defined tensor as parameter {} of group {}, got an undefined one", i,
            g);
      }
      if (!p.is_leaf()) {
        fail<std::invalid_argument>(
            "SGD: expected a leaf tensor as parameter {} of group {}, got the output of '{}'", i, g,
            p.op());
      }
      // A parameter listed twice would be updated twice per step.
      for (const Seen& other : seen) {
        if (other.tensor.same_as(p)) {
          fail<std::invalid_argument>(
              "SGD: parameter {} of group {} is also parameter {} of group {}; a parameter may "
              "appear only once",
              i, g, other.index, other.group);
        }
      }
      seen.push_back({p, g, i});
    }
    groups_.push_back({std::move(group.params), lr, weight_decay});
    momentum_buffers_.emplace_back(groups_.back().params.size());
  }
}

void SGD::step() {
  NoGradGuard no_grad;
  // The coefficients are cast to float once, as PyTorch casts its scalars to the tensor's type.
  const float momentum = static_cast<float>(options_.momentum);
  const float one_minus_dampening = static_cast<float>(1 - options_.dampening);
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const float lr = static_cast<float>(groups_[g].lr);
    const float wd = static_cast<float>(groups_[g].weight_decay);
    for (std::size_t i = 0; i < groups_[g].params.size(); ++i) {
      Tensor& param = groups_[g].params[i];
      const Tensor grad = param.grad();
      if (!grad.defined()) continue;
      // One pass over the parameter, in place: each value is read and written once per step, and
      // g = grad + wd * p is never stored, so a step allocates nothing (only the first one
      // creates the momentum buffers, as buf = g). The roundings follow PyTorch's ops one for
      // one: its `a.add(b, alpha=s)` is one fused multiply-add, fma(s, b, a).
      float* p = param.data();
      const float* dp = grad.data();
      const int64_t n = param.numel();
      if (momentum == 0) {
        for (int64_t k = 0; k < n; ++k) p[k] = std::fma(-lr, std::fma(wd, p[k], dp[k]), p[k]);
        continue;
      }
      Tensor& buffer = momentum_buffers_[g][i];
      const bool first = !buffer.defined();
      if (first) buffer = Tensor::empty(param.shape());
      float* buf = buffer.data();
      const bool nesterov = options_.nesterov;
      for (int64_t k = 0; k < n; ++k) {
        const float gk = std::fma(wd, p[k], dp[k]);  // g = grad + wd p
        // buf = m buf + (1 - d) g; the step is g + m buf with Nesterov, else buf
        buf[k] = first ? gk : std::fma(one_minus_dampening, gk, momentum * buf[k]);
        const float step = nesterov ? std::fma(momentum, buf[k], gk) : buf[k];
        p[k] = std::fma(-lr, step, p[k]);  // p = p - lr step
      }
    }
  }
}

Tensor SGD::momentum_buffer(const Tensor& p) const {
  for (std::size_t g = 0; g < groups_.size(); ++g)
    for (std::size_t i = 0; i < groups_[g].params.size(); ++i)
      if (groups_[g].params[i].same_as(p)) return momentum_buffers_[g][i];
  fail<std::invalid_argument>(
      "SGD: momentum_buffer: expected one of this optimizer's parameters, got another tensor");
}

}  // namespace mg::optim
