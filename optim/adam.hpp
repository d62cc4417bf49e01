// Adam and AdamW, exactly as PyTorch 1.13's torch.optim.Adam and AdamW update each parameter p
// with gradient grad, at step t = 1, 2, ... of that parameter:
//
//   Adam:   g = grad + weight_decay * p            (L2 penalty, added to the gradient)
//   AdamW:  p = p * (1 - lr * weight_decay);  g = grad     (decoupled weight decay)
//   m = beta1 * m + (1 - beta1) * g                 first moment  ("exp_avg")
//   v = beta2 * v + (1 - beta2) * g^2               second moment ("exp_avg_sq")
//   v_max = max(v_max, v); v = v_max                with amsgrad only ("max_exp_avg_sq")
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
//
// The two bias corrections undo m and v's start at zero; note where eps sits: added to
// sqrt(v) / sqrt(1 - beta2^t), after the second correction, not to sqrt(v) alone. The
// difference between the two optimizers is only the weight decay: Adam's L2 term goes through
// m and v and is divided by sqrt(v) like the gradient, so parameters with large gradients decay
// less; AdamW shrinks every parameter by the same factor.
//
// Which parameters decay is a matter of groups (optim/optimizer.hpp): decay_groups() puts the
// matrices (Linear weights) in one group and every vector (biases, BatchNorm's and LayerNorm's
// weight and bias) in a group with weight_decay = 0, the usual choice.
//
// state_dict(), PyTorch's names:
//   "state.{n}.step" integer;  "state.{n}.exp_avg", ".exp_avg_sq", ".max_exp_avg_sq" tensors
//   "param_groups.{g}.lr", ".weight_decay", ".eps", ".betas.0", ".betas.1" reals
//   "param_groups.{g}.amsgrad" integer 0 or 1;  "param_groups.{g}.params.{k}" integer n
// betas, eps and amsgrad belong to the whole optimizer in minigrad, as SGD's momentum does.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "optim/optimizer.hpp"

namespace mg::optim {

struct AdamOptions {
  double lr = 1e-3;
  std::array<double, 2> betas = {0.9, 0.999};  // each in [0, 1)
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
};

// AdamW's defaults differ from Adam's only in weight_decay.
struct AdamWOptions {
  double lr = 1e-3;
  std::array<double, 2> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
};

class Adam : public Optimizer {
 public:
  explicit Adam(std::vector<Tensor> params, AdamOptions options = {});
  Adam(std::vector<ParamGroup> groups, AdamOptions defaults);

  // Updates every parameter whose .grad() is defined, in place and without recording a graph;
  // a parameter without a gradient is skipped and its step count does not advance.
  void step() override;
  NamedState state_dict() const override;
  void load_state_dict(const NamedState& state) override;

  const AdamOptions& options() const { return options_; }
  // The number of steps parameter `p` has taken (0 before its first).
  int64_t step_count(const Tensor& p) const;

 protected:
  // AdamW's constructor: the same optimizer with decoupled weight decay.
  Adam(std::vector<ParamGroup> groups, AdamOptions defaults, const char* name, bool decoupled);

 private:
  struct State {
    int64_t step = 0;
    Tensor exp_avg, exp_avg_sq, max_exp_avg_sq;  // like the parameter; undefined before step 1
  };
  const State& state_of(const Tensor& p) const;

  AdamOptions options_;
  bool decoupled_;
  std::vector<std::vector<State>> state_;  // state_[g][i] belongs to groups_[g].params[i]
};

class AdamW : public Adam {
 public:
  explicit AdamW(std::vector<Tensor> params, AdamWOptions options = {});
  AdamW(std::vector<ParamGroup> groups, AdamWOptions defaults);
};

// Two groups for an optimizer with weight decay: every parameter of rank 2 or more (weights
// of Linear) with `weight_decay`, every one of rank 1 (biases, the weight and bias of
// BatchNorm1d and LayerNorm) with weight_decay = 0. Takes a module's named_parameters(); a group
// that would be empty is left out.
std::vector<ParamGroup> decay_groups(const std::vector<std::pair<std::string, Tensor>>& named,
                                     double weight_decay);

}  // namespace mg::optim
