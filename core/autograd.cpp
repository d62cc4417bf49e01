#include "core/autograd.hpp"

#include <algorithm>
#include <string>
#include <unordered_set>

#include "core/error.hpp"

namespace mg {
namespace {

thread_local bool grad_enabled = true;
thread_local bool anomaly_enabled = false;

template <typename T>
bool all_finite(const BasicTensor<T>& t) {
  return t.flat().isFinite().all();
}

template <typename T>
std::string shapes_of(const std::vector<BasicTensor<T>>& tensors) {
  std::string s;
  for (const BasicTensor<T>& t : tensors) s += (s.empty() ? "" : ", ") + t.shape().str();
  return s;
}

// root.grad (+)= grad, or (+)= 1 everywhere when no grad is given; a fresh buffer is assigned.
// For a leaf root (its .grad() is the result).
template <typename T>
void seed_leaf(const BasicTensor<T>& root, const BasicTensor<T>& grad) {
  const typename BasicTensor<T>::GradBuffer seed = root.grad_buffer();
  typename BasicTensor<T>::ArrayMap g(seed.data, root.numel());
  if (grad.defined()) {
    if (seed.accumulate)
      g += grad.flat();
    else
      g = grad.flat();
  } else {
    if (seed.accumulate)
      g += T(1);
    else
      g.setConstant(T(1));
  }
}

// Calls the backward of `node`. An input that did not require grad when the op ran is passed as
// a constant (a detach()ed alias), so a later set_requires_grad(true) cannot make this op send
// it a gradient (PyTorch's graph has no edge to it either). A VersionError from a SavedTensor
// gets the op's name in front.
template <typename T>
void run_node_backward(detail::Node<T>& node, const BasicTensor<T>& dy,
                       std::vector<BasicTensor<T>>& as_constants) {
  std::span<const BasicTensor<T>> in(node.inputs);
  bool now_requires_grad = false;
  for (size_t i = 0; i < node.inputs.size(); ++i)
    now_requires_grad |= !node.input_requires_grad[i] && node.inputs[i].requires_grad();
  if (now_requires_grad) {
    as_constants.clear();
    for (size_t i = 0; i < node.inputs.size(); ++i)
      as_constants.push_back(node.input_requires_grad[i] ? node.inputs[i]
                                                         : node.inputs[i].detach());
    in = as_constants;
  }
  try {
    node.backward(dy, in);
  } catch (const VersionError& e) {
    fail<VersionError>("{}: {}", node.op, e.what());
  }
}

}  // namespace

bool is_grad_enabled() {
  return grad_enabled;
}
NoGradGuard::NoGradGuard() : previous_(grad_enabled) {
  grad_enabled = false;
}
NoGradGuard::~NoGradGuard() {
  grad_enabled = previous_;
}

bool is_anomaly_enabled() {
  return anomaly_enabled;
}
void set_detect_anomaly(bool enabled) {
  anomaly_enabled = enabled;
}
DetectAnomalyGuard::DetectAnomalyGuard() : previous_(anomaly_enabled) {
  anomaly_enabled = true;
}
DetectAnomalyGuard::~DetectAnomalyGuard() {
  anomaly_enabled = previous_;
}

template <typename T>
void check_finite_output(const char* op, const BasicTensor<T>& out,
                         const std::vector<BasicTensor<T>>& inputs) {
  if (all_finite(out)) return;
  fail<AnomalyError>("anomaly: '{}' produced NaN or Inf in its output {} (inputs: {})", op,
                     out.shape(), shapes_of(inputs));
}

// The engine.
//
// 1. Order the graph behind `root` topologically, so that every tensor comes after all the
//    inputs it was computed from. An explicit stack instead of recursion: a chain of 100,000
//    ops must not overflow the call stack.
// 2. Seed dL/d(root) (1 for a one-element root, the given gradient otherwise).
// 3. Walk the order in reverse. Reverse topological order visits a tensor only after every op
//    that consumed it, so by then its gradient holds the complete sum of its consumers'
//    contributions (the chain rule for a node used twice is a sum), and its own backward can
//    pass that on to its inputs.
//
// A non-leaf's gradient in a pass lives in its pass_grad, apart from the .grad() that
// retain_grad() keeps for the user: what a node passes on is this pass's gradient alone, and
// .grad() accumulates over passes. Every pass_grad is dropped when the pass ends, normally or by
// an exception (a VersionError, an AnomalyError, a throwing backward), and retained .grad()s
// take this pass's gradient only when the whole pass succeeded; so a failed pass leaves no
// partial gradient on any non-leaf. Leaves keep what reached them before the failure, as in
// PyTorch: zero_grad() them before a retry.
template <typename T>
void run_backward(const BasicTensor<T>& root, const BasicTensor<T>& grad, bool retain_graph) {
  require_defined("backward", root, "the tensor to differentiate");
  using Node = detail::Node<T>;
  Node& r = root.node();
  if (!r.requires_grad) {
    fail<GraphError>(
        "backward: the tensor does not require grad (no input of the ops that "
        "made it has requires_grad = true)");
  }
  if (!grad.defined() && root.numel() != 1) {
    fail<GraphError>(
        "backward: expected a one-element output or an explicit gradient, got an "
        "output of shape {} and no gradient",
        root.shape());
  }
  if (grad.defined() && !(grad.shape() == root.shape())) {
    fail<ShapeError>("backward: expected a gradient of shape {}, got {}", root.shape(),
                     grad.shape());
  }

  // 1. Topological order (post-order DFS) over the inputs that required grad when their op ran
  //    and still do. Checked before any gradient is touched, so a freed graph fails without
  //    changing anything.
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<const Node*> visited;
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack;  // (node, next input to visit)
  stack.emplace_back(root.node_, 0);
  visited.insert(root.node_.get());
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (node->graph_freed) {
      fail<GraphError>(
          "backward: trying to backward through the graph a second time (the "
          "output of '{}' was already freed); pass retain_graph = true to the "
          "first backward() if you need to run it twice",
          node->op);
    }
    if (next < node->inputs.size()) {
      const size_t i = next++;
      const std::shared_ptr<Node>& in = node->inputs[i].node_;
      if (in->requires_grad && node->input_requires_grad[i] && visited.insert(in.get()).second)
        stack.emplace_back(in, 0);
      continue;
    }
    order.push_back(std::move(node));
    stack.pop_back();
  }

