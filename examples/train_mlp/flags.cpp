// The command line, through CLI11: each flag once, with its help text, default and check.
#include "flags.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string_view>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

namespace train_mlp {
namespace {

// argv as one line a shell would run again: arguments with spaces or quotes are single-quoted.
std::string join_command_line(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.empty() || arg.find_first_of(" \t\"'$\\;&|<>*?()") != std::string::npos) {
      std::string quoted = "'";
      for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      arg = quoted + "'";
    }
    line += (i ? " " : "") + arg;
  }
  return line;
}

// A check for a real-valued flag: "Value 1.5 not in [0, 0.999]" (CLI11's own Range prints its
// bounds with six decimals). `bounds` says which ends are included, as in the message: "[]",
// "(]" (0 < v <= hi) or "[)" (lo <= v < hi). NaN is in no range.
CLI::Validator number_in(double lo, double hi, std::string_view bounds = "[]") {
  const std::string range = fmt::format("{}{:g}, {:g}{}", bounds[0], lo, hi, bounds[1]);
  return CLI::Validator(
      [=](std::string& text) {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v))
          return fmt::format("Value {} is not a number", text);
        const bool ok =
            (range.front() == '(' ? v > lo : v >= lo) && (range.back() == ')' ? v < hi : v <= hi);
        return ok ? std::string() : fmt::format("Value {} not in {}", text, range);
      },
      range);
}

// --hidden's check: comma-separated decimal integers in [lo, hi], none left empty. (CLI11's
// delimiter would drop an empty item, reading "4,,4" as 4,4, and a lone "," would take the next
// flag as its value.)
CLI::Validator widths_in(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [=](std::string& text) {
        for (std::size_t pos = 0; pos <= text.size();) {
          const std::size_t comma = std::min(text.find(',', pos), text.size());
          const std::string item = text.substr(pos, comma - pos);
          if (item.empty())
            return fmt::format("an empty width in '{}': expected widths like 64,64", text);
          int64_t v = 0;
          if (item.find_first_not_of("0123456789") != std::string::npos || item.size() > 9 ||
              (v = std::stoll(item)) < lo || v > hi)
            return fmt::format("Value {} not in range {} to {}", item, lo, hi);
          pos = comma + 1;
        }
        return std::string();
      },
      fmt::format("WIDTHS in [{} - {}]", lo, hi));
}

// A check for an unsigned 64-bit flag: decimal digits only, at most 2^64 - 1. CLI11 converts
// with strtoull, which would take "-1" as 18446744073709551615, "010" as octal 8 and clamp
// anything larger than 2^64 - 1 to it; leading zeros are dropped here, so "010" means 10.
CLI::Validator unsigned_integer() {
  return CLI::Validator(
      [](std::string& text) {
        if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
          return fmt::format("Value {} is not a non-negative integer", text);
        text.erase(0, std::min(text.find_first_not_of('0'), text.size() - 1));
        const std::string max = "18446744073709551615";  // 2^64 - 1
        if (text.size() > max.size() || (text.size() == max.size() && text > max))
          return fmt::format("Value {} is above the largest seed, 2^64 - 1 = {}", text, max);
        return std::string();
      },
      "UINT");
}

// --out must not replace a previous run's files by accident: a folder holding one is refused
// unless --force says so, or the run resumes from the checkpoint in that very folder.
void check_out_folder(const Config& c) {
  namespace fs = std::filesystem;
  if (c.out.empty() || c.force || !fs::is_directory(c.out)) return;
  std::string found;
  for (const char* file : {"model.safetensors", "metrics.csv", "training_state.safetensors"})
    if (fs::exists(fs::path(c.out) / file)) found = file;
  if (found.empty()) return;
  std::error_code error;
  if (!c.resume.empty() &&
      fs::equivalent(fs::path(c.resume).parent_path().empty() ? fs::path(".")
                                                              : fs::path(c.resume).parent_path(),
                     c.out, error)) {
    return;
  }
  throw CLI::ValidationError(
      "--out", fmt::format("{} holds a previous run ({}); choose another folder, continue it "
                           "with --resume {}, or replace it with --force",
                           c.out, found, (fs::path(c.out) / "model.safetensors").string()));
}

// The choices of --activation and --optimizer, for the parser and for a checkpoint's values.
const std::vector<std::string> kActivations = {"relu", "tanh", "gelu"};
const std::vector<std::string> kOptimizers = {"sgd", "adamw"};

