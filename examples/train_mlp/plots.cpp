// Legend: G = grid cells per side, K = classes.
#include "plots.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/plot.hpp"
#include "common/training.hpp"

namespace train_mlp {
using examples::Series;
namespace {

const char* const kBlue = "#1f77b4";
const char* const kOrange = "#ff7f0e";

// Class colours: strong for points, light for the regions behind them.
const std::vector<std::string> kPointColors = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                               "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
const std::vector<std::string> kRegionColors = {"#c6dbef", "#f6c4c4", "#c7e9c0", "#dadaeb",
                                                "#fdd9b5", "#e0cfc9", "#f7d2ea", "#c2eef3"};

std::vector<double> column(const std::vector<EpochMetrics>& h, double EpochMetrics::*field,
                           double scale = 1) {
  std::vector<double> v;
  for (const EpochMetrics& m : h) v.push_back(m.*field * scale);
  return v;
}

std::vector<double> epochs(const std::vector<EpochMetrics>& h) {
  std::vector<double> v;
  for (const EpochMetrics& m : h) v.push_back(static_cast<double>(m.epoch));
  return v;
}

// Loss curves on a log axis when they span decades (a diverging run, or one whose loss falls by
// orders of magnitude); epochs on whole-number ticks.
examples::ChartOptions loss_chart(const std::string& title, const std::vector<Series>& curves) {
  std::vector<double> values;
  for (const Series& s : curves) values.insert(values.end(), s.y.begin(), s.y.end());
  const bool log = examples::spans_decades(values);
  return {.title = title,
          .x_label = "epoch",
          .y_label = log ? "loss (log scale)" : "loss",
          .log_y = log,
          .integer_x = true};
}

examples::ChartOptions accuracy_chart(const std::string& title) {
  return {.title = title, .x_label = "epoch", .y_label = "accuracy (%)", .integer_x = true};
}

}  // namespace

void write_loss_svg(const std::filesystem::path& path, const std::vector<EpochMetrics>& history,
                    const std::string& title) {
  examples::Svg svg(960, 380);
  svg.text(480, 20, title, 15, "middle", "font-weight=\"bold\"");
  const std::vector<double> x = epochs(history);
  const std::vector<Series> loss = {
      {"train (batch mean)", x, column(history, &EpochMetrics::train_loss), kBlue},
      {"test", x, column(history, &EpochMetrics::test_loss), kOrange}};
  examples::line_chart(svg, 0, 30, 480, 350, loss_chart("Loss (cross-entropy)", loss), loss);
  examples::line_chart(svg, 480, 30, 480, 350, accuracy_chart("Accuracy"),
                       {{"train", x, column(history, &EpochMetrics::train_acc, 100), kBlue},
                        {"test", x, column(history, &EpochMetrics::test_acc, 100), kOrange}});
  svg.save(path);
}

void write_compare_svg(const std::filesystem::path& path, const std::vector<EpochMetrics>& with_bn,
                       const std::vector<EpochMetrics>& without_bn, const std::string& title) {
  examples::Svg svg(960, 380);
  svg.text(480, 20, title, 15, "middle", "font-weight=\"bold\"");
  const std::vector<double> xb = epochs(with_bn), xn = epochs(without_bn);
  const std::vector<Series> loss = {
      {"BatchNorm, train", xb, column(with_bn, &EpochMetrics::train_loss), kBlue},
      {"BatchNorm, test", xb, column(with_bn, &EpochMetrics::test_loss), kBlue, true},
      {"no BatchNorm, train", xn, column(without_bn, &EpochMetrics::train_loss), kOrange},
      {"no BatchNorm, test", xn, column(without_bn, &EpochMetrics::test_loss), kOrange, true}};
  examples::line_chart(svg, 0, 30, 480, 350, loss_chart("Loss: solid = train, dashed = test", loss),
                       loss);
  examples::line_chart(
      svg, 480, 30, 480, 350, accuracy_chart("Test accuracy"),
      {{"BatchNorm", xb, column(with_bn, &EpochMetrics::test_acc, 100), kBlue},
       {"no BatchNorm", xn, column(without_bn, &EpochMetrics::test_acc, 100), kOrange}});
  svg.save(path);
}

void write_boundary_svg(const std::filesystem::path& path, mg::nn::Sequential& net,
                        const mg::data::Dataset& train, const mg::data::Dataset& test,
                        const std::string& title) {
  // The square that holds every point, with a margin of 10%.
  float lo = std::min(train.x.flat().minCoeff(), test.x.flat().minCoeff());
  float hi = std::max(train.x.flat().maxCoeff(), test.x.flat().maxCoeff());
  const float margin = 0.1f * (hi - lo);
  lo -= margin, hi += margin;

  constexpr int64_t G = 150;
  const double size = 600, left = 20, top = 40;
  const double cell = size / G;
  mg::Tensor grid = mg::Tensor::empty({G * G, 2});  // (G*G, 2): cell centres, row by row
  for (int64_t r = 0; r < G; ++r) {
    for (int64_t c = 0; c < G; ++c) {
      grid.data()[2 * (r * G + c)] = lo + (hi - lo) * (static_cast<float>(c) + 0.5f) / G;
      grid.data()[2 * (r * G + c) + 1] = hi - (hi - lo) * (static_cast<float>(r) + 0.5f) / G;
    }
  }
  const std::vector<int64_t> label = examples::predict(net, grid);  // (G*G)

  examples::Svg svg(size + 2 * left, size + top + 50);
  svg.text(left + size / 2, 24, title, 15, "middle", "font-weight=\"bold\"");
  // One rectangle per run of equal cells in a row keeps the file small.
  for (int64_t r = 0; r < G; ++r) {
    for (int64_t c = 0; c < G;) {
      int64_t end = c;
      while (end < G && label[r * G + end] == label[r * G + c]) ++end;
      const std::string& color = kRegionColors[label[r * G + c] % kRegionColors.size()];
      svg.rect(left + c * cell, top + r * cell, (end - c) * cell + 0.5, cell + 0.5, color,
               "shape-rendering=\"crispEdges\"");
      c = end;
    }
  }
  auto px = [&](float v) { return left + (v - lo) / (hi - lo) * size; };
  auto py = [&](float v) { return top + (hi - v) / (hi - lo) * size; };
  for (int64_t i = 0; i < train.size(); ++i) {
    svg.circle(px(train.x.at(i, 0)), py(train.x.at(i, 1)), 2.6,
               kPointColors[train.y[i] % kPointColors.size()],
               "stroke=\"white\" stroke-width=\"0.6\"");
  }
  for (int64_t i = 0; i < test.size(); ++i) {
    svg.circle(px(test.x.at(i, 0)), py(test.x.at(i, 1)), 3.2, "white",
               fmt::format("stroke=\"{}\" stroke-width=\"1.6\"",
                           kPointColors[test.y[i] % kPointColors.size()]));
  }
  svg.rect(left, top, size, size, "none", "stroke=\"#888\"");
  svg.text(left + size / 2, top + size + 22,
           "Background: the class the network predicts at each point. Filled dots: training "
           "data; rings: test data.",
           12, "middle");
  svg.text(left + size / 2, top + size + 40, fmt::format("x and y from {:.2f} to {:.2f}", lo, hi),
           11, "middle", "fill=\"#555\"");
  svg.save(path);
}

}  // namespace train_mlp
