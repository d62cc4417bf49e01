// Batch-size sweep: the MLP with BatchNorm, with LayerNorm and without normalisation, trained on
// two spirals at batch sizes 2, 4, 8, 32 and 128 for the same number of epochs. Prints the table
// and writes batch_size_sweep.svg (test accuracy against batch size, one line per norm).
//
//   build/release/examples/batch_size_sweep [output dir] [epochs, default 20] [lr, default 0.01]
#include <cstdlib>

#include <fmt/core.h>

#include "common/plot.hpp"
#include "experiments/batch_size_sweep.hpp"

int main(int argc, char** argv) {
  using namespace examples;
  using namespace experiments;
  const std::string dir = output_dir(argc, argv);
  const int64_t epochs = argc > 2 ? std::atoi(argv[2]) : 20;
  const double lr = argc > 3 ? std::atof(argv[3]) : 0.01;
  const auto [train_set, test_set] =
      mg::data::train_test_split(mg::data::make_spirals(1000, 2, 0.05, 1), 0.2, 2);
  fmt::print(
      "MLP 2-32-32-2 on two spirals (800 train, 200 test), SGD lr {} momentum 0.9, {} "
      "epochs at every batch size\n\n{:>10} {:>6} {:>10} {:>16} {:>14} {:>10} {:>8}\n",
      lr, epochs, "norm", "batch", "test acc", "train-mode gap", "mean noise", "1/sqrt(B)",
      "seconds");
  std::vector<Series> lines;
  for (Norm norm : {Norm::batch, Norm::layer, Norm::none}) {
    const char* color = norm == Norm::batch   ? "#d62728"
                        : norm == Norm::layer ? "#1f77b4"
                                              : "#7f7f7f";
    Series s{norm_name(norm), {}, {}, color, false, true};
    for (int64_t B : {2, 4, 8, 32, 128}) {
      const sweep::Result r = sweep::run(norm, B, train_set, test_set, epochs, lr);
      const std::string noise =
          std::isnan(r.batch_noise) ? "-" : fmt::format("{:.3f}", r.batch_noise);
      fmt::print("{:>10} {:>6} {:>10.3f} {:>+16.3f} {:>14} {:>10.3f} {:>8.2f}\n", norm_name(norm),
                 B, r.test_accuracy, r.train_mode_gap, noise, 1 / std::sqrt(double(B)), r.seconds);
      s.x.push_back(B), s.y.push_back(r.test_accuracy);
    }
    lines.push_back(s);
  }
  const std::string svg = dir + "/batch_size_sweep.svg";
  write_line_plot(svg,
                  {.title = fmt::format("test accuracy after {} epochs vs batch size", epochs),
                   .x_label = "batch size",
                   .y_label = "test accuracy (eval mode)",
                   .log_x = true},
                  lines);
  fmt::print("\nwrote {}\n", svg);
}
