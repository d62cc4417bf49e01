#include "common/plot.hpp"
#include "common/files.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace examples {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else
      out += c;
  }
  return out;
}

// A tick label without trailing zeros: 0.5, 10, 1e-05.
std::string tick_label(double v) {
  if (std::abs(v) < 1e-12) return "0";
  return fmt::format("{:g}", v);
}

}  // namespace

Svg::Svg(double width, double height) : width_(width), height_(height) {}

void Svg::rect(double x, double y, double w, double h, const std::string& fill,
               const std::string& extra) {
  body_ += fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
      "fill=\"{}\" {}/>\n",
      x, y, w, h, fill, extra);
}

void Svg::line(double x1, double y1, double x2, double y2, const std::string& stroke, double width,
               const std::string& extra) {
  body_ += fmt::format(
      "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
      "stroke-width=\"{}\" {}/>\n",
      x1, y1, x2, y2, stroke, width, extra);
}

void Svg::polyline(const std::vector<double>& xs, const std::vector<double>& ys,
                   const std::string& stroke, double width, const std::string& extra) {
  std::string points;
  for (std::size_t i = 0; i < xs.size() && i < ys.size(); ++i)
    points += fmt::format("{:.1f},{:.1f} ", xs[i], ys[i]);
  body_ += fmt::format(
      "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" "
      "stroke-linejoin=\"round\" {}/>\n",
      points, stroke, width, extra);
}

void Svg::circle(double cx, double cy, double r, const std::string& fill,
                 const std::string& extra) {
  body_ += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"{}\" {}/>\n", cx, cy, r,
                       fill, extra);
}

void Svg::text(double x, double y, const std::string& text, double size, const std::string& anchor,
               const std::string& extra) {
  body_ += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"{}\" text-anchor=\"{}\" {}>{}</text>\n", x, y,
      size, anchor, extra, escape(text));
}

std::string Svg::str() const {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"Helvetica, Arial, sans-serif\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{2}</svg>\n",
      width_, height_, body_);
}

void Svg::save(const std::filesystem::path& path) const {
  write_text(path, str());
}

std::vector<double> nice_ticks(double lo, double hi, int target_count, bool integer_only) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / target_count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * power;
    if (step >= raw) break;
  }
  if (integer_only) step = std::max(step, 1.0);
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

bool spans_decades(const std::vector<double>& values) {
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (double v : values) {
    if (!std::isfinite(v) || v <= 0) continue;
    lo = std::min(lo, v), hi = std::max(hi, v);
  }
  return hi > 100 * lo;
}

namespace {

// One axis of a chart. lo and hi are in axis units (log10 of the value on a log axis); ticks
// are values.
struct Axis {
  bool log = false;
  double lo = 0, hi = 1;
  std::vector<double> ticks = {};

  bool shows(double v) const { return std::isfinite(v) && (!log || v > 0); }
  // Where v sits between the axis ends: 0 at lo, 1 at hi.
  double fraction(double v) const { return ((log ? std::log10(v) : v) - lo) / (hi - lo); }
};

// An axis covering `values` (those it shows). A log axis runs between whole powers of ten with
// a tick on each (every second one, and so on, past 8 decades). A linear axis gets nice_ticks;
// with widen its ends move out to whole ticks, so no curve runs along the frame between two.
Axis make_axis(const std::vector<double>& values, bool log, bool integer_only, bool widen) {
  Axis a{.log = log};
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values) {
    if (!a.shows(v)) continue;
    const double t = log ? std::log10(v) : v;
    lo = std::min(lo, t), hi = std::max(hi, t);
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;  // nothing to draw
  if (log) {
    lo = std::floor(lo), hi = std::max(std::ceil(hi), std::floor(lo) + 1);
    const double step = std::max(1.0, std::ceil((hi - lo) / 8));
    for (double e = lo; e <= hi + 1e-9; e += step) a.ticks.push_back(std::pow(10.0, e));
    a.lo = lo, a.hi = hi;
    return a;
  }
  if (hi == lo) hi = lo + 1;
  a.ticks = nice_ticks(lo, hi, 5, integer_only);
  if (widen && a.ticks.size() > 1) {
    const double step = a.ticks[1] - a.ticks[0];
    if (a.ticks.front() > lo) a.ticks.insert(a.ticks.begin(), a.ticks.front() - step);
    if (a.ticks.back() < hi) a.ticks.push_back(a.ticks.back() + step);
    lo = a.ticks.front(), hi = a.ticks.back();
  }
  a.lo = lo, a.hi = hi;
  return a;
}

}  // namespace

