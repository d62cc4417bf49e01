// BatchNorm1d, seen from the outside: what training mode does to a batch, how the running
// statistics follow the data, what eval mode does with them, why train and eval disagree on the
// same batch, and the gradient check of the hand-derived backward. docs/batchnorm.md explains.
#include <cmath>
#include <vector>

#include <fmt/core.h>

#include <minigrad/minigrad.hpp>

namespace {

// Per-feature mean and biased variance of x (N, C), in double.
struct Moments {
  std::vector<double> mean, var;
};
Moments moments(const mg::Tensor& x) {
  const int64_t N = x.size(0), C = x.size(1);
  Moments m{std::vector<double>(C, 0.0), std::vector<double>(C, 0.0)};
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t i = 0; i < N; ++i) m.mean[c] += x.at(i, c) / N;
    for (int64_t i = 0; i < N; ++i) m.var[c] += std::pow(x.at(i, c) - m.mean[c], 2) / N;
  }
  return m;
}

// A batch whose feature c has mean means[c] and standard deviation stds[c].
mg::Tensor batch(int64_t N, const std::vector<double>& means, const std::vector<double>& stds,
                 mg::Generator& gen) {
  const int64_t C = static_cast<int64_t>(means.size());
  std::vector<float> v(N * C);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t c = 0; c < C; ++c)
      v[i * C + c] = static_cast<float>(gen.normal(means[c], stds[c]));
  return mg::Tensor::from_vector(v, {N, C});
}

void rule(int width) {
  fmt::print("{:-<{}}\n", "", width);
}

}  // namespace

int main() {
  mg::Generator gen(0);
  const std::vector<double> means{5.0, -3.0, 100.0, 0.5}, stds{2.0, 0.1, 10.0, 1.0};
  mg::nn::BatchNorm1d bn(4);
  fmt::print("{}\n\n", bn.repr());

  // 1. Training mode: each feature of the output has mean 0 and (biased) variance 1.
  const mg::Tensor x = batch(64, means, stds, gen);
  const Moments in = moments(x), out = moments(bn(x));
  fmt::print("1. One batch of 64 in training mode: per-feature statistics\n");
  fmt::print("{:>8} | {:>10} {:>10} | {:>12} {:>12}\n", "feature", "x mean", "x var", "y mean",
             "y var");
  rule(62);
  for (int c = 0; c < 4; ++c)
    fmt::print("{:>8} | {:>10.4f} {:>10.4f} | {:>12.2e} {:>12.6f}\n", c, in.mean[c], in.var[c],
               out.mean[c], out.var[c]);
  fmt::print(
      "y var = x var / (x var + eps), eps = 1e-5: 1 up to eps / var (feature 1: small var).\n\n");

  // 2. Running statistics move towards the data's: new = 0.9 * old + 0.1 * batch.
  fmt::print("2. Running statistics after k training batches (momentum 0.1)\n");
  fmt::print("{:>4} | {:>28} | {:>28}\n", "k", "running_mean", "running_var");
  rule(66);
  for (int k = 2; k <= 50; ++k) {
    bn(batch(64, means, stds, gen));
    if (k == 2 || k == 5 || k == 10 || k == 20 || k == 50)
      fmt::print(
          "{:>4} | {:>6.2f} {:>6.2f} {:>6.2f} {:>6.2f} | {:>6.2f} {:>6.3f} {:>6.1f} {:>6.2f}\n", k,
          bn.running_mean.at(0), bn.running_mean.at(1), bn.running_mean.at(2),
          bn.running_mean.at(3), bn.running_var.at(0), bn.running_var.at(1), bn.running_var.at(2),
          bn.running_var.at(3));
  }
  fmt::print("data | {:>6.2f} {:>6.2f} {:>6.2f} {:>6.2f} | {:>6.2f} {:>6.3f} {:>6.1f} {:>6.2f}\n",
             means[0], means[1], means[2], means[3], stds[0] * stds[0], stds[1] * stds[1],
             stds[2] * stds[2], stds[3] * stds[3]);
  fmt::print("num_batches_tracked = {}\n\n", bn.num_batches_tracked);

  // 3. Eval mode: a new batch is normalised with the running statistics, and nothing updates.
  bn.eval();
  const mg::Tensor fresh = batch(16, means, stds, gen);
  const Moments eval_out = moments(bn(fresh));
  fmt::print("3. Eval mode on a new batch of 16 (running statistics; no update)\n");
  fmt::print("{:>8} | {:>12} {:>12}\n", "feature", "y mean", "y var");
  rule(36);
  for (int c = 0; c < 4; ++c)
    fmt::print("{:>8} | {:>12.4f} {:>12.4f}\n", c, eval_out.mean[c], eval_out.var[c]);
  fmt::print(
      "Near 0 and 1, not exactly: the running statistics estimate the population, not this\n"
      "batch, and still lag it (feature 1's running_var started at 1, 100x its variance).\n"
      "num_batches_tracked is still {}.\n\n",
      bn.num_batches_tracked);

  // 4. The train/eval gap on the same batch. With momentum 1 the running statistics are exactly
  // this batch's, but running_var holds the *unbiased* variance (divisor N - 1) while training
  // normalised with the biased one (divisor N): eval / train = sqrt((N - 1) / N).
  fmt::print("4. The train/eval gap on one batch (momentum 1, eps 0)\n");
  fmt::print("{:>5} | {:>14} {:>16}\n", "N", "eval / train", "sqrt((N-1)/N)");
  rule(40);
  for (int64_t N : {2, 4, 16, 128}) {
    mg::nn::BatchNorm1d gap(4, {.eps = 0, .momentum = 1.0});
    const mg::Tensor xb = batch(N, means, stds, gen);
    const float train = gap(xb).at(0, 0);
    gap.eval();
    const float eval = gap(xb).at(0, 0);
    fmt::print("{:>5} | {:>14.6f} {:>16.6f}\n", N, eval / train, std::sqrt((N - 1.0) / N));
  }
  fmt::print("Biased variance normalises; the unbiased one estimates the population's.\n\n");

  // 5. The hand-derived backward against central differences, in float64, random upstream.
  fmt::print("5. Gradient check of the fused backward (float64, random upstream)\n");
  for (bool training : {true, false}) {
    mg::nn::BasicBatchNorm1d<double> bnd(3);
    bnd.weight.flat() << 0.5, 1.5, -2.0;
    bnd.bias.flat() << 0.1, 0.0, 0.3;
    bnd.train(training);
    const mg::TensorD xd = mg::TensorD::randn({6, 3, 2}, gen);
    const mg::GradcheckResult r = mg::nn::gradcheck_module(bnd, xd);
    fmt::print("{:>5}: {}\n", training ? "train" : "eval", r.report());
    fmt::print("       num_batches_tracked after the check: {} (restored by gradcheck_module)\n",
               bnd.num_batches_tracked);
  }
  return 0;
}