// The command line's parser, writing into `c`: every flag once, with its help text, default and
// check, and the checks between flags. A checkpoint's saved flags go through it too
// (apply_run_config), so that they pass exactly the checks the command line does.
class Parser {
 public:
  explicit Parser(Config& c);
  // Parses `args` (argv without the program's name), then checks the flags against each other;
  // CLI::ParseError says what was wrong. `typed`: a command line as the user typed it (a
  // checkpoint records every flag that defines a run, --momentum with --optimizer adamw too).
  void parse(std::vector<std::string> args, bool typed) {
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    app.parse(args);
    for (const CLI::Option* option : app.get_options())
      if (option->count() > 0) c.given.insert(option->get_name());
    check(typed);
  }

  CLI::App app{
      "Trains a small MLP (Linear -> BatchNorm1d -> activation [-> Dropout] blocks, then Linear) "
      "with SGD or AdamW on a 2-D synthetic data set, and writes its metrics, plots, graph and "
      "checkpoint to --out.",
      "train_mlp"};

 private:
  void check(bool typed);

  Config& c;
  double noise = 0;
  std::string hidden;
  bool no_bn_flag = false;
  CLI::Option* noise_opt = nullptr;
  CLI::Option* momentum = nullptr;
};

Parser::Parser(Config& config) : c(config) {
  app.get_formatter()->column_width(34);

  app.add_option("--dataset", c.dataset, "Data set")
      ->check(CLI::IsMember({"spirals", "moons", "blobs", "circles"}))
      ->capture_default_str();
  app.add_option("--samples", c.samples, "Points in the data set (train + test)")
      ->check(CLI::Range(int64_t{10}, int64_t{10'000'000}))
      ->capture_default_str();
  noise_opt =
      app.add_option("--noise", noise,
                     "Std of the Gaussian noise on each coordinate [default: spirals 0.04, moons "
                     "0.1, blobs 0.5, circles 0.05]")
          ->check(number_in(0, 10));
  app.add_option("--classes", c.classes, "Classes (spirals, blobs, circles; moons has 2)")
      ->check(CLI::Range(int64_t{2}, int64_t{64}))
      ->capture_default_str();
  hidden = fmt::format("{}", fmt::join(c.hidden, ","));
  app.add_option("--hidden", hidden, "Hidden layer widths, comma-separated")
      ->check(widths_in(1, 4096))
      ->capture_default_str();
  CLI::Option* no_bn =
      app.add_flag("--no-bn", no_bn_flag, "Leave out BatchNorm1d (Linear -> activation blocks)");
  app.add_option("--activation", c.activation,
                 "Activation after each hidden Linear (and BatchNorm): relu, tanh, or gelu (exact, "
                 "with erf, as nn.GELU())")
      ->check(CLI::IsMember(kActivations))
      ->capture_default_str();
  app.add_option("--dropout", c.dropout,
                 "p of an nn.Dropout after each hidden activation: each value zeroed with "
                 "probability p in training, the rest scaled by 1/(1-p); identity in evaluation. "
                 "0: no Dropout layer. The masks come from --seed, a stream per epoch (and per "
                 "process under "
                 "mpirun)")
      ->check(number_in(0, 1, "[)"))
      ->capture_default_str();
  CLI::Option* sync_bn =
      app.add_flag("--sync-bn", c.sync_bn,
                   "Under mpirun: SyncBatchNorm1d, whose statistics cover every process's batch");
  app.add_option("--epochs", c.epochs, "Passes over the training set")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000}))
      ->capture_default_str();
  app.add_option("--batch-size", c.batch_size,
                 "Samples per optimizer step and process (>= 2: BatchNorm needs two values per "
                 "feature); under mpirun -np P a step sees P times as many")
      ->check(CLI::Range(int64_t{2}, int64_t{1'000'000}))
      ->capture_default_str();
  app.add_option("--optimizer", c.optimizer,
                 "sgd: SGD with --momentum; adamw: AdamW with PyTorch's betas (0.9, 0.999) and "
                 "eps 1e-8. Both take --lr and --weight-decay")
      ->check(CLI::IsMember(kOptimizers))
      ->capture_default_str();
  app.add_option("--lr", c.lr, "Learning rate")
      ->check(number_in(0, 100, "(]"))
      ->capture_default_str();
  momentum = app.add_option("--momentum", c.momentum, "SGD's momentum (sgd only)")
                 ->check(number_in(0, 0.999))
                 ->capture_default_str();
  app.add_option("--weight-decay", c.weight_decay,
                 "Weight decay on Linear weights, not on biases or BatchNorm's gamma and beta "
                 "(sgd: an L2 term in the gradient; adamw: decoupled, p *= 1 - lr * decay)")
      ->check(number_in(0, 1))
      ->capture_default_str();
  app.add_option("--schedule", c.schedule,
                 "Learning-rate schedule: none, step (x0.1 after each third of the epochs, rounded "
                 "up: after 4 and 8 of 10), "
                 "cosine (down to 0 at the last epoch)")
      ->check(CLI::IsMember({"none", "step", "cosine"}))
      ->capture_default_str();
  app.add_option("--seed", c.seed,
                 "Seed of the data, the initial weights, the batch order and Dropout's masks")
      ->transform(unsigned_integer())
      ->capture_default_str();
  app.add_option("--threads", c.threads, "Threads for Eigen's matrix products")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--out", c.out,
                 "Output folder [default: runs/<dataset>-<YYYYmmdd-HHMMSS>; with --resume, the "
                 "checkpoint's folder; with --eval-only, none]");
  app.add_flag("--force", c.force,
               "Let --out name a folder holding a previous run, and replace it");
  CLI::Option* resume =
      app.add_option("--resume", c.resume,
                     "Continue exactly where this checkpoint (RUN/model.safetensors) stopped, "
                     "from the training state saved beside it")
          ->check(CLI::ExistingFile);
  CLI::Option* eval_only =
      app.add_option("--eval-only", c.eval_only,
                     "Evaluate this checkpoint on its test set; no training, and no files unless "
                     "--out is given")
          ->check(CLI::ExistingFile);
  CLI::Option* compare = app.add_flag(
      "--compare-bn", c.compare_bn,
      "Train the same net with and without BatchNorm from the same seed, side by side");
  app.add_flag("--detect-anomaly", c.detect_anomaly,
               "Check every op's output and gradient for NaN/Inf and name the first culprit");
  app.add_flag("--brief", c.quiet_notes, "Print the table only, without the explanations");
  app.add_option("--log-steps", c.log_steps,
                 "Append every step's loss to this file, one line each: epoch,step,loss (under "
                 "mpirun the loss of all processes' points)");
  app.footer(fmt::format(
      "Resuming: --resume RUN/model.safetensors continues the run from its checkpoint: weights, "
      "optimizer\nstate (SGD's momentum buffers, AdamW's exp_avg, exp_avg_sq and step), "
      "schedule, data order, Dropout's\nrandom stream and progress, so the result is the one an "
      "uninterrupted run gives.\nThe run's flags come from the checkpoint (a checkpoint written "
      "before --activation, --dropout and\n--optimizer existed resumes as relu, 0 and sgd). "
      "These may change on resume: {}\n(without --epochs it trains to the saved one; a longer "
      "--epochs continues the schedule the checkpoint saved, as PyTorch's "
      "load_state_dict\ndoes). Any other flag given with a value that contradicts the "
      "checkpoint is an error.\nSIGINT (Ctrl-C) or SIGTERM: the run finishes its step, saves a "
      "checkpoint and says how to resume.",
      kChangeableOnResume));
  resume->excludes(eval_only);
  sync_bn->excludes(no_bn)->excludes(eval_only);
  compare->excludes(no_bn)->excludes(resume)->excludes(eval_only);
}