  // 2. Seed. A leaf root adds it into its .grad(). An op's output borrows the caller's gradient:
  //    a backward only reads dy, and pass_grad is dropped right after the root's backward, so
  //    nothing writes to it and nothing is copied. Unless it is (a view of) the .grad() of a
  //    tensor in this graph: backwards write into those, and one that writes elsewhere than
  //    where it reads, as transpose(x).backward(x.grad()) does, would read its own output.
  if (!r.op) {
    seed_leaf(root, grad);
    return;  // a leaf has no backward
  }
  if (grad.defined()) {
    const bool is_a_grad = std::any_of(order.begin(), order.end(), [&](const auto& n) {
      return n->grad && n->grad->data == grad.node_->data;
    });
    r.pass_grad = is_a_grad ? grad.clone().node_ : grad.detach().node_;
  } else {
    r.pass_grad = BasicTensor<T>::full(r.shape, T(1)).node_;
  }

  // 3. Reverse walk. `failed_or_done` drops every pass_grad when this function exits, however.
  struct DropPassGradients {
    const std::vector<std::shared_ptr<Node>>& nodes;
    ~DropPassGradients() {
      for (const std::shared_ptr<Node>& n : nodes) n->pass_grad.reset();
    }
  } failed_or_done{order};
  std::vector<BasicTensor<T>> as_constants;  // inputs seen by a backward, when they differ
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node& node = **it;
    if (!node.op) continue;  // a leaf: its .grad() is the result
    if (node.pass_grad) {
      const BasicTensor<T> dy(node.pass_grad);
      run_node_backward(node, dy, as_constants);
      if (anomaly_enabled) {
        for (size_t i = 0; i < node.inputs.size(); ++i) {
          const BasicTensor<T>& in = node.inputs[i];
          const std::shared_ptr<Node>& g = in.node().grad_target();
          if (g && !all_finite(BasicTensor<T>(g))) {
            fail<AnomalyError>(
                "anomaly: the backward of '{}' produced NaN or Inf in the "
                "gradient of its input {} of shape {} (output {})",
                node.op, i, in.shape(), node.shape);
          }
        }
      }
    }
    if (!node.retains_grad) node.pass_grad.reset();  // kept until the pass has succeeded
    if (!retain_graph) {
      node.inputs.clear();
      node.input_requires_grad.clear();
      node.backward = nullptr;
      node.graph_freed = true;
    }
  }
  // The pass succeeded: each retained non-leaf adds this pass's gradient to its .grad().
  for (const std::shared_ptr<Node>& n : order) {
    if (!n->op || !n->retains_grad || !n->pass_grad) continue;
    const BasicTensor<T> this_pass(n->pass_grad);
    if (n->grad) {
      BasicTensor<T>(n->grad).flat() += this_pass.flat();
    } else {
      n->grad = this_pass.clone().node_;  // a copy: the seed may be borrowed
    }
  }
}

template void check_finite_output(const char*, const BasicTensor<float>&,
                                  const std::vector<BasicTensor<float>>&);
template void check_finite_output(const char*, const BasicTensor<double>&,
                                  const std::vector<BasicTensor<double>>&);
template void run_backward(const BasicTensor<float>&, const BasicTensor<float>&, bool);
template void run_backward(const BasicTensor<double>&, const BasicTensor<double>&, bool);

}  // namespace mg
