#include "trainer.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "common/training.hpp"
#include "plots.hpp"
#include "run_files.hpp"

namespace train_mlp {
int stop_signal();
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
    // x0.1 every ceil(epochs / 3) epochs: with 10, from epoch 5 and again from epoch 9
    return std::make_unique<mg::optim::StepLR>(optimizer, std::max<int64_t>(1, (c.epochs + 2) / 3),
                                               0.1);
  }
  if (c.schedule == "cosine")
    return std::make_unique<mg::optim::CosineAnnealingLR>(optimizer, c.epochs);
  return nullptr;
}

std::unique_ptr<mg::optim::Optimizer> make_optimizer(const Config& c, mg::nn::Sequential& net) {
  return examples::make_optimizer(
      {.name = c.optimizer, .lr = c.lr, .weight_decay = c.weight_decay, .momentum = c.momentum},
      net);
}

// The stream every Dropout layer of `net` draws its masks from (make_mlp gives them one), or
// null without Dropout.
mg::Generator* dropout_stream_of(mg::nn::Sequential& net) {
  const auto generators = net.named_generators();
  return generators.empty() ? nullptr : generators.front().second;
}

// Dropout's masks in epoch e on process r come from a stream seeded by (seed, e, r) alone, as
// the batch order comes from (seed, e): a run resumed at an epoch's end, with any number of
// processes, draws the masks an uninterrupted run with that many processes draws. Each process
// draws its own masks for its own points.
mg::Generator dropout_stream_for(uint64_t seed, int64_t epoch, int rank) {
  return mg::Generator(seed ^ 0x64726f706f7574ULL ^  // "dropout"
                       (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(epoch)) ^
                       (0xbf58476d1ce4e5b9ULL * static_cast<uint64_t>(rank + 1)));
}

// Every process's state of `stream`, in rank order (a world of one: this one's). The words go
// through all_gather as 32-bit halves, which a double holds exactly.
std::vector<mg::Generator::State> gather_states(const mg::Generator& stream) {
  const std::array<uint64_t, 6> words = stream.state().to_words();
  std::array<double, 12> halves{};
  for (std::size_t i = 0; i < words.size(); ++i) {
    halves[2 * i] = static_cast<double>(words[i] >> 32);
    halves[2 * i + 1] = static_cast<double>(words[i] & 0xffffffffULL);
  }
  const std::vector<double> all = mg::dist::all_gather(std::span<const double>(halves));
  std::vector<mg::Generator::State> states;
  for (std::size_t at = 0; at < all.size(); at += halves.size()) {
    std::array<uint64_t, 6> w{};
    for (std::size_t i = 0; i < w.size(); ++i) {
      w[i] = (static_cast<uint64_t>(all[at + 2 * i]) << 32) |
             static_cast<uint64_t>(all[at + 2 * i + 1]);
    }
    states.push_back(mg::Generator::State::from_words(w));
  }
  return states;
}

// A loss this far above that of guessing every class equally likely (ln K) means the weights
// are running away, even while it is still a finite number.
constexpr double kExplodingFactor = 100;

// Data parallelism (mpirun -np P): every process trains on its shard of each batch, and these
// collectives keep them in step. Each is the identity in a world of one.

// The mean over the processes of each one's `local` (its batch's mean loss): the loss of the
// whole step, the same number on every process.
double mean_over_processes(double local) {
  if (mg::dist::world_size() == 1) return local;
  double value[1] = {local};
  mg::dist::all_reduce_sum(std::span<double>(value));
  return value[0] / mg::dist::world_size();
}

// The signal any process has received (the largest), so that all stop after the same step.
int signal_anywhere() {
  if (mg::dist::world_size() == 1) return stop_signal();
  const double mine[1] = {static_cast<double>(stop_signal())};
  const std::vector<double> all = mg::dist::all_gather(std::span<const double>(mine));
  return static_cast<int>(*std::max_element(all.begin(), all.end()));
}

