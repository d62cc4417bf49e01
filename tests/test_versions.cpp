// Version counters: a backward that needs values its forward saved throws mg::VersionError if
// they were written since, exactly where PyTorch 1.13 raises "modified by an inplace operation"
// (tests/fixtures/engine.json, scripts/fixtures_engine.py), and every way minigrad writes values
// moves the version; ordinary training (two forwards before a backward, a training loop) raises
// nothing.
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "core/autograd.hpp"
#include "core/data.hpp"
#include "core/error.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"
#include "fixture_json.hpp"
#include "layers/batchnorm1d.hpp"
#include "layers/layernorm.hpp"
#include "layers/linear.hpp"
#include "layers/loss.hpp"
#include "layers/relu.hpp"
#include "layers/sequential.hpp"
#include "optim/sgd.hpp"

using mg::Shape;
using mg::Tensor;

namespace {

// A write between the forward and the backward, as an optimizer makes one.
void write(Tensor t) {
  mg::NoGradGuard no_grad;
  t.flat() += 1.0f;
}

// Whether loss.backward() throws VersionError (any other exception fails the test).
bool backward_throws(const Tensor& loss) {
  try {
    loss.backward();
  } catch (const mg::VersionError&) {
    return true;
  }
  return false;
}

const Tensor kWeights = Tensor::from_vector({0.5f, -1.0f, 2.0f}, {3});

// "mul:gc:b": y = mul(a, b) with a requiring grad (g) and b not (c); b written.
bool binary_case(const std::string& op, bool a_grad, bool b_grad, char written) {
  const Tensor a = Tensor::from_vector({1, 2, 3}, {3}, a_grad);
  const Tensor b = Tensor::from_vector({4, 5, 6}, {3}, b_grad);
  const std::map<std::string, std::function<Tensor(const Tensor&, const Tensor&)>> ops{
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }},
  };
  const Tensor loss = mg::sum(ops.at(op)(a, b) * kWeights);
  write(written == 'a' ? a : b);
  return backward_throws(loss);
}

bool matmul_case(bool a_grad, bool b_grad, char written) {
  const Tensor a = Tensor::full({2, 3}, 1, a_grad);
  const Tensor b = Tensor::full({3, 2}, 1, b_grad);
  const Tensor loss = mg::sum(mg::matmul(a, b));
  write(written == 'a' ? a : b);
  return backward_throws(loss);
}

// h = w * 1 (a non-leaf), y = op(h); h ("x") or y written.
bool unary_case(const std::string& op, char written) {
  const std::map<std::string, std::function<Tensor(const Tensor&)>> ops{
      {"neg", mg::neg<float>},         {"exp", mg::exp<float>},
      {"log", mg::log<float>},         {"sqrt", mg::sqrt<float>},
      {"relu", mg::relu<float>},       {"tanh", mg::tanh<float>},
      {"sigmoid", mg::sigmoid<float>}, {"pow", [](const Tensor& h) { return mg::pow(h, 3.0); }},
  };
  const Tensor w = Tensor::from_vector({0.5f, 1.0f, 2.0f}, {3}, true);
  const Tensor h = w * 1.0;
  const Tensor y = ops.at(op)(h);
  const Tensor loss = mg::sum(y * kWeights);
  write(written == 'x' ? h : y);
  return backward_throws(loss);
}

// y = op(h) for a non-leaf h (2, 3); h written.
bool shape_case(const std::string& op) {
  const std::map<std::string, std::function<Tensor(const Tensor&)>> ops{
      {"sum", [](const Tensor& h) { return mg::sum(h); }},
      {"mean", [](const Tensor& h) { return mg::mean(h); }},
      {"sum_dim", [](const Tensor& h) { return mg::sum(h, 0); }},
      {"mean_dim", [](const Tensor& h) { return mg::mean(h, 1); }},
      {"transpose", [](const Tensor& h) { return mg::transpose(h); }},
      {"reshape", [](const Tensor& h) { return mg::reshape(h, Shape{6}); }},
      {"add_scalar", [](const Tensor& h) { return h + 2.0; }},
      {"mul_scalar", [](const Tensor& h) { return h * 3.0; }},
  };
  const Tensor w = Tensor::full({2, 3}, 1, true);
  const Tensor h = w * 1.0;
  const Tensor loss = mg::sum(ops.at(op)(h) * 2.0);
  write(h);
  return backward_throws(loss);
}

