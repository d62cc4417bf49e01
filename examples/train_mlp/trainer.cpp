#include "trainer.hpp"

#include <chrono>
#include <cmath>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "common/mlp.hpp"
#include "common/training.hpp"
#include "plots.hpp"
#include "run_files.hpp"

namespace train_mlp {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// none: a constant lr; step: x0.1 after each third of the epochs; cosine: down to 0 at the end.
std::unique_ptr<mg::optim::LRScheduler> make_schedule(const Config& c, mg::optim::SGD& sgd) {
  if (c.schedule == "step")
    return std::make_unique<mg::optim::StepLR>(sgd, std::max<int64_t>(1, c.epochs / 3), 0.1);
  if (c.schedule == "cosine") return std::make_unique<mg::optim::CosineAnnealingLR>(sgd, c.epochs);
  return nullptr;
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

RunResult train(const Config& c, const Split& data, mg::nn::Sequential& net, bool batchnorm,
                int64_t start_epoch, const std::filesystem::path& dir, Console& console) {
  const Clock::time_point run_start = Clock::now();
  mg::optim::SGD sgd(examples::param_groups(net, c.weight_decay),
                     {.lr = c.lr, .momentum = c.momentum, .weight_decay = c.weight_decay});
  std::unique_ptr<mg::optim::LRScheduler> schedule = make_schedule(c, sgd);
  for (int64_t e = 0; e < start_epoch && schedule; ++e) schedule->step();  // a resumed run's lr
  // drop_last: a last batch of a single sample would leave BatchNorm one value per feature, and
  // a batch that small is a poor gradient estimate anyway.
  mg::data::DataLoader loader(data.train,
                              {.batch_size = c.batch_size, .drop_last = true, .seed = c.seed});
  loader.set_epoch(start_epoch);
  const std::filesystem::path checkpoint = dir / "model.safetensors";
  const CheckpointInfo info{c.dataset, c.classes, c.hidden, batchnorm, 0};

  RunResult result;
  const int64_t steps = loader.num_batches();
  for (int64_t epoch = start_epoch + 1; epoch <= c.epochs && !result.stopped; ++epoch) {
    const Clock::time_point epoch_start = Clock::now();
    EpochMetrics m{.epoch = epoch, .lr = sgd.lr(0)};
    // Where training stops, if it must: the last checkpoint is the previous epoch's.
    int64_t step = 0, done = 0;  // the step that is running, the steps finished
    auto stop = [&](const std::string& what) {
      result.stopped = true;
      result.stop_message =
          fmt::format("Training stopped at epoch {}, step {}/{}: {}. {}", epoch, step, steps, what,
                      epoch > 1 ? fmt::format("The last good checkpoint is {} (epoch {}).",
                                              checkpoint.string(), epoch - 1)
                                : std::string("No checkpoint was written (no epoch finished)."));
    };
    examples::EpochHooks hooks;
    hooks.before_backward = [&](const mg::Tensor& loss, int64_t at) {
      step = at;
      const double value = loss.item();
      if (!std::isfinite(value)) {
        stop(fmt::format("the loss is {} (try a smaller --lr)", std::isnan(value) ? "NaN" : "Inf"));
        return false;
      }
      if (epoch == start_epoch + 1 && step == 1) write_graph_dot(dir / "graph.dot", loss);
      return true;
    };
    hooks.after_step = [&](int64_t at, double mean_loss) {
      done = at;
      console.progress(epoch, c.epochs, at, steps, mean_loss);
      return true;
    };
    examples::EpochResult trained;
    try {
      // Anomaly mode covers the training steps only: evaluation and plots of a network that
      // has gone bad should still be written.
      std::optional<mg::DetectAnomalyGuard> anomaly;
      if (c.detect_anomaly) anomaly.emplace();
      trained = examples::train_epoch(net, loader, sgd, hooks);
    } catch (const mg::AnomalyError& e) {
      step = done + 1;  // the forward or the backward of the next step failed
      stop(fmt::format("anomaly detection found a NaN/Inf: {}", e.what()));
    }
    if (result.stopped) break;
    if (schedule) schedule->step();
    m.train_loss = trained.mean_loss();
    m.train_acc = examples::evaluate(net, data.train).accuracy;
    const examples::Evaluation test = examples::evaluate(net, data.test);
    m.test_loss = test.loss;
    m.test_acc = test.accuracy;
    m.seconds = seconds_since(epoch_start);
    result.history.push_back(m);
    console.table_row(m);
    CheckpointInfo now = info;
    now.epoch = epoch;
    save_checkpoint(net, checkpoint, now);
  }
  result.seconds = seconds_since(run_start);
  write_metrics_csv(dir / "metrics.csv", result.history);
  write_timing_csv(dir / "timing.csv", result.history);
  const std::string what =
      fmt::format("{} {}", c.dataset, batchnorm ? "with BatchNorm" : "without BatchNorm");
  write_loss_svg(dir / "loss.svg", result.history, fmt::format("train_mlp: {}", what));
  const double acc = result.history.empty() ? 0 : result.history.back().test_acc;
  write_boundary_svg(dir / "boundary.svg", net, data.train, data.test,
                     fmt::format("Decision regions, {}: {:.1f}% test accuracy", what, 100 * acc));
  return result;
}

}  // namespace train_mlp
