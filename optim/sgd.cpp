// SGD's checks and its update. The update formula, and how it follows PyTorch, is in sgd.hpp.
#include "optim/sgd.hpp"

#include <cmath>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "core/autograd.hpp"
#include "core/error.hpp"
#include "core/parallel.hpp"

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

}  // namespace

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : SGD(one_group("SGD", std::move(params)), options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions defaults)
    : Optimizer("SGD"), options_(defaults) {
  check_options(options_);
  set_groups(std::move(groups), options_.lr, options_.weight_decay);
  for (const Group& group : groups_) momentum_buffers_.emplace_back(group.params.size());
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
      // Large parameters are split over the threads (parallel_ranges): the same result. p, its
      // gradient and its momentum buffer are three distinct buffers, so the loops are SIMD loops.
      if (momentum == 0) {
        parallel_ranges(n, [=](int64_t k0, int64_t k1) {
#pragma omp simd
          for (int64_t k = k0; k < k1; ++k) p[k] = std::fma(-lr, std::fma(wd, p[k], dp[k]), p[k]);
        });
        continue;
      }
      Tensor& buffer = momentum_buffers_[g][i];
      const bool first = !buffer.defined();
      if (first) buffer = Tensor::empty(param.shape());
      float* buf = buffer.data();
      const bool nesterov = options_.nesterov;
      parallel_ranges(n, [=](int64_t k0, int64_t k1) {
#pragma omp simd
        for (int64_t k = k0; k < k1; ++k) {
          const float gk = std::fma(wd, p[k], dp[k]);  // g = grad + wd p
          // buf = m buf + (1 - d) g; the step is g + m buf with Nesterov, else buf
          buf[k] = first ? gk : std::fma(one_minus_dampening, gk, momentum * buf[k]);
          const float step = nesterov ? std::fma(momentum, buf[k], gk) : buf[k];
          p[k] = std::fma(-lr, step, p[k]);  // p = p - lr step
        }
      });
    }
  }
}

NamedState SGD::state_dict() const {
  NamedState state;
  write_groups(state);
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string group = fmt::format("param_groups.{}.", g);
    state.reals[group + "momentum"] = options_.momentum;
    state.reals[group + "dampening"] = options_.dampening;
    state.integers[group + "nesterov"] = options_.nesterov ? 1 : 0;
    for (std::size_t i = 0; i < groups_[g].params.size(); ++i) {
      const Tensor& buffer = momentum_buffers_[g][i];
      if (buffer.defined()) {
        state.tensors[fmt::format("state.{}.momentum_buffer", parameter_number(g, i))] =
            buffer.clone();
      }
    }
  }
  return state;
}

void SGD::load_state_dict(const NamedState& state) {
  // Check everything, then change anything.
  std::vector<std::string> keys = check_groups(state);
  SGDOptions options = options_;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string group = fmt::format("param_groups.{}.", g);
    const double momentum = state.real("SGD", group + "momentum");
    const double dampening = state.real("SGD", group + "dampening");
    const int64_t nesterov = state.integer("SGD", group + "nesterov");
    if (nesterov != 0 && nesterov != 1) {
      fail<std::invalid_argument>("SGD: load_state_dict: expected {}nesterov 0 or 1, got {}", group,
                                  nesterov);
    }
    if (g > 0 && (momentum != options.momentum || dampening != options.dampening ||
                  (nesterov == 1) != options.nesterov)) {
      fail<std::invalid_argument>(
          "SGD: load_state_dict: expected the same momentum, dampening and nesterov in every "
          "group (minigrad keeps one of each), got momentum {} dampening {} nesterov {} in group "
          "0 and {} {} {} in group {}",
          options.momentum, options.dampening, options.nesterov, momentum, dampening, nesterov == 1,
          g);
    }
    options.momentum = momentum;
    options.dampening = dampening;
    options.nesterov = nesterov == 1;
    for (const char* name : {"momentum", "dampening", "nesterov"}) keys.push_back(group + name);
  }
  check_options(options);
  std::vector<std::vector<Tensor>> buffers;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    buffers.emplace_back(groups_[g].params.size());
    for (std::size_t i = 0; i < groups_[g].params.size(); ++i) {
      const std::string key = fmt::format("state.{}.momentum_buffer", parameter_number(g, i));
      if (!state.tensors.count(key)) continue;  // parameter i has not taken a step yet
      const Tensor& buffer = state.tensors.at(key);
      if (buffer.shape() != groups_[g].params[i].shape()) {
        fail<std::invalid_argument>("SGD: load_state_dict: expected {} of shape {}, got {}", key,
                                    groups_[g].params[i].shape().str(), buffer.shape().str());
      }
      buffers[g][i] = buffer.clone();
      keys.push_back(key);
    }
  }
  state.require_keys("SGD", keys);
  read_groups(state);
  options_ = options;
  momentum_buffers_ = std::move(buffers);
}

Tensor SGD::momentum_buffer(const Tensor& p) const {
  for (std::size_t g = 0; g < groups_.size(); ++g)
    for (std::size_t i = 0; i < groups_[g].params.size(); ++i)
      if (groups_[g].params[i].same_as(p)) return momentum_buffers_[g][i];
  fail<std::invalid_argument>(
      "SGD: momentum_buffer: expected one of this optimizer's parameters, got another tensor");
}

}  // namespace mg::optim
