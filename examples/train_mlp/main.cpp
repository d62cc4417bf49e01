// train_mlp: the main job. Trains an MLP with BatchNorm on a 2-D synthetic data set, prints a
// table as it learns, and writes metrics, plots, the graph and a checkpoint to an output folder.
// `--compare-bn` trains the same network without BatchNorm too, to show what BatchNorm buys.
// Run `train_mlp --help` for the flags.
//
// Data-parallel: `mpirun -np P train_mlp [--sync-bn] ...` runs P processes, each on its shard of
// every batch (--batch-size is per process), their gradients averaged every step; process 0
// alone prints and writes the files (docs/distributed.md).
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>

#include <omp.h>

#include <fmt/format.h>

#include <minigrad/minigrad.hpp>

#include "checkpoint.hpp"
#include "common/mlp.hpp"
#include "common/training.hpp"
#include "console.hpp"
#include "flags.hpp"
#include "plots.hpp"
#include "run_files.hpp"
#include "trainer.hpp"

namespace fs = std::filesystem;
using namespace train_mlp;

namespace {

fs::path default_out_dir(const std::string& dataset) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return fs::path("runs") / fmt::format("{}-{}", dataset, stamp);
}

// The initial weights get their own stream, apart from the data's (both come from --seed).
mg::Generator weights_generator(uint64_t seed) {
  return mg::Generator(seed ^ 0x77656967687473ULL);  // "weights"
}

void print_setup(const Config& c, const Split& data, const Console& console) {
  const std::string optimizer =
      c.optimizer == "adamw"
          ? fmt::format(
                "AdamW: lr {} ({} schedule), betas (0.9, 0.999), eps 1e-8,\n       "
                "decoupled weight decay {} on Linear weights only,",
                c.lr, c.schedule, c.weight_decay)
          : fmt::format(
                "SGD:   lr {} ({} schedule), momentum {}, weight decay {} on Linear "
                "weights only,",
                c.lr, c.schedule, c.momentum, c.weight_decay);
  console.note(fmt::format(
      "Data:  {}-class {} in the plane, {} training and {} test points (noise {}, seed {}).\n"
      "{}\n       batches of {}, {} epoch{}, {} thread{}.",
      c.classes, c.dataset, data.train.size(), data.test.size(), c.noise_or_default(), c.seed,
      optimizer, c.batch_size, c.epochs, c.epochs == 1 ? "" : "s", c.threads,
      c.threads == 1 ? "" : "s"));
  const int processes = mg::dist::world_size();
  if (processes > 1) {
    console.note(fmt::format(
        "Data-parallel over {} processes: each step takes {} points from each ({} in all), and "
        "their gradients are averaged;\n{}.",
        processes, c.batch_size, processes * c.batch_size,
        c.sync_bn
            ? "SyncBatchNorm1d normalises with the statistics of all of them"
            : "BatchNorm1d normalises each process's points alone (--sync-bn: all together)"));
  }
}

// The network of the flags (or of a checkpoint): 2 inputs, the hidden widths, the classes, the
// activation and dropout.
examples::MlpSpec mlp_spec(const Config& c, bool batchnorm) {
  return {.inputs = 2,
          .hidden = c.hidden,
          .classes = c.classes,
          .norm = batchnorm ? examples::Norm::batch : examples::Norm::none,
          .activation = examples::activation_from_flag(c.activation),
          .dropout = c.dropout};
}

// The network of the spec, its Linear weights drawn from --seed, its Dropout layers' masks from
// `dropout_stream` (the trainer seeds it every epoch); with --sync-bn its BatchNorm1d layers
// become SyncBatchNorm1d (the same tensors and state_dict names).
mg::nn::Sequential make_net(const examples::MlpSpec& spec, const Config& c,
                            mg::Generator& dropout_stream) {
  mg::Generator gen = weights_generator(c.seed);
  mg::nn::Sequential net = examples::make_mlp(spec, gen, dropout_stream);
  if (c.sync_bn && spec.norm == examples::Norm::batch) mg::nn::convert_sync_batchnorm(net);
  return net;
}

void print_model(const examples::MlpSpec& spec, mg::nn::Sequential& net, const Console& console) {
  console.note(fmt::format("Model: {}.", examples::describe_mlp(spec, net)));
}

