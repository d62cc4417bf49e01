#include "metrics.hpp"

#include <cstdio>
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

std::vector<EpochMetrics> read_history(const std::filesystem::path& folder, int64_t last) {
  std::vector<EpochMetrics> rows;
  std::ifstream metrics(folder / "metrics.csv");
  if (!metrics) return rows;
  std::string line;
  std::getline(metrics, line);  // the header
  while (std::getline(metrics, line)) {
    EpochMetrics m;
    long long epoch = 0;
    if (std::sscanf(line.c_str(), "%lld,%lf,%lf,%lf,%lf,%lf", &epoch, &m.train_loss, &m.train_acc,
                    &m.test_loss, &m.test_acc, &m.lr) != 6) {
      throw std::runtime_error(fmt::format("{}: expected rows of 6 numbers, got '{}'",
                                           (folder / "metrics.csv").string(), line));
    }
    m.epoch = epoch;
    if (m.epoch <= last) rows.push_back(m);
  }
  std::ifstream timing(folder / "timing.csv");
  std::getline(timing, line);
  while (std::getline(timing, line)) {
    long long epoch = 0;
    double seconds = 0;
    if (std::sscanf(line.c_str(), "%lld,%lf", &epoch, &seconds) != 2) continue;
    for (EpochMetrics& m : rows)
      if (m.epoch == epoch) m.seconds = seconds;
  }
  return rows;
}

std::optional<int64_t> epochs_to_reach(const std::vector<EpochMetrics>& rows, double threshold) {
  for (const EpochMetrics& m : rows)
    if (m.test_acc >= threshold) return m.epoch;
  return std::nullopt;
}

}  // namespace train_mlp
