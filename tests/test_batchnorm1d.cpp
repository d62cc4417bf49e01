// BatchNorm1d: semantics (PyTorch 1.13's), pinned errors, the fused backward against the staged
// and the composed references, and gradient checks. PyTorch's own numbers are replayed in
// test_batchnorm1d_conformance.cpp.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "core/autograd.hpp"
#include "core/error.hpp"
#include "core/gradcheck.hpp"
#include "core/ops.hpp"
#include "core/random.hpp"
#include "layers/batchnorm1d.hpp"
#include "layers/batchnorm1d_reference.hpp"
#include "layers/gradcheck_module.hpp"

using Catch::Contains;
using mg::Shape;
using mg::Tensor;
using mg::TensorD;
using BatchNormD = mg::nn::BasicBatchNorm1d<double>;
using mg::nn::BatchNorm1d;
using mg::nn::BatchNormOptions;

namespace {

// Per-channel mean and biased variance of x (N, C) or (N, C, L), in double, the slow way.
template <typename T>
std::pair<std::vector<double>, std::vector<double>> channel_moments(const mg::BasicTensor<T>& x) {
  const int64_t N = x.size(0), C = x.size(1), L = x.rank() == 3 ? x.size(2) : 1;
  std::vector<double> mean(C, 0.0), var(C, 0.0);
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t b = 0; b < N; ++b)
      for (int64_t l = 0; l < L; ++l) mean[c] += x.data()[(b * C + c) * L + l];
    mean[c] /= N * L;
    for (int64_t b = 0; b < N; ++b)
      for (int64_t l = 0; l < L; ++l)
        var[c] += std::pow(x.data()[(b * C + c) * L + l] - mean[c], 2);
    var[c] /= N * L;
  }
  return {mean, var};
}

double max_rel_diff(const TensorD& a, const TensorD& b) {
  REQUIRE(a.shape() == b.shape());
  double worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double scale = std::max({std::abs(a.data()[i]), std::abs(b.data()[i]), 1.0});
    worst = std::max(worst, std::abs(a.data()[i] - b.data()[i]) / scale);
  }
  return worst;
}

std::vector<double> values(const TensorD& t) {
  return t.to_vector();
}

}  // namespace

