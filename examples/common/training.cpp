#include "common/training.hpp"

namespace examples {

EpochResult train_epoch(mg::nn::Module& net, mg::data::DataLoader& loader,
                        mg::optim::Optimizer& optimizer, const EpochHooks& hooks,
                        const EpochResult& done) {
  net.train();
  EpochResult r{.loss_sum = done.loss_sum, .steps = done.steps};
  int64_t step = 0;
  for (const mg::data::Batch& batch : loader) {
    if (++step <= done.steps) continue;
    optimizer.zero_grad();
    const mg::Tensor logits = net(batch.x);  // (B, K)
    const mg::Tensor loss = mg::nn::cross_entropy(logits, std::span<const int64_t>(batch.y));
    const double value = hooks.reduce_loss ? hooks.reduce_loss(loss.item()) : loss.item();
    if (hooks.before_backward && !hooks.before_backward(loss, value, step)) {
      r.stopped = true;
      break;
    }
    loss.backward();
    if (hooks.after_backward) hooks.after_backward();
    optimizer.step();
    r.loss_sum += value;
    ++r.steps;
    if (hooks.after_step && !hooks.after_step(step, r.loss_sum / static_cast<double>(r.steps)) &&
        step < loader.num_batches()) {
      r.stopped = true;
      break;
    }
  }
  return r;
}

std::vector<double> train_sgd(mg::nn::Module& net, const mg::data::Dataset& ds, const SgdRun& run) {
  mg::optim::SGD sgd(net.parameters(), {.lr = run.lr, .momentum = run.momentum});
  mg::data::DataLoader loader(
      ds, {.batch_size = run.batch_size, .shuffle = true, .drop_last = true, .seed = run.seed});
  std::vector<double> losses;
  for (int64_t epoch = 0; epoch < run.epochs; ++epoch)
    losses.push_back(train_epoch(net, loader, sgd).mean_loss());
  return losses;
}

std::vector<int64_t> argmax_rows(const mg::Tensor& logits) {
  std::vector<int64_t> labels(logits.size(0));
  for (int64_t i = 0; i < logits.size(0); ++i) {
    int64_t best = 0;
    for (int64_t k = 1; k < logits.size(1); ++k)
      if (logits.at(i, k) > logits.at(i, best)) best = k;
    labels[i] = best;
  }
  return labels;
}

double accuracy(const mg::Tensor& logits, std::span<const int64_t> labels) {
  const std::vector<int64_t> predicted = argmax_rows(logits);
  int64_t correct = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i) correct += predicted[i] == labels[i];
  return static_cast<double>(correct) / static_cast<double>(predicted.size());
}

Evaluation evaluate(mg::nn::Module& net, const mg::data::Dataset& ds) {
  net.eval();
  mg::NoGradGuard no_grad;
  const mg::Tensor logits = net(ds.x);  // (N, K)
  return {.loss = mg::nn::cross_entropy(logits, std::span<const int64_t>(ds.y)).item(),
          .accuracy = accuracy(logits, ds.y)};
}

std::vector<int64_t> predict(mg::nn::Module& net, const mg::Tensor& x) {
  net.eval();
  mg::NoGradGuard no_grad;
  return argmax_rows(net(x));
}

}  // namespace examples
