// The examples' one SVG writer (no dependencies): shapes and text appended to a string, and a
// line chart with axes, ticks (linear or base-10 logarithmic), curves and a legend built from
// them. train_mlp's loss and accuracy plots and every experiment's figure are drawn with it.
// Coordinates are pixels, y grows down.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace examples {

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
  // Writes the picture atomically (examples::write_text): the old file stays if it cannot.
  void save(const std::filesystem::path& path) const;

 private:
  double width_, height_;
  std::string body_;
};

// One curve of a line chart.
struct Series {
  std::string label;
  std::vector<double> x, y;
  std::string color = "#1f77b4";
  bool dashed = false;   // a reference line (a prediction) rather than a measurement
  bool markers = false;  // a dot on every point (for curves of a few measured points)
};

struct ChartOptions {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;  // base-10 axes; points with a value <= 0 there are skipped
  bool integer_x = false;             // x ticks on whole numbers only (epochs)
};

// A line chart in the box (x, y, w, h) of `svg`: frame, ticks on both axes (steps of 1, 2 or 5
// times a power of ten; every power of ten on a log axis), a title, axis labels, the curves and
// a legend in whichever right-hand corner covers fewer points. Non-finite values are skipped.
void line_chart(Svg& svg, double x, double y, double w, double h, const ChartOptions& options,
                const std::vector<Series>& series);

// A standalone 640 x 400 SVG file holding one line chart.
void write_line_plot(const std::filesystem::path& path, const ChartOptions& options,
                     const std::vector<Series>& series);

// Evenly spaced round values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]; with
// integer_only the step is at least 1.
std::vector<double> nice_ticks(double lo, double hi, int target_count = 5,
                               bool integer_only = false);

// True when the positive finite values of `values` span more than two decades (max / min > 100),
// so a linear axis would flatten all but the largest: draw them on a log axis.
bool spans_decades(const std::vector<double>& values);

// The output folder of an experiment, created if missing: argv[1], or "experiments_out".
std::string output_dir(int argc, char** argv);

}  // namespace examples
