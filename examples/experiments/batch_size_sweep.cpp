#include "experiments/batch_size_sweep.hpp"

#include <chrono>
#include <cmath>
#include <vector>

#include "common/training.hpp"

using namespace examples;

namespace experiments::sweep {

double batch_mean_noise(mg::nn::Linear& first, const mg::data::Dataset& ds, int64_t B,
                        uint64_t seed) {
  mg::NoGradGuard no_grad;
  const mg::Tensor h = first(ds.x);  // (n, H)
  const int64_t n = h.size(0), H = h.size(1);
  std::vector<double> mean(H, 0), var(H, 0), noise(H, 0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < H; ++c) mean[c] += h.at(i, c) / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < H; ++c) var[c] += std::pow(h.at(i, c) - mean[c], 2) / n;
  mg::data::DataLoader loader(ds, {.batch_size = B, .drop_last = true, .seed = seed});
  int64_t batches = 0;
  for (const mg::data::Batch& b : loader) {
    const mg::Tensor hb = first(b.x);  // (B, H)
    for (int64_t c = 0; c < H; ++c) {
      double m = 0;
      for (int64_t i = 0; i < B; ++i) m += hb.at(i, c) / static_cast<double>(B);
      noise[c] += std::pow(m - mean[c], 2) / var[c];
    }
    ++batches;
  }
  double out = 0;
  for (int64_t c = 0; c < H; ++c) out += std::sqrt(noise[c] / batches) / static_cast<double>(H);
  return out;
}

Result run(Norm norm, int64_t B, const mg::data::Dataset& train_set,
           const mg::data::Dataset& test_set, int64_t epochs, double lr, uint64_t seed) {
  const auto t0 = std::chrono::steady_clock::now();
  mg::Generator weights(seed);
  mg::nn::Sequential net = make_mlp({.inputs = train_set.x.size(1),
                                     .hidden = {32, 32},
                                     .classes = train_set.classes,
                                     .norm = norm},
                                    weights);
  Result r{norm, B, 0, 0, std::nan(""), 0};
  if (norm == Norm::batch)
    r.batch_noise = batch_mean_noise(net.at<mg::nn::Linear>(0), train_set, B, seed);
  train_sgd(net, train_set, {.batch_size = B, .epochs = epochs, .lr = lr, .seed = seed});
  r.test_accuracy = evaluate(net, test_set).accuracy;
  {  // the same test batches through the network in eval() and in train() (B shuffled samples
     // at a time; the running statistics are not used afterwards)
    mg::NoGradGuard no_grad;
    mg::data::DataLoader loader(test_set, {.batch_size = B, .drop_last = true, .seed = seed});
    double gap = 0;
    int64_t batches = 0;
    for (const mg::data::Batch& b : loader) {
      net.eval();
      const double acc_eval = accuracy(net(b.x), b.y);
      net.train();
      gap += accuracy(net(b.x), b.y) - acc_eval;
      ++batches;
    }
    r.train_mode_gap = gap / static_cast<double>(batches);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace experiments::sweep