void print_columns(const Config& c, const Console& console) {
  const std::string dropout =
      c.dropout > 0 ? fmt::format(
                          "With Dropout (p = {}) the loss is measured with values dropped "
                          "too; the accuracies and the test\nloss use the whole network "
                          "(eval mode).\n",
                          c.dropout)
                    : "";
  console.note(
      "\nEach row is one epoch. loss: mean cross-entropy of its training batches. train/test "
      "acc:\nshare of points classified right, measured in eval mode after the epoch. lr: the "
      "learning\nrate it used. time: seconds for the epoch's steps, evaluation and checkpoint.\n"
      "With BatchNorm the training loss comes from batch statistics (train mode), so it is "
      "noisier\nand higher than the test loss (eval mode, running statistics).\n" +
      dropout);
}

void print_files(const fs::path& dir, const Console& console) {
  console.note(fmt::format("\nFiles in {}:", dir.string()));
  console.note(
      "  loss.svg           loss and accuracy per epoch (open the .svg files in a browser)");
  console.note("  boundary.svg       the class the network predicts at every point, with the data");
  console.note("  metrics.csv        the table above; timing.csv has the seconds per epoch");
  console.note("  graph.dot          one training step's graph: dot -Tsvg graph.dot -o graph.svg");
  if (fs::exists(dir / "model.safetensors")) {  // a run that diverged in epoch 1 wrote none
    console.note(fmt::format("  model.safetensors  the weights; evaluate again with --eval-only {}",
                             (dir / "model.safetensors").string()));
  }
}

// A flag on the command line that a resume cannot honour: exit code 2, like a bad flag.
class FlagError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A resume takes the run's flags from the checkpoint; a flag given with another value is an
// error naming both.
void take_checkpoint_config(Config& c, const fs::path& model_file, bool strict) {
  const std::optional<RunConfig> saved = read_run_config(model_file);
  if (!saved) {
    if (strict) {
      throw std::runtime_error(fmt::format(
          "{}: no training state beside it (a checkpoint with weights only cannot be resumed "
          "exactly; evaluate it with --eval-only)",
          model_file.string()));
    }
    // The network the model file's metadata names, checked as the same flags on the command line
    // would be; the data flags stay the command line's.
    const CheckpointInfo info = read_checkpoint_info(model_file);
    RunConfig network = run_config(c);
    network["--dataset"] = info.dataset;
    network["--classes"] = std::to_string(info.classes);
    network["--hidden"] = fmt::format("{}", fmt::join(info.hidden, ","));
    network["--no-bn"] = info.batchnorm ? "false" : "true";
    network["--activation"] = info.activation;
    network["--dropout"] = fmt::format("{}", info.dropout);
    Config checked = c;
    apply_run_config(checked, network, model_file.string());
    c.dataset = checked.dataset, c.classes = checked.classes;
    c.hidden = checked.hidden, c.batchnorm = checked.batchnorm;
    c.activation = checked.activation, c.dropout = checked.dropout;
    return;
  }
  Config from_checkpoint = c;
  // Checked as the command line is; flags it does not record: the old defaults.
  apply_run_config(from_checkpoint, *saved, training_state_path(model_file).string());
  const RunConfig given = run_config(c), trained = run_config(from_checkpoint);
  for (const auto& [flag, value] : trained) {
    if (strict && c.given.contains(flag) && !changeable_on_resume(flag) &&
        given.at(flag) != value) {
      throw FlagError(fmt::format(
          "{} {} contradicts the checkpoint {}, trained with {} {}. On resume only these flags "
          "may change: {}",
          flag, given.at(flag), model_file.string(), flag, value, kChangeableOnResume));
    }
  }
  if (strict) {
    if (c.given.contains("--epochs")) from_checkpoint.epochs = c.epochs;
    c = std::move(from_checkpoint);
  } else {  // --eval-only: the checkpoint's data and network, unless a flag says otherwise
    const Config asked = c;
    c = std::move(from_checkpoint);
    for (const std::string& flag : asked.given) {
      if (flag == "--samples") c.samples = asked.samples;
      if (flag == "--noise") c.noise = asked.noise;
      if (flag == "--seed") c.seed = asked.seed;
    }
  }
}

