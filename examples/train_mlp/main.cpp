// train_mlp: the main job. Trains an MLP with BatchNorm on a 2-D synthetic data set, prints a
// table as it learns, and writes metrics, plots, the graph and a checkpoint to an output folder.
// `--compare-bn` trains the same network without BatchNorm too, to show what BatchNorm buys.
// Run `train_mlp --help` for the flags.
#include <chrono>
#include <ctime>
#include <filesystem>
#include <optional>

#include <omp.h>

#include <fmt/format.h>

#include <minigrad/minigrad.hpp>

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
  console.note(fmt::format(
      "Data:  {}-class {} in the plane, {} training and {} test points (noise {}, seed {}).\n"
      "SGD:   lr {} ({} schedule), momentum {}, weight decay {} on Linear weights only,\n"
      "       batches of {}, {} epochs, {} thread{}.",
      c.classes, c.dataset, data.train.size(), data.test.size(), c.noise_or_default(), c.seed, c.lr,
      c.schedule, c.momentum, c.weight_decay, c.batch_size, c.epochs, c.threads,
      c.threads == 1 ? "" : "s"));
}

// The network of the flags (or of a checkpoint): 2 inputs, the hidden widths, the classes.
examples::MlpSpec mlp_spec(const std::vector<int64_t>& hidden, int64_t classes, bool batchnorm) {
  return {.inputs = 2,
          .hidden = hidden,
          .classes = classes,
          .norm = batchnorm ? examples::Norm::batch : examples::Norm::none};
}

void print_model(const Config& c, mg::nn::Sequential& net, bool batchnorm, const Console& console) {
  console.note(fmt::format("Model: {}.",
                           examples::describe_mlp(mlp_spec(c.hidden, c.classes, batchnorm), net)));
}

void print_columns(const Console& console) {
  console.note(
      "\nEach row is one epoch. loss: mean cross-entropy of its training batches. train/test "
      "acc:\nshare of points classified right, measured in eval mode after the epoch. lr: the "
      "learning\nrate it used. time: seconds. With BatchNorm the training loss comes from batch "
      "statistics\n(train mode), so it is noisier and higher than the test loss (eval mode, "
      "running statistics).\n");
}

void print_files(const fs::path& dir, const Console& console) {
  console.note(fmt::format("\nFiles in {}:", dir.string()));
  console.note(
      "  loss.svg           loss and accuracy per epoch (open the .svg files in a browser)");
  console.note("  boundary.svg       the class the network predicts at every point, with the data");
  console.note("  metrics.csv        the table above; timing.csv has the seconds per epoch");
  console.note("  graph.dot          one training step's graph: dot -Tsvg graph.dot -o graph.svg");
  console.note(fmt::format("  model.safetensors  the weights; evaluate again with --eval-only {}",
                           (dir / "model.safetensors").string()));
}

int run_single(const Config& c, const Split& data, const fs::path& dir, Console& console) {
  bool batchnorm = c.batchnorm;
  std::vector<int64_t> hidden = c.hidden;
  int64_t start_epoch = 0;
  std::optional<CheckpointInfo> resumed;
  if (!c.resume.empty()) {
    resumed = read_checkpoint_info(c.resume);
    batchnorm = resumed->batchnorm, hidden = resumed->hidden, start_epoch = resumed->epoch;
    if (start_epoch >= c.epochs) {
      console.line(fmt::format("{} has trained {} epochs already; ask for more with --epochs.",
                               c.resume, start_epoch));
      return 1;
    }
  }
  Config run = c;
  run.hidden = hidden;
  mg::Generator gen = weights_generator(c.seed);
  mg::nn::Sequential net = examples::make_mlp(mlp_spec(hidden, c.classes, batchnorm), gen);
  if (resumed) {
    mg::load(net, c.resume);
    console.line(fmt::format("Resuming from {} at epoch {} (momentum starts afresh).", c.resume,
                             start_epoch));
  }
  print_model(run, net, batchnorm, console);
  print_setup(run, data, console);
  print_columns(console);
  console.table_header();
  const RunResult result = train(run, data, net, batchnorm, start_epoch, dir, console);
  if (result.stopped) console.line(result.stop_message);
  if (!result.history.empty()) {
    console.line(fmt::format("Done in {:.1f} s: test accuracy {:.1f}% after epoch {}.",
                             result.seconds, 100 * result.history.back().test_acc,
                             result.history.back().epoch));
  }
  print_files(dir, console);
  return result.stopped ? 1 : 0;
}

