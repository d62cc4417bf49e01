// Frozen BatchNorm: fine-tunes a pretrained BatchNorm MLP at batch size 2 with BatchNorm plain,
// frozen (statistics fixed) and frozen with gamma/beta fixed, and compares test accuracy on the
// new task and how far the running statistics moved. Writes frozen_bn.svg (accuracy against
// fine-tuning epochs for each mode).
//
//   build/release/examples/frozen_bn [output dir]
#include <fmt/core.h>

#include "common/plot.hpp"
#include "experiments/frozen_bn.hpp"

int main(int argc, char** argv) {
  using namespace examples;
  using namespace experiments;
  const std::string dir = output_dir(argc, argv);
  fmt::print(
      "Pretrained on spirals (noise 0.05, batch 32); fine-tuned on 64 samples of spirals "
      "with noise 0.1 at batch size 2; accuracy on 300 test samples of the new task\n\n"
      "{:>8} {:>15} {:>10} {:>22}\n",
      "epochs", "mode", "accuracy", "max running-stat move");
  std::vector<Series> lines{{"plain", {}, {}, "#d62728", false, true},
                            {"frozen", {}, {}, "#1f77b4", false, true},
                            {"frozen affine", {}, {}, "#2ca02c", false, true}};
  for (int64_t epochs : {1, 2, 5, 10, 20}) {
    const std::vector<frozen::Result> r = frozen::run({.finetune_epochs = epochs});
    if (epochs == 1)
      fmt::print("{:>8} {:>15} {:>10.3f} {:>22}\n", 0, "pretrained", r[0].accuracy, "-");
    for (size_t i = 1; i < r.size(); ++i) {
      fmt::print("{:>8} {:>15} {:>10.3f} {:>22.4f}\n", epochs, frozen::mode_name(r[i].mode),
                 r[i].accuracy, r[i].stat_change);
      lines[i - 1].x.push_back(epochs), lines[i - 1].y.push_back(r[i].accuracy);
    }
  }
  const std::string svg = dir + "/frozen_bn.svg";
  write_line_plot(svg,
                  {.title = "fine-tuning at batch size 2: BatchNorm plain vs frozen",
                   .x_label = "fine-tuning epochs (64 samples)",
                   .y_label = "test accuracy on the new task",
                   .log_x = true},
                  lines);
  fmt::print("\nwrote {}\n", svg);
}
