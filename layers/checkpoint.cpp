#include "layers/checkpoint.hpp"

#include <bit>
#include <cstring>
#include <map>
#include <vector>

#include "core/safetensors.hpp"

namespace mg::nn {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; this build copies bytes as they are");

namespace st = mg::safetensors;

template <typename V>
std::vector<std::byte> bytes_of(const V* values, int64_t n) {
  std::vector<std::byte> out(static_cast<std::size_t>(n) * sizeof(V));
  if (n > 0) std::memcpy(out.data(), values, out.size());
  return out;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

}  // namespace

void save(Module& module, const std::string& path,
          const std::map<std::string, std::string>& metadata) {
  st::File file;
  file.metadata = metadata;
  file.metadata.insert_or_assign("format", std::string("minigrad"));
  file.metadata.insert_or_assign("format_version", std::string(kCheckpointFormatVersion));
  file.metadata.insert_or_assign("architecture", module.repr());
  for (const auto& [name, value] : module.state_dict()) {
    if (const auto* t = std::get_if<Tensor>(&value)) {
      std::vector<int64_t> shape(t->shape().begin(), t->shape().end());
      file.tensors.push_back({name, st::Dtype::F32, shape, bytes_of(t->data(), t->numel())});
    } else {
      const int64_t count = std::get<int64_t>(value);
      file.tensors.push_back({name, st::Dtype::I64, {}, bytes_of(&count, 1)});  // 0-dim
    }
  }
  st::write_file(path, file);
}

std::map<std::string, std::string> load(Module& module, const std::string& path) {
  const st::File file = st::read_file(path);
  // A minigrad checkpoint of another layout version: refused, since its keys may mean other
  // things. (Files of other writers carry no minigrad version and are read by their keys.)
  const auto format = file.metadata.find("format");
  const auto version = file.metadata.find("format_version");
  if (format != file.metadata.end() && format->second == "minigrad" &&
      version != file.metadata.end() && version->second != kCheckpointFormatVersion) {
    throw CheckpointError(fmt::format(
        "load: '{}': expected a minigrad checkpoint of format_version \"{}\", got format_version "
        "\"{}\"",
        path, kCheckpointFormatVersion, version->second));
  }
  std::map<std::string, const st::Entry*> entries;
  for (const st::Entry& e : file.tensors) entries[e.name] = &e;

  // Validate every key against the module before building anything.
  StateDict<float> own = module.state_dict();
  std::vector<std::string> missing, unexpected;
  for (const auto& [name, value] : own)
    if (!entries.count(name)) missing.push_back(name);
  for (const auto& [name, entry] : entries) {
    bool known = false;
    for (const auto& [own_name, v] : own) known = known || own_name == name;
    if (!known) unexpected.push_back(name);
  }
  if (!missing.empty() || !unexpected.empty()) {
    throw CheckpointError(
        fmt::format("load: '{}' does not match the model: missing keys [{}], unexpected keys [{}]",
                    path, fmt::join(missing, ", "), fmt::join(unexpected, ", ")));
  }
  StateDict<float> loaded;
  for (const auto& [name, value] : own) {
    const st::Entry& e = *entries.at(name);
    if (const auto* t = std::get_if<Tensor>(&value)) {
      const std::vector<int64_t> want(t->shape().begin(), t->shape().end());
      if (e.dtype != st::Dtype::F32 || e.shape != want) {
        throw CheckpointError(fmt::format("load: '{}': expected '{}' as F32 {}, got {} {}", path,
                                          name, shape_str(want), st::dtype_name(e.dtype),
                                          shape_str(e.shape)));
      }
      Tensor copy = Tensor::empty(t->shape());
      if (!e.data.empty()) std::memcpy(copy.data(), e.data.data(), e.data.size());
      loaded.emplace_back(name, copy);
    } else {
      // A counter: 0-dim I64 as PyTorch writes it (a one-element [1] is accepted too).
      if (e.dtype != st::Dtype::I64 || !(e.shape.empty() || e.shape == std::vector<int64_t>{1})) {
        throw CheckpointError(fmt::format("load: '{}': expected '{}' as I64 [], got {} {}", path,
                                          name, st::dtype_name(e.dtype), shape_str(e.shape)));
      }
      int64_t count = 0;
      std::memcpy(&count, e.data.data(), sizeof count);
      loaded.emplace_back(name, count);
    }
  }
  module.load_state_dict(loaded);  // checks again, then copies: all or nothing
  return file.metadata;
}

}  // namespace mg::nn