TEST_CASE("BatchNorm1d: parameters, buffers and state_dict keys follow PyTorch", "[batchnorm]") {
  BatchNorm1d bn(3);
  CHECK(bn.weight.to_vector() == std::vector<float>{1, 1, 1});
  CHECK(bn.bias.to_vector() == std::vector<float>{0, 0, 0});
  CHECK(bn.weight.requires_grad());
  CHECK(bn.running_mean.to_vector() == std::vector<float>{0, 0, 0});
  CHECK(bn.running_var.to_vector() == std::vector<float>{1, 1, 1});
  CHECK_FALSE(bn.running_mean.requires_grad());
  CHECK(bn.num_batches_tracked == 0);
  auto keys = [](mg::nn::Module& m) {
    std::vector<std::string> out;
    for (auto& [name, value] : m.state_dict()) out.push_back(name);
    return out;
  };
  CHECK(keys(bn) == std::vector<std::string>{"weight", "bias", "running_mean", "running_var",
                                             "num_batches_tracked"});
  BatchNorm1d plain(3, {.affine = false});
  CHECK(keys(plain) ==
        std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"});
  CHECK(plain.parameters().empty());
  CHECK_FALSE(plain.weight.defined());
  BatchNorm1d untracked(3, {.track_running_stats = false});
  CHECK(keys(untracked) == std::vector<std::string>{"weight", "bias"});
  CHECK_FALSE(untracked.running_mean.defined());
  // The counter is an int64 entry, as in PyTorch.
  CHECK(std::holds_alternative<int64_t>(bn.state_dict().back().second));
}

TEST_CASE("BatchNorm1d: repr and option validation", "[batchnorm]") {
  CHECK(BatchNorm1d(3).repr() ==
        "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)");
  CHECK(BatchNorm1d(8, {.eps = 1e-3, .momentum = std::nullopt, .affine = false}).repr() ==
        "BatchNorm1d(8, eps=0.001, momentum=None, affine=false, track_running_stats=true)");
  CHECK_THROWS_WITH(BatchNorm1d(0), "BatchNorm1d: expected num_features > 0, got 0");
  CHECK_THROWS_WITH(BatchNorm1d(3, {.eps = -1e-5}), "BatchNorm1d: expected eps >= 0, got -1e-05");
  CHECK_THROWS_WITH(
      BatchNorm1d(3, {.momentum = 1.5}),
      "BatchNorm1d: expected momentum in [0, 1] (or none for a cumulative average), got 1.5");
  CHECK_THROWS_WITH(BatchNorm1d(3, {.momentum = -0.1}), Contains("got -0.1"));
  CHECK_NOTHROW(BatchNorm1d(3, {.eps = 0, .momentum = 1.0}));
  CHECK_NOTHROW(BatchNorm1d(3, {.momentum = 0.0}));
}

TEST_CASE("BatchNorm1d: training normalises each feature to mean 0, biased variance 1",
          "[batchnorm]") {
  mg::Generator gen(1);
  for (Shape shape : {Shape{64, 5}, Shape{16, 5, 7}}) {
    Tensor x = Tensor::randn(shape, gen);
    x = x * 3.0 + 2.0;
    BatchNorm1d bn(5, {.eps = 0});
    const auto [mean, var] = channel_moments(bn(x));
    for (int c = 0; c < 5; ++c) {
      CHECK(std::abs(mean[c]) < 1e-6);
      CHECK(var[c] == Approx(1.0).epsilon(1e-5));  // biased: divisor N * L, not N * L - 1
    }
  }
}

TEST_CASE("BatchNorm1d: running statistics use the unbiased variance and PyTorch's momentum",
          "[batchnorm]") {
  mg::Generator gen(2);
  for (Shape shape : {Shape{8, 3}, Shape{4, 3, 5}}) {
    const int64_t n = shape[0] * (shape.rank() == 3 ? shape[2] : 1);
    BatchNormD bn(3, {.momentum = 0.25});
    const TensorD x = TensorD::randn(shape, gen);
    bn(x);
    const auto [mean, var] = channel_moments(x);
    for (int c = 0; c < 3; ++c) {
      // new = (1 - m) * old + m * batch with old = 0 and 1
      CHECK(bn.running_mean.at(c) == Approx(0.25 * mean[c]).epsilon(1e-12));
      CHECK(bn.running_var.at(c) == Approx(0.75 + 0.25 * var[c] * n / (n - 1.0)).epsilon(1e-12));
    }
    CHECK(bn.num_batches_tracked == 1);
  }
}

TEST_CASE("BatchNorm1d: momentum none is a cumulative average, momentum 0 still counts",
          "[batchnorm]") {
  mg::Generator gen(3);
  BatchNormD cumulative(2, {.momentum = std::nullopt});
  BatchNormD frozen(2, {.momentum = 0.0});
  std::vector<double> mean_sum(2, 0.0), var_sum(2, 0.0);
  for (int step = 0; step < 4; ++step) {
    const TensorD x = TensorD::randn(Shape{6, 2}, gen) + static_cast<double>(step);
    cumulative(x);
    frozen(x);
    const auto [mean, var] = channel_moments(x);
    for (int c = 0; c < 2; ++c) {
      mean_sum[c] += mean[c];
      var_sum[c] += var[c] * 6 / 5;  // unbiased
    }
  }
  CHECK(cumulative.num_batches_tracked == 4);
  for (int c = 0; c < 2; ++c) {
    // the plain mean of the 4 batch means and of the 4 unbiased batch variances; the initial
    // running_var = 1 is fully replaced after the first batch (m = 1 / 1)
    CHECK(cumulative.running_mean.at(c) == Approx(mean_sum[c] / 4).epsilon(1e-12));
    CHECK(cumulative.running_var.at(c) == Approx(var_sum[c] / 4).epsilon(1e-12));
  }
  CHECK(frozen.num_batches_tracked == 4);
  CHECK(values(frozen.running_mean) == std::vector<double>{0, 0});
  CHECK(values(frozen.running_var) == std::vector<double>{1, 1});
}

TEST_CASE("BatchNorm1d: NoGradGuard does not stop the updates, eval() does", "[batchnorm]") {
  mg::Generator gen(4);
  BatchNorm1d bn(3);
  const Tensor x = Tensor::randn(Shape{5, 3}, gen) + 1.0;
  {
    mg::NoGradGuard no_grad;
    bn(x);
  }
  CHECK(bn.num_batches_tracked == 1);
  CHECK(bn.running_mean.at(0) != 0.0f);
  const std::vector<float> mean = bn.running_mean.to_vector();
  bn.eval();
  bn(x);
  CHECK(bn.num_batches_tracked == 1);
  CHECK(bn.running_mean.to_vector() == mean);
}

TEST_CASE("BatchNorm1d: an eval forward under NoGradGuard gives the same y and records no node",
          "[batchnorm]") {
  mg::Generator gen(6);
  BatchNorm1d bn(3);
  bn.weight.flat().setRandom();
  bn(Tensor::randn(Shape{8, 3}, gen) * 2.0 + 1.0);  // running statistics away from 0 and 1
  bn.eval();
  const Tensor x = Tensor::randn(Shape{5, 3}, gen, /*requires_grad=*/true);
  const Tensor recorded = bn(x);
  CHECK(!recorded.is_leaf());
  Tensor y;
  {
    mg::NoGradGuard no_grad;
    y = bn(x);
  }
  CHECK(y.is_leaf());
  CHECK(!y.requires_grad());
  CHECK(y.to_vector() == recorded.to_vector());
}

TEST_CASE(
    "BatchNorm1d: a node is recorded when any of x, weight, bias requires grad, and only then",
    "[batchnorm]") {
  mg::Generator gen(7);
  const Tensor x = Tensor::randn(Shape{6, 2}, gen);  // needs no gradient
  const Tensor dy = Tensor::randn(Shape{6, 2}, gen);
  for (int needing : {0, 1, 2}) {  // none, the weight alone, the bias alone
    CAPTURE(needing);
    BatchNorm1d bn(2);
    bn.weight.set_requires_grad(needing == 1);
    bn.bias.set_requires_grad(needing == 2);
    Tensor y = bn(x);
    CHECK(y.requires_grad() == (needing != 0));
    if (needing == 0) continue;
    y.backward(dy);
    const Tensor& param = needing == 1 ? bn.weight : bn.bias;
    const Tensor& other = needing == 1 ? bn.bias : bn.weight;
    CHECK(param.grad().to_vector() != std::vector<float>(2, 0.0f));
    CHECK(!other.grad().defined());
  }
}

TEST_CASE("BatchNorm1d: eval uses running statistics when tracked, batch statistics otherwise",
          "[batchnorm]") {
  mg::Generator gen(5);
  const TensorD x = TensorD::randn(Shape{4, 2, 3}, gen);
  BatchNormD bn(2);
  bn.running_mean = TensorD::from_vector({0.5, -1.0}, Shape{2});
  bn.running_var = TensorD::from_vector({4.0, 0.25}, Shape{2});
  bn.weight.flat() << 2.0, 3.0;
  bn.bias.flat() << 0.1, 0.2;
  bn.eval();
  const TensorD y = bn(x);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t l = 0; l < 3; ++l) {
      CHECK(y.at(i, 0, l) == Approx((x.at(i, 0, l) - 0.5) / std::sqrt(4.0 + 1e-5) * 2 + 0.1));
      CHECK(y.at(i, 1, l) == Approx((x.at(i, 1, l) + 1.0) / std::sqrt(0.25 + 1e-5) * 3 + 0.2));
    }
  BatchNormD untracked(2, {.track_running_stats = false});
  untracked.eval();
  const auto [mean, var] = channel_moments(untracked(x));
  CHECK(std::abs(mean[1]) < 1e-12);
  CHECK(var[1] == Approx(1.0).epsilon(1e-4));
}