bool loss_case(const std::string& op, const std::string& written) {
  const Tensor w = Tensor::from_vector({0.5f, 1.0f, 2.0f, 1.0f, -1.0f, 0.0f}, {2, 3}, true);
  const Tensor pred = w * 1.0;
  const Tensor target = Tensor::from_vector({1, 0, 1, 0, 1, 0}, {2, 3});
  const std::vector<int64_t> labels{2, 0};
  const Tensor loss =
      op == "mse" ? mg::nn::mse_loss(pred, target) : mg::nn::cross_entropy(pred, labels);
  write(written == "pred" ? pred : target);
  return backward_throws(loss);
}

// y = layer(x) for x (4, 3); x or the layer's tensor `written` written.
template <typename Layer>
bool layer_case(Layer& layer, bool x_grad, const std::string& written,
                const std::map<std::string, Tensor>& tensors) {
  mg::Generator gen(3);
  const Tensor x = Tensor::randn({4, 3}, gen, x_grad);
  const Tensor y = layer(x);
  const Tensor loss = mg::sum(y * Tensor::randn(y.shape(), gen));
  write(written == "x" ? x : tensors.at(written));
  return backward_throws(loss);
}

// Runs the case named as in the fixture: "op:gc:b", "relu:y", "linear:c:weight", ...
bool run_case(const std::string& name) {
  std::vector<std::string> part;
  for (size_t start = 0, end = 0; end != std::string::npos; start = end + 1) {
    end = name.find(':', start);
    part.push_back(name.substr(start, end - start));
  }
  const std::string& op = part[0];
  if (op == "add" || op == "sub" || op == "mul" || op == "div" || op == "matmul") {
    const bool a_grad = part[1][0] == 'g', b_grad = part[1][1] == 'g';
    return op == "matmul" ? matmul_case(a_grad, b_grad, part[2][0])
                          : binary_case(op, a_grad, b_grad, part[2][0]);
  }
  if (op == "mse" || op == "cross_entropy") return loss_case(op, part[1]);
  if (op == "linear") {
    mg::Generator gen(1);
    mg::nn::Linear linear(3, 2, {}, gen);
    return layer_case(linear, part[1] == "g", part[2],
                      {{"weight", linear.weight}, {"bias", linear.bias}});
  }
  if (op == "batch_norm") {
    mg::nn::BatchNorm1d bn(3);
    bn.train(part[1] == "train");
    return layer_case(bn, true, part[2], {{"weight", bn.weight}, {"bias", bn.bias}});
  }
  if (op == "layer_norm") {
    mg::nn::LayerNorm ln(3);
    return layer_case(ln, true, part[1], {{"weight", ln.weight}, {"bias", ln.bias}});
  }
  if (part[1] == "x" || part[1] == "y") {
    if (op == "sum" || op == "mean" || op == "sum_dim" || op == "mean_dim" || op == "transpose" ||
        op == "reshape" || op == "add_scalar" || op == "mul_scalar")
      return shape_case(op);
    return unary_case(op, part[1][0]);
  }
  FAIL("no such case: " << name);
  return false;
}

}  // namespace

TEST_CASE("versions: a write to a saved tensor throws exactly where PyTorch raises", "[versions]") {
  const nlohmann::json fixture = mg::testing::load_fixture("engine.json");
  // Where PyTorch raises and minigrad computes the exact gradient instead: mean over a dim keeps
  // its input in PyTorch 1.13 only to read its sizes; minigrad's backward reads no values, so
  // there is nothing a write could make wrong.
  const std::map<std::string, bool> differs{{"mean_dim:x", false}};
  int cases = 0;
  for (const auto& [name, pytorch_raises] : fixture.at("inplace").items()) {
    INFO("case " << name << ", PyTorch raises: " << pytorch_raises);
    const bool expected = differs.count(name) ? differs.at(name) : pytorch_raises.get<bool>();
    CHECK(run_case(name) == expected);
    ++cases;
  }
  CHECK(cases == 71);
}

