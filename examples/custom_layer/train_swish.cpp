// Trains a small MLP whose activations are the out-of-tree Swish layer on two moons, and exits
// non-zero unless it learns them (test accuracy >= 95%): proof that a layer defined outside
// minigrad plugs into Sequential, the engine and the optimizer like a built-in one.
#include <cstdio>

#include <minigrad/minigrad.hpp>

#include "swish.hpp"

namespace {

double accuracy(mg::nn::Module& net, const mg::data::Dataset& ds) {
  mg::NoGradGuard no_grad;
  const mg::Tensor logits = net(ds.x);  // (n, 2)
  int64_t correct = 0;
  for (int64_t i = 0; i < ds.size(); ++i)
    correct += (logits.at(i, 1) > logits.at(i, 0) ? 1 : 0) == ds.y[i];
  return static_cast<double>(correct) / static_cast<double>(ds.size());
}

}  // namespace

int main() {
  mg::manual_seed(0);
  const auto [train, test] =
      mg::data::train_test_split(mg::data::make_moons(600, 0.1, /*seed=*/1), 0.25, /*seed=*/2);
  mg::nn::Sequential net;
  net.push_back(mg::nn::Linear(2, 32));
  net.push_back(custom::Swish());
  net.push_back(mg::nn::Linear(32, 32));
  net.push_back(custom::Swish());
  net.push_back(mg::nn::Linear(32, 2));
  std::printf("%s\n", net.repr().c_str());

  mg::optim::SGD sgd(net.parameters(), {.lr = 0.1, .momentum = 0.9});
  mg::data::DataLoader loader(train, {.batch_size = 32, .shuffle = true, .seed = 3});
  for (int epoch = 1; epoch <= 30; ++epoch) {
    double loss_sum = 0;
    int batches = 0;
    for (const mg::data::Batch& b : loader) {
      sgd.zero_grad();
      mg::Tensor loss = mg::nn::cross_entropy(net(b.x), b.y);
      loss.backward();
      sgd.step();
      loss_sum += loss.item();
      ++batches;
    }
    if (epoch % 10 == 0) {
      std::printf("epoch %2d  loss %.4f  test accuracy %.3f\n", epoch, loss_sum / batches,
                  accuracy(net, test));
    }
  }
  const double acc = accuracy(net, test);
  if (acc < 0.95) {
    std::fprintf(stderr, "train_swish: expected test accuracy >= 0.95, got %.3f\n", acc);
    return 1;
  }
  return 0;
}
