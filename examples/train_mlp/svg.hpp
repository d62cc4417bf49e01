// A very small SVG writer (no dependencies): shapes and text appended to a string, and a line
// chart with axes, ticks and a legend built from them. Coordinates are pixels, y grows down.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace train_mlp {

class Svg {
 public:
  Svg(double width, double height);

  void rect(double x, double y, double w, double h, const std::string& fill,
            const std::string& extra = "");
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double width = 1,
            const std::string& extra = "");
  void polyline(const std::vector<double>& xs, const std::vector<double>& ys,
                const std::string& stroke, double width = 1.5, const std::string& extra = "");
  void circle(double cx, double cy, double r, const std::string& fill,
              const std::string& extra = "");
  // anchor: "start", "middle" or "end"; `extra` adds attributes (font-weight="bold", transform).
  void text(double x, double y, const std::string& text, double size = 12,
            const std::string& anchor = "start", const std::string& extra = "");

  std::string str() const;
  void save(const std::filesystem::path& path) const;  // throws std::runtime_error on failure

 private:
  double width_, height_;
  std::string body_;
};

// One curve of a line chart.
struct Series {
  std::string label;
  std::vector<double> x, y;
  std::string color;
  bool dashed = false;
};

// A line chart in the box (x, y, w, h) of `svg`: frame, "nice" ticks on both axes, a title, axis
// labels, the curves and a legend in the top-right corner. Non-finite y values are skipped.
struct ChartLabels {
  std::string title, x_label, y_label;
};
void line_chart(Svg& svg, double x, double y, double w, double h, const ChartLabels& labels,
                const std::vector<Series>& series);

// Evenly spaced round values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target_count = 5);

}  // namespace train_mlp
