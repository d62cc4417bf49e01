// What train_mlp prints: notes for a newcomer, the per-epoch table, and a progress bar that is
// drawn only when stdout is a terminal (a log file gets the table rows and nothing else).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "metrics.hpp"

namespace train_mlp {

// `value` in at most `width` characters, right-aligned: fixed-point with `decimals` digits when
// that fits and shows a nonzero value as nonzero ("0.4123"), scientific otherwise ("1.125e+10",
// "3.0e-07"), so the table stays aligned for any value.
std::string fit_number(double value, int width, int decimals);

class Console {
 public:
  // interactive: draw the progress bar (true when stdout is a terminal); brief: no notes.
  Console(bool interactive, bool brief);
  static bool stdout_is_terminal();

  // An explanation for a newcomer; skipped with --brief.
  void note(const std::string& text) const;
  // Always printed.
  void line(const std::string& text) const;

  void table_header() const;
  void table_row(const EpochMetrics& m);
  // "  epoch 3/25 [#########.........] 21/37  loss 0.412", redrawn in place.
  void progress(int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double loss);

 private:
  void clear_progress();

  bool interactive_;
  bool brief_;
  bool bar_shown_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace train_mlp