// With momentum 1 and eps 0 the running statistics are this batch's, but running_var holds the
// unbiased variance (divisor n - 1, n = N * L values per channel) while training normalised with
// the biased one (divisor n). So y - beta = gamma * (x - mean) * s shrinks by sqrt((n - 1) / n)
// in eval; y itself only when beta = 0. For (N, C, L) input the factor is not sqrt((N - 1) / N).
TEST_CASE("BatchNorm1d: the train/eval gap is sqrt((n - 1) / n), n = N * L, on y - beta",
          "[batchnorm]") {
  mg::Generator gen(6);
  const std::vector<double> beta{0.5, -1.0, 2.0};
  for (const auto& [N, L] :
       std::vector<std::pair<int64_t, int64_t>>{{2, 1}, {4, 1}, {16, 1}, {2, 3}, {4, 5}}) {
    BatchNormD bn(3, {.eps = 0, .momentum = 1.0});
    bn.weight.flat() << 1.5, -0.5, 2.0;
    bn.bias.flat() << beta[0], beta[1], beta[2];
    const TensorD x = TensorD::randn(L == 1 ? Shape{N, 3} : Shape{N, 3, L}, gen);
    const TensorD train = bn(x);
    bn.eval();
    const TensorD eval = bn(x);
    const double n = static_cast<double>(N * L);
    INFO("N = " << N << ", L = " << L);
    for (int64_t i = 0; i < train.numel(); ++i) {
      const double b = beta[(i / L) % 3];
      CHECK((eval.data()[i] - b) / (train.data()[i] - b) ==
            Approx(std::sqrt((n - 1) / n)).epsilon(1e-10));
    }
    if (L > 1) {  // not the batch size's factor
      const double ratio = (eval.data()[0] - beta[0]) / (train.data()[0] - beta[0]);
      CHECK(std::abs(ratio - std::sqrt((N - 1.0) / N)) > 1e-3);
    }
  }
}

