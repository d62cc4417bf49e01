// SGD: stochastic gradient descent with momentum, dampening, weight decay and Nesterov momentum,
// exactly as PyTorch 1.13's torch.optim.SGD updates each parameter p with gradient grad:
//
//   g = grad + weight_decay * p                  (L2 penalty, added to the gradient)
//   if momentum != 0:
//     buf = g                                    on the first step (no dampening)
//     buf = momentum * buf + (1 - dampening) * g on later steps
//     g = nesterov ? g + momentum * buf : buf
//   p = p - lr * g
//
// Note the momentum convention: the buffer accumulates raw gradients and lr scales the whole
// step (PyTorch's form), not buf = momentum * buf + lr * g (Sutskever's); the two differ when
// lr changes during training.
//
// state_dict() (optim/optimizer.hpp), PyTorch's names:
//   "state.{n}.momentum_buffer"   tensor, once parameter n has taken a step with momentum
//   "param_groups.{g}.lr", ".weight_decay", ".momentum", ".dampening"   reals
//   "param_groups.{g}.nesterov"   integer 0 or 1;  "param_groups.{g}.params.{k}"  integer n
// minigrad keeps momentum, dampening and nesterov for the whole optimizer, so every group
// carries the same values; load_state_dict takes them from the state, as PyTorch does, and
// refuses a state whose groups disagree.
#pragma once

#include <vector>

#include "optim/optimizer.hpp"

namespace mg::optim {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  // One group holding all `params`, with `options`.
  explicit SGD(std::vector<Tensor> params, SGDOptions options = {});
  // Several groups; each group's empty settings come from `defaults`.
  SGD(std::vector<ParamGroup> groups, SGDOptions defaults);

  // Updates every parameter whose .grad() is defined, in place and without recording a graph.
  // Parameters without a gradient (not reached by the last backward) are skipped.
  void step() override;

  NamedState state_dict() const override;
  void load_state_dict(const NamedState& state) override;

  const SGDOptions& options() const { return options_; }
  // The momentum buffer of parameter `p`: undefined before its first update or without
  // momentum. std::invalid_argument if `p` is not one of this optimizer's parameters.
  Tensor momentum_buffer(const Tensor& p) const;

 private:
  SGDOptions options_;
  // momentum_buffers_[g][i] belongs to groups_[g].params[i]; created on its first update and
  // reused (updated in place) on every later one.
  std::vector<std::vector<Tensor>> momentum_buffers_;
};

}  // namespace mg::optim