int run_compare(const Config& c, const Split& data, const fs::path& dir, Console& console) {
  console.note(
      "Comparing the same MLP with and without BatchNorm: the same data, the same initial "
      "Linear\nweights (both drawn from --seed) and the same batches; only the BatchNorm1d "
      "layers differ.");
  print_setup(c, data, console);
  print_columns(console);
  std::vector<RunResult> results;
  for (bool batchnorm : {true, false}) {
    console.line(batchnorm ? "[1/2] With BatchNorm" : "\n[2/2] Without BatchNorm");
    mg::Generator gen = weights_generator(c.seed);
    mg::nn::Sequential net = examples::make_mlp(mlp_spec(c.hidden, c.classes, batchnorm), gen);
    print_model(c, net, batchnorm, console);
    console.table_header();
    const fs::path sub = dir / (batchnorm ? "with-bn" : "without-bn");
    fs::create_directories(sub);
    results.push_back(train(c, data, net, batchnorm, 0, sub, console));
    if (results.back().stopped) console.line(results.back().stop_message);
  }
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
    return r.history.empty() ? std::string("-") : fmt::format("{:.4f}", r.history.back().test_loss);
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
  console.line(
      fmt::format("  {:<28}{:>15.1f}s{:>19.1f}s", "training time", bn.seconds, plain.seconds));
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

int run_eval_only(const Config& c, const Split& data, const fs::path& dir, Console& console) {
  const CheckpointInfo info = read_checkpoint_info(c.eval_only);
  mg::Generator gen = weights_generator(c.seed);
  const examples::MlpSpec spec = mlp_spec(info.hidden, info.classes, info.batchnorm);
  mg::nn::Sequential net = examples::make_mlp(spec, gen);
  mg::load(net, c.eval_only);
  const examples::Evaluation train = examples::evaluate(net, data.train),
                             test = examples::evaluate(net, data.test);
  console.line(fmt::format("{} ({}, trained {} epochs on {}):", c.eval_only,
                           examples::describe_mlp(spec, net), info.epoch, info.dataset));
  console.line(fmt::format("  train: loss {:.4f}, accuracy {:.1f}% ({} points)", train.loss,
                           100 * train.accuracy, data.train.size()));
  console.line(fmt::format("  test:  loss {:.4f}, accuracy {:.1f}% ({} points)", test.loss,
                           100 * test.accuracy, data.test.size()));
  write_boundary_svg(dir / "boundary.svg", net, data.train, data.test,
                     fmt::format("Decision regions of {}: {:.1f}% test accuracy",
                                 fs::path(c.eval_only).filename().string(), 100 * test.accuracy));
  console.note(fmt::format("Decision regions: {}", (dir / "boundary.svg").string()));
  return 0;
}

int run(Config c) {
  omp_set_num_threads(c.threads);
  Eigen::setNbThreads(c.threads);
  // A checkpoint knows the data set and classes it was trained on; evaluate or resume on those.
  const std::string checkpoint = !c.eval_only.empty() ? c.eval_only : c.resume;
  if (!checkpoint.empty()) {
    const CheckpointInfo info = read_checkpoint_info(checkpoint);
    c.dataset = info.dataset;
    c.classes = info.classes;
  }
  const fs::path dir = c.out.empty() ? default_out_dir(c.dataset) : fs::path(c.out);
  fs::create_directories(dir);
  write_command_txt(dir / "command.txt", c.command_line);
  Console console(Console::stdout_is_terminal(), c.quiet_notes);
  const Split data = make_split(c);
  write_test_set_csv(dir / "test_set.csv", data.test);
  if (!c.eval_only.empty()) return run_eval_only(c, data, dir, console);
  if (c.compare_bn) return run_compare(c, data, dir, console);
  return run_single(c, data, dir, console);
}

}  // namespace

int main(int argc, char** argv) {
  ParseResult parsed = parse_flags(argc, argv);
  if (parsed.exit_code) return *parsed.exit_code;
  try {
    return run(parsed.config);
  } catch (const std::exception& e) {
    fmt::print(stderr, "train_mlp: {}\n", e.what());
    return 1;
  }
}