// What the batch-of-one message says: with one value per channel x - mean = 0, so y = beta
// whatever the input (the staged reference computes it; the layer refuses it).
TEST_CASE("BatchNorm1d: a batch of one would give beta, as the message says", "[batchnorm]") {
  const TensorD x = TensorD::from_vector({3.0, -7.0, 100.0}, Shape{1, 3});
  const TensorD gamma = TensorD::from_vector({1.5, -0.5, 2.0}, Shape{3});
  const TensorD beta = TensorD::from_vector({0.5, -1.0, 2.0}, Shape{3});
  const mg::nn::StagedResult r = mg::nn::batchnorm1d_staged(
      x, gamma, beta, TensorD::from_vector({1, 2, 3}, Shape{1, 3}), 1e-5);
  CHECK(r.y.to_vector() == beta.to_vector());
  BatchNormD bn(3);
  CHECK_THROWS_WITH(bn(x), Catch::Contains("so every output would be the bias (beta)"));
  BatchNormD plain(3, {.affine = false});
  CHECK_THROWS_WITH(plain(x), Catch::Contains("so every output would be 0."));
}

TEST_CASE("BatchNorm1d: float32 statistics are stable for mean 1e4, unit variance", "[batchnorm]") {
  mg::Generator gen(7);
  Tensor x = Tensor::randn(Shape{1000, 2}, gen) + 1e4;
  BatchNorm1d bn(2, {.momentum = 1.0});
  const Tensor y = bn(x);
  const auto [mean, var] = channel_moments(x);  // exact moments of the float32 values
  for (int c = 0; c < 2; ++c) {
    const double unbiased = var[c] * 1000 / 999;
    CHECK(std::abs(bn.running_var.at(c) - unbiased) / unbiased < 1e-3);
    CHECK(std::abs(bn.running_mean.at(c) - mean[c]) < 1e-2);
  }
  const auto [ymean, yvar] = channel_moments(y);
  CHECK(std::abs(ymean[0]) < 1e-2);
  CHECK(yvar[0] == Approx(1.0).epsilon(1e-2));
}

TEST_CASE("BatchNorm1d: eps 0 and a constant channel give 0, not NaN", "[batchnorm]") {
  BatchNorm1d bn(2, {.eps = 0});
  const Tensor y = bn(Tensor::from_vector({5, 1, 5, 3}, Shape{2, 2}));
  CHECK(y.to_vector() == std::vector<float>{0, -1, 0, 1});
}

