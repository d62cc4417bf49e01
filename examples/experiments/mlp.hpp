// The small MLP the experiments train, with a choice of normalisation, and its training loop.
//
//   Linear(F, H) -> [norm] -> ReLU -> Linear(H, H) -> [norm] -> ReLU -> Linear(H, K)
//
// [norm] is BatchNorm1d(H), LayerNorm(H) or nothing. Legend: F = input features, H = hidden
// width, K = classes, B = batch size.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <minigrad/minigrad.hpp>

namespace experiments {

enum class Norm { none, batch, layer };

inline const char* norm_name(Norm norm) {
  return norm == Norm::batch ? "BatchNorm" : norm == Norm::layer ? "LayerNorm" : "none";
}

inline mg::nn::Sequential make_mlp(Norm norm, int64_t F, int64_t H, int64_t K, uint64_t seed,
                                   mg::nn::BatchNormOptions bn_options = {}) {
  mg::Generator gen(seed);
  mg::nn::Sequential net;
  for (int64_t in : {F, H}) {
    net.push_back(mg::nn::Linear(in, H, {}, gen));
    if (norm == Norm::batch) net.push_back(mg::nn::BatchNorm1d(H, bn_options));
    if (norm == Norm::layer) net.push_back(mg::nn::LayerNorm(H));
    net.push_back(mg::nn::ReLU());
  }
  net.push_back(mg::nn::Linear(H, K, {}, gen));
  return net;
}

struct TrainOptions {
  int64_t batch_size = 32;
  int64_t epochs = 20;
  double lr = 0.05;
  double momentum = 0.9;
  uint64_t seed = 0;  // the loader's shuffling
};

// Trains in train() mode with SGD and cross-entropy; a last batch smaller than B is dropped (a
// batch of one cannot give BatchNorm statistics). Returns the mean loss of each epoch.
inline std::vector<double> train(mg::nn::Sequential& net, const mg::data::Dataset& ds,
                                 const TrainOptions& opt) {
  net.train();
  mg::optim::SGD sgd(net.parameters(), {.lr = opt.lr, .momentum = opt.momentum});
  mg::data::DataLoader loader(
      ds, {.batch_size = opt.batch_size, .shuffle = true, .drop_last = true, .seed = opt.seed});
  std::vector<double> losses;
  for (int64_t epoch = 0; epoch < opt.epochs; ++epoch) {
    double sum = 0;
    int64_t batches = 0;
    for (const mg::data::Batch& b : loader) {
      sgd.zero_grad();
      mg::Tensor loss = mg::nn::cross_entropy(net(b.x), b.y);
      loss.backward();
      sgd.step();
      sum += loss.item();
      ++batches;
    }
    losses.push_back(sum / static_cast<double>(batches));
  }
  return losses;
}

// The fraction of rows of `logits` (n, K) whose largest entry is the label.
inline double accuracy(const mg::Tensor& logits, const std::vector<int64_t>& y) {
  int64_t correct = 0;
  for (int64_t i = 0; i < logits.size(0); ++i) {
    int64_t best = 0;
    for (int64_t k = 1; k < logits.size(1); ++k)
      if (logits.at(i, k) > logits.at(i, best)) best = k;
    correct += best == y[i];
  }
  return static_cast<double>(correct) / static_cast<double>(logits.size(0));
}

// Accuracy in eval() mode on the whole data set at once, without recording a graph.
inline double eval_accuracy(mg::nn::Sequential& net, const mg::data::Dataset& ds) {
  mg::NoGradGuard no_grad;
  net.eval();
  return accuracy(net(ds.x), ds.y);
}

}  // namespace experiments
