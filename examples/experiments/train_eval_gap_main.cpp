// Train/eval gap diagnostic for BatchNorm1d: first the two exact effects on a lone layer (the
// Bessel factor sqrt((N - 1) / N), the weight (1 - m)^k left on the initial running statistics),
// then a model trained at batch size 8, measured at several points of its training on held-out
// batches: per-feature variance ratio, mean shift and output gap of its first BatchNorm. Writes
// train_eval_gap.svg.
//
//   build/release/examples/train_eval_gap [output dir]
#include <algorithm>

#include <fmt/core.h>

#include "common/mlp.hpp"
#include "common/plot.hpp"
#include "common/training.hpp"
#include "experiments/train_eval_gap.hpp"

int main(int argc, char** argv) {
  using namespace examples;
  using namespace experiments;
  const std::string dir = output_dir(argc, argv);
  mg::Generator gen(0);

  fmt::print(
      "1. Bessel: BatchNorm1d(momentum=1, eps=0), one training forward, then eval on the "
      "same batch\n\n{:>6} {:>22} {:>16}\n",
      "N", "eval/train (mean, C=8)", "sqrt((N-1)/N)");
  for (int64_t N : {2, 4, 16, 128}) {
    const std::vector<double> r = gap::momentum_one_ratio(mg::Tensor::randn(mg::Shape{N, 8}, gen));
    double mean = 0;
    for (double v : r) mean += v / static_cast<double>(r.size());
    fmt::print("{:>6} {:>22.6f} {:>16.6f}\n", N, mean, gap::bessel_factor(N));
  }

  fmt::print(
      "\n2. Warm-up: the same batch (feature means 3) fed k times, momentum 0.1\n\n"
      "{:>6} {:>26} {:>12}\n",
      "k", "weight left on init (meas.)", "(1-m)^k");
  const mg::Tensor shifted = mg::Tensor::randn(mg::Shape{16, 8}, gen) + 3.0;
  for (int64_t k : {1, 5, 10, 20, 50}) {
    fmt::print("{:>6} {:>26.6f} {:>12.6f}\n", k, gap::measured_initial_weight(shifted, 0.1, k),
               gap::initial_weight_left(0.1, k));
  }

  // 3. A model: the BatchNorm MLP on two spirals at batch size 8, momentum 0.1.
  const int64_t N = 8;
  const auto [train_set, test_set] =
      mg::data::train_test_split(mg::data::make_spirals(1000, 2, 0.05, 1), 0.2, 2);
  mg::Generator weights(3);
  mg::nn::Sequential net = make_mlp({.inputs = 2, .hidden = {32, 32}, .classes = 2}, weights);
  auto& first = net.at<mg::nn::Linear>(0);
  auto& bn = net.at<mg::nn::BatchNorm1d>(1);
  // Held-out batches of the first BatchNorm's input: h = first(x) for 50 batches of N test
  // samples in a fixed random order (the test set is stored class by class).
  const std::vector<int64_t> order = mg::Generator(5).permutation(test_set.size());
  auto held_out = [&] {
    mg::NoGradGuard no_grad;
    std::vector<mg::Tensor> hs;
    for (int64_t b = 0; b < 50; ++b) {
      std::vector<float> rows;
      for (int64_t i = 0; i < N; ++i) {
        const int64_t r = order[(b * N + i) % test_set.size()];
        rows.push_back(test_set.x.at(r, 0)), rows.push_back(test_set.x.at(r, 1));
      }
      hs.push_back(first(mg::Tensor::from_vector(rows, mg::Shape{N, 2})));
    }
    return hs;
  };
  mg::optim::SGD sgd(net.parameters(), {.lr = 0.05, .momentum = 0.9});
  mg::data::DataLoader loader(train_set, {.batch_size = N, .drop_last = true, .seed = 4});
  Series output_gap{"RMS output gap", {}, {}, "#d62728", false, true};
  Series var_gap{"1 - variance ratio", {}, {}, "#1f77b4", false, true};
  Series warmup{"(1-m)^k", {}, {}, "#7f7f7f", true};
  Series bessel{"1 - (N-1)/N", {}, {}, "#2ca02c", true};
  fmt::print(
      "\n3. BatchNorm MLP on spirals, batch size N = {}, momentum 0.1; first BatchNorm, "
      "50 held-out batches\n\n{:>8} {:>10} {:>10} {:>8} {:>11} {:>11} {:>9} {:>9}\n",
      N, "step k", "(1-m)^k", "var ratio", "(N-1)/N", "mean shift", "output gap", "acc eval",
      "acc train");
  int64_t step = 0;
  std::vector<gap::FeatureGap> last;
  for (int64_t checkpoint : {1, 3, 10, 30, 100, 300, 1000, 3000}) {
    net.train();
    while (step < checkpoint) {
      for (const mg::data::Batch& b : loader) {
        sgd.zero_grad();
        mg::nn::cross_entropy(net(b.x), b.y).backward();
        sgd.step();
        if (++step == checkpoint) break;
      }
    }
    last = gap::feature_gaps(bn, held_out());
    double ratio = 0, shift = 0, out = 0;
    for (const gap::FeatureGap& g : last) {
      ratio += g.var_ratio / last.size(), shift += g.mean_shift / last.size();
      out += g.output_gap / last.size();
    }
    // Accuracy on the test set in eval() and, with batch statistics, in train() (batches of N;
    // the running statistics are put back afterwards).
    const double acc_eval = evaluate(net, test_set).accuracy;
    const mg::Tensor rm = bn.running_mean.clone(), rv = bn.running_var.clone();
    const int64_t tracked = bn.num_batches_tracked;
    double acc_train = 0;
    {
      mg::NoGradGuard no_grad;
      net.train();
      mg::data::DataLoader test_loader(test_set, {.batch_size = N, .drop_last = true, .seed = 6});
      int64_t batches = 0;
      for (const mg::data::Batch& b : test_loader) acc_train += accuracy(net(b.x), b.y), ++batches;
      acc_train /= static_cast<double>(batches);
    }
    bn.running_mean.flat() = rm.flat(), bn.running_var.flat() = rv.flat();
    bn.num_batches_tracked = tracked;
    const double left = gap::initial_weight_left(0.1, checkpoint);
    const double expected = static_cast<double>(N - 1) / N;
    fmt::print("{:>8} {:>10.2e} {:>10.3f} {:>8.3f} {:>11.3f} {:>11.3f} {:>9.3f} {:>9.3f}\n",
               checkpoint, left, ratio, expected, shift, out, acc_eval, acc_train);
    output_gap.x.push_back(checkpoint), output_gap.y.push_back(out);
    var_gap.x.push_back(checkpoint), var_gap.y.push_back(std::abs(1 - ratio));
    warmup.x.push_back(checkpoint), warmup.y.push_back(std::max(left, 1e-4));
    bessel.x.push_back(checkpoint), bessel.y.push_back(1 - expected);
  }
  fmt::print("\nPer feature after {} steps (first 8 of 32):\n\n{:>8} {:>10} {:>12} {:>12}\n", step,
             "feature", "var ratio", "mean shift", "output gap");
  for (int64_t c = 0; c < 8; ++c)
    fmt::print("{:>8} {:>10.3f} {:>12.3f} {:>12.3f}\n", c, last[c].var_ratio, last[c].mean_shift,
               last[c].output_gap);

  const std::string svg = dir + "/train_eval_gap.svg";
  write_line_plot(svg,
                  {.title = "BatchNorm train/eval gap during training (N = 8, momentum 0.1)",
                   .x_label = "training steps k",
                   .y_label = "gap (units of x_hat)",
                   .log_x = true,
                   .log_y = true},
                  {output_gap, var_gap, warmup, bessel});
  fmt::print("\nwrote {}\n", svg);
}
