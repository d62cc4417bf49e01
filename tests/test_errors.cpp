// The bad-input matrix: every way a user can misuse minigrad that we refuse, in one table, with
// the exact message pinned and a check that the error changed nothing.
//
// Each case runs against a fresh World: a small trained model (Linear -> BatchNorm1d -> ReLU ->
// Linear) with non-default running statistics, gradients on every parameter and SGD momentum
// buffers, an input tensor with a gradient, and a data set. The world is snapshotted after the
// case's optional `arrange` step and again after the failing `act`; every value (parameters,
// buffers, num_batches_tracked, gradients, momentum buffers, learning rates, modes, data) must
// be equal. Per-op files pin some of these messages too; this file is the one list of them all.
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/autograd.hpp"
#include "core/data.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"
#include "layers/batchnorm1d.hpp"
#include "layers/checkpoint.hpp"
#include "layers/linear.hpp"
#include "layers/loss.hpp"
#include "layers/relu.hpp"
#include "layers/sequential.hpp"
#include "optim/lr_scheduler.hpp"
#include "optim/sgd.hpp"

using mg::Shape;
using mg::Tensor;
using mg::nn::BatchNorm1d;
using mg::nn::Linear;
using mg::optim::SGD;
using Labels = std::vector<int64_t>;

namespace {

struct World {
  World() {
    mg::Generator gen(11);
    model.push_back(Linear(3, 4, {}, gen));
    model.push_back(BatchNorm1d(4));
    model.push_back(mg::nn::ReLU());
    model.push_back(Linear(4, 2, {}, gen));
    sgd.emplace(model.parameters(), mg::optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
    for (int step = 0; step < 2; ++step) {  // running stats, grads and momentum buffers all set
      sgd->zero_grad();
      mg::nn::cross_entropy(model(Tensor::randn({6, 3}, gen)), Labels{0, 1, 1, 0, 1, 0}).backward();
      sgd->step();
    }
    mg::sum(mg::mul(x, x)).backward();  // x.grad() = 2x
    untracked.eval();
  }
  BatchNorm1d& bn() { return model.at<BatchNorm1d>(1); }

  mg::Generator gen{5};
  Tensor x = Tensor::randn({4, 3}, gen, /*requires_grad=*/true);  // (N, C) = (4, 3), with .grad()
  mg::nn::Sequential model;
  BatchNorm1d untracked{4, {.track_running_stats = false}};  // in eval()
  BatchNorm1d no_affine{4, {.affine = false}};               // in train()
  std::optional<SGD> sgd;
  Tensor loss;  // for a case whose arrange step runs a backward
  mg::data::Dataset data = mg::data::make_blobs(12, 3, 0.5, /*seed=*/1);
};

// Every observable value of the world, by name.
std::map<std::string, std::vector<double>> snapshot(World& w) {
  std::map<std::string, std::vector<double>> s;
  auto put = [&](const std::string& name, const Tensor& t) {
    s[name] = t.defined() ? std::vector<double>(t.data(), t.data() + t.numel())
                          : std::vector<double>{-12345};
  };
  put("x", w.x);
  put("x.grad", w.x.grad());
  for (const auto& [name, value] : w.model.state_dict()) {
    if (const auto* t = std::get_if<Tensor>(&value)) {
      put(name, *t);
    } else {
      s[name] = {static_cast<double>(std::get<int64_t>(value))};
    }
  }
  for (auto& [name, p] : w.model.named_parameters()) {
    put(name + ".grad", p.grad());
    put(name + ".momentum_buffer", w.sgd->momentum_buffer(p));
  }
  for (auto& [name, p] : w.untracked.named_parameters()) put("untracked." + name, p);
  s["lr"] = {w.sgd->lr()};
  s["modes"] = {double(w.model.is_training()), double(w.bn().is_training()),
                double(w.untracked.is_training())};
  put("data.x", w.data.x);
  s["data.y"] = std::vector<double>(w.data.y.begin(), w.data.y.end());
  return s;
}

// The model's state_dict as independent copies (each tensor + 1, the counter + 1), so that a
// load that copied anything before failing would show in the snapshot.
mg::nn::StateDict<float> shifted_state(World& w) {
  mg::nn::StateDict<float> out;
  for (const auto& [name, value] : w.model.state_dict()) {
    if (const auto* t = std::get_if<Tensor>(&value)) {
      out.emplace_back(name, mg::add(t->detach(), 1.0));
    } else {
      out.emplace_back(name, std::get<int64_t>(value) + 1);
    }
  }
  return out;
}

void erase_key(mg::nn::StateDict<float>& state, const std::string& key) {
  std::erase_if(state, [&](const auto& entry) { return entry.first == key; });
}

struct Case {
  std::function<void(World&)> act;  // must throw
  std::string message;              // exactly
  std::function<void(World&)> arrange = [](World&) {};
};

Tensor zeros(const Shape& s) {
  return Tensor::zeros(s);
}

}  // namespace

TEST_CASE("errors: every bad input gets its exact message and changes nothing", "[errors]") {
  const std::string ckpt = (std::filesystem::temp_directory_path() /
                            ("minigrad_errors_" + std::to_string(::getpid()) + ".safetensors"))
                               .string();
  // clang-format off
  const std::vector<Case> cases = {
    // ---- elementwise ops: shapes that do not broadcast ----
    {[](World& w) { mg::add(w.x, zeros({4, 2})); },
     "add: expected shapes that broadcast (equal dims, or 1), got (4, 3) and (4, 2)"},
    {[](World& w) { mg::sub(w.x, zeros({4})); },
     "sub: expected shapes that broadcast (equal dims, or 1), got (4, 3) and (4)"},
    {[](World&) { mg::mul(zeros({2, 3, 4}), zeros({2, 2, 4})); },
     "mul: expected shapes that broadcast (equal dims, or 1), got (2, 3, 4) and (2, 2, 4)"},
    {[](World& w) { mg::div(w.x, zeros({2, 3})); },
     "div: expected shapes that broadcast (equal dims, or 1), got (4, 3) and (2, 3)"},
    // ---- an undefined (default-constructed) tensor: named by the op or layer that got it ----
    {[](World&) { mg::exp(Tensor{}); },
     "exp: expected a defined tensor as input, got an undefined (default-constructed) one"},
    {[](World& w) { mg::add(w.x, Tensor{}); },
     "add: expected a defined tensor as second operand, got an undefined (default-constructed) "
     "one"},
    {[](World&) { mg::sum(Tensor{}, 0); },
     "sum: expected a defined tensor as input, got an undefined (default-constructed) one"},
    {[](World& w) { mg::matmul(Tensor{}, w.x); },
     "matmul: expected a defined tensor as first operand, got an undefined (default-constructed) "
     "one"},
    {[](World&) { mg::nn::cross_entropy(Tensor{}, Labels{0}); },
     "cross_entropy: expected a defined tensor as logits, got an undefined (default-constructed) "
     "one"},
    {[](World& w) { w.bn().forward(Tensor{}); },
     "BatchNorm1d: expected a defined tensor as input, got an undefined (default-constructed) "
     "one"},
    {[](World& w) { w.model.at<Linear>(0).forward(Tensor{}); },
     "Linear: expected a defined tensor as input, got an undefined (default-constructed) one"},
    {[](World&) { Tensor{}.backward(); },
     "backward: expected a defined tensor as the tensor to differentiate, got an undefined "
     "(default-constructed) one"},
    // ---- matmul, transpose, reshape ----
    {[](World& w) { mg::matmul(w.x, zeros({4, 2})); },
     "matmul: expected (N, K) x (K, M) matrices, got (4, 3) x (4, 2)"},
    {[](World&) { mg::matmul(zeros({2, 4, 3}), zeros({3, 2})); },
     "matmul: expected (N, K) x (K, M) matrices, got (2, 4, 3) x (3, 2)"},
    {[](World&) { mg::matmul(zeros({3}), zeros({3, 2})); },
     "matmul: expected (N, K) x (K, M) matrices, got (3) x (3, 2)"},
    {[](World& w) { mg::transpose(w.x, 0, 2); },
     "transpose: expected two dims in [-2, 2) of a rank 2 or 3 input, got dims 0 and 2 of shape "
     "(4, 3)"},
    {[](World&) { mg::transpose(zeros({5})); },
     "transpose: expected a rank 2 or 3 input, got shape (5)"},
    {[](World& w) { mg::reshape(w.x, Shape{5, 2}); },
     "reshape: expected a shape with 12 elements like (4, 3), got (5, 2) (10 elements)"},
    // ---- reductions ----
    {[](World& w) { mg::sum(w.x, 2); },
     "sum: expected dim in [-2, 1] for an input of shape (4, 3), got 2"},
    {[](World& w) { mg::mean(w.x, -3, true); },
     "mean: expected dim in [-2, 1] for an input of shape (4, 3), got -3"},
    {[](World&) { mg::mean(zeros({0, 3})); },
     "mean: expected a non-empty input, got shape (0, 3)"},
    {[](World&) { mg::mean(zeros({0, 3}), 0); },
     "mean: expected a non-empty dim 0, got shape (0, 3)"},
    // ---- losses ----
    {[](World& w) { mg::nn::mse_loss(w.x, zeros({3, 4})); },
     "mse_loss: expected target of the same shape as pred (4, 3), got (3, 4)"},
    {[](World& w) { mg::nn::mse_loss(w.x, zeros({12})); },
     "mse_loss: expected target of the same shape as pred (4, 3), got (12)"},
    {[](World& w) { mg::nn::cross_entropy(w.x, Labels{0, 1, 3, 2}); },
     "cross_entropy: expected targets in [0, 3), got 3 at index 2"},
    {[](World& w) { mg::nn::cross_entropy(w.x, Labels{0, -1, 2, 2}); },
     "cross_entropy: expected targets in [0, 3), got -1 at index 1"},
    {[](World& w) { mg::nn::cross_entropy(w.x, Labels{0, 1, 2}); },
     "cross_entropy: expected 4 targets for logits (4, 3), got 3"},
    {[](World&) { mg::nn::cross_entropy(zeros({4, 3, 2}), Labels{0, 1, 2, 0}); },
     "cross_entropy: expected logits of shape (N, K) with N > 0, got (4, 3, 2)"},
    {[](World&) { mg::nn::cross_entropy(zeros({3}), Labels{0, 1, 2}); },
     "cross_entropy: expected logits of shape (N, K) with N > 0, got (3)"},
    {[](World&) { mg::nn::cross_entropy(zeros({2, 0}), Labels{0, 0}); },
     "cross_entropy: expected logits with at least one class (K > 0), got (2, 0)"},
    // ---- tensors ----
    {[](World& w) { w.x.item(); },
     "item: expected a tensor with one element, got shape (4, 3)"},
    {[](World&) { Tensor::from_vector({1, 2, 3}, {2, 2}); },
     "Tensor::from_vector: expected 4 values for shape (2, 2), got 3"},
    {[](World& w) { w.x.at(4, 0); },
     "at: index 4 out of range for dim 0 of shape (4, 3)"},
    // ---- the engine ----
    {[](World& w) { mg::mul(w.x, 2.0).backward(); },
     "backward: expected a one-element output or an explicit gradient, got an output of shape "
     "(4, 3) and no gradient"},
    {[](World& w) { mg::mul(w.x, 2.0).backward(zeros({3, 4})); },
     "backward: expected a gradient of shape (4, 3), got (3, 4)"},
    {[](World&) { mg::sum(zeros({2, 2})).backward(); },
     "backward: the tensor does not require grad (no input of the ops that made it has "
     "requires_grad = true)"},
    {[](World& w) { mg::sum(w.x).set_requires_grad(false); },
     "set_requires_grad: expected a leaf tensor, got the output of 'sum'; use detach() to make "
     "a leaf"},
    // backward twice: the first one (in arrange) succeeds and frees the graph.
    {[](World& w) { w.loss.backward(); },
     "backward: trying to backward through the graph a second time (the output of 'sum' was "
     "already freed); pass retain_graph = true to the first backward() if you need to run it "
     "twice",
     [](World& w) {
       w.loss = mg::sum(mg::relu(w.x));
       w.loss.backward();
     }},
    // ---- BatchNorm1d forward ----
    {[](World& w) { w.bn()(zeros({8, 3})); },
     "BatchNorm1d: expected input with 4 features, got (8, 3)"},
    {[](World& w) { w.bn()(zeros({8, 3, 5})); },
     "BatchNorm1d: expected input with 4 features, got (8, 3, 5)"},
    {[](World& w) { w.bn()(zeros({4})); },
     "BatchNorm1d: expected 2D or 3D input (got 1D input)"},
    {[](World& w) { w.bn()(zeros({8, 4, 2, 2})); },  // no tensor has rank 4 at all
     "Shape: expected a shape of rank 1 to 3, got rank 4"},
    {[](World& w) { w.bn()(zeros({0, 4})); },
     "BatchNorm1d: expected a non-empty batch, got input of shape (0, 4)"},
    {[](World& w) { w.bn()(zeros({6, 4, 0})); },
     "BatchNorm1d: expected a non-empty batch, got input of shape (6, 4, 0)"},
    {[](World& w) { w.bn()(zeros({1, 4})); },
     "BatchNorm1d: expected more than 1 value per channel to compute batch statistics, got "
     "input of shape (1, 4) (N * L = 1): a single value has no variance, so every output would "
     "be the bias (beta), whatever the input. Use a batch with more than one sample (drop_last skips a final batch of one), or "
     "call eval() to normalise with the tracked running statistics"},
    {[](World& w) { w.model(zeros({1, 3})); },  // the same, reached through the model
     "BatchNorm1d: expected more than 1 value per channel to compute batch statistics, got "
     "input of shape (1, 4) (N * L = 1): a single value has no variance, so every output would "
     "be the bias (beta), whatever the input. Use a batch with more than one sample (drop_last skips a final batch of one), or "
     "call eval() to normalise with the tracked running statistics"},
    {[](World& w) { w.untracked(zeros({1, 4, 1})); },
     "BatchNorm1d: expected more than 1 value per channel to compute batch statistics, got "
     "input of shape (1, 4, 1) (N * L = 1): a single value has no variance, so every output "
     "would be the bias (beta), whatever the input. This module does not track running "
     "statistics (track_running_stats=false), so it uses batch statistics in eval() too. Use a "
     "batch with more than one sample (drop_last skips a final batch of one), or construct it "
     "with track_running_stats=true"},
    {[](World& w) { w.no_affine(zeros({1, 4})); },  // without beta, the output would be 0
     "BatchNorm1d: expected more than 1 value per channel to compute batch statistics, got "
     "input of shape (1, 4) (N * L = 1): a single value has no variance, so every output would "
     "be 0. Use a batch with more than one sample (drop_last skips a final batch of one), or "
     "call eval() to normalise with the tracked running statistics"},
    // In anomaly mode a NaN output is refused before the running statistics take it in.
    {[](World& w) {
       mg::DetectAnomalyGuard anomaly;
       Tensor x = Tensor::randn({6, 4}, w.gen);
       x.data()[5] = std::numeric_limits<float>::quiet_NaN();
       w.bn()(x);
     },
     "anomaly: 'batch_norm' produced NaN or Inf in its output (6, 4) (inputs: (6, 4), (4), (4))"},
    // ... and also where no node is recorded: an eval forward under NoGradGuard.
    {[](World& w) {
       const Tensor x = Tensor::randn({3, 4}, w.gen) * std::numeric_limits<float>::infinity();
       BatchNorm1d bn(4);
       bn.eval();
       mg::DetectAnomalyGuard anomaly;
       mg::NoGradGuard no_grad;
       bn(x);
     },
     "anomaly: 'batch_norm' produced NaN or Inf in its output (3, 4) (inputs: (3, 4), (4), (4))"},
    // eps = 0 and a zero running variance: PyTorch divides by zero (NaN); refused here.
    {[](World& w) {
       BatchNorm1d bn(3, {.eps = 0});
       bn.running_var = Tensor::from_vector({1, 0, 2}, Shape{3});
       bn.eval();
       bn(Tensor::randn({4, 3}, w.gen));
     },
     "BatchNorm1d: expected running_var > 0 with eps = 0, got 0 in channel 1: normalising by it "
     "would divide by zero. Give eps > 0, or use batch statistics (train())"},
    // ---- BatchNorm1d options ----
    {[](World&) { BatchNorm1d(0); }, "BatchNorm1d: expected num_features > 0, got 0"},
    {[](World&) { BatchNorm1d(4, {.eps = -1e-5}); },
     "BatchNorm1d: expected eps >= 0, got -1e-05"},
    {[](World&) { BatchNorm1d(4, {.momentum = 1.5}); },
     "BatchNorm1d: expected momentum in [0, 1] (or none for a cumulative average), got 1.5"},
    {[](World&) { BatchNorm1d(4, {.momentum = -0.1}); },
     "BatchNorm1d: expected momentum in [0, 1] (or none for a cumulative average), got -0.1"},
    // ---- Linear ----
    {[](World& w) { w.model(zeros({6, 2})); },
     "Linear: expected input with 3 features, got (6, 2)"},
    {[](World& w) { w.model(zeros({6, 3, 1})); },
     "Linear: expected input of shape (N, 3), got (6, 3, 1)"},
    {[](World&) { Linear(0, 4); },
     "Linear: expected in_features > 0 and out_features > 0, got in_features=0, out_features=4"},
    {[](World&) { Linear(3, -1); },
     "Linear: expected in_features > 0 and out_features > 0, got in_features=3, out_features=-1"},
    {[](World& w) { w.model.at<Linear>(1); },
     "Sequential: module 1 is BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=true, "
     "track_running_stats=true), not the type asked for"},
    {[](World& w) { w.model[4]; }, "Sequential: expected an index below 4, got 4"},
    // ---- optimizer ----
    {[](World&) { SGD(std::vector<Tensor>{}, {.lr = 0.1}); },
     "SGD: expected at least one parameter, got an empty list"},
    {[](World& w) { SGD(w.model.parameters(), {.lr = -0.1}); },
     "SGD: expected lr >= 0, got -0.1"},
    {[](World& w) { SGD(w.model.parameters(), {.lr = 0.1, .momentum = -0.9}); },
     "SGD: expected momentum >= 0, got -0.9"},
    {[](World& w) { SGD(w.model.parameters(), {.lr = 0.1, .weight_decay = -1}); },
     "SGD: expected weight_decay >= 0, got -1"},
    {[](World& w) { SGD(w.model.parameters(), {.lr = 0.1, .nesterov = true}); },
     "SGD: nesterov needs momentum > 0 and dampening = 0, got momentum 0 and dampening 0"},
    {[](World& w) { SGD({w.x, w.x}, {.lr = 0.1}); },
     "SGD: parameter 1 of group 0 is also parameter 0 of group 0; a parameter may appear only "
     "once"},
    {[](World& w) { SGD({mg::mul(w.x, 2.0)}, {.lr = 0.1}); },
     "SGD: expected a leaf tensor as parameter 0 of group 0, got the output of 'mul_scalar'"},
    {[](World& w) { w.sgd->set_lr(-1.0); }, "SGD: expected lr >= 0, got -1"},
    {[](World& w) { w.sgd->lr(1); }, "SGD: expected a group index below 1, got 1"},
    {[](World& w) { w.sgd->momentum_buffer(w.x); },
     "SGD: momentum_buffer: expected one of this optimizer's parameters, got another tensor"},
    {[](World& w) { mg::optim::StepLR(*w.sgd, 0); }, "StepLR: expected step_size > 0, got 0"},
    {[](World& w) { mg::optim::CosineAnnealingLR(*w.sgd, 0); },
     "CosineAnnealingLR: expected T_max > 0, got 0"},
    // ---- load_state_dict and checkpoints ----
    {[](World& w) {
       mg::nn::StateDict<float> s = shifted_state(w);
       erase_key(s, "3.bias");
       w.model.load_state_dict(s);
     },
     "load_state_dict: missing keys [3.bias], unexpected keys []"},
    {[](World& w) {
       mg::nn::StateDict<float> s = shifted_state(w);
       s.emplace_back("4.weight", zeros({2}));
       w.model.load_state_dict(s);
     },
     "load_state_dict: missing keys [], unexpected keys [4.weight]"},
    {[](World& w) {
       mg::nn::StateDict<float> s = shifted_state(w);
       s.back().second = zeros({3});
       w.model.load_state_dict(s);
     },
     "load_state_dict: expected '3.bias' of shape (2), got (3)"},
    {[](World& w) {
       mg::nn::StateDict<float> s = shifted_state(w);
       erase_key(s, "1.num_batches_tracked");
       s.emplace_back("1.num_batches_tracked", zeros({1}));
       w.model.load_state_dict(s);
     },
     "load_state_dict: expected '1.num_batches_tracked' to be an integer counter, got a tensor"},
    {[](World& w) {
       mg::nn::StateDict<float> s = shifted_state(w);
       s.push_back(s.front());
       w.model.load_state_dict(s);
     },
     "load_state_dict: key '0.weight' appears twice"},
    {[&ckpt](World& w) { mg::load(w.model, ckpt); },
     "load: '" + ckpt + "' does not match the model: missing keys [1.weight, 1.bias, "
     "1.running_mean, 1.running_var, 1.num_batches_tracked, 3.weight, 3.bias], unexpected keys "
     "[]",
     [&ckpt](World&) {
       mg::nn::Sequential other;
       other.push_back(Linear(3, 4));
       mg::save(other, ckpt);
     }},
    // ---- data ----
    {[](World& w) { mg::data::DataLoader(w.data, {.batch_size = 0}); },
     "DataLoader: expected batch_size >= 1, got 0"},
    {[](World& w) { mg::data::DataLoader(w.data, {.batch_size = 13, .drop_last = true}); },
     "DataLoader: with drop_last, expected batch_size <= 12 samples, got 13 (no batch left)"},
    {[](World& w) { mg::data::train_test_split(w.data, 1.0); },
     "train_test_split: expected 0 < test_fraction < 1, got 1"},
    {[](World&) { mg::data::make_spirals(100, 1); },
     "make_spirals: expected classes >= 2, got 1"},
  };
  // clang-format on
  REQUIRE(cases.size() >= 30);

  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    INFO("case " << i << ": " << c.message);
    World w;
    c.arrange(w);
    const auto before = snapshot(w);
    CHECK_THROWS_WITH(c.act(w), c.message);
    const auto after = snapshot(w);
    CHECK(after.size() == before.size());
    for (const auto& [name, values] : before) {
      INFO("state '" << name << "' changed");
      CHECK(after.at(name) == values);
    }
  }
  std::filesystem::remove(ckpt);
}