TEST_CASE("BatchNorm1d: errors name the op, the expectation and the input", "[batchnorm]") {
  BatchNorm1d bn(4);
  bn.running_mean.flat() << 1, 2, 3, 4;
  const std::vector<float> mean_before = bn.running_mean.to_vector();
  const std::vector<float> var_before = bn.running_var.to_vector();
  CHECK_THROWS_AS(bn(Tensor::zeros(Shape{8})), mg::ShapeError);
  CHECK_THROWS_WITH(bn(Tensor::zeros(Shape{8})),
                    "BatchNorm1d: expected 2D or 3D input (got 1D input)");
  CHECK_THROWS_WITH(bn(Tensor::zeros(Shape{8, 3})),
                    "BatchNorm1d: expected input with 4 features, got (8, 3)");
  CHECK_THROWS_WITH(bn(Tensor::zeros(Shape{8, 3, 2})),
                    "BatchNorm1d: expected input with 4 features, got (8, 3, 2)");
  CHECK_THROWS_WITH(bn(Tensor::zeros(Shape{0, 4})),
                    "BatchNorm1d: expected a non-empty batch, got input of shape (0, 4)");
  CHECK_THROWS_WITH(bn(Tensor::zeros(Shape{3, 4, 0})), Contains("got input of shape (3, 4, 0)"));
  for (Shape one : {Shape{1, 4}, Shape{1, 4, 1}}) {
    CHECK_THROWS_WITH(
        bn(Tensor::zeros(one)),
        Contains(fmt::format("expected more than 1 value per channel to compute batch "
                             "statistics, got input of shape {}",
                             one)) &&
            Contains("no variance") && Contains("drop_last") && Contains("call eval()"));
  }
  // Nothing changed: every check runs before the running statistics and the counter move.
  CHECK(bn.num_batches_tracked == 0);
  CHECK(bn.running_mean.to_vector() == mean_before);
  CHECK(bn.running_var.to_vector() == var_before);
  // (1, C, 2) has two values per channel; in eval a batch of one uses the running statistics.
  CHECK_NOTHROW(bn(Tensor::zeros(Shape{1, 4, 2})));
  bn.eval();
  CHECK_NOTHROW(bn(Tensor::zeros(Shape{1, 4})));
}

TEST_CASE("BatchNorm1d: a batch of one in eval without running statistics says why",
          "[batchnorm]") {
  BatchNorm1d bn(3, {.track_running_stats = false});
  bn.eval();
  // PyTorch says "when training" here, which is wrong; our message names the real cause.
  CHECK_THROWS_WITH(bn(Tensor::zeros(Shape{1, 3})),
                    Contains("track_running_stats=false") && Contains("in eval() too") &&
                        !Contains("when training") && !Contains("call eval()"));
}

TEST_CASE("BatchNorm1d: an empty batch in eval gives an empty output, as in PyTorch",
          "[batchnorm]") {
  // The running statistics normalise any number of rows, none included (a data-parallel
  // evaluation may hand a process no rows); training, which needs batch statistics, refuses.
  BatchNorm1d bn(3);
  bn.eval();
  for (const Shape& shape : {Shape{0, 3}, Shape{2, 3, 0}}) {
    const Tensor x = Tensor::zeros(shape, /*requires_grad=*/true);
    const Tensor y = bn(x);
    CHECK(y.shape() == shape);
    mg::sum(y).backward();
    CHECK(x.grad().shape() == shape);
    CHECK(bn.weight.grad().to_vector() == std::vector<float>{0, 0, 0});
  }
  CHECK(bn.num_batches_tracked == 0);
  bn.train();
  CHECK_THROWS_WITH(bn(Tensor::zeros(Shape{0, 3})),
                    "BatchNorm1d: expected a non-empty batch, got input of shape (0, 3)");
  BatchNorm1d untracked(3, {.track_running_stats = false});  // batch statistics in eval too
  untracked.eval();
  CHECK_THROWS_WITH(untracked(Tensor::zeros(Shape{0, 3})),
                    "BatchNorm1d: expected a non-empty batch, got input of shape (0, 3)");
}

TEST_CASE("BatchNorm1d: reset_running_stats and reset_parameters", "[batchnorm]") {
  mg::Generator gen(8);
  BatchNorm1d bn(2);
  const Tensor weight = bn.weight;  // the same tensor before and after
  bn(Tensor::randn(Shape{4, 2}, gen) + 3.0);
  bn.weight.flat() << 2, 3;
  bn.bias.flat() << 1, 1;
  bn.reset_running_stats();
  CHECK(bn.running_mean.to_vector() == std::vector<float>{0, 0});
  CHECK(bn.running_var.to_vector() == std::vector<float>{1, 1});
  CHECK(bn.num_batches_tracked == 0);
  CHECK(bn.weight.to_vector() == std::vector<float>{2, 3});
  bn(Tensor::randn(Shape{4, 2}, gen) + 3.0);
  bn.reset_parameters();
  CHECK(bn.num_batches_tracked == 0);
  CHECK(bn.running_mean.to_vector() == std::vector<float>{0, 0});
  CHECK(weight.to_vector() == std::vector<float>{1, 1});
  CHECK(bn.bias.to_vector() == std::vector<float>{0, 0});
}

// ---- the backward: fused == staged == composed, and gradient checks ----

