// The safetensors checkpoint format, on its own: named arrays of raw bytes plus string metadata.
// It knows nothing of Tensor; mg::save / mg::load translate between modules and this File.
//
// Layout of a file (all integers little-endian):
//   [8 bytes]  N, the header length, an unsigned 64-bit integer
//   [N bytes]  a JSON object, padded with spaces to a multiple of 8 so the data stays aligned:
//                {"__metadata__": {"key": "value", ...},            (optional, strings only)
//                 "0.weight": {"dtype": "F32", "shape": [4, 2], "data_offsets": [0, 32]}, ...}
//   [rest]     the data section; data_offsets [begin, end) are relative to its first byte, and
//              the tensors must cover it exactly: no overlaps, no gaps, nothing after the last.
// Loading validates every one of those rules before returning, so a damaged or hostile file
// gives a CheckpointError that says what was wrong, never a crash or a huge allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mg {

// A checkpoint that cannot be read or written: a malformed file, a bad entry, an OS error.
// The message names what was expected and what came, or the path and the OS error.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace mg

namespace mg::safetensors {

// The element types minigrad stores; the names are the ones the safetensors spec uses.
enum class Dtype { F32, F64, I64 };

constexpr std::size_t dtype_size(Dtype dtype) {
  return dtype == Dtype::F32 ? 4 : 8;
}

constexpr std::string_view dtype_name(Dtype dtype) {
  switch (dtype) {
    case Dtype::F32:
      return "F32";
    case Dtype::F64:
      return "F64";
    case Dtype::I64:
      return "I64";
  }
  return "?";
}

// The bytes an array of `dtype` and `shape` takes, or nullopt if a dim is negative or the size
// does not fit 64 bits. A zero dim gives 0 bytes; an empty shape is a scalar.
std::optional<std::uint64_t> byte_size(Dtype dtype, std::span<const int64_t> shape);

// One named array. `data` holds the elements as raw little-endian bytes, row-major;
// its size is always numel(shape) * dtype_size(dtype). An empty shape is a scalar (one element).
struct Entry {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<int64_t> shape;
  std::vector<std::byte> data;

  bool operator==(const Entry&) const = default;
};

// A whole checkpoint. `tensors` keeps the order of the data section.
struct File {
  std::vector<Entry> tensors;
  std::map<std::string, std::string> metadata;

  bool operator==(const File&) const = default;
};

// The bytes of a safetensors file holding `file`, data in the order of file.tensors.
// Throws CheckpointError for an entry that could not be read back (wrong data size,
// negative dim, duplicate or reserved name).
std::vector<std::byte> serialize(const File& file);

// Reads a safetensors file from memory, checking everything first; throws CheckpointError.
File parse(std::span<const std::byte> bytes);

// Writes atomically: the temporary file `path` + ".tmp" is written, fsynced and then renamed
// over `path`, so a crash leaves either the old checkpoint or the new one, whole. Saves to one
// path from several threads or processes take turns (each holds an flock on the temporary
// file until its rename), so the file is always exactly one of them; a temporary file left by
// a killed save is taken over by the next save to the same path. A symbolic link at `path` is
// followed (the file it leads to is replaced, the link stays); a directory, device or FIFO
// there is refused.
void write_file(const std::string& path, const File& file);

// Reads and parses the whole file at `path`: a regular file (a FIFO or device is refused), its
// header checked against its size before the data is read. Every error names the path.
File read_file(const std::string& path);

}  // namespace mg::safetensors

// Failure injection for the crash-safety tests: the next write_file throws at the chosen step,
// as if the process had died there, then the hook resets itself to None.
namespace mg::safetensors::testing {

enum class FailPoint { None, AfterOpen, HalfWritten, BeforeRename };

void set_fail_point(FailPoint point);

}  // namespace mg::safetensors::testing
