#include "checkpoint.hpp"
#include "flags.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace train_mlp {

std::string describe(const Progress& p) {
  return p.step == 0 ? fmt::format("the end of epoch {}", p.epoch)
                     : fmt::format("step {} of epoch {}", p.step, p.epoch + 1);
}

namespace {

constexpr const char* kStateFormat = "train_mlp training state";
constexpr const char* kStateVersion = "1";

[[noreturn]] void bad_state(const std::filesystem::path& path, const std::string& what) {
  throw std::runtime_error(fmt::format("{}: {}", path.string(), what));
}

// The optimizer's "state.{number}.{what}" entries as "state.{name}.{what}", and back.
mg::NamedState number_to_name(const mg::NamedState& state, const std::vector<std::string>& names) {
  mg::NamedState out;
  auto rename = [&](const std::string& key) {
    if (!key.starts_with("state.")) return key;
    const std::size_t dot = key.find('.', 6);
    const std::size_t number = std::stoul(key.substr(6, dot - 6));
    return "state." + names.at(number) + key.substr(dot);
  };
  for (const auto& [key, t] : state.tensors) out.tensors[rename(key)] = t;
  for (const auto& [key, v] : state.reals) out.reals[rename(key)] = v;
  for (const auto& [key, v] : state.integers) out.integers[rename(key)] = v;
  return out;
}

mg::NamedState name_to_number(const mg::NamedState& state, const std::vector<std::string>& names,
                              const std::filesystem::path& path) {
  mg::NamedState out;
  auto rename = [&](const std::string& key) {
    if (!key.starts_with("state.")) return key;
    // The longest parameter name the key continues with ("10.weight" before "1").
    std::size_t best = names.size();
    for (std::size_t i = 0; i < names.size(); ++i) {
      const std::string prefix = "state." + names[i] + ".";
      if (key.starts_with(prefix) && (best == names.size() || names[i].size() > names[best].size()))
        best = i;
    }
    if (best == names.size())
      bad_state(path, fmt::format("optimizer state '{}' names no parameter of the network", key));
    return fmt::format("state.{}{}", best, key.substr(6 + names[best].size()));
  };
  for (const auto& [key, t] : state.tensors) out.tensors[rename(key)] = t;
  for (const auto& [key, v] : state.reals) out.reals[rename(key)] = v;
  for (const auto& [key, v] : state.integers) out.integers[rename(key)] = v;
  return out;
}

}  // namespace

std::filesystem::path training_state_path(const std::filesystem::path& model_file) {
  return model_file.parent_path() / "training_state.safetensors";
}

void check_counters(const TrainingState& state, int64_t steps_per_epoch,
                    const std::filesystem::path& model_file) {
  const std::filesystem::path path = training_state_path(model_file);
  const Progress& p = state.progress;
  // Written at an epoch's end, the loader has begun as many epochs as are done; in the middle of
  // one, the count that draws that epoch again (Trainer::capture).
  if (state.loader_epoch != p.epoch) {
    bad_state(path, fmt::format("holds the data loader's epoch {} but a progress of {}; expected "
                                "loader.epoch {}",
                                state.loader_epoch, describe(p), p.epoch));
  }
  // The schedule steps once per finished epoch, after the constructor's own step.
  if (!state.schedule.integers.empty()) {
    const auto last = state.schedule.integers.find("last_epoch");
    const auto count = state.schedule.integers.find("_step_count");
    if (last == state.schedule.integers.end() || count == state.schedule.integers.end())
      bad_state(path, "expected the schedule's last_epoch and _step_count, missing");
    if (last->second != p.epoch || count->second != p.epoch + 1) {
      bad_state(path, fmt::format("holds a schedule at last_epoch {} (_step_count {}) but a "
                                  "progress of {}; expected last_epoch {} (_step_count {})",
                                  last->second, count->second, describe(p), p.epoch, p.epoch + 1));
    }
  }
  if (p.step >= steps_per_epoch) {
    bad_state(path, fmt::format("holds a progress of {}, but an epoch of this run has {} steps",
                                describe(p), steps_per_epoch));
  }
  if (p.step == 0 ? p.loss_sum != 0 : !(p.loss_sum >= 0)) {
    bad_state(path,
              fmt::format("holds a loss sum of {} at {}; expected {}", p.loss_sum, describe(p),
                          p.step == 0 ? "0 at an epoch's end" : "a sum of cross-entropies, >= 0"));
  }
  const auto saved = state.config.find("--epochs");
  int64_t epochs = -1;
  try {
    if (saved != state.config.end()) epochs = std::stoll(saved->second);
  } catch (const std::logic_error&) {  // stoll's invalid_argument / out_of_range
  }
  if (epochs < 1) {
    bad_state(path, fmt::format("expected the run's --epochs (a whole number >= 1) among its saved "
                                "flags, got {}",
                                saved == state.config.end() ? "none" : "'" + saved->second + "'"));
  }
  if (p.step == 0 ? p.epoch > epochs : p.epoch >= epochs) {
    bad_state(path, fmt::format("holds a progress of {}, beyond the run's --epochs {}", describe(p),
                                epochs));
  }
}