namespace {

struct Case {
  Shape shape;
  bool training;
  bool affine;
  bool track;
};

std::string describe(const Case& k) {
  return fmt::format("{} {} affine={} track_running_stats={}", k.shape,
                     k.training ? "train" : "eval", k.affine, k.track);
}

// A float64 layer with non-trivial gamma, beta and running statistics.
BatchNormD make_layer(const Case& k, mg::Generator& gen) {
  const int64_t C = k.shape[1];
  BatchNormD bn(C, {.affine = k.affine, .track_running_stats = k.track});
  if (k.affine) {
    bn.weight.flat() = TensorD::uniform(Shape{C}, 0.5, 2.0, gen).flat();
    bn.bias.flat() = TensorD::randn(Shape{C}, gen).flat();
  }
  if (k.track) {
    bn.running_mean.flat() = TensorD::randn(Shape{C}, gen).flat();
    bn.running_var.flat() = TensorD::uniform(Shape{C}, 0.5, 2.0, gen).flat();
  }
  bn.train(k.training);
  return bn;
}

std::vector<Case> all_cases() {
  std::vector<Case> out;
  for (Shape shape : {Shape{6, 4}, Shape{5, 3, 4}})
    for (bool training : {true, false})
      for (bool affine : {true, false})
        for (bool track : {true, false}) out.push_back({shape, training, affine, track});
  return out;
}

}  // namespace

TEST_CASE("BatchNorm1d: fused backward == staged backward == composed ops (float64)",
          "[batchnorm]") {
  mg::Generator gen(9);
  for (const Case& k : all_cases()) {
    INFO(describe(k));
    BatchNormD bn = make_layer(k, gen);
    const TensorD x = TensorD::randn(k.shape, gen) * 2.0 + 0.5;
    const TensorD dy = TensorD::randn(k.shape, gen);
    const bool running = !k.training && k.track;
    // Statistics as the layer sees them *before* its forward updates them.
    const TensorD rm = running ? bn.running_mean.clone() : TensorD();
    const TensorD rv = running ? bn.running_var.clone() : TensorD();

    // 1. fused
    const TensorD xf = x.clone().set_requires_grad(true);
    const TensorD yf = bn(xf);
    yf.backward(dy);
    // 2. staged, by hand
    const mg::nn::StagedResult staged = mg::nn::batchnorm1d_staged(
        x, bn.weight, bn.bias, dy, bn.options().eps, {.running_mean = rm, .running_var = rv});
    // 3. composed from primitive ops, autograd's backward
    const TensorD xc = x.clone().set_requires_grad(true);
    TensorD wc, bc;
    if (k.affine) {
      wc = bn.weight.clone().set_requires_grad(true);
      bc = bn.bias.clone().set_requires_grad(true);
    }
    const TensorD yc = mg::nn::batchnorm1d_composed(xc, wc, bc, bn.options().eps, rm, rv);
    yc.backward(dy);

    CHECK(max_rel_diff(yf, staged.y) < 1e-10);
    CHECK(max_rel_diff(yc, staged.y) < 1e-10);
    CHECK(max_rel_diff(xf.grad(), staged.dx) < 1e-10);
    CHECK(max_rel_diff(xc.grad(), staged.dx) < 1e-10);
    if (k.affine) {
      CHECK(max_rel_diff(bn.weight.grad(), staged.dgamma) < 1e-10);
      CHECK(max_rel_diff(bn.bias.grad(), staged.dbeta) < 1e-10);
      CHECK(max_rel_diff(wc.grad(), staged.dgamma) < 1e-10);
      CHECK(max_rel_diff(bc.grad(), staged.dbeta) < 1e-10);
    }
  }
}

TEST_CASE("BatchNorm1d: gradcheck in every mode, with a random upstream", "[batchnorm]") {
  mg::Generator gen(11);
  for (const Case& k : all_cases()) {
    INFO(describe(k));
    BatchNormD bn = make_layer(k, gen);
    const TensorD x = TensorD::randn(k.shape, gen);
    const std::vector<double> mean = k.track ? values(bn.running_mean) : std::vector<double>{};
    const std::vector<double> var = k.track ? values(bn.running_var) : std::vector<double>{};
    const mg::GradcheckResult r = mg::nn::gradcheck_module(bn, x, {.seed = 3});
    INFO(r.report());
    CHECK(r.ok);
    CHECK(r.checked == x.numel() + (k.affine ? 2 * k.shape[1] : 0));
    // The check left the module as it found it: statistics and the counter.
    CHECK(bn.num_batches_tracked == 0);
    if (k.track) {
      CHECK(values(bn.running_mean) == mean);
      CHECK(values(bn.running_var) == var);
    }
  }
}