void line_chart(Svg& svg, double x, double y, double w, double h, const ChartOptions& options,
                const std::vector<Series>& series) {
  // The plot area inside the box leaves room for the title, tick labels and axis labels.
  const double left = x + 55, top = y + 30, right = x + w - 12, bottom = y + h - 40;
  std::vector<double> xs_all, ys_all;
  for (const Series& s : series) {
    xs_all.insert(xs_all.end(), s.x.begin(), s.x.end());
    ys_all.insert(ys_all.end(), s.y.begin(), s.y.end());
  }
  const Axis ax = make_axis(xs_all, options.log_x, options.integer_x, false);
  const Axis ay = make_axis(ys_all, options.log_y, false, true);
  auto px = [&](double v) { return left + ax.fraction(v) * (right - left); };
  auto py = [&](double v) { return bottom - ay.fraction(v) * (bottom - top); };

  svg.text(x + w / 2, y + 18, options.title, 14, "middle", "font-weight=\"bold\"");
  for (double t : ax.ticks) {
    svg.line(px(t), top, px(t), bottom, "#e5e5e5");
    svg.text(px(t), bottom + 15, tick_label(t), 11, "middle", "fill=\"#444\"");
  }
  for (double t : ay.ticks) {
    svg.line(left, py(t), right, py(t), "#e5e5e5");
    svg.text(left - 6, py(t) + 4, tick_label(t), 11, "end", "fill=\"#444\"");
  }
  svg.rect(left, top, right - left, bottom - top, "none", "stroke=\"#888\"");
  svg.text((left + right) / 2, bottom + 32, options.x_label, 12, "middle");
  svg.text(x + 14, (top + bottom) / 2, options.y_label, 12, "middle",
           fmt::format("transform=\"rotate(-90 {:.1f} {:.1f})\"", x + 14, (top + bottom) / 2));

  std::vector<double> all_x, all_y;  // every plotted point, in pixels
  std::size_t longest_label = 0;
  for (const Series& s : series) {
    std::vector<double> xs, ys;
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!ax.shows(s.x[i]) || !ay.shows(s.y[i])) continue;
      xs.push_back(px(s.x[i]));
      ys.push_back(py(s.y[i]));
      if (s.markers) svg.circle(xs.back(), ys.back(), 3, s.color);
    }
    svg.polyline(xs, ys, s.color, 2, s.dashed ? "stroke-dasharray=\"6 4\"" : "");
    all_x.insert(all_x.end(), xs.begin(), xs.end());
    all_y.insert(all_y.end(), ys.begin(), ys.end());
    longest_label = std::max(longest_label, s.label.size());
  }
  // Legend: one row per series on a white backing, in whichever right-hand corner covers fewer
  // points of the curves.
  const double row = 16, legend_h = row * static_cast<double>(series.size()) + 6;
  const double legend_w = 44 + 6.2 * static_cast<double>(longest_label);
  const double lx = right - legend_w - 8;
  auto covered = [&](double ly) {
    int n = 0;
    for (std::size_t i = 0; i < all_x.size(); ++i)
      n += all_x[i] >= lx && all_y[i] >= ly - 10 && all_y[i] <= ly + legend_h + 10;
    return n;
  };
  const double top_y = top + 8, bottom_y = bottom - legend_h - 8;
  const double ly = covered(bottom_y) < covered(top_y) ? bottom_y : top_y;
  svg.rect(lx, ly, legend_w, legend_h, "white", "fill-opacity=\"0.85\" stroke=\"#ccc\"");
  for (std::size_t i = 0; i < series.size(); ++i) {
    const double ry = ly + 12 + row * static_cast<double>(i);
    svg.line(lx + 6, ry - 4, lx + 30, ry - 4, series[i].color, 2,
             series[i].dashed ? "stroke-dasharray=\"6 4\"" : "");
    svg.text(lx + 36, ry, series[i].label, 11);
  }
}

void write_line_plot(const std::filesystem::path& path, const ChartOptions& options,
                     const std::vector<Series>& series) {
  Svg svg(640, 400);
  line_chart(svg, 0, 0, 640, 400, options, series);
  svg.save(path);
}

std::string output_dir(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "experiments_out";
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace examples
