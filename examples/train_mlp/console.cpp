#include "console.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <unistd.h>

#include <fmt/core.h>

namespace train_mlp {

std::string fit_number(double value, int width, int decimals) {
  const std::string fixed = fmt::format("{:.{}f}", value, decimals);
  const bool shows_nonzero = value == 0 || std::abs(value) >= std::pow(10.0, -decimals);
  if (static_cast<int>(fixed.size()) <= width && shows_nonzero)
    return fmt::format("{:>{}}", fixed, width);
  // d.ddde+XX takes 6 characters besides the digits after the point (7 with a sign).
  const bool three_digit_exponent =
      std::abs(value) >= 1e100 || (value != 0 && std::abs(value) < 1e-99);
  const int digits = std::max(0, width - 6 - (value < 0 ? 1 : 0) - (three_digit_exponent ? 1 : 0));
  return fmt::format("{:>{}.{}e}", value, width, digits);
}

Console::Console(bool interactive, bool brief) : interactive_(interactive), brief_(brief) {}

bool Console::stdout_is_terminal() {
  return isatty(STDOUT_FILENO) == 1;
}

void Console::note(const std::string& text) const {
  if (!brief_) fmt::print("{}\n", text);
}

void Console::line(const std::string& text) const {
  fmt::print("{}\n", text);
  std::fflush(stdout);
}

void Console::table_header() const {
  fmt::print("{:>6}  {:>9}  {:>9}  {:>8}  {:>9}  {:>8}\n", "epoch", "loss", "train acc", "test acc",
             "lr", "time");
  fmt::print("{:>6}  {:>9}  {:>9}  {:>8}  {:>9}  {:>8}\n", "-----", "------", "---------",
             "--------", "-------", "-----");
}

void Console::table_row(const EpochMetrics& m) {
  clear_progress();
  fmt::print("{:>6}  {}  {:>8.1f}%  {:>7.1f}%  {}  {}s\n", m.epoch, fit_number(m.train_loss, 9, 4),
             100 * m.train_acc, 100 * m.test_acc, fit_number(m.lr, 9, 5),
             fit_number(m.seconds, 7, 4));
  std::fflush(stdout);
}

void Console::progress(int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double loss) {
  if (!interactive_) return;
  // Redrawing costs a write(2); 20 frames a second is smooth and cheap.
  const auto now = std::chrono::steady_clock::now();
  if (bar_shown_ && step < steps && now - last_draw_ < std::chrono::milliseconds(50)) return;
  last_draw_ = now;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(kWidth * step / steps);
  fmt::print("\r  epoch {}/{} [{}{}] {}/{}  loss {:.4f}\x1b[K", epoch, epochs,
             std::string(filled, '#'), std::string(kWidth - filled, '.'), step, steps, loss);
  std::fflush(stdout);
  bar_shown_ = true;
}

void Console::clear_progress() {
  if (!bar_shown_) return;
  fmt::print("\r\x1b[K");  // back to the start of the line, erase it
  bar_shown_ = false;
}

}  // namespace train_mlp
