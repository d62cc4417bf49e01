// A line plot written as a standalone SVG file, for the experiments' figures. Plain string
// building: axes with ticks (linear or base-10 logarithmic), one polyline per series, a legend.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace experiments {

struct Series {
  std::string label;
  std::vector<double> x, y;
  std::string color = "#1f77b4";
  bool dashed = false;  // a reference line (a prediction) rather than a measurement
};

struct PlotOptions {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;  // log axes drop values <= 0
};

inline void write_line_plot(const std::string& path, const PlotOptions& opt,
                            const std::vector<Series>& series) {
  const double W = 640, H = 400, left = 70, right = 180, top = 40, bottom = 50;
  auto tx = [&](double v) { return opt.log_x ? std::log10(v) : v; };
  auto ty = [&](double v) { return opt.log_y ? std::log10(v) : v; };
  auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!opt.log_x || x > 0) && (!opt.log_y || y > 0);
  };
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const Series& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!usable(s.x[i], s.y[i])) continue;
      x0 = std::min(x0, tx(s.x[i])), x1 = std::max(x1, tx(s.x[i]));
      y0 = std::min(y0, ty(s.y[i])), y1 = std::max(y1, ty(s.y[i]));
    }
  if (!(x0 <= x1 && y0 <= y1)) throw std::invalid_argument("write_line_plot: nothing to plot");
  if (opt.log_y) y0 = std::floor(y0), y1 = std::ceil(y1);
  if (opt.log_x) x0 = std::floor(x0), x1 = std::ceil(x1);
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  const double pw = W - left - right, ph = H - top - bottom;
  auto px = [&](double v) { return left + (tx(v) - x0) / (x1 - x0) * pw; };
  auto py = [&](double v) { return top + ph - (ty(v) - y0) / (y1 - y0) * ph; };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n<text x=\"{}\" y=\"22\" font-size=\"14\">{}</text>\n",
      W, H, left, opt.title);
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", left,
      top, pw, ph);
  // Ticks: every power of ten on a log axis, five even steps on a linear one.
  auto ticks = [](double lo, double hi, bool log) {
    std::vector<double> t;
    if (log) {
      const double step = std::max(1.0, std::ceil((hi - lo) / 8));
      for (double e = lo; e <= hi + 1e-9; e += step) t.push_back(std::pow(10.0, e));
    } else {
      for (int i = 0; i <= 5; ++i) t.push_back(lo + (hi - lo) * i / 5);
    }
    return t;
  };
  for (double v : ticks(x0, x1, opt.log_x)) {
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
        "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4:.3g}</text>\n",
        px(v), top, top + ph, top + ph + 16, v);
  }
  for (double v : ticks(y0, y1, opt.log_y)) {
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
        "<text x=\"{3}\" y=\"{1:.1f}\" text-anchor=\"end\" dy=\"4\">{4:.3g}</text>\n",
        left, py(v), left + pw, left - 6, v);
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", left + pw / 2,
                     H - 12, opt.x_label);
  svg += fmt::format(
      "<text transform=\"translate(16,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
      top + ph / 2, opt.y_label);
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    std::string points;
    for (size_t i = 0; i < s.x.size(); ++i)
      if (usable(s.x[i], s.y[i])) points += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.y[i]));
    const std::string dash = s.dashed ? " stroke-dasharray=\"6,4\"" : "";
    svg +=
        fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>\n",
                    points, s.color, dash);
    if (!s.dashed) {
      for (size_t i = 0; i < s.x.size(); ++i)
        if (usable(s.x[i], s.y[i]))
          svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n",
                             px(s.x[i]), py(s.y[i]), s.color);
    }
    const double ly = top + 10 + 18 * static_cast<double>(k);
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"2\"{4}/>"
        "<text x=\"{5}\" y=\"{1}\" dy=\"4\">{6}</text>\n",
        left + pw + 10, ly, left + pw + 34, s.color, dash, left + pw + 40, s.label);
  }
  svg += "</svg>\n";
  std::ofstream out(path);
  out << svg;
  if (!out) throw std::runtime_error("write_line_plot: cannot write " + path);
}

// The output folder, created if missing: the first command-line argument, or "experiments_out".
inline std::string output_dir(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "experiments_out";
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace experiments
