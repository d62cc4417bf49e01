#include "experiments/train_eval_gap.hpp"

#include <cmath>

namespace experiments::gap {

double bessel_factor(int64_t N) {
  return std::sqrt(static_cast<double>(N - 1) / static_cast<double>(N));
}

double initial_weight_left(double momentum, int64_t steps) {
  return std::pow(1 - momentum, static_cast<double>(steps));
}

std::vector<double> momentum_one_ratio(const mg::Tensor& x) {
  const int64_t N = x.size(0), C = x.size(1);
  mg::nn::BatchNorm1d bn(C, {.eps = 0, .momentum = 1.0});
  mg::NoGradGuard no_grad;
  const mg::Tensor y_train = bn(x);
  bn.eval();
  const mg::Tensor y_eval = bn(x);
  std::vector<double> ratio(C);
  for (int64_t c = 0; c < C; ++c) {
    // The outputs are a * (x - mean) in both modes; compare the slopes on the sample farthest
    // from the mean.
    int64_t far = 0;
    for (int64_t i = 1; i < N; ++i)
      if (std::abs(y_train.at(i, c)) > std::abs(y_train.at(far, c))) far = i;
    ratio[c] = y_eval.at(far, c) / y_train.at(far, c);
  }
  return ratio;
}

double measured_initial_weight(const mg::Tensor& x, double momentum, int64_t k) {
  const int64_t N = x.size(0), C = x.size(1);
  mg::nn::BatchNorm1d bn(C, {.momentum = momentum});
  mg::NoGradGuard no_grad;
  for (int64_t step = 0; step < k; ++step) bn(x);
  double left = 0;
  for (int64_t c = 0; c < C; ++c) {
    double mean = 0;
    for (int64_t i = 0; i < N; ++i) mean += x.at(i, c) / static_cast<double>(N);
    left += (1 - bn.running_mean.at(c) / mean) / static_cast<double>(C);
  }
  return left;
}

std::vector<FeatureGap> feature_gaps(mg::nn::BatchNorm1d& bn,
                                     const std::vector<mg::Tensor>& inputs) {
  const int64_t C = bn.num_features();
  std::vector<FeatureGap> gaps(C, FeatureGap{0, 0, 0});
  mg::NoGradGuard no_grad;
  const bool was_training = bn.is_training();
  const mg::Tensor rm = bn.running_mean.clone(), rv = bn.running_var.clone();
  const int64_t tracked = bn.num_batches_tracked;
  double count = 0;
  for (const mg::Tensor& h : inputs) {
    const int64_t N = h.size(0);
    bn.train();
    const mg::Tensor y_train = bn(h);
    bn.running_mean.flat() = rm.flat(), bn.running_var.flat() = rv.flat();
    bn.num_batches_tracked = tracked;
    bn.eval();
    const mg::Tensor y_eval = bn(h);
    for (int64_t c = 0; c < C; ++c) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < N; ++i) mean += h.at(i, c) / static_cast<double>(N);
      for (int64_t i = 0; i < N; ++i)
        var += std::pow(h.at(i, c) - mean, 2) / static_cast<double>(N);
      gaps[c].var_ratio += var / rv.at(c);
      gaps[c].mean_shift += std::pow(mean - rm.at(c), 2) / rv.at(c);
      const double gamma = std::abs(bn.weight.at(c));
      for (int64_t i = 0; i < N; ++i)
        gaps[c].output_gap += std::pow((y_train.at(i, c) - y_eval.at(i, c)) / gamma, 2) / N;
    }
    count += 1;
  }
  for (FeatureGap& g : gaps) {
    g.var_ratio /= count;
    g.mean_shift = std::sqrt(g.mean_shift / count);
    g.output_gap = std::sqrt(g.output_gap / count);
  }
  bn.train(was_training);
  return gaps;
}

}  // namespace experiments::gap
