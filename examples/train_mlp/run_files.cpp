#include "run_files.hpp"

#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "core/dot.hpp"
#include "layers/checkpoint.hpp"

namespace train_mlp {

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error(fmt::format("cannot write {}", path.string()));
}

namespace {

std::vector<int64_t> parse_widths(const std::string& text) {
  std::vector<int64_t> widths;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    widths.push_back(std::stoll(text.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return widths;
}

}  // namespace

void save_checkpoint(mg::nn::Module& net, const std::filesystem::path& path,
                     const CheckpointInfo& info) {
  mg::save(net, path.string(),
           {{"train_mlp.dataset", info.dataset},
            {"train_mlp.classes", std::to_string(info.classes)},
            {"train_mlp.hidden", fmt::format("{}", fmt::join(info.hidden, ","))},
            {"train_mlp.batchnorm", info.batchnorm ? "true" : "false"},
            {"train_mlp.epoch", std::to_string(info.epoch)}});
}

CheckpointInfo read_checkpoint_info(const std::filesystem::path& path) {
  const std::map<std::string, std::string> meta =
      mg::safetensors::read_file(path.string()).metadata;
  for (const char* key : {"train_mlp.dataset", "train_mlp.classes", "train_mlp.hidden",
                          "train_mlp.batchnorm", "train_mlp.epoch"}) {
    if (!meta.contains(key)) {
      throw std::runtime_error(fmt::format(
          "{}: not a train_mlp checkpoint (its metadata has no \"{}\")", path.string(), key));
    }
  }
  CheckpointInfo info;
  try {
    info.dataset = meta.at("train_mlp.dataset");
    info.classes = std::stoll(meta.at("train_mlp.classes"));
    info.hidden = parse_widths(meta.at("train_mlp.hidden"));
    info.batchnorm = meta.at("train_mlp.batchnorm") == "true";
    info.epoch = std::stoll(meta.at("train_mlp.epoch"));
  } catch (const std::logic_error&) {  // stoll's invalid_argument / out_of_range
    throw std::runtime_error(
        fmt::format("{}: unreadable train_mlp metadata in the checkpoint", path.string()));
  }
  return info;
}

void write_test_set_csv(const std::filesystem::path& path, const mg::data::Dataset& test) {
  std::string text = "x0,x1,label\n";
  for (size_t i = 0; i < test.y.size(); ++i) {
    text += fmt::format("{:.9g},{:.9g},{}\n", test.x.at(static_cast<int64_t>(i), 0),
                        test.x.at(static_cast<int64_t>(i), 1), test.y[i]);
  }
  write_text(path, text);
}

void write_command_txt(const std::filesystem::path& path, const std::string& command_line) {
  write_text(path, command_line + "\n");
}

void write_graph_dot(const std::filesystem::path& path, const mg::Tensor& loss,
                     const mg::nn::NamedTensors<float>& parameters) {
  write_text(path, mg::to_dot(loss, {.names = parameters}));
}

}  // namespace train_mlp
