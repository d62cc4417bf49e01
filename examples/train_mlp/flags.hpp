// train_mlp's settings: every command-line flag, its default, and the parser (CLI11).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
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
  std::string activation = "relu";         // relu | tanh | gelu (exact)
  double dropout = 0;                      // p of a Dropout after each activation; 0: none
  bool sync_bn = false;  // --sync-bn: under mpirun, BatchNorm statistics over every process's batch
  // ---- training ----
  int64_t epochs = 25;
  int64_t batch_size = 32;
  std::string optimizer = "sgd";  // sgd | adamw
  double lr = 0.1;
  double momentum = 0.9;            // sgd only
  double weight_decay = 5e-4;       // on Linear weights only
  std::string schedule = "cosine";  // none | step | cosine
  uint64_t seed = 0;
  int threads = 1;
  // ---- modes and outputs ----
  std::string out;        // empty: runs/<dataset>-<YYYYmmdd-HHMMSS> (--eval-only: no files)
  bool force = false;     // --force: --out may hold a previous run, whose files are replaced
  std::string resume;     // a checkpoint (model file) to continue training from
  std::string eval_only;  // a checkpoint to evaluate, no training
  bool compare_bn = false;
  bool detect_anomaly = false;
  bool quiet_notes = false;     // --brief: no explanations, just the table (tests)
  std::string log_steps;        // --log-steps FILE: each step's loss appended as epoch,step,loss
  std::string command_line;     // argv as typed, for command.txt
  std::set<std::string> given;  // the flags given on the command line ("--lr"), not defaulted

  double noise_or_default() const;
};

// The noise each data set gets when --noise is not given: low enough that a small MLP can
// separate the classes almost perfectly, high enough that the points do not sit on curves.
double default_noise(const std::string& dataset);

// The points train_test_split puts in the training set: it holds out round(test_fraction * n_c)
// of each class's n_c points, and the generators give each class samples / classes points (the
// first samples % classes classes one more).
int64_t training_points(int64_t samples, int64_t classes, double test_fraction);

// The flags that define a run, as the text a command line gives them: {"--dataset", "moons"},
// {"--hidden", "64,64"}, {"--no-bn", "false"}, ... A checkpoint saves them; a resume takes them
// back with apply_run_config, and a flag given with another value is an error, but for those of
// kChangeableOnResume (--epochs is saved too: a resume without it trains to the saved one).
// A flag that a checkpoint does not record (it was written before the flag existed) takes the
// value the run had then: --activation relu, --dropout 0, --optimizer sgd, no --sync-bn.
std::map<std::string, std::string> run_config(const Config& c);
// Sets c's run flags to `config`'s, after the command line's own parser has checked them, each
// value and the flags against each other, as if they had been typed. std::runtime_error naming
// `source` (the file they come from) and the flag, when one is missing, unknown or would be
// refused on the command line; c is then unchanged.
void apply_run_config(Config& c, const std::map<std::string, std::string>& config,
                      const std::string& source);
inline constexpr const char* kChangeableOnResume =
    "--epochs, --out, --force, --threads, --detect-anomaly, --brief, --log-steps";
bool changeable_on_resume(const std::string& flag);

// Parses argv. Returns the config, or the process exit code when the program should stop here:
// 0 after --help, 2 after a bad flag (CLI11 has printed what was wrong).
struct ParseResult {
  Config config;
  std::optional<int> exit_code;
};
ParseResult parse_flags(int argc, char** argv);

// "64,32" -> {64, 32}: hidden widths as --hidden and a checkpoint's metadata write them.
std::vector<int64_t> split_widths(const std::string& text);

}  // namespace train_mlp
