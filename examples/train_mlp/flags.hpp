// train_mlp's settings: every command-line flag, its default, and the parser (CLI11).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace train_mlp {

struct Config {
  // ---- data ----
  std::string dataset = "spirals";  // spirals | moons | blobs | circles
  int64_t samples = 1500;           // train + test
  std::optional<double> noise;      // empty: the data set's own default (default_noise())
  int64_t classes = 3;
  double test_fraction = 0.2;
  // ---- model ----
  std::vector<int64_t> hidden = {64, 64};  // one Linear -> BatchNorm1d -> ReLU block each
  bool batchnorm = true;                   // --no-bn: Linear -> ReLU blocks
  // ---- training ----
  int64_t epochs = 25;
  int64_t batch_size = 32;
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 5e-4;       // on Linear weights only
  std::string schedule = "cosine";  // none | step | cosine
  uint64_t seed = 0;
  int threads = 1;
  // ---- modes and outputs ----
  std::string out;        // empty: runs/<dataset>-<YYYYmmdd-HHMMSS>
  std::string resume;     // a checkpoint to continue training from
  std::string eval_only;  // a checkpoint to evaluate, no training
  bool compare_bn = false;
  bool detect_anomaly = false;
  bool quiet_notes = false;  // --brief: no explanations, just the table (tests)
  std::string command_line;  // argv as typed, for command.txt

  double noise_or_default() const;
};

// The noise each data set gets when --noise is not given: low enough that a small MLP can
// separate the classes almost perfectly, high enough that the points do not sit on curves.
double default_noise(const std::string& dataset);

// Parses argv. Returns the config, or the process exit code when the program should stop here:
// 0 after --help, 2 after a bad flag (CLI11 has printed what was wrong).
struct ParseResult {
  Config config;
  std::optional<int> exit_code;
};
ParseResult parse_flags(int argc, char** argv);

}  // namespace train_mlp
