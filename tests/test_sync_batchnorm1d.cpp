// SyncBatchNorm1d in one process (a world of one): it is BatchNorm1d, bit for bit, in training and
// eval, with the same errors and state_dict keys; convert_sync_batchnorm swaps a model's
// BatchNorm1d layers in place. Its behaviour over several processes is tested under mpirun
// (tests/distributed/).
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/random.hpp"
#include "layers/batchnorm1d.hpp"
#include "layers/layernorm.hpp"
#include "layers/linear.hpp"
#include "layers/relu.hpp"
#include "layers/sequential.hpp"
#include "layers/sync_batchnorm1d.hpp"

using Catch::Contains;
using mg::Tensor;
using mg::TensorD;
using mg::nn::BatchNorm1d;
using mg::nn::SyncBatchNorm1d;

TEST_CASE("SyncBatchNorm1d alone is BatchNorm1d", "[sync_batchnorm]") {
  for (const mg::nn::BatchNormOptions options :
       {mg::nn::BatchNormOptions{}, {.momentum = std::nullopt}, {.affine = false},
        {.track_running_stats = false}}) {
    mg::nn::BasicBatchNorm1d<double> bn(3, options);
    mg::nn::BasicSyncBatchNorm1d<double> sync(3, options);
    mg::Generator gen(7);
    for (int step = 0; step < 3; ++step) {
      if (step == 2) {
        bn.eval();
        sync.eval();
      }
      const TensorD x = TensorD::randn({5, 3, 2}, gen);
      const TensorD dy = TensorD::randn({5, 3, 2}, gen);
      TensorD xa = x.clone().set_requires_grad(true), xb = x.clone().set_requires_grad(true);
      const TensorD ya = bn(xa), yb = sync(xb);
      ya.backward(dy);
      yb.backward(dy);
      CHECK(ya.to_vector() == yb.to_vector());
      CHECK(xa.grad().to_vector() == xb.grad().to_vector());
      CHECK(bn.num_batches_tracked == sync.num_batches_tracked);
      if (options.affine) CHECK(bn.weight.grad().to_vector() == sync.weight.grad().to_vector());
      if (options.track_running_stats)
        CHECK(bn.running_var.to_vector() == sync.running_var.to_vector());
    }
  }
  SyncBatchNorm1d sync(3);
  BatchNorm1d bn(3);
  CHECK(sync.repr() ==
        "SyncBatchNorm1d(3, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)");
  std::vector<std::string> keys, bn_keys;
  for (const auto& [name, value] : sync.state_dict()) keys.push_back(name);
  for (const auto& [name, value] : bn.state_dict()) bn_keys.push_back(name);
  CHECK(keys == bn_keys);
  CHECK_THROWS_WITH(sync(Tensor::zeros({1, 3})),
                    Contains("expected more than 1 value per channel to compute batch statistics"));
  CHECK_THROWS_WITH(sync(Tensor::zeros({4, 2})),
                    "BatchNorm1d: expected input with 3 features, got (4, 2)");
  CHECK_THROWS_WITH(SyncBatchNorm1d(0), "BatchNorm1d: expected num_features > 0, got 0");
}

TEST_CASE("convert_sync_batchnorm swaps every BatchNorm1d and keeps its state",
          "[sync_batchnorm]") {
  mg::nn::Sequential inner;
  inner.push_back(BatchNorm1d(4, {.momentum = std::nullopt}));
  mg::nn::Sequential net;
  net.push_back(mg::nn::Linear(2, 4));
  auto& bn = net.push_back(BatchNorm1d(4));
  net.push_back(mg::nn::ReLU());
  net.push_back(std::move(inner));
  bn.running_mean.flat().setConstant(0.5f);
  bn.num_batches_tracked = 7;
  bn.freeze();
  const Tensor weight = bn.weight;  // a handle, as an optimizer holds it
  net.eval();
  const std::string before = net.repr();

  CHECK(mg::nn::convert_sync_batchnorm(net) == 2);
  auto& sync = net.at<SyncBatchNorm1d>(1);
  CHECK(sync.weight.same_as(weight));
  CHECK(sync.running_mean.to_vector() == std::vector<float>(4, 0.5f));
  CHECK(sync.num_batches_tracked == 7);
  CHECK(sync.is_frozen());
  CHECK(!sync.is_training());
  CHECK(!net.at<mg::nn::Sequential>(3).at<SyncBatchNorm1d>(0).options().momentum);
  CHECK(mg::nn::convert_sync_batchnorm(net) == 0);  // nothing left to convert
  std::string expected = before;
  for (std::size_t at = expected.find("BatchNorm1d"); at != std::string::npos;
       at = expected.find("BatchNorm1d", at + 5))
    expected.insert(at, "Sync");
  CHECK(net.repr() == expected);

  BatchNorm1d alone(4);
  CHECK_THROWS_WITH(mg::nn::convert_sync_batchnorm(alone),
                    Contains("got a BatchNorm1d itself (construct a SyncBatchNorm1d instead)"));
}

namespace {
// A custom module that holds its BatchNorm1d by value: convert_sync_batchnorm cannot swap it.
struct Block : mg::nn::Module {
  BatchNorm1d bn{4};
  Tensor forward(const Tensor& x) override { return bn(x); }
  std::string repr() const override { return "Block()"; }
  std::vector<std::pair<std::string, mg::nn::Module*>> children() override {
    return {{"bn", &bn}};
  }
};
}  // namespace

TEST_CASE("convert_sync_batchnorm refuses a BatchNorm1d it cannot swap, changing nothing",
          "[sync_batchnorm][errors]") {
  mg::nn::Sequential net;
  net.push_back(BatchNorm1d(4));
  net.push_back(Block());
  CHECK_THROWS_WITH(mg::nn::convert_sync_batchnorm(net),
                    "convert_sync_batchnorm: expected every BatchNorm1d inside a Sequential, got "
                    "'1.bn' held by a Block that cannot swap it; construct it as a "
                    "SyncBatchNorm1d there");
  CHECK(typeid(net[0]) == typeid(BatchNorm1d));  // the first one was left alone too
}