TEST_CASE("versions: the error names the op, the shape and both versions", "[versions]") {
  Tensor a = Tensor::from_vector({1, 2}, {2}, /*requires_grad=*/true);
  Tensor b = Tensor::from_vector({3, 4, 5, 6}, {2, 2});  // a new tensor is at version 0
  const Tensor loss = mg::sum(mg::matmul(mg::reshape(a, {1, 2}), b));  // saves b for a's gradient
  CHECK(b.version() == 0);
  b.data()[0] = 7;  // a write through a non-const accessor
  CHECK(b.version() == 1);
  const char* message =
      "matmul: one of the tensors needed for gradient computation, of shape (2, 2), was modified "
      "after the forward: it was saved at version 0 and is now at version 1. Call backward() "
      "before changing it (an optimizer step, load_state_dict, reset_parameters, the next "
      "DataLoader batch, a write through data()/flat()/matrix()), or give the forward a clone(); "
      "to read values without writing, use a const tensor";
  REQUIRE_THROWS_AS(loss.backward({}, /*retain_graph=*/true), mg::VersionError);
  REQUIRE_THROWS_WITH(loss.backward({}, /*retain_graph=*/true), message);
  CHECK_FALSE(a.grad().defined());  // nothing reached a: matmul threw before writing
}

TEST_CASE("versions: every way minigrad writes values moves the version, reads do not",
          "[versions]") {
  mg::Generator gen(4);
  mg::nn::Sequential net;
  auto& linear = net.push_back(mg::nn::Linear(3, 4, {}, gen));
  auto& bn = net.push_back(mg::nn::BatchNorm1d(4));
  auto& ln = net.push_back(mg::nn::LayerNorm(4));
  const auto moved = [](const Tensor& t, const std::function<void()>& change) {
    const uint64_t before = t.version();
    change();
    return t.version() > before;
  };
  const Tensor w = linear.weight;
  const Tensor& cw = w;
  CHECK_FALSE(moved(w, [&] { (void)cw.data(), (void)cw.flat(), (void)cw.matrix(); }));
  CHECK_FALSE(moved(w, [&] { (void)w.to_vector(), (void)w.at(0, 0), (void)w.clone(); }));
  CHECK_FALSE(moved(w, [&] { (void)net(Tensor::randn({5, 3}, gen)); }));  // a forward reads it
  CHECK(moved(w, [&] { (void)Tensor(w).data(); }));
  CHECK(moved(w, [&] { (void)Tensor(w).flat(); }));
  CHECK(moved(w, [&] { (void)Tensor(w).matrix(); }));
  CHECK(moved(w, [&] { linear.reset_parameters(gen); }));
  CHECK(moved(ln.weight, [&] { ln.reset_parameters(); }));
  CHECK(moved(bn.weight, [&] { bn.reset_parameters(); }));
  CHECK(moved(bn.running_mean, [&] { bn.reset_running_stats(); }));
  CHECK(moved(bn.running_var, [&] { (void)net(Tensor::randn({5, 3}, gen)); }));  // training
  const mg::nn::StateDict<float> state = net.state_dict();
  mg::nn::StateDict<float> copied;  // load_state_dict copies values in: the module's tensors move
  for (const auto& [name, value] : state) {
    if (const Tensor* t = std::get_if<Tensor>(&value)) {
      copied.emplace_back(name, t->clone());
    } else {
      copied.emplace_back(name, value);
    }
  }
  CHECK(moved(w, [&] { net.load_state_dict(copied); }));
  mg::sum(net(Tensor::randn({5, 3}, gen))).backward();
  CHECK(moved(w.grad(), [&] { mg::sum(net(Tensor::randn({5, 3}, gen))).backward(); }));
  mg::optim::SGD sgd(net.parameters(), {.lr = 0.1, .momentum = 0.9});
  CHECK(moved(w, [&] { sgd.step(); }));
  CHECK(moved(w.grad(), [&] { sgd.zero_grad(); }));

  mg::data::Dataset ds = mg::data::make_blobs(10, 2, 0.5, 1);
  mg::data::DataLoader loader(ds, {.batch_size = 4, .shuffle = false});
  auto it = loader.begin();
  const Tensor batch = it->x;
  CHECK(moved(batch, [&] { ++it; }));  // the next batch is written into the same buffer
}

