#include "core/autograd.hpp"

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
template <typename T>
void seed_gradient(BasicTensor<T> root, const BasicTensor<T>& grad) {
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
//    that consumed it, so by then its .grad() holds the complete sum of its consumers'
//    contributions (the chain rule for a node used twice is a sum), and its own backward can
//    pass that on to its inputs.
template <typename T>
void run_backward(const BasicTensor<T>& root, const BasicTensor<T>& grad, bool retain_graph) {
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

  // 1. Topological order (post-order DFS). Checked before any gradient is touched, so a freed
  //    graph fails without changing anything.
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
      const std::shared_ptr<Node>& in = node->inputs[next++].node_;
      if (in->requires_grad && visited.insert(in.get()).second) stack.emplace_back(in, 0);
      continue;
    }
    order.push_back(std::move(node));
    stack.pop_back();
  }

  // 2. Seed.
  // An op's output that keeps no gradient (the usual root) borrows the caller's gradient: a
  // backward only reads dy, and this gradient is dropped right after the root's backward, so
  // nothing writes to it and nothing is copied. Otherwise a fresh gradient buffer is assigned
  // directly (no zero-fill, then add), or added to the one already there.
  if (grad.defined() && r.op && !r.retains_grad && !r.grad) {
    r.grad = grad.detach().node_;
  } else {
    seed_gradient(root, grad);
  }

  // 3. Reverse walk.
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node& node = **it;
    if (!node.op) continue;  // a leaf: its .grad() is the result
    if (node.grad) {
      const BasicTensor<T> dy(node.grad);
      node.backward(dy, std::span(node.inputs));
      if (anomaly_enabled) {
        for (size_t i = 0; i < node.inputs.size(); ++i) {
          const BasicTensor<T>& in = node.inputs[i];
          if (in.node().grad && !all_finite(in.grad())) {
            fail<AnomalyError>(
                "anomaly: the backward of '{}' produced NaN or Inf in the "
                "gradient of its input {} of shape {} (output {})",
                node.op, i, in.shape(), node.shape);
          }
        }
      }
    }
    if (!node.retains_grad) node.grad.reset();  // a non-leaf's gradient is not kept
    if (!retain_graph) {
      node.inputs.clear();
      node.backward = nullptr;
      node.graph_freed = true;
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
