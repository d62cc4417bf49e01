// The dispatch of session.hpp, and the "Train live" panel's commands.
// Legend: K = classes, G = grid side, M = G * G grid points.
#include "session.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "common/training.hpp"
#include "panels.hpp"

namespace playground {
namespace {

// The page's runs by name ("left", "right"): the network it trains, and the one beside it.
std::map<std::string, std::unique_ptr<Run>>& runs() {
  static std::map<std::string, std::unique_ptr<Run>> all;
  return all;
}

Run& run_named(const Json& request) {
  const std::string id = request.value("id", "left");
  auto it = runs().find(id);
  if (it == runs().end())
    throw std::invalid_argument(
        fmt::format("playground: no run named '{}' (new_run makes one)", id));
  return *it->second;
}

examples::Norm norm_named(const std::string& name) {
  if (name == "batch") return examples::Norm::batch;
  if (name == "layer") return examples::Norm::layer;
  if (name == "none") return examples::Norm::none;
  throw std::invalid_argument(
      fmt::format("playground: expected norm batch, layer or none, got '{}'", name));
}

RunSettings settings_from(const Json& r) {
  RunSettings s;
  s.dataset = r.value("dataset", s.dataset);
  s.samples = r.value("samples", s.samples);
  s.classes = r.value("classes", s.classes);
  if (r.contains("noise") && !r["noise"].is_null()) s.noise = r["noise"].get<double>();
  s.hidden = r.value("hidden", s.hidden);
  s.norm = norm_named(r.value("norm", std::string("batch")));
  if (r.contains("bn_momentum")) {  // null: PyTorch's momentum=None, a cumulative average
    s.batchnorm.momentum = r["bn_momentum"].is_null()
                               ? std::optional<double>()
                               : std::optional<double>(r["bn_momentum"].get<double>());
  }
  s.batch_size = r.value("batch_size", s.batch_size);
  s.lr = r.value("lr", s.lr);
  s.momentum = r.value("momentum", s.momentum);
  s.weight_decay = r.value("weight_decay", s.weight_decay);
  s.seed = r.value("seed", s.seed);
  return s;
}

Json points(const mg::data::Dataset& ds) {
  Json x = Json::array(), y = Json::array();
  for (int64_t i = 0; i < ds.size(); ++i) {
    x.push_back({ds.x.at(i, 0), ds.x.at(i, 1)});
    y.push_back(ds.y[static_cast<std::size_t>(i)]);
  }
  return {{"x", x}, {"y", y}};
}

Json new_run(const Json& r) {
  const RunSettings s = settings_from(r);
  auto run = std::make_unique<Run>(s);
  const examples::MlpSpec spec{
      .inputs = 2, .hidden = s.hidden, .classes = run->settings().classes, .norm = s.norm};
  Json answer = {{"model", examples::describe_mlp(spec, run->net())},
                 {"classes", run->settings().classes},
                 {"train_points", run->train_set().size()},
                 {"test_points", run->test_set().size()},
                 {"steps_per_epoch", run->steps_per_epoch()},
                 {"batchnorm_layers", run->batchnorm_modules().size()}};
  if (r.value("points", false)) {  // the data, for the page to draw
    answer["train"] = points(run->train_set());
    answer["test"] = points(run->test_set());
  }
  runs()[r.value("id", "left")] = std::move(run);
  return answer;
}

// Each step's loss, or with "report": "mean" only their mean.
Json step(const Json& r) {
  Run& run = run_named(r);
  std::vector<double> losses;
  for (int64_t k = 0, n = r.value("steps", 1); k < n; ++k) losses.push_back(run.step());
  Json answer = {{"step", run.steps_done()},
                 {"epoch", static_cast<double>(run.steps_done()) / double(run.steps_per_epoch())}};
  if (r.value("report", "") == "mean") {
    double sum = 0;
    for (double l : losses) sum += l;
    answer["mean_loss"] = sum / static_cast<double>(losses.size());
  } else {
    answer["losses"] = losses;
  }
  return answer;
}

Json evaluate(const Json& r) {
  Run& run = run_named(r);
  const examples::Evaluation train = examples::evaluate(run.net(), run.train_set());
  const examples::Evaluation test = examples::evaluate(run.net(), run.test_set());
  return {{"train_loss", train.loss},
          {"train_acc", train.accuracy},
          {"test_loss", test.loss},
          {"test_acc", test.accuracy}};
}

// The predicted class and its softmax probability at the centre of each cell of a G x G grid
// over [x0, x1] x [y0, y1], row by row from y1 down (the canvas's order), in eval mode.
Json boundary(const Json& r) {
  Run& run = run_named(r);
  const int64_t G = r.value("grid", 60);
  const std::vector<double> box = r.value("box", std::vector<double>{-1.5, 1.5, -1.5, 1.5});
  if (G < 2 || G > 400 || box.size() != 4)
    throw std::invalid_argument(
        fmt::format("playground: boundary expected 2 <= grid <= 400 and a box of 4 numbers, got "
                    "grid {} and {} numbers",
                    G, box.size()));
  std::vector<float> xy(static_cast<std::size_t>(2 * G * G));
  for (int64_t row = 0; row < G; ++row)
    for (int64_t col = 0; col < G; ++col) {
      const std::size_t i = static_cast<std::size_t>(2 * (row * G + col));
      xy[i] = static_cast<float>(box[0] + (box[1] - box[0]) * (col + 0.5) / G);
      xy[i + 1] = static_cast<float>(box[3] - (box[3] - box[2]) * (row + 0.5) / G);
    }
  run.net().eval();
  mg::NoGradGuard no_grad;
  const mg::Tensor logits = run.net()(mg::Tensor::from_vector(xy, {G * G, 2}));  // (M, K)
  Json cls = Json::array(), prob = Json::array();
  for (int64_t i = 0; i < G * G; ++i) {
    int64_t best = 0;
    double norm = 0;
    for (int64_t k = 1; k < logits.size(1); ++k)
      if (logits.at(i, k) > logits.at(i, best)) best = k;
    for (int64_t k = 0; k < logits.size(1); ++k)
      norm += std::exp(double(logits.at(i, k)) - double(logits.at(i, best)));
    cls.push_back(best);
    prob.push_back(std::round(1000.0 / norm) / 1000.0);
  }
  return {{"grid", G}, {"class", cls}, {"prob", prob}};
}

// Microseconds per optimizer step of run `id` (which the steps train further): `rounds` rounds
// of `steps` steps; the best round's mean, the least disturbed by other work on the machine,
// and the mean over all rounds.
Json time_steps(const Json& r) {
  Run& run = run_named(r);
  const int64_t n = r.value("steps", 100), rounds = r.value("rounds", 5);
  using Clock = std::chrono::steady_clock;
  double best = 0, total = 0;
  for (int64_t round = 0; round < rounds; ++round) {
    const Clock::time_point start = Clock::now();
    for (int64_t k = 0; k < n; ++k) run.step();
    const double us = 1e6 * std::chrono::duration<double>(Clock::now() - start).count() / double(n);
    best = round == 0 ? us : std::min(best, us);
    total += us;
  }
  return {{"steps", n},
          {"rounds", rounds},
          {"us_per_step_best", best},
          {"us_per_step_mean", total / static_cast<double>(rounds)}};
}

}  // namespace

Json handle(const Json& request) {
  try {
    const std::string cmd = request.value("cmd", "");
    if (cmd == "new_run") return new_run(request);
    if (cmd == "step") return step(request);
    if (cmd == "evaluate") return evaluate(request);
    if (cmd == "boundary") return boundary(request);
    if (cmd == "time_steps") return time_steps(request);
    if (cmd == "bn_state") return bn_state(run_named(request), request);
    if (cmd == "bn_modes") return bn_modes(run_named(request), request);
    if (cmd == "bn_gap") return bn_gap(run_named(request), request);
    if (cmd == "bn_running") return bn_running(run_named(request), request);
    if (cmd == "backward_graph") return backward_graph(request);
    throw std::invalid_argument(fmt::format("playground: unknown command '{}'", cmd));
  } catch (const std::exception& e) {
    return {{"error", e.what()}};
  }
}

}  // namespace playground
