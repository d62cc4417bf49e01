// BatchNorm folded into the preceding Linear for inference: trains the BatchNorm MLP on two
// spirals, folds each (Linear, BatchNorm1d) pair into one Linear, and compares outputs, layer
// counts, operations per sample and forward time. Writes fold_bn.svg (time per forward against
// the batch size, both networks).
//
//   build/release/examples/fold_bn [output dir]
#include <chrono>

#include <fmt/core.h>

#include "common/mlp.hpp"
#include "common/plot.hpp"
#include "common/training.hpp"
#include "experiments/fold_bn.hpp"

namespace {

// Largest |a - b| over all elements.
double max_abs_diff(const mg::Tensor& a, const mg::Tensor& b) {
  return (a.flat() - b.flat()).abs().maxCoeff();
}

// Microseconds per forward of `net` on x, the best of a few repetitions.
double forward_micros(mg::nn::Sequential& net, const mg::Tensor& x) {
  mg::NoGradGuard no_grad;
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) net(x);
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::micro>(t1 - t0).count() / 20);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace examples;
  using namespace experiments;
  const std::string dir = output_dir(argc, argv);
  const auto [train_set, test_set] =
      mg::data::train_test_split(mg::data::make_spirals(1000, 2, 0.05, 1), 0.2, 2);
  mg::Generator weights(3);
  mg::nn::Sequential net = make_mlp({.inputs = 2, .hidden = {64, 64}, .classes = 2}, weights);
  train_sgd(net, train_set, {.batch_size = 32, .epochs = 30});
  net.eval();
  mg::nn::Sequential folded = fold_network(net);

  mg::NoGradGuard no_grad;
  const mg::Tensor y = net(test_set.x), y_folded = folded(test_set.x);
  fmt::print("{}\n\nfolded:\n{}\n\n", net.repr(), folded.repr());
  fmt::print("{:<28} {:>12} {:>12}\n", "", "with BN", "folded");
  fmt::print("{:<28} {:>12} {:>12}\n", "layers", net.size(), folded.size());
  fmt::print("{:<28} {:>12} {:>12}\n", "operations per sample", ops_per_sample(net),
             ops_per_sample(folded));
  fmt::print("{:<28} {:>12.4f} {:>12.4f}\n", "test accuracy", accuracy(y, test_set.y),
             accuracy(y_folded, test_set.y));
  fmt::print("{:<28} {:>25.2e}\n", "max |output difference|", max_abs_diff(y, y_folded));

  Series with_bn{"Linear + BatchNorm1d", {}, {}, "#d62728", false, true};
  Series without{"folded Linear", {}, {}, "#1f77b4", false, true};
  fmt::print("\n{:>8} {:>14} {:>14} {:>8}\n", "batch", "with BN (us)", "folded (us)", "ratio");
  mg::Generator gen(4);
  for (int64_t n : {16, 64, 256, 1024, 4096}) {
    const mg::Tensor x = mg::Tensor::randn(mg::Shape{n, 2}, gen);
    const double a = forward_micros(net, x), b = forward_micros(folded, x);
    fmt::print("{:>8} {:>14.1f} {:>14.1f} {:>8.2f}\n", n, a, b, a / b);
    with_bn.x.push_back(n), with_bn.y.push_back(a);
    without.x.push_back(n), without.y.push_back(b);
  }
  const std::string svg = dir + "/fold_bn.svg";
  write_line_plot(svg,
                  {.title = "eval forward time: BatchNorm folded into Linear",
                   .x_label = "batch size",
                   .y_label = "microseconds per forward",
                   .log_x = true,
                   .log_y = true},
                  {with_bn, without});
  fmt::print("\nwrote {}\n", svg);
}