void Parser::check(bool typed) {
  c.batchnorm = !no_bn_flag;
  c.hidden = split_widths(hidden);  // checked by widths_in
  if (noise_opt->count() > 0) c.noise = noise;
  // Checks between flags, with the same "what was expected, what came" messages.
  if (typed && c.optimizer == "adamw" && momentum->count() > 0) {
    throw CLI::ValidationError("--momentum",
                               "expected with --optimizer sgd only, got --optimizer adamw (AdamW's "
                               "momentum is its betas, (0.9, 0.999))");
  }
  if (c.dataset == "moons" && c.classes != 2) {
    if (app.get_option("--classes")->count() > 0)
      throw CLI::ValidationError("--classes",
                                 fmt::format("moons has 2 classes, got --classes {}", c.classes));
    c.classes = 2;
  }
  if (!c.out.empty() && std::filesystem::exists(c.out) && !std::filesystem::is_directory(c.out)) {
    throw CLI::ValidationError("--out", fmt::format("expected a folder, got the file {}", c.out));
  }
  if (c.samples < 4 * c.classes) {
    throw CLI::ValidationError(
        "--samples", fmt::format("expected at least 4 per class ({} for {} classes), got {}",
                                 4 * c.classes, c.classes, c.samples));
  }
  const int64_t train_size = training_points(c.samples, c.classes, c.test_fraction);
  if (c.batch_size > train_size) {
    throw CLI::ValidationError(
        "--batch-size",
        fmt::format("expected at most the {} training samples, got {}", train_size, c.batch_size));
  }
  check_out_folder(c);
}

}  // namespace

double default_noise(const std::string& dataset) {
  if (dataset == "moons") return 0.1;
  if (dataset == "blobs") return 0.5;
  if (dataset == "circles") return 0.05;
  return 0.04;  // spirals: the arms are 1/(3 classes) apart along a ray
}