std::vector<std::string> parameter_names(const mg::optim::Optimizer& optimizer,
                                         mg::nn::Module& net) {
  const mg::nn::NamedTensors<float> named = net.named_parameters();
  std::vector<std::string> names;
  for (std::size_t g = 0; g < optimizer.num_groups(); ++g) {
    for (const mg::Tensor& p : optimizer.params(g)) {
      auto it = std::find_if(named.begin(), named.end(),
                             [&](const auto& entry) { return entry.second.same_as(p); });
      if (it == named.end())
        throw std::invalid_argument("parameter_names: an optimizer parameter is not in the net");
      names.push_back(it->first);
    }
  }
  return names;
}

void save_checkpoint(mg::nn::Module& net, const std::filesystem::path& model_file,
                     const CheckpointInfo& info, const TrainingState& state,
                     const std::vector<std::string>& names) {
  mg::NamedState all;
  all.insert("optimizer", number_to_name(state.optimizer, names));
  all.insert("schedule", state.schedule);
  all.integers["progress.epoch"] = state.progress.epoch;
  all.integers["progress.step"] = state.progress.step;
  all.reals["progress.loss_sum"] = state.progress.loss_sum;
  all.integers["loader.epoch"] = state.loader_epoch;
  for (const auto& [name, g] : state.generators) {
    const std::array<uint64_t, 6> words = g.to_words();
    for (std::size_t i = 0; i < words.size(); ++i)
      all.integers[fmt::format("generators.{}.{}", name, i)] = std::bit_cast<int64_t>(words[i]);
  }
  mg::safetensors::File file = mg::to_safetensors(all);
  file.metadata["format"] = kStateFormat;
  file.metadata["format_version"] = kStateVersion;
  file.metadata["optimizer.parameters"] = fmt::format("{}", fmt::join(names, ","));
  file.metadata["schedule"] = state.schedule.reals.empty() ? "none" : "saved";
  for (const auto& [flag, value] : state.config) file.metadata["config." + flag] = value;
  mg::safetensors::write_file(training_state_path(model_file).string(), file);

  mg::save(net, model_file.string(),
           {{"train_mlp.dataset", info.dataset},
            {"train_mlp.classes", std::to_string(info.classes)},
            {"train_mlp.hidden", fmt::format("{}", fmt::join(info.hidden, ","))},
            {"train_mlp.batchnorm", info.batchnorm ? "true" : "false"},
            {"train_mlp.activation", info.activation},
            {"train_mlp.dropout", fmt::format("{}", info.dropout)},
            {"train_mlp.epoch", std::to_string(info.progress.epoch)},
            {"train_mlp.step", std::to_string(info.progress.step)}});
}

CheckpointInfo read_checkpoint_info(const std::filesystem::path& model_file) {
  const std::map<std::string, std::string> meta =
      mg::safetensors::read_file(model_file.string()).metadata;
  for (const char* key : {"train_mlp.dataset", "train_mlp.classes", "train_mlp.hidden",
                          "train_mlp.batchnorm", "train_mlp.epoch"}) {
    if (!meta.contains(key)) {
      throw std::runtime_error(fmt::format(
          "{}: not a train_mlp checkpoint (its metadata has no \"{}\")", model_file.string(), key));
    }
  }
  CheckpointInfo info;
  try {
    info.dataset = meta.at("train_mlp.dataset");
    info.classes = std::stoll(meta.at("train_mlp.classes"));
    info.hidden = split_widths(meta.at("train_mlp.hidden"));
    info.batchnorm = meta.at("train_mlp.batchnorm") == "true";
    // Checkpoints from before --activation and --dropout: ReLU, no Dropout.
    if (meta.contains("train_mlp.activation")) info.activation = meta.at("train_mlp.activation");
    if (meta.contains("train_mlp.dropout")) info.dropout = std::stod(meta.at("train_mlp.dropout"));
    info.progress.epoch = std::stoll(meta.at("train_mlp.epoch"));
    // Checkpoints from before mid-epoch saves have no step: they were written at an epoch's end.
    info.progress.step =
        meta.contains("train_mlp.step") ? std::stoll(meta.at("train_mlp.step")) : 0;
  } catch (const std::logic_error&) {  // stoll's invalid_argument / out_of_range
    throw std::runtime_error(
        fmt::format("{}: unreadable train_mlp metadata in the checkpoint", model_file.string()));
  }
  return info;
}

