#include "core/named_state.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"

namespace mg {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; this build copies bytes as they are");

namespace st = safetensors;

template <typename V>
std::vector<std::byte> bytes_of(const V* values, int64_t n) {
  std::vector<std::byte> out(static_cast<std::size_t>(n) * sizeof(V));
  if (n > 0) std::memcpy(out.data(), values, out.size());
  return out;
}

template <typename V>
V scalar_of(const st::Entry& e) {
  V v;
  std::memcpy(&v, e.data.data(), sizeof v);
  return v;
}

// Copies every entry of `from` named "prefix.key" into `to` as "key".
template <typename Map>
void extract_into(const Map& from, const std::string& prefix, Map& to) {
  const std::string head = prefix + ".";
  for (const auto& [key, value] : from)
    if (key.starts_with(head)) to.emplace(key.substr(head.size()), value);
}

[[noreturn]] void missing(std::string_view owner, const char* kind, const std::string& key) {
  fail<std::invalid_argument>("{}: load_state_dict: expected {} '{}', missing", owner, kind, key);
}

}  // namespace

bool NamedState::contains(const std::string& key) const {
  return tensors.count(key) || reals.count(key) || integers.count(key);
}

void NamedState::insert(const std::string& prefix, const NamedState& other) {
  // Check every name first, so a clash leaves this state unchanged.
  auto check = [&](const auto& map) {
    for (const auto& entry : map) {
      if (contains(prefix + "." + entry.first)) {
        fail<std::invalid_argument>("NamedState: insert: '{}.{}' is already present", prefix,
                                    entry.first);
      }
    }
  };
  check(other.tensors);
  check(other.reals);
  check(other.integers);
  const std::string dotted = prefix + ".";
  for (const auto& [key, t] : other.tensors) tensors.emplace(dotted + key, t);
  for (const auto& [key, r] : other.reals) reals.emplace(dotted + key, r);
  for (const auto& [key, i] : other.integers) integers.emplace(dotted + key, i);
}

NamedState NamedState::extract(const std::string& prefix) const {
  NamedState out;
  extract_into(tensors, prefix, out.tensors);
  extract_into(reals, prefix, out.reals);
  extract_into(integers, prefix, out.integers);
  return out;
}

void NamedState::require_keys(std::string_view owner, const std::vector<std::string>& keys) const {
  std::vector<std::string> absent, unexpected;
  for (const std::string& key : keys)
    if (!contains(key)) absent.push_back(key);
  auto find_unexpected = [&](const auto& map) {
    for (const auto& entry : map)
      if (std::find(keys.begin(), keys.end(), entry.first) == keys.end())
        unexpected.push_back(entry.first);
  };
  find_unexpected(tensors);
  find_unexpected(reals);
  find_unexpected(integers);
  if (!absent.empty() || !unexpected.empty()) {
    fail<std::invalid_argument>("{}: load_state_dict: missing keys [{}], unexpected keys [{}]",
                                owner, fmt::join(absent, ", "), fmt::join(unexpected, ", "));
  }
}

const Tensor& NamedState::tensor(std::string_view owner, const std::string& key) const {
  const auto it = tensors.find(key);
  if (it == tensors.end()) missing(owner, "a tensor", key);
  return it->second;
}

double NamedState::real(std::string_view owner, const std::string& key) const {
  const auto it = reals.find(key);
  if (it == reals.end()) missing(owner, "a real", key);
  return it->second;
}

int64_t NamedState::integer(std::string_view owner, const std::string& key) const {
  const auto it = integers.find(key);
  if (it == integers.end()) missing(owner, "an integer", key);
  return it->second;
}

st::File to_safetensors(const NamedState& state) {
  st::File file;
  for (const auto& [name, t] : state.tensors) {
    const std::vector<int64_t> shape(t.shape().begin(), t.shape().end());
    file.tensors.push_back({name, st::Dtype::F32, shape, bytes_of(t.data(), t.numel())});
  }
  for (const auto& [name, r] : state.reals)
    file.tensors.push_back({name, st::Dtype::F64, {}, bytes_of(&r, 1)});
  for (const auto& [name, i] : state.integers)
    file.tensors.push_back({name, st::Dtype::I64, {}, bytes_of(&i, 1)});
  return file;
}

NamedState from_safetensors(const st::File& file) {
  NamedState state;
  for (const st::Entry& e : file.tensors) {
    if (e.dtype == st::Dtype::F64 && e.shape.empty()) {
      state.reals.emplace(e.name, scalar_of<double>(e));
    } else if (e.dtype == st::Dtype::I64 && e.shape.empty()) {
      state.integers.emplace(e.name, scalar_of<int64_t>(e));
    } else if (e.dtype == st::Dtype::F32 && !e.shape.empty() && e.shape.size() <= 3) {
      const Shape shape =
          Shape::checked("NamedState", e.shape.data(), static_cast<int>(e.shape.size()));
      Tensor t = Tensor::empty(shape);
      if (!e.data.empty()) std::memcpy(t.data(), e.data.data(), e.data.size());
      state.tensors.emplace(e.name, t);
    } else {
      throw CheckpointError(fmt::format(
          "NamedState: expected '{}' as an F32 array of rank 1 to 3, an F64 [] or an I64 [], got "
          "{} [{}]",
          e.name, st::dtype_name(e.dtype), fmt::join(e.shape, ", ")));
    }
  }
  return state;
}

}  // namespace mg
