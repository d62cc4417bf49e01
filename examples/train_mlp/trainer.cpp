#include "trainer.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "common/training.hpp"
#include "plots.hpp"
#include "run_files.hpp"

namespace train_mlp {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::atomic<int> g_stop_signal{0};

extern "C" void on_stop_signal(int signal) {
  g_stop_signal.store(signal);
}

// none: a constant lr; step: x0.1 after each third of the epochs; cosine: down to 0 at the end.
std::unique_ptr<mg::optim::LRScheduler> make_schedule(const Config& c,
                                                      mg::optim::Optimizer& optimizer) {
  if (c.schedule == "step") {
    return std::make_unique<mg::optim::StepLR>(optimizer, std::max<int64_t>(1, c.epochs / 3), 0.1);
  }
  if (c.schedule == "cosine")
    return std::make_unique<mg::optim::CosineAnnealingLR>(optimizer, c.epochs);
  return nullptr;
}

std::unique_ptr<mg::optim::Optimizer> make_optimizer(const Config& c, mg::nn::Sequential& net) {
  return std::make_unique<mg::optim::SGD>(
      examples::param_groups(net, c.weight_decay),
      mg::optim::SGDOptions{.lr = c.lr, .momentum = c.momentum, .weight_decay = c.weight_decay});
}

// A loss this far above that of guessing every class equally likely (ln K) means the weights
// are running away, even while it is still a finite number.
constexpr double kExplodingFactor = 100;

}  // namespace

Split make_split(const Config& c) {
  const double noise = c.noise_or_default();
  mg::data::Dataset all;
  if (c.dataset == "spirals") all = mg::data::make_spirals(c.samples, c.classes, noise, c.seed);
  if (c.dataset == "moons") all = mg::data::make_moons(c.samples, noise, c.seed);
  if (c.dataset == "blobs") all = mg::data::make_blobs(c.samples, c.classes, noise, c.seed);
  if (c.dataset == "circles") all = mg::data::make_circles(c.samples, c.classes, noise, c.seed);
  auto [train, test] = mg::data::train_test_split(all, c.test_fraction, c.seed);
  return {std::move(train), std::move(test)};
}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;  // a second Ctrl-C ends the process at once
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int stop_signal() {
  return g_stop_signal.load();
}

Trainer::Trainer(const Config& c, const Split& data, mg::nn::Sequential& net,
                 const examples::MlpSpec& spec)
    : c_(c),
      data_(data),
      net_(net),
      spec_(spec),
      optimizer_(make_optimizer(c, net)),
      schedule_(make_schedule(c, *optimizer_)),
      // drop_last: a last batch of a single sample would leave BatchNorm one value per
      // feature, and a batch that small is a poor gradient estimate anyway.
      loader_(data.train, {.batch_size = c.batch_size, .drop_last = true, .seed = c.seed}),
      names_(parameter_names(*optimizer_, net)) {}

void Trainer::restore(const std::filesystem::path& model_file) {
  const CheckpointInfo info = read_checkpoint_info(model_file);
  const TrainingState state = read_training_state(model_file, info, names_);
  if (state.schedule.reals.empty() != (schedule_ == nullptr)) {
    throw std::runtime_error(fmt::format("{}: expected {} schedule state, got {}",
                                         training_state_path(model_file).string(),
                                         schedule_ ? "a" : "no", schedule_ ? "none" : "one"));
  }
  // Every load checks its whole input before it changes anything.
  mg::load(net_, model_file.string());
  optimizer_->load_state_dict(state.optimizer);
  if (schedule_) schedule_->load_state_dict(state.schedule);
  loader_.set_epoch(state.loader_epoch);
  progress_ = state.progress;
  history_ = read_history(model_file.parent_path(), progress_.epoch);
  last_checkpoint_ = model_file;
  // As PyTorch's load_state_dict does, the schedule keeps the settings it was saved with.
  const auto t_max = state.schedule.integers.find("T_max");
  if (c_.schedule == "cosine" && t_max != state.schedule.integers.end() &&
      t_max->second < c_.epochs) {
    notes_.push_back(fmt::format(
        "Note: the cosine schedule keeps the checkpoint's T_max = {} epochs (as PyTorch's "
        "load_state_dict does), so after epoch {} its lr rises again. To anneal over {} epochs, "
        "start a new run with --epochs {}.",
        t_max->second, t_max->second, c_.epochs, c_.epochs));
  }
}

TrainingState Trainer::capture() const {
  TrainingState state;
  state.progress = progress_;
  state.config = run_config(c_);
  state.optimizer = optimizer_->state_dict();
  if (schedule_) state.schedule = schedule_->state_dict();
  // In the middle of an epoch the loader has started it: a resume draws the same epoch again.
  state.loader_epoch = progress_.step > 0 ? loader_.epoch() - 1 : loader_.epoch();
  return state;
}

void Trainer::save(const std::filesystem::path& model_file) const {
  const CheckpointInfo info{.dataset = c_.dataset,
                            .classes = c_.classes,
                            .hidden = c_.hidden,
                            .batchnorm = c_.batchnorm,
                            .progress = progress_};
  save_checkpoint(net_, model_file, info, capture(), names_);
}