std::optional<RunConfig> read_run_config(const std::filesystem::path& model_file) {
  const std::filesystem::path path = training_state_path(model_file);
  if (!std::filesystem::exists(path)) return std::nullopt;
  const mg::safetensors::File file = mg::safetensors::read_file(path.string());
  RunConfig config;
  for (const auto& [key, value] : file.metadata)
    if (key.starts_with("config.")) config[key.substr(7)] = value;
  if (config.empty()) bad_state(path, "expected the run's configuration in its metadata, got none");
  return config;
}

TrainingState read_training_state(const std::filesystem::path& model_file,
                                  const CheckpointInfo& info,
                                  const std::vector<std::string>& names) {
  const std::filesystem::path path = training_state_path(model_file);
  if (!std::filesystem::exists(path)) {
    bad_state(path, fmt::format("missing: an exact resume needs the training state saved beside "
                                "{} (this checkpoint has the weights only)",
                                model_file.filename().string()));
  }
  const mg::safetensors::File file = mg::safetensors::read_file(path.string());
  const std::map<std::string, std::string>& meta = file.metadata;
  auto meta_at = [&](const std::string& key) -> const std::string& {
    auto it = meta.find(key);
    if (it == meta.end()) bad_state(path, fmt::format("expected metadata \"{}\", missing", key));
    return it->second;
  };
  if (meta_at("format") != kStateFormat || meta_at("format_version") != kStateVersion) {
    bad_state(path,
              fmt::format("expected format \"{}\" version {}, got \"{}\" version {}", kStateFormat,
                          kStateVersion, meta_at("format"), meta_at("format_version")));
  }
  const std::string saved_names = meta_at("optimizer.parameters");
  const std::string our_names = fmt::format("{}", fmt::join(names, ","));
  if (saved_names != our_names) {
    bad_state(path, fmt::format("expected optimizer state for the parameters [{}], got [{}]",
                                our_names, saved_names));
  }

  mg::NamedState all;
  try {
    all = mg::from_safetensors(file);
  } catch (const std::exception& e) {
    bad_state(path, e.what());
  }
  TrainingState state;
  auto integer = [&](const std::string& key) {
    auto it = all.integers.find(key);
    if (it == all.integers.end())
      bad_state(path, fmt::format("expected an integer '{}', missing", key));
    return it->second;
  };
  state.progress.epoch = integer("progress.epoch");
  state.progress.step = integer("progress.step");
  auto loss = all.reals.find("progress.loss_sum");
  if (loss == all.reals.end()) bad_state(path, "expected a real 'progress.loss_sum', missing");
  state.progress.loss_sum = loss->second;
  state.loader_epoch = integer("loader.epoch");
  if (state.progress.epoch < 0 || state.progress.step < 0 || !std::isfinite(loss->second) ||
      state.loader_epoch < 0) {
    bad_state(path, fmt::format("expected a progress of whole epochs and steps >= 0 and a finite "
                                "loss, got epoch {}, step {}, loss sum {}, loader epoch {}",
                                state.progress.epoch, state.progress.step, loss->second,
                                state.loader_epoch));
  }
  if (state.progress.epoch != info.progress.epoch || state.progress.step != info.progress.step) {
    bad_state(path, fmt::format("is of {}, but {} of {} (a crash between writing the two "
                                "files?); resume from a matching pair",
                                describe(state.progress), model_file.filename().string(),
                                describe(info.progress)));
  }
  for (const auto& [key, value] : meta)
    if (key.starts_with("config.")) state.config[key.substr(7)] = value;

  state.optimizer = name_to_number(all.extract("optimizer"), names, path);
  state.schedule = all.extract("schedule");
  const mg::NamedState generators = all.extract("generators");
  std::map<std::string, std::array<uint64_t, 6>> words;
  for (const auto& [key, value] : generators.integers) {
    const std::size_t dot = key.rfind('.');
    const std::string name = key.substr(0, dot), index = key.substr(dot + 1);
    if (dot == std::string::npos || index.size() != 1 || index[0] < '0' || index[0] > '5')
      bad_state(path, fmt::format("unexpected generator entry 'generators.{}'", key));
    words[name][static_cast<std::size_t>(index[0] - '0')] = std::bit_cast<uint64_t>(value);
  }
  for (const auto& [name, w] : words) {
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (!generators.integers.contains(fmt::format("{}.{}", name, i)))
        bad_state(path, fmt::format("expected 'generators.{}.{}', missing", name, i));
    }
    try {
      state.generators[name] = mg::Generator::State::from_words(w);
    } catch (const std::invalid_argument& e) {
      bad_state(path, e.what());
    }
  }
  return state;
}

}  // namespace train_mlp
