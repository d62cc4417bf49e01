#include "console.hpp"

#include <cstdio>

#include <unistd.h>

#include <fmt/core.h>

namespace train_mlp {

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
  fmt::print("{:>6}  {:>8}  {:>9}  {:>8}  {:>9}  {:>7}\n", "epoch", "loss", "train acc", "test acc",
             "lr", "time");
  fmt::print("{:>6}  {:>8}  {:>9}  {:>8}  {:>9}  {:>7}\n", "-----", "------", "---------",
             "--------", "-------", "-----");
}

void Console::table_row(const EpochMetrics& m) {
  clear_progress();
  fmt::print("{:>6}  {:>8.4f}  {:>8.1f}%  {:>7.1f}%  {:>9.5f}  {:>6.3f}s\n", m.epoch, m.train_loss,
             100 * m.train_acc, 100 * m.test_acc, m.lr, m.seconds);
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