// Creates `dir` and writes the files that describe the run: command.txt (a resume into the same
// folder adds its line) and test_set.csv. Opens --log-steps's file too, and returns it (null
// without the flag, and on every process but 0): before the folder is made, so that a log that
// cannot be opened stops the run with nothing created; only a log meant to go into the new
// folder itself waits for it.
std::unique_ptr<StepLog> start_folder(const Config& c, const fs::path& dir, const Split& data) {
  if (mg::dist::rank() != 0) return nullptr;  // process 0 writes the files
  std::unique_ptr<StepLog> step_log;
  bool log_waits = false;
  if (!c.log_steps.empty()) {
    fs::path log_folder = fs::path(c.log_steps).parent_path();
    if (log_folder.empty()) log_folder = ".";
    std::error_code error;
    log_waits = !fs::exists(dir) &&
                fs::weakly_canonical(log_folder, error) == fs::weakly_canonical(dir, error);
    if (!log_waits) step_log = std::make_unique<StepLog>(c.log_steps);
  }
  fs::create_directories(dir);
  std::string commands;
  if (!c.resume.empty() && fs::exists(dir / "command.txt")) {
    std::ifstream in(dir / "command.txt");
    // Rewritten below with this run's line added: a file left unread would lose the earlier lines.
    if (!in) {
      throw std::runtime_error(
          fmt::format("cannot read {}: {}", (dir / "command.txt").string(), std::strerror(errno)));
    }
    commands.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  write_text(dir / "command.txt", commands + c.command_line + "\n");
  write_test_set_csv(dir / "test_set.csv", data.test);
  if (log_waits) step_log = std::make_unique<StepLog>(c.log_steps);
  return step_log;
}

int exit_code(const RunResult& r) {
  if (r.signal != 0) return 128 + r.signal;  // 130 for SIGINT, 143 for SIGTERM
  return r.stopped ? 1 : 0;
}

void print_end(const RunResult& result, const Console& console) {
  if (result.stopped) console.line(result.stop_message);
  if (mg::dist::world_size() > 1 && result.values_differing == 0) {
    console.line(fmt::format("All {} processes hold the same parameters, bit for bit.",
                             mg::dist::world_size()));
  }
  if (!result.history.empty()) {
    console.line(fmt::format(
        "Trained for {:.1f} s (the time column's sum: steps, evaluation and checkpoints): test "
        "accuracy {:.1f}% after epoch {}.",
        result.seconds, 100 * result.history.back().test_acc, result.history.back().epoch));
  }
}

int run_single(const Config& c, const Split& data, const fs::path& dir, Console& console) {
  const examples::MlpSpec spec = mlp_spec(c, c.batchnorm);
  mg::Generator dropout_stream;
  mg::nn::Sequential net = make_net(spec, c, dropout_stream);
  Trainer trainer(c, data, net, spec);
  if (!c.resume.empty()) {
    trainer.restore(c.resume);  // reads and checks everything; nothing is written yet
    const Progress& p = trainer.progress();
    if (p.epoch >= c.epochs) {
      throw FlagError(fmt::format("--epochs {}: {} has trained {} epochs already; ask for more",
                                  c.epochs, c.resume, p.epoch));
    }
  }
  const std::unique_ptr<StepLog> step_log = start_folder(c, dir, data);
  if (!c.resume.empty()) {
    const Progress& p = trainer.progress();
    console.line(fmt::format(
        "Resuming {} after epoch {}{}: weights, optimizer state, schedule and data order as "
        "they were; training on to epoch {} in {}.",
        c.resume, p.epoch,
        p.step ? fmt::format(" and step {} of epoch {}", p.step, p.epoch + 1) : "", c.epochs,
        dir.string()));
    for (const std::string& note : trainer.notes()) console.line(note);
  }
  print_model(spec, net, console);
  print_setup(c, data, console);
  print_columns(c, console);
  console.table_header();
  install_stop_handlers();
  const RunResult result = trainer.run(dir, console, step_log.get());
  if (step_log) step_log->close();
  print_end(result, console);
  if (result.values_differing != 0) {
    throw std::runtime_error(fmt::format(
        "the {} processes ended with different parameters ({} values differ from process 0's): "
        "data-parallel training lost step",
        mg::dist::world_size(), result.values_differing));
  }
  if (result.signal == 0) print_files(dir, console);
  return exit_code(result);
}

int run_compare(const Config& c, const Split& data, const fs::path& dir, Console& console) {
  console.note(
      "Comparing the same MLP with and without BatchNorm: the same data, the same initial "
      "Linear\nweights (both drawn from --seed) and the same batches; only the BatchNorm1d "
      "layers differ.");
  const std::unique_ptr<StepLog> step_log = start_folder(c, dir, data);
  print_setup(c, data, console);
  print_columns(c, console);
  install_stop_handlers();
  std::vector<RunResult> results;
  for (bool batchnorm : {true, false}) {
    console.line(batchnorm ? "[1/2] With BatchNorm" : "\n[2/2] Without BatchNorm");
    Config run = c;
    run.batchnorm = batchnorm;
    const examples::MlpSpec spec = mlp_spec(c, batchnorm);
    mg::Generator dropout_stream;
    mg::nn::Sequential net = make_net(spec, run, dropout_stream);
    print_model(spec, net, console);
    console.table_header();
    const fs::path sub = dir / (batchnorm ? "with-bn" : "without-bn");
    if (mg::dist::rank() == 0) fs::create_directories(sub);
    Trainer trainer(run, data, net, spec);
    results.push_back(trainer.run(sub, console, step_log.get()));
    if (results.back().stopped) console.line(results.back().stop_message);
    if (results.back().signal != 0) return exit_code(results.back());
  }
  if (step_log) step_log->close();
  if (mg::dist::rank() == 0)
    write_compare_svg(dir / "compare.svg", results[0].history, results[1].history,
                      fmt::format("{}-class {}: with and without BatchNorm", c.classes, c.dataset));

  auto final_acc = [](const RunResult& r) {
    return r.history.empty() ? std::string("-")
                             : fmt::format("{:.1f}%", 100 * r.history.back().test_acc);
  };
  auto best_acc = [](const RunResult& r) {
    double best = 0;
    for (const EpochMetrics& m : r.history) best = std::max(best, m.test_acc);
    return fmt::format("{:.1f}%", 100 * best);
  };
  auto reach90 = [](const RunResult& r) {
    const std::optional<int64_t> e = epochs_to_reach(r.history, 0.9);
    return e ? std::to_string(*e) : std::string("never");
  };
  auto final_loss = [](const RunResult& r) {
    return r.history.empty() ? std::string("-") : fit_number(r.history.back().test_loss, 9, 4);
  };
  console.line("\nSide by side");
  console.line(fmt::format("  {:<28}{:>16}{:>20}", "", "with BatchNorm", "without BatchNorm"));
  const RunResult &bn = results[0], &plain = results[1];
  console.line(
      fmt::format("  {:<28}{:>16}{:>20}", "final test accuracy", final_acc(bn), final_acc(plain)));
  console.line(
      fmt::format("  {:<28}{:>16}{:>20}", "best test accuracy", best_acc(bn), best_acc(plain)));
  console.line(fmt::format("  {:<28}{:>16}{:>20}", "epochs to 90% test accuracy", reach90(bn),
                           reach90(plain)));
  console.line(
      fmt::format("  {:<28}{:>16}{:>20}", "final test loss", final_loss(bn), final_loss(plain)));
  console.line(fmt::format("  {:<28}{:>15.1f}s{:>19.1f}s", "training time (time column)",
                           bn.seconds, plain.seconds));
  const std::optional<int64_t> bn90 = epochs_to_reach(bn.history, 0.9),
                               plain90 = epochs_to_reach(plain.history, 0.9);
  if (bn90 && plain90 && *bn90 != *plain90) {
    console.note(fmt::format(
        "\nWith BatchNorm the network reached 90% test accuracy after {} epoch{}, without it "
        "after {}.",
        *bn90, *bn90 == 1 ? "" : "s", *plain90));
  }
  console.note(fmt::format("\nFiles in {}:", dir.string()));
  console.note(
      "  compare.svg   both runs' loss and test accuracy on one plot (open .svg files in a "
      "browser)");
  console.note("  with-bn/      loss.svg, boundary.svg, metrics.csv, graph.dot, model.safetensors");
  console.note("  without-bn/   the same for the network without BatchNorm");
  return bn.stopped || plain.stopped ? 1 : 0;
}

int run_eval_only(Config c, Console& console) {
  take_checkpoint_config(c, c.eval_only, /*strict=*/false);
  const Split data = make_split(c);
  const examples::MlpSpec spec = mlp_spec(c, c.batchnorm);
  mg::Generator gen = weights_generator(c.seed);
  mg::nn::Sequential net = examples::make_mlp(spec, gen);  // in eval(), Dropout draws nothing
  mg::load(net, c.eval_only);
  const CheckpointInfo info = read_checkpoint_info(c.eval_only);
  const examples::Evaluation train = examples::evaluate(net, data.train),
                             test = examples::evaluate(net, data.test);
  console.line(fmt::format("{} ({}, trained {} epochs on {}):", c.eval_only,
                           examples::describe_mlp(spec, net), info.progress.epoch, info.dataset));
  console.line(fmt::format("  train: loss {:.4f}, accuracy {:.1f}% ({} points)", train.loss,
                           100 * train.accuracy, data.train.size()));
  console.line(fmt::format("  test:  loss {:.4f}, accuracy {:.1f}% ({} points)", test.loss,
                           100 * test.accuracy, data.test.size()));
  if (c.out.empty() || mg::dist::rank() != 0) return 0;  // nothing written unless asked
  const fs::path dir(c.out);
  fs::create_directories(dir);
  write_test_set_csv(dir / "test_set.csv", data.test);
  write_boundary_svg(dir / "boundary.svg", net, data.train, data.test,
                     fmt::format("Decision regions of {}: {:.1f}% test accuracy",
                                 fs::path(c.eval_only).filename().string(), 100 * test.accuracy));
  console.note(fmt::format("Decision regions: {}", (dir / "boundary.svg").string()));
  return 0;
}

int run(Config c) {
  omp_set_num_threads(c.threads);  // minigrad's loops and GEMMs (core/gemm.cpp) all read it
  // The live progress line needs a terminal; under mpirun the processes' output goes through
  // pseudo-terminals whatever mpirun's own output is, so it is left out there.
  Console console(Console::stdout_is_terminal() && mg::dist::world_size() == 1, c.quiet_notes);
  if (!c.eval_only.empty()) return run_eval_only(c, console);
  if (!c.resume.empty()) take_checkpoint_config(c, c.resume, /*strict=*/true);
  // A resume continues in the checkpoint's folder unless --out names another.
  const fs::path dir = !c.out.empty()      ? fs::path(c.out)
                       : !c.resume.empty() ? fs::path(c.resume).parent_path()
                                           : default_out_dir(c.dataset);
  const Split data = make_split(c);
  if (c.compare_bn) return run_compare(c, data, dir, console);
  return run_single(c, data, dir, console);
}

}  // namespace

// An error ends the run with its message. Under mpirun it may have struck some processes only
// (the others would wait for them forever), so each process that met it says so, naming itself,
// and the whole job ends.
int fail(int code, const std::string& message) {
  const int processes = mg::dist::world_size();
  if (processes == 1) {
    fmt::print(stderr, "train_mlp: {}\n", message);
    return code;
  }
  fmt::print(stderr, "train_mlp (process {} of {}): {}\n", mg::dist::rank(), processes, message);
  std::fflush(stderr);
  mg::dist::abort(code);
}

int main(int argc, char** argv) {
  mg::dist::InitGuard mpi(argc, argv);  // a world of one unless started by mpirun
  ParseResult parsed = parse_flags(argc, argv);
  if (parsed.exit_code) return *parsed.exit_code;
  // Every process has checked the flags (and that --out is free) before process 0 writes there.
  mg::dist::barrier();
  // Process 0 prints the table and the notes; the others train in silence.
  if (mg::dist::rank() != 0 && std::freopen("/dev/null", "w", stdout) == nullptr) return 1;
  try {
    return run(parsed.config);
  } catch (const FlagError& e) {
    return fail(2, e.what());
  } catch (const std::exception& e) {
    return fail(1, e.what());
  }
}