int64_t training_points(int64_t samples, int64_t classes, double test_fraction) {
  int64_t train = 0;
  for (int64_t c = 0; c < classes; ++c) {
    const int64_t n_c = samples / classes + (c < samples % classes ? 1 : 0);
    train += n_c - std::llround(test_fraction * static_cast<double>(n_c));
  }
  return train;
}

double Config::noise_or_default() const {
  return noise ? *noise : default_noise(dataset);
}

std::map<std::string, std::string> run_config(const Config& c) {
  return {{"--dataset", c.dataset},
          {"--samples", std::to_string(c.samples)},
          {"--noise", fmt::format("{}", c.noise_or_default())},
          {"--classes", std::to_string(c.classes)},
          {"--hidden", fmt::format("{}", fmt::join(c.hidden, ","))},
          {"--no-bn", c.batchnorm ? "false" : "true"},
          {"--activation", c.activation},
          {"--dropout", fmt::format("{}", c.dropout)},
          {"--sync-bn", c.sync_bn ? "true" : "false"},
          {"--batch-size", std::to_string(c.batch_size)},
          {"--optimizer", c.optimizer},
          {"--lr", fmt::format("{}", c.lr)},
          {"--momentum", fmt::format("{}", c.momentum)},
          {"--weight-decay", fmt::format("{}", c.weight_decay)},
          {"--schedule", c.schedule},
          {"--seed", std::to_string(c.seed)},
          {"--epochs", std::to_string(c.epochs)}};
}

bool changeable_on_resume(const std::string& flag) {
  for (std::string_view rest = kChangeableOnResume; !rest.empty();) {
    const std::size_t comma = std::min(rest.find(", "), rest.size());
    if (rest.substr(0, comma) == flag) return true;
    rest.remove_prefix(std::min(comma + 2, rest.size()));
  }
  return false;
}

void apply_run_config(Config& c, const std::map<std::string, std::string>& config,
                      const std::string& source) {
  // The flags a checkpoint must record; --activation, --dropout, --optimizer and --sync-bn came
  // later, and a checkpoint without them had the old behaviour, which their defaults give.
  const Config defaults;
  std::vector<std::string> args;
  for (const auto& [flag, value] : run_config(defaults)) {
    auto it = config.find(flag);
    if (it == config.end()) {
      if (flag == "--activation" || flag == "--dropout" || flag == "--optimizer" ||
          flag == "--sync-bn")
        continue;
      throw std::runtime_error(
          fmt::format("{}: the run's flags saved there have no {}", source, flag));
    }
    if (flag == "--no-bn" || flag == "--sync-bn") {  // flags without a value on the command line
      if (it->second != "true" && it->second != "false") {
        throw std::runtime_error(
            fmt::format("{}: the run's flags saved there have {} {}, expected true or false",
                        source, flag, it->second));
      }
      if (it->second == "true") args.push_back(flag);
      continue;
    }
    args.push_back(flag + "=" + it->second);  // "=": a value that starts with '-' stays a value
  }
  for (const auto& [flag, value] : config) {
    if (flag != "processes" && !run_config(defaults).contains(flag)) {  // (written by the trainer)
      throw std::runtime_error(fmt::format(
          "{}: the run's flags saved there hold {} {}, which is not a flag that defines a run",
          source, flag, value));
    }
  }
  Config saved;
  Parser parser(saved);
  try {
    parser.parse(args, /*typed=*/false);
  } catch (const CLI::ParseError& e) {
    throw std::runtime_error(fmt::format(
        "{}: the run's flags saved there fail the command line's checks: {}", source, e.what()));
  }
  c.dataset = saved.dataset, c.samples = saved.samples, c.noise = saved.noise;
  c.classes = saved.classes, c.hidden = saved.hidden, c.batchnorm = saved.batchnorm;
  c.activation = saved.activation, c.dropout = saved.dropout, c.sync_bn = saved.sync_bn;
  c.batch_size = saved.batch_size, c.optimizer = saved.optimizer, c.lr = saved.lr;
  c.momentum = saved.momentum, c.weight_decay = saved.weight_decay, c.schedule = saved.schedule;
  c.seed = saved.seed, c.epochs = saved.epochs;
}

ParseResult parse_flags(int argc, char** argv) {
  ParseResult result;
  Config& c = result.config;
  c.command_line = join_command_line(argc, argv);
  Parser parser(c);
  try {
    parser.parse(std::vector<std::string>(argv + std::min(argc, 1), argv + argc), /*typed=*/true);
  } catch (const CLI::ParseError& e) {
    const int code = parser.app.exit(e);  // prints the help, or the error and a hint
    result.exit_code = code == 0 ? 0 : 2;
  }
  return result;
}

std::vector<int64_t> split_widths(const std::string& text) {
  std::vector<int64_t> widths;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    widths.push_back(std::stoll(text.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return widths;
}

}  // namespace train_mlp