RunResult Trainer::run(const std::filesystem::path& dir, Console& console) {
  const std::filesystem::path checkpoint = dir / "model.safetensors";
  const std::string what =
      fmt::format("{} {}", c_.dataset, c_.batchnorm ? "with BatchNorm" : "without BatchNorm");
  RunResult result;
  const int64_t steps = loader_.num_batches();
  const int64_t first_epoch = progress_.epoch + 1;
  // What to say about the weights when training stops early.
  auto last_good = [&]() {
    if (last_checkpoint_.empty()) return std::string("No checkpoint was written.");
    const CheckpointInfo info = read_checkpoint_info(last_checkpoint_);
    return fmt::format("The last good checkpoint is {} (epoch {}{}).", last_checkpoint_.string(),
                       info.progress.epoch,
                       info.progress.step ? fmt::format(", step {}", info.progress.step) : "");
  };
  auto how_to_resume = [&]() {
    return fmt::format("Resume with: train_mlp --resume {} (add --epochs N to train longer)",
                       checkpoint.string());
  };

  for (int64_t epoch = first_epoch; epoch <= c_.epochs && !result.stopped; ++epoch) {
    const Clock::time_point epoch_start = Clock::now();
    EpochMetrics m{.epoch = epoch, .lr = optimizer_->lr(0)};
    // A run resumed in the middle of an epoch continues that epoch's steps and loss sum.
    const examples::EpochResult done_before{.loss_sum = progress_.loss_sum,
                                            .steps = progress_.step};
    int64_t step = progress_.step, done = progress_.step;  // the running step, the steps finished
    auto stop = [&](const std::string& why) {
      result.stopped = true;
      result.stop_message = fmt::format("Training stopped at epoch {}, step {}/{}: {}. {}", epoch,
                                        step, steps, why, last_good());
    };
    examples::EpochHooks hooks;
    hooks.before_backward = [&](const mg::Tensor& loss, int64_t at) {
      step = at;
      const double value = loss.item();
      if (!std::isfinite(value)) {
        stop(fmt::format("the loss is {} (try a smaller --lr)", std::isnan(value) ? "NaN" : "Inf"));
        return false;
      }
      if (epoch == first_epoch && at == done_before.steps + 1)
        write_graph_dot(dir / "graph.dot", loss, net_.named_parameters());
      return true;
    };
    hooks.after_step = [&](int64_t at, double mean_loss) {
      done = at;
      console.progress(epoch, c_.epochs, at, steps, mean_loss);
      return stop_signal() == 0;
    };
    examples::EpochResult trained;
    try {
      // Anomaly mode covers the training steps only: evaluation and plots of a network that
      // has gone bad should still be written.
      std::optional<mg::DetectAnomalyGuard> anomaly;
      if (c_.detect_anomaly) anomaly.emplace();
      trained = examples::train_epoch(net_, loader_, *optimizer_, hooks, done_before);
    } catch (const mg::AnomalyError& e) {
      step = done + 1;  // the forward or the backward of the next step failed
      stop(fmt::format("anomaly detection found a NaN/Inf: {}", e.what()));
    }
    if (result.stopped) break;
    if (trained.stopped) {  // a signal, after step `done`: save the middle of the epoch
      progress_ = {.epoch = epoch - 1, .step = done, .loss_sum = trained.loss_sum};
      save(checkpoint);
      last_checkpoint_ = checkpoint;
      result.stopped = true;
      result.signal = stop_signal();
      result.stop_message = fmt::format(
          "Stopped by {} at epoch {}, step {}/{}: the checkpoint {} holds this step.\n{}",
          result.signal == SIGINT ? "SIGINT" : "SIGTERM", epoch, done, steps, checkpoint.string(),
          how_to_resume());
      break;
    }
    if (schedule_) schedule_->step();
    m.train_loss = trained.mean_loss();
    m.train_acc = examples::evaluate(net_, data_.train).accuracy;
    const examples::Evaluation test = examples::evaluate(net_, data_.test);
    m.test_loss = test.loss;
    m.test_acc = test.accuracy;
    const double explode_at = kExplodingFactor * std::log(static_cast<double>(c_.classes));
    const bool exploding = m.train_loss > explode_at;
    if (!exploding) {
      progress_ = {.epoch = epoch, .step = 0, .loss_sum = 0};
      save(checkpoint);
      last_checkpoint_ = checkpoint;
    }
    m.seconds = seconds_since(epoch_start);
    history_.push_back(m);
    result.seconds += m.seconds;
    write_metrics_csv(dir / "metrics.csv", history_);
    write_timing_csv(dir / "timing.csv", history_);
    console.table_row(m);
    if (exploding) {
      step = steps;
      stop(fmt::format(
          "the mean training loss {:.4g} is over {:g} times that of guessing every class equally "
          "likely ({:.2f}): the weights are diverging. The likely cause is a learning rate too "
          "large for this network: try a smaller --lr (this run: {:g}){}",
          m.train_loss, kExplodingFactor, std::log(static_cast<double>(c_.classes)), c_.lr,
          c_.batchnorm ? "" : " or leave BatchNorm in (no --no-bn)"));
    } else if (stop_signal() != 0 && epoch < c_.epochs) {  // arrived during the evaluation
      result.stopped = true;
      result.signal = stop_signal();
      result.stop_message =
          fmt::format("Stopped by {} after epoch {}: the checkpoint {} holds it.\n{}",
                      result.signal == SIGINT ? "SIGINT" : "SIGTERM", epoch, checkpoint.string(),
                      how_to_resume());
    }
  }
  result.history = history_;
  write_metrics_csv(dir / "metrics.csv", history_);
  write_timing_csv(dir / "timing.csv", history_);
  write_loss_svg(dir / "loss.svg", history_, fmt::format("train_mlp: {}", what));
  const double acc = history_.empty() ? 0 : history_.back().test_acc;
  write_boundary_svg(dir / "boundary.svg", net_, data_.train, data_.test,
                     fmt::format("Decision regions, {}: {:.1f}% test accuracy", what, 100 * acc));
  return result;
}

}  // namespace train_mlp