TEST_CASE("versions: an optimizer step between forward and backward throws, as in PyTorch",
          "[versions]") {
  mg::Generator gen(5);
  const Tensor x = Tensor::randn({3, 2}, gen);
  SECTION("two layers: the second layer's weight was saved for the first layer's gradient") {
    mg::nn::Sequential model;
    model.push_back(mg::nn::Linear(2, 4, {}, gen));
    model.push_back(mg::nn::ReLU());
    model.push_back(mg::nn::Linear(4, 1, {}, gen));
    mg::optim::SGD sgd(model.parameters(), {.lr = 0.1});
    const Tensor loss = mg::sum(model(x));
    loss.backward({}, /*retain_graph=*/true);
    sgd.step();
    REQUIRE_THROWS_AS(loss.backward({}, /*retain_graph=*/true), mg::VersionError);
    REQUIRE_THROWS_WITH(loss.backward({}, /*retain_graph=*/true),
                        Catch::StartsWith("linear: one of the tensors needed for gradient "
                                          "computation, of shape (1, 4), was modified after the "
                                          "forward: it was saved at version"));
  }
  SECTION("one layer on constant data: its weight is not needed, so nothing throws") {
    mg::nn::Linear linear(2, 1, {}, gen);
    mg::optim::SGD sgd(linear.parameters(), {.lr = 0.1});
    const Tensor loss = mg::sum(linear(x));
    loss.backward({}, /*retain_graph=*/true);
    const std::vector<float> first = linear.weight.grad().to_vector();
    sgd.step();
    loss.backward();  // dW = dy^T x reads x only, which did not change
    const std::vector<float> twice = linear.weight.grad().to_vector();
    for (size_t i = 0; i < first.size(); ++i) CHECK(twice[i] == 2 * first[i]);
  }
}

TEST_CASE("versions: a graph over two DataLoader batches throws: the buffer was refilled",
          "[versions]") {
  mg::data::Dataset ds = mg::data::make_blobs(12, 3, 0.5, 2);
  mg::data::DataLoader loader(ds, {.batch_size = 4, .shuffle = true, .seed = 1});
  mg::Generator gen(6);
  mg::nn::Linear model(2, 3, {}, gen);
  auto it = loader.begin();
  const Tensor first = mg::nn::cross_entropy(model(it->x), it->y);
  ++it;  // refills the batch buffer that `first` was computed from
  const Tensor second = mg::nn::cross_entropy(model(it->x), it->y);
  REQUIRE_THROWS_AS((first + second).backward(), mg::VersionError);
  // With a clone() of the first batch, the same graph is fine.
  auto again = loader.begin();
  const Tensor kept = again->x.clone();
  const std::vector<int64_t> kept_y = again->y;
  const Tensor one = mg::nn::cross_entropy(model(kept), kept_y);
  ++again;
  const Tensor two = mg::nn::cross_entropy(model(again->x), again->y);
  (one + two).backward();
  CHECK(model.weight.grad().defined());
}

TEST_CASE("versions: ordinary training raises nothing (two forwards, then one backward)",
          "[versions]") {
  mg::Generator gen(7);
  mg::nn::Sequential model;
  model.push_back(mg::nn::Linear(3, 4, {}, gen));
  model.push_back(mg::nn::BatchNorm1d(4));  // updates its running statistics on every forward
  model.push_back(mg::nn::LayerNorm(4));
  model.push_back(mg::nn::ReLU());
  model.push_back(mg::nn::Linear(4, 2, {}, gen));
  mg::optim::SGD sgd(model.parameters(), {.lr = 0.05, .momentum = 0.9});
  const Tensor x1 = Tensor::randn({6, 3}, gen), x2 = Tensor::randn({6, 3}, gen);
  const Tensor target = Tensor::randn({6, 2}, gen);
  for (int step = 0; step < 3; ++step) {
    sgd.zero_grad();
    const Tensor loss = mg::nn::mse_loss(model(x1), target) + mg::nn::mse_loss(model(x2), target);
    REQUIRE_NOTHROW(loss.backward());
    sgd.step();
  }
}