TEST_CASE("BatchNorm1d: gradcheck catches a wrong backward", "[batchnorm]") {
  // The staged backward without the path through the mean (step 1) is wrong; fed to gradcheck
  // as the analytic gradient of a custom op, it must fail.
  mg::Generator gen(12);
  const TensorD x = TensorD::randn(Shape{5, 3}, gen);
  auto broken = [](const std::vector<TensorD>& in) {
    TensorD y = mg::nn::batchnorm1d_composed(in[0].detach(), TensorD(), TensorD(), 1e-5);
    TensorD out = y.clone();
    out.set_grad_fn("broken_bn", {in[0]}, [](const TensorD& dy, std::span<const TensorD> xs) {
      xs[0].grad_flat() += dy.flat();  // pretends dy/dx = 1: ignores mean and variance
    });
    return out;
  };
  CHECK_FALSE(mg::gradcheck(broken, {x}).ok);
}

TEST_CASE("BatchNorm1d: sum over the batch of dx is 0 per channel in training", "[batchnorm]") {
  mg::Generator gen(13);
  for (Shape shape : {Shape{7, 3}, Shape{4, 3, 5}}) {
    BatchNormD bn = make_layer({shape, true, true, true}, gen);
    const TensorD x = TensorD::randn(shape, gen).set_requires_grad(true);
    bn(x).backward(TensorD::randn(shape, gen));
    const auto [dx_sum, unused] = channel_moments(x.grad());  // mean over N (and L)
    for (double s : dx_sum) CHECK(std::abs(s) < 1e-15);
    // ... and the gradient of sum(y) is zero: why an upstream of ones proves nothing.
    const TensorD x2 = x.detach().clone().set_requires_grad(true);
    mg::sum(bn(x2)).backward();
    CHECK(x2.grad().flat().abs().maxCoeff() < 1e-12);
  }
}

TEST_CASE("BatchNorm1d: gradcheck refuses an all-ones upstream", "[batchnorm]") {
  BatchNormD bn(3);
  const TensorD x = TensorD::randn(Shape{4, 3}, mg::default_generator());
  CHECK_THROWS_WITH(mg::nn::gradcheck_module(bn, x, {.upstream = TensorD::full(Shape{4, 3}, 1.0)}),
                    Contains("refusing an upstream gradient whose elements are all equal"));
  CHECK(bn.num_batches_tracked == 0);  // restored on the error path too
}

TEST_CASE("BatchNorm1d: gradients accumulate and flow only where required", "[batchnorm]") {
  mg::Generator gen(14);
  BatchNormD bn = make_layer({Shape{5, 3}, true, true, true}, gen);
  const TensorD x = TensorD::randn(Shape{5, 3}, gen).set_requires_grad(true);
  const TensorD dy = TensorD::randn(Shape{5, 3}, gen);
  bn(x).backward(dy);
  const std::vector<double> dx1 = values(x.grad()), dg1 = values(bn.weight.grad());
  bn(x).backward(dy);  // the same batch again: gradients add up
  for (size_t i = 0; i < dx1.size(); ++i) CHECK(x.grad().data()[i] == Approx(2 * dx1[i]));
  for (size_t c = 0; c < dg1.size(); ++c) CHECK(bn.weight.grad().data()[c] == Approx(2 * dg1[c]));
  // Input without requires_grad: only the parameters receive gradients.
  bn.zero_grad();
  const TensorD data = TensorD::randn(Shape{5, 3}, gen);
  bn(data).backward(dy);
  CHECK_FALSE(data.grad().defined());
  CHECK(bn.bias.grad().flat().abs().sum() > 0);
  // Eval mode with running statistics: dx = dy * gamma * inv_std.
  bn.eval();
  const TensorD xe = TensorD::randn(Shape{5, 3}, gen).set_requires_grad(true);
  bn(xe).backward(dy);
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t c = 0; c < 3; ++c)
      CHECK(xe.grad().at(i, c) ==
            Approx(dy.at(i, c) * bn.weight.at(c) / std::sqrt(bn.running_var.at(c) + 1e-5)));
}
