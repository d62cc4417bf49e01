// The key claim of each experiment in examples/experiments/, checked on a small run.
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "common/mlp.hpp"
#include "common/training.hpp"
#include "experiments/batch_size_sweep.hpp"
#include "experiments/fold_bn.hpp"
#include "experiments/frozen_bn.hpp"
#include "experiments/train_eval_gap.hpp"
#include "experiments/variance_lab.hpp"

using namespace examples;
using namespace experiments;

TEST_CASE("variance lab: E(x^2) - E(x)^2 cancels in float32, two passes do not", "[experiments]") {
  const variance::Row at1e4 = variance::measure(1e4);
  CHECK(at1e4.naive_error > 1e-2);
  CHECK(at1e4.two_pass_error < 1e-3);
  CHECK(at1e4.welford_error < 1e-2);
  // With mean 1 all three agree with float64.
  const variance::Row at1 = variance::measure(1.0);
  CHECK(at1.naive_error < 1e-4);
  CHECK(at1.two_pass_error < 1e-5);
  // The formulas themselves, on values where float32 is exact: 1, 2, 3, 4 has variance 1.25.
  const std::vector<float> small{1, 2, 3, 4};
  CHECK(variance::naive_variance(small) == 1.25f);
  CHECK(variance::two_pass_variance(small) == 1.25f);
  CHECK(variance::welford_variance(small) == 1.25f);
}

TEST_CASE("train/eval gap: eval / train = sqrt((N-1)/N) with momentum 1", "[experiments]") {
  mg::Generator gen(1);
  for (int64_t N : {2, 4, 16}) {
    const std::vector<double> r = gap::momentum_one_ratio(mg::Tensor::randn(mg::Shape{N, 5}, gen));
    for (double v : r) CHECK(v == Approx(gap::bessel_factor(N)).epsilon(1e-5));
  }
  CHECK(gap::bessel_factor(4) == Approx(0.8660254));
}

TEST_CASE("train/eval gap: (1 - m)^k of the initial running mean is left", "[experiments]") {
  mg::Generator gen(2);
  const mg::Tensor x = mg::Tensor::randn(mg::Shape{8, 4}, gen) + 3.0;
  for (int64_t k : {1, 5, 20}) {
    CHECK(gap::measured_initial_weight(x, 0.1, k) ==
          Approx(gap::initial_weight_left(0.1, k)).margin(1e-5));
  }
  CHECK(gap::initial_weight_left(0.1, 5) == Approx(0.59049));
}

TEST_CASE("train/eval gap: the diagnostic leaves the BatchNorm as it was", "[experiments]") {
  mg::Generator gen(3);
  mg::nn::BatchNorm1d bn(4);
  bn(mg::Tensor::randn(mg::Shape{8, 4}, gen) * 2.0);  // running stats away from (0, 1)
  const std::vector<float> rm = bn.running_mean.to_vector(), rv = bn.running_var.to_vector();
  const std::vector<gap::FeatureGap> g =
      gap::feature_gaps(bn, {mg::Tensor::randn(mg::Shape{8, 4}, gen)});
  CHECK(bn.running_mean.to_vector() == rm);
  CHECK(bn.running_var.to_vector() == rv);
  CHECK(bn.num_batches_tracked == 1);
  CHECK(bn.is_training());
  REQUIRE(g.size() == 4);
  for (const gap::FeatureGap& f : g) CHECK(f.output_gap > 0);
}

TEST_CASE("fold: BatchNorm folded into Linear gives the same outputs", "[experiments]") {
  const auto [train_set, test_set] =
      mg::data::train_test_split(mg::data::make_spirals(200, 2, 0.05, 1), 0.25, 2);
  mg::Generator weights(3);
  mg::nn::Sequential net = make_mlp({.inputs = 2, .hidden = {16, 16}, .classes = 2}, weights);
  train_sgd(net, train_set, {.batch_size = 16, .epochs = 3});
  // Make gamma and beta matter too.
  net.at<mg::nn::BatchNorm1d>(1).weight.data()[0] = 2.5f;
  net.at<mg::nn::BatchNorm1d>(4).bias.data()[1] = -0.7f;
  net.eval();
  mg::nn::Sequential folded = fold_network(net);
  CHECK(folded.size() == net.size() - 2);
  CHECK(ops_per_sample(folded) < ops_per_sample(net));
  mg::NoGradGuard no_grad;
  const mg::Tensor y = net(test_set.x), y_folded = folded(test_set.x);
  CHECK((y.flat() - y_folded.flat()).abs().maxCoeff() < 1e-5);
  // In train() the unfolded net normalises with batch statistics: no longer the same function.
  net.train();
  CHECK((net(test_set.x).flat() - y_folded.flat()).abs().maxCoeff() > 1e-3);
}

