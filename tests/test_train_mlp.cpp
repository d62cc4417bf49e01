// train_mlp's parts that a whole run cannot pin down cheaply: the training state's file (every
// value back as it was, every damaged or mismatched file refused before anything changes), the
// number formatting that keeps the table aligned, the chart axes, and the training split size
// the --batch-size check uses. The end-to-end runs (resume, signals) are ctest cases
// (examples/train_mlp/test_train_mlp.cmake).
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "common/mlp.hpp"
#include "common/plot.hpp"
#include "common/training.hpp"
#include "train_mlp/checkpoint.hpp"
#include "train_mlp/console.hpp"
#include "train_mlp/flags.hpp"
#include "train_mlp/run_files.hpp"

namespace fs = std::filesystem;
using namespace train_mlp;

namespace {

// A fresh scratch folder under the system's temporary directory.
fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("minigrad_test_train_mlp_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A small BatchNorm MLP, SGD with momentum in two groups and a cosine schedule, trained two steps
// so every buffer and the schedule hold something.
struct Setup {
  examples::MlpSpec spec{.inputs = 2, .hidden = {4}, .classes = 3};
  mg::Generator gen{1};
  mg::nn::Sequential net = examples::make_mlp(spec, gen);
  mg::optim::SGD sgd{examples::param_groups(net, 1e-3), {.lr = 0.1, .momentum = 0.9}};
  mg::optim::CosineAnnealingLR schedule{sgd, 5};

  Setup() {
    const mg::data::Dataset ds = mg::data::make_blobs(40, 3, 0.5, 2);
    mg::data::DataLoader loader(ds, {.batch_size = 8, .drop_last = true, .seed = 3});
    examples::train_epoch(net, loader, sgd);
    schedule.step();
  }

  TrainingState state(Progress progress) const {
    TrainingState s;
    s.progress = progress;
    s.config = {{"--dataset", "blobs"}, {"--lr", "0.1"}};
    s.optimizer = sgd.state_dict();
    s.schedule = schedule.state_dict();
    s.loader_epoch = 1;
    mg::Generator stream(9);
    stream.normal();  // leaves a spare normal in the state
    s.generators["dropout"] = stream.state();
    return s;
  }
  CheckpointInfo info(Progress progress) const {
    return {
        .dataset = "blobs", .classes = 3, .hidden = {4}, .batchnorm = true, .progress = progress};
  }
};

}  // namespace

TEST_CASE("training state: every value comes back, the optimizer's by parameter name",
          "[train_mlp]") {
  Setup s;
  const fs::path model = scratch("roundtrip") / "model.safetensors";
  const Progress progress{.epoch = 1, .step = 3, .loss_sum = 2.718281828459045};
  const std::vector<std::string> names = parameter_names(s.sgd, s.net);
  CHECK(names ==
        std::vector<std::string>{"0.weight", "3.weight", "0.bias", "1.weight", "1.bias", "3.bias"});
  save_checkpoint(s.net, model, s.info(progress), s.state(progress), names);

  // The momentum buffers are stored under the parameters' names.
  const mg::safetensors::File file =
      mg::safetensors::read_file(training_state_path(model).string());
  bool named = false;
  for (const auto& entry : file.tensors)
    named |= entry.name == "optimizer.state.3.weight.momentum_buffer";
  CHECK(named);

  const CheckpointInfo info = read_checkpoint_info(model);
  CHECK(info.progress == Progress{.epoch = 1, .step = 3, .loss_sum = 0});
  const TrainingState back = read_training_state(model, info, names);
  const TrainingState saved = s.state(progress);
  CHECK(back.progress == progress);
  CHECK(back.config == saved.config);
  CHECK(back.loader_epoch == 1);
  CHECK(back.generators.at("dropout") == saved.generators.at("dropout"));
  CHECK(back.schedule.integers == saved.schedule.integers);
  CHECK(back.schedule.reals == saved.schedule.reals);
  CHECK(back.optimizer.reals == saved.optimizer.reals);
  CHECK(back.optimizer.integers == saved.optimizer.integers);
  REQUIRE(back.optimizer.tensors.size() == saved.optimizer.tensors.size());
  for (const auto& [key, t] : saved.optimizer.tensors)
    CHECK(back.optimizer.tensors.at(key).to_vector() == t.to_vector());
  // A fresh optimizer that loads it takes the same next step.
  mg::Generator gen(1);
  mg::nn::Sequential other = examples::make_mlp(s.spec, gen);
  mg::load(other, model.string());
  mg::optim::SGD sgd(examples::param_groups(other, 1e-3), {.lr = 0.1, .momentum = 0.9});
  sgd.load_state_dict(back.optimizer);
  CHECK(sgd.momentum_buffer(other.at<mg::nn::Linear>(3).weight).to_vector() ==
        s.sgd.momentum_buffer(s.net.at<mg::nn::Linear>(3).weight).to_vector());
}

TEST_CASE("training state: a missing, mismatched or foreign file is refused", "[train_mlp]") {
  Setup s;
  const fs::path dir = scratch("refused");
  const fs::path model = dir / "model.safetensors";
  const Progress progress{.epoch = 2};
  const std::vector<std::string> names = parameter_names(s.sgd, s.net);
  save_checkpoint(s.net, model, s.info(progress), s.state(progress), names);
  const CheckpointInfo info = read_checkpoint_info(model);

  SECTION("other parameters") {
    std::vector<std::string> other = names;
    other.pop_back();
    CHECK_THROWS_WITH(read_training_state(model, info, other),
                      Catch::Contains("expected optimizer state for the parameters [0.weight,"));
  }
  SECTION("a model file of another step (a crash between the two writes)") {
    CheckpointInfo later = info;
    later.progress.epoch = 3;
    CHECK_THROWS_WITH(
        read_training_state(model, later, names),
        Catch::Contains("is of the end of epoch 2, but model.safetensors of the end of "
                        "epoch 3"));
  }
  SECTION("no training state") {
    fs::remove(training_state_path(model));
    CHECK_THROWS_WITH(read_training_state(model, info, names),
                      Catch::Contains("missing: an exact resume needs the training state"));
    CHECK_FALSE(read_run_config(model).has_value());
  }
  SECTION("a safetensors file of something else") {
    mg::safetensors::File foreign;
    foreign.metadata["format"] = "something else";
    mg::safetensors::write_file(training_state_path(model).string(), foreign);
    CHECK_THROWS_WITH(read_training_state(model, info, names),
                      Catch::Contains("expected metadata \"format_version\", missing"));
  }
}

TEST_CASE("training state: counters that disagree with each other or the run are refused",
          "[train_mlp]") {
  Setup s;  // its schedule has stepped once: the end of epoch 1
  const fs::path model = fs::path("run") / "model.safetensors";
  TrainingState good = s.state({.epoch = 1});
  good.config["--epochs"] = "3";
  check_counters(good, 5, model);
  TrainingState midway = good;
  midway.progress = {.epoch = 1, .step = 4, .loss_sum = 3.5};
  check_counters(midway, 5, model);

  auto refused = [&](const TrainingState& state, const std::string& message) {
    CHECK_THROWS_WITH(check_counters(state, 5, model),
                      "run/training_state.safetensors: " + message);
  };
  TrainingState bad = good;
  bad.loader_epoch = 2;
  refused(bad,
          "holds the data loader's epoch 2 but a progress of the end of epoch 1; expected "
          "loader.epoch 1");
  bad = good;
  bad.schedule.integers["last_epoch"] = 0;
  refused(bad,
          "holds a schedule at last_epoch 0 (_step_count 2) but a progress of the end of epoch 1; "
          "expected last_epoch 1 (_step_count 2)");
  bad = midway;
  bad.progress.step = 1'000'000'000;
  refused(bad,
          "holds a progress of step 1000000000 of epoch 2, but an epoch of this run has 5 steps");
  bad = midway;
  bad.progress.step = 5;
  refused(bad, "holds a progress of step 5 of epoch 2, but an epoch of this run has 5 steps");
  bad = good;
  bad.progress.loss_sum = 2;
  refused(bad, "holds a loss sum of 2 at the end of epoch 1; expected 0 at an epoch's end");
  bad = midway;
  bad.progress.loss_sum = -1;
  refused(bad,
          "holds a loss sum of -1 at step 4 of epoch 2; expected a sum of cross-entropies, >= 0");
  bad = good;
  bad.config["--epochs"] = "0";
  refused(bad, "expected the run's --epochs (a whole number >= 1) among its saved flags, got '0'");
  bad = midway;
  bad.config["--epochs"] = "1";
  refused(bad, "holds a progress of step 4 of epoch 2, beyond the run's --epochs 1");
}

TEST_CASE("run configuration: the new flags round-trip, a checkpoint without them is relu/0/sgd",
          "[train_mlp]") {
  Config c;
  c.activation = "gelu", c.dropout = 0.25, c.optimizer = "adamw";
  std::map<std::string, std::string> saved = run_config(c);
  CHECK(saved.at("--activation") == "gelu");
  CHECK(saved.at("--dropout") == "0.25");
  CHECK(saved.at("--optimizer") == "adamw");
  Config back;
  apply_run_config(back, saved, "run/training_state.safetensors");
  CHECK(run_config(back) == saved);

  // Written before the flags existed: the run had ReLU, no Dropout and SGD.
  for (const char* flag : {"--activation", "--dropout", "--optimizer"}) saved.erase(flag);
  apply_run_config(back, saved, "run/training_state.safetensors");
  CHECK(back.activation == "relu");
  CHECK(back.dropout == 0);
  CHECK(back.optimizer == "sgd");
}

TEST_CASE("run configuration: the saved flags pass exactly the command line's checks",
          "[train_mlp]") {
  Config c;
  c.samples = 200, c.hidden = {8}, c.optimizer = "adamw";  // --momentum is saved all the same
  const std::map<std::string, std::string> good = run_config(c);
  const std::string file = "run/training_state.safetensors";
  Config back;
  apply_run_config(back, good, file);
  CHECK(run_config(back) == good);

  // Each edit, and the message it must give: the file, the flag and the command line's words.
  const std::string fails = file + ": the run's flags saved there fail the command line's checks: ";
  const std::vector<std::tuple<std::string, std::string, std::string>> edits = {
      {"--samples", "99999999999", "--samples: Value 99999999999 not in range 10 to 10000000"},
      {"--dataset", "nosuch", "--dataset: nosuch not in {spirals,moons,blobs,circles}"},
      {"--epochs", "abc", "--epochs: Value abc not in range 1 to 100000"},
      {"--batch-size", "1", "--batch-size: Value 1 not in range 2 to 1000000"},
      {"--batch-size", "500", "--batch-size: expected at most the 161 training samples, got 500"},
      {"--seed", "-1", "--seed: Value -1 is not a non-negative integer"},
      {"--momentum", "5", "--momentum: Value 5 not in [0, 0.999]"},
      {"--hidden", "8,,8", "--hidden: an empty width in '8,,8': expected widths like 64,64"},
      {"--activation", "swish", "--activation: swish not in {relu,tanh,gelu}"},
      {"--dropout", "1", "--dropout: Value 1 not in [0, 1)"},
      {"--optimizer", "adam", "--optimizer: adam not in {sgd,adamw}"},
      {"--classes", "99", "--classes: Value 99 not in range 2 to 64"},
      {"--lr", "nan", "--lr: Value nan not in (0, 100]"},
  };
  for (const auto& [flag, value, message] : edits) {
    std::map<std::string, std::string> bad = good;
    bad[flag] = value;
    Config unchanged = back;
    CHECK_THROWS_WITH(apply_run_config(unchanged, bad, file), fails + message);
    CHECK(run_config(unchanged) == good);
  }
  std::map<std::string, std::string> bad = good;
  bad["--no-bn"] = "maybe";
  CHECK_THROWS_WITH(apply_run_config(back, bad, file),
                    file +
                        ": the run's flags saved there have --no-bn maybe, expected true or "
                        "false");
  bad = good;
  bad.erase("--dataset");
  CHECK_THROWS_WITH(apply_run_config(back, bad, file),
                    file + ": the run's flags saved there have no --dataset");
  bad = good;
  bad["--resume"] = "elsewhere";
  CHECK_THROWS_WITH(apply_run_config(back, bad, file),
                    Catch::Contains("hold --resume elsewhere, which is not a flag that defines"));
  bad = good;
  bad["--dataset"] = "moons", bad["--classes"] = "3";
  CHECK_THROWS_WITH(apply_run_config(back, bad, file),
                    fails + "--classes: moons has 2 classes, got --classes 3");
}

TEST_CASE("train_epoch: an epoch resumed after k steps ends as an uninterrupted one",
          "[train_mlp]") {
  const mg::data::Dataset ds = mg::data::make_blobs(64, 3, 0.5, 4);
  auto fresh = [&](mg::nn::Sequential& net) {
    mg::Generator gen(5);
    net = examples::make_mlp({.inputs = 2, .hidden = {8}, .classes = 3}, gen);
  };
  mg::nn::Sequential a, b;
  fresh(a);
  fresh(b);
  mg::optim::SGD sgd_a(a.parameters(), {.lr = 0.1, .momentum = 0.9});
  mg::optim::SGD sgd_b(b.parameters(), {.lr = 0.1, .momentum = 0.9});
  mg::data::DataLoader loader_a(ds, {.batch_size = 8, .seed = 6});
  mg::data::DataLoader loader_b(ds, {.batch_size = 8, .seed = 6});
  const examples::EpochResult whole = examples::train_epoch(a, loader_a, sgd_a);
  // b stops after step 3 (as a signal would), then the same epoch is drawn again and continued.
  examples::EpochHooks stop_at_3;
  stop_at_3.after_step = [](int64_t step, double) { return step < 3; };
  const examples::EpochResult first = examples::train_epoch(b, loader_b, sgd_b, stop_at_3);
  CHECK(first.stopped);
  CHECK(first.steps == 3);
  loader_b.set_epoch(loader_b.epoch() - 1);
  const examples::EpochResult rest = examples::train_epoch(b, loader_b, sgd_b, {}, first);
  CHECK_FALSE(rest.stopped);
  CHECK(rest.steps == whole.steps);
  CHECK(rest.loss_sum == whole.loss_sum);
  for (std::size_t i = 0; i < a.parameters().size(); ++i)
    CHECK(a.parameters()[i].to_vector() == b.parameters()[i].to_vector());
}

TEST_CASE("write_text and Svg::save: a full disk stops them and the old file stays",
          "[train_mlp]") {
  const fs::path dir = scratch("full_disk");
  const fs::path file = dir / "metrics.csv";
  write_text(file, "epoch\n1\n");
  // The new text goes beside the file first: pointed at /dev/full, that write meets a full disk.
  auto fill_disk = [&](const fs::path& path) {
    fs::create_symlink("/dev/full", fs::path(path.string() + ".partial"));
  };
  fill_disk(file);
  CHECK_THROWS_WITH(write_text(file, "epoch\n1\n2\n"),
                    "cannot write " + file.string() + ": No space left on device");
  CHECK_FALSE(fs::exists(fs::symlink_status(fs::path(file.string() + ".partial"))));
  std::ifstream in(file);
  const std::string kept((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(kept == "epoch\n1\n");

  const fs::path svg = dir / "loss.svg";
  examples::Svg(10, 10).save(svg);
  const auto size = fs::file_size(svg);
  fill_disk(svg);
  CHECK_THROWS_WITH(examples::Svg(20, 20).save(svg),
                    "cannot write " + svg.string() + ": No space left on device");
  CHECK(fs::file_size(svg) == size);

  StepLog log("/dev/full");
  CHECK_THROWS_WITH(log.append("1,1,0.5\n"),
                    "--log-steps: cannot write /dev/full: No space left on device");
  CHECK_THROWS_WITH(StepLog(dir), "--log-steps: cannot open " + dir.string() + ": Is a directory");
}

TEST_CASE("fit_number: fixed-point when it fits and shows the value, scientific otherwise",
          "[train_mlp]") {
  CHECK(fit_number(0.41234, 9, 4) == "   0.4123");
  CHECK(fit_number(0, 9, 5) == "  0.00000");
  CHECK(fit_number(11246288566.6, 9, 4) == "1.125e+10");
  CHECK(fit_number(3e-7, 9, 5) == "3.000e-07");
  CHECK(fit_number(-2.5e12, 9, 4) == "-2.50e+12");
  CHECK(fit_number(1234.5678, 7, 4) == "1.2e+03");
  CHECK(fit_number(0.00086, 7, 4) == " 0.0009");
  for (double v : {1e-300, 0.5, 7.0, 1e5, 1e200, -1e-9}) CHECK(fit_number(v, 9, 4).size() == 9);
}

TEST_CASE("chart axes: whole-number epoch ticks, log scale across decades", "[train_mlp]") {
  CHECK(examples::nice_ticks(1, 3) == std::vector<double>{1, 1.5, 2, 2.5, 3});
  CHECK(examples::nice_ticks(1, 3, 5, true) == std::vector<double>{1, 2, 3});
  CHECK(examples::nice_ticks(1, 25, 5, true) == std::vector<double>{5, 10, 15, 20, 25});
  CHECK(examples::spans_decades({1.2, 0.4, 0.05}) == false);
  CHECK(examples::spans_decades({1.1e10, 3.0, 1.0}));
  CHECK_FALSE(examples::spans_decades({0.0, -1.0, 5.0}));
}

TEST_CASE("training_points: the size train_test_split gives the training set", "[train_mlp]") {
  for (const auto& [samples, classes] :
       {std::pair<int64_t, int64_t>{12, 3}, {1500, 3}, {10, 2}, {101, 7}, {800, 3}}) {
    const auto [train, test] =
        mg::data::train_test_split(mg::data::make_blobs(samples, classes, 0.5, 1), 0.2, 1);
    CHECK(training_points(samples, classes, 0.2) == train.size());
  }
  CHECK(training_points(12, 3, 0.2) == 9);  // not 12 - round(2.4) = 10
}