// How many parameter values differ, bit for bit, from process 0's, summed over the processes:
// 0 when data parallelism kept every copy of the network in step.
int64_t values_differing_from_first(mg::nn::Sequential& net) {
  double differing = 0;
  for (const mg::Tensor& p : net.parameters()) {
    std::vector<float> first(p.data(), p.data() + p.numel());
    mg::dist::broadcast(std::span<float>(first), 0);
    for (std::size_t i = 0; i < first.size(); ++i)
      differing += std::memcmp(&first[i], p.data() + i, sizeof(float)) != 0 ? 1 : 0;
  }
  double total[1] = {differing};
  mg::dist::all_reduce_sum(std::span<double>(total));
  return static_cast<int64_t>(total[0]);
}

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
      // Under mpirun each process draws its shard of every batch: the batches of all P together
      // are those of one process with P times the batch size.
      loader_(data.train, {.batch_size = c.batch_size,
                           .drop_last = true,
                           .seed = c.seed,
                           .num_replicas = mg::dist::world_size(),
                           .rank = mg::dist::rank()}),
      names_(parameter_names(*optimizer_, net)),
      dropout_stream_(dropout_stream_of(net)) {}

void Trainer::restore(const std::filesystem::path& model_file) {
  const CheckpointInfo info = read_checkpoint_info(model_file);
  const TrainingState state = read_training_state(model_file, info, names_);
  // Steps are counted in batches of all processes together: a checkpoint taken in the middle of
  // an epoch (by a signal) continues only with as many processes as wrote it.
  const auto saved_processes = state.config.find("processes");
  const std::string processes =
      saved_processes == state.config.end() ? "1" : saved_processes->second;
  if (state.progress.step > 0 && processes != std::to_string(mg::dist::world_size())) {
    throw std::runtime_error(fmt::format(
        "{}: saved in the middle of epoch {} (after step {}) by {} process(es); such a checkpoint "
        "resumes only with as many (mpirun -np {}), not {}. A checkpoint from the end of an "
        "epoch resumes with any number.",
        model_file.string(), state.progress.epoch + 1, state.progress.step, processes, processes,
        mg::dist::world_size()));
  }
  check_counters(state, loader_.num_batches(), model_file);
  if (state.schedule.reals.empty() != (schedule_ == nullptr)) {
    throw std::runtime_error(fmt::format("{}: expected {} schedule state, got {}",
                                         training_state_path(model_file).string(),
                                         schedule_ ? "a" : "no", schedule_ ? "none" : "one"));
  }
  // In the middle of an epoch Dropout continues this process's stream where it stopped (at an
  // epoch's end the next epoch seeds its own).
  const std::string stream = fmt::format("dropout.{}", mg::dist::rank());
  const bool continue_stream = dropout_stream_ && state.progress.step > 0;
  if (continue_stream && !state.generators.contains(stream)) {
    throw std::runtime_error(fmt::format("{}: expected the state of Dropout's stream '{}', missing",
                                         training_state_path(model_file).string(), stream));
  }
  // Every load checks its whole input before it changes anything.
  mg::load(net_, model_file.string());
  optimizer_->load_state_dict(state.optimizer);
  if (schedule_) schedule_->load_state_dict(state.schedule);
  loader_.set_epoch(state.loader_epoch);
  if (continue_stream) dropout_stream_->set_state(state.generators.at(stream));
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
  state.config["processes"] = std::to_string(mg::dist::world_size());  // mpirun -np
  state.optimizer = optimizer_->state_dict();
  if (schedule_) state.schedule = schedule_->state_dict();
  // In the middle of an epoch the loader has started it: a resume draws the same epoch again.
  state.loader_epoch = progress_.step > 0 ? loader_.epoch() - 1 : loader_.epoch();
  return state;
}

void Trainer::save(const std::filesystem::path& model_file) const {
  // Every process's Dropout stream is its own: all of them take part in gathering them.
  std::vector<mg::Generator::State> streams;
  if (dropout_stream_) streams = gather_states(*dropout_stream_);
  if (mg::dist::rank() != 0) return;  // one writer; every process holds the same other state
  const CheckpointInfo info{.dataset = c_.dataset,
                            .classes = c_.classes,
                            .hidden = c_.hidden,
                            .batchnorm = c_.batchnorm,
                            .activation = c_.activation,
                            .dropout = c_.dropout,
                            .progress = progress_};
  TrainingState state = capture();
  for (std::size_t r = 0; r < streams.size(); ++r)
    state.generators[fmt::format("dropout.{}", r)] = streams[r];
  save_checkpoint(net_, model_file, info, state, names_);
}