TEST_CASE("batch-size sweep: batch-mean noise falls like 1/sqrt(B)", "[experiments]") {
  const mg::data::Dataset ds = mg::data::make_spirals(512, 2, 0.05, 1);
  mg::nn::Linear first(2, 16);
  const double at4 = sweep::batch_mean_noise(first, ds, 4, 0);
  const double at64 = sweep::batch_mean_noise(first, ds, 64, 0);
  CHECK(at4 == Approx(0.5).epsilon(0.2));  // 1 / sqrt(4)
  CHECK(at64 < at4 / 2.5);                 // 1/sqrt(64) is a quarter of 1/sqrt(4)
}

TEST_CASE("batch-size sweep: BatchNorm's train-mode gap is largest at batch size 2",
          "[experiments]") {
  const auto [train_set, test_set] =
      mg::data::train_test_split(mg::data::make_blobs(300, 3, 0.5, 1), 0.3, 2);
  const sweep::Result bn2 = sweep::run(Norm::batch, 2, train_set, test_set, 2, 0.01);
  const sweep::Result ln2 = sweep::run(Norm::layer, 2, train_set, test_set, 2, 0.01);
  // LayerNorm does the same in train() and eval(); BatchNorm with 2 samples does not.
  CHECK(ln2.train_mode_gap == 0);
  CHECK(std::abs(bn2.train_mode_gap) > 0);
  CHECK(std::isnan(ln2.batch_noise));
  CHECK(bn2.batch_noise > 0.5);
}

TEST_CASE("frozen BatchNorm: statistics stay fixed through train() and forward", "[experiments]") {
  mg::Generator gen(4);
  mg::nn::Sequential net;
  net.push_back(mg::nn::Linear(3, 4, {}, gen));
  auto& bn = net.push_back(mg::nn::BatchNorm1d(4));
  bn(mg::Tensor::randn(mg::Shape{8, 4}, gen) * 3.0 + 1.0);  // running stats away from (0, 1)
  const std::vector<float> rm = bn.running_mean.to_vector(), rv = bn.running_var.to_vector();
  bn.freeze();
  net.train();  // a parent's train() does not undo freeze()
  CHECK(bn.is_frozen());
  const mg::Tensor x = mg::Tensor::randn(mg::Shape{6, 3}, gen);
  const std::vector<float> y_train = net(x).to_vector();
  CHECK(bn.running_mean.to_vector() == rm);
  CHECK(bn.running_var.to_vector() == rv);
  CHECK(bn.num_batches_tracked == 1);
  // It normalises with the running statistics: the same output as eval(), a batch of one works.
  net.eval();
  CHECK(net(x).to_vector() == y_train);
  net.train();
  CHECK_NOTHROW(net(mg::Tensor::randn(mg::Shape{1, 3}, gen)));
  // Gradients flow as in eval (dx = dy * gamma * inv_std); gamma and beta still learn.
  mg::Tensor xg = x.clone().set_requires_grad(true);
  mg::sum(mg::mul(net(xg), net(xg))).backward();
  CHECK(bn.weight.grad().defined());
  bn.unfreeze();
  net(x);
  CHECK(bn.num_batches_tracked == 2);
  CHECK(bn.running_mean.to_vector() != rm);
}

TEST_CASE("frozen BatchNorm: freeze(true) fixes gamma and beta too", "[experiments]") {
  mg::nn::BatchNorm1d bn(3);
  const mg::Tensor x = mg::Tensor::from_vector({1, 2, 3, 4, 5, 7}, mg::Shape{2, 3}, true);
  mg::sum(bn(x)).backward();
  REQUIRE(bn.weight.grad().defined());
  bn.freeze(true);
  CHECK_FALSE(bn.weight.requires_grad());
  CHECK_FALSE(bn.bias.requires_grad());
  CHECK_FALSE(bn.weight.grad().defined());  // dropped, so an optimizer skips it
  bn.unfreeze();
  CHECK(bn.weight.requires_grad());
  CHECK_FALSE(bn.is_frozen());
  mg::nn::BatchNorm1d untracked(3, {.track_running_stats = false});
  CHECK_THROWS_WITH(untracked.freeze(),
                    "BatchNorm1d: freeze() expected running statistics to normalise with, got "
                    "track_running_stats=false");
}

TEST_CASE("frozen BatchNorm: fine-tuning at batch size 2 keeps what pretraining learnt",
          "[experiments]") {
  const std::vector<frozen::Result> r = frozen::run({.finetune_epochs = 10});
  REQUIRE(r.size() == 4);
  const frozen::Result &pretrained = r[0], &plain = r[1], &frozen_stats = r[2];
  CHECK(pretrained.accuracy > 0.9);
  CHECK(plain.stat_change > 1.0);
  CHECK(frozen_stats.stat_change == 0);
  CHECK(r[3].stat_change == 0);
  CHECK(frozen_stats.accuracy > plain.accuracy + 0.1);
}
