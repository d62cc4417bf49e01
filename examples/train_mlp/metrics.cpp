#include "metrics.hpp"

#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "run_files.hpp"

namespace train_mlp {

void write_metrics_csv(const std::filesystem::path& path, const std::vector<EpochMetrics>& rows) {
  std::string text = "epoch,train_loss,train_acc,test_loss,test_acc,lr\n";
  for (const EpochMetrics& m : rows) {
    text += fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.8g}\n", m.epoch, m.train_loss,
                        m.train_acc, m.test_loss, m.test_acc, m.lr);
  }
  write_text(path, text);
}

void write_timing_csv(const std::filesystem::path& path, const std::vector<EpochMetrics>& rows) {
  std::string text = "epoch,seconds\n";
  for (const EpochMetrics& m : rows) text += fmt::format("{},{:.4f}\n", m.epoch, m.seconds);
  write_text(path, text);
}

std::optional<int64_t> epochs_to_reach(const std::vector<EpochMetrics>& rows, double threshold) {
  for (const EpochMetrics& m : rows)
    if (m.test_acc >= threshold) return m.epoch;
  return std::nullopt;
}

}  // namespace train_mlp