RunResult Trainer::run(const std::filesystem::path& dir, Console& console, StepLog* step_log) {
  const std::filesystem::path checkpoint = dir / "model.safetensors";
  const std::string what =
      fmt::format("{} {}", c_.dataset, c_.batchnorm ? "with BatchNorm" : "without BatchNorm");
  RunResult result;
  const bool writes = mg::dist::rank() == 0;  // the other processes write nothing
  mg::dist::broadcast_parameters(net_);       // every process starts from the same weights
  const int64_t steps = loader_.num_batches();
  const int64_t first_epoch = progress_.epoch + 1;
  // What to say about the weights when training stops early.
  auto last_good = [&]() {
    if (last_checkpoint_.empty()) return std::string("No checkpoint was written.");
    const CheckpointInfo info = read_checkpoint_info(last_checkpoint_);
    return fmt::format("The last good checkpoint is {} (at {}).", last_checkpoint_.string(),
                       describe(info.progress));
  };
  auto how_to_resume = [&]() {
    return fmt::format("Resume with: train_mlp --resume {} (add --epochs N to train longer)",
                       checkpoint.string());
  };

  for (int64_t epoch = first_epoch; epoch <= c_.epochs && !result.stopped; ++epoch) {
    const Clock::time_point epoch_start = Clock::now();
    EpochMetrics m{.epoch = epoch, .lr = optimizer_->lr(0)};
    if (dropout_stream_ && progress_.step == 0)  // a fresh epoch (not one resumed midway)
      *dropout_stream_ = dropout_stream_for(c_.seed, epoch, mg::dist::rank());
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
    hooks.reduce_loss = mean_over_processes;
    if (mg::dist::world_size() > 1)
      hooks.after_backward = [&]() { mg::dist::average_gradients(net_); };
    hooks.before_backward = [&](const mg::Tensor& loss, double value, int64_t at) {
      step = at;
      if (step_log) {
        try {
          step_log->append(fmt::format("{},{},{:.9g}\n", epoch, at, value));
        } catch (const std::runtime_error& e) {  // a log that silently ends would mislead
          throw std::runtime_error(fmt::format("{}; training stopped at epoch {}, step {}/{}. {}",
                                               e.what(), epoch, at, steps, last_good()));
        }
      }
      if (!std::isfinite(value)) {
        stop(fmt::format("the loss is {} (try a smaller --lr)", std::isnan(value) ? "NaN" : "Inf"));
        return false;
      }
      if (writes && epoch == first_epoch && at == done_before.steps + 1)
        write_graph_dot(dir / "graph.dot", loss, net_.named_parameters());
      return true;
    };
    hooks.after_step = [&](int64_t at, double mean_loss) {
      done = at;
      console.progress(epoch, c_.epochs, at, steps, mean_loss);
      return signal_anywhere() == 0;
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
      result.signal = signal_anywhere();
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
    if (writes) {
      write_metrics_csv(dir / "metrics.csv", history_);
      write_timing_csv(dir / "timing.csv", history_);
    }
    console.table_row(m);
    const int signal = signal_anywhere();
    if (exploding) {
      step = steps;
      stop(fmt::format(
          "the mean training loss {:.4g} is over {:g} times that of guessing every class equally "
          "likely ({:.2f}): the weights are diverging. The likely cause is a learning rate too "
          "large for this network: try a smaller --lr (this run: {:g}){}",
          m.train_loss, kExplodingFactor, std::log(static_cast<double>(c_.classes)), c_.lr,
          c_.batchnorm ? "" : " or leave BatchNorm in (no --no-bn)"));
    } else if (signal != 0 && epoch < c_.epochs) {  // arrived during the evaluation
      result.stopped = true;
      result.signal = signal;
      result.stop_message =
          fmt::format("Stopped by {} after epoch {}: the checkpoint {} holds it.\n{}",
                      result.signal == SIGINT ? "SIGINT" : "SIGTERM", epoch, checkpoint.string(),
                      how_to_resume());
    }
  }
  result.history = history_;
  if (mg::dist::world_size() > 1) result.values_differing = values_differing_from_first(net_);
  if (!writes) return result;
  write_metrics_csv(dir / "metrics.csv", history_);
  write_timing_csv(dir / "timing.csv", history_);
  write_loss_svg(dir / "loss.svg", history_, fmt::format("train_mlp: {}", what));
  const double acc = history_.empty() ? 0 : history_.back().test_acc;
  write_boundary_svg(dir / "boundary.svg", net_, data_.train, data_.test,
                     fmt::format("Decision regions, {}: {:.1f}% test accuracy", what, 100 * acc));
  return result;
}

}  // namespace train_mlp
