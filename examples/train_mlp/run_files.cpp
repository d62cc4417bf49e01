#include "run_files.hpp"

#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "core/dot.hpp"

namespace train_mlp {

void write_text(const std::filesystem::path& path, const std::string& text) {
  // Beside the file, then renamed over it: a reader (or a crash) sees the old file or the new.
  std::filesystem::path partial = path;
  partial += ".partial";
  {
    std::ofstream out(partial, std::ios::binary);
    out << text;
    if (!out) throw std::runtime_error(fmt::format("cannot write {}", path.string()));
  }
  std::error_code error;
  std::filesystem::rename(partial, path, error);
  if (error)
    throw std::runtime_error(fmt::format("cannot write {}: {}", path.string(), error.message()));
}

void write_test_set_csv(const std::filesystem::path& path, const mg::data::Dataset& test) {
  std::string text = "x0,x1,label\n";
  for (size_t i = 0; i < test.y.size(); ++i) {
    text += fmt::format("{:.9g},{:.9g},{}\n", test.x.at(static_cast<int64_t>(i), 0),
                        test.x.at(static_cast<int64_t>(i), 1), test.y[i]);
  }
  write_text(path, text);
}

void write_graph_dot(const std::filesystem::path& path, const mg::Tensor& loss,
                     const mg::nn::NamedTensors<float>& parameters) {
  write_text(path, mg::to_dot(loss, {.names = parameters}));
}

}  // namespace train_mlp
