// Reading safetensors: parse() trusts nothing in the bytes. Every length and offset is checked
// against the bytes present before it is used, and read_file checks the header against the
// file's size before it allocates for the data. The format is described in core/safetensors.hpp.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/safetensors.hpp"

namespace mg::safetensors {
namespace {

// Plain json (a std::map per object): ordered_json would find keys by linear search, quadratic
// in the number of tensors of a hostile header. File order is recovered from the data offsets.
using Json = nlohmann::json;

// The reference implementation refuses headers above 100 MB; a real header is a few hundred
// bytes per tensor, so a bigger length field is corruption, refused before anything is allocated.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// A checkpoint header nests three levels (header -> entry -> shape); anything much deeper is
// not a checkpoint, and refusing it early keeps a hostile header from building a deep tree.
constexpr int kMaxDepth = 8;

template <typename... Args>
[[noreturn]] void bad(fmt::format_string<Args...> format, Args&&... args) {
  fail<CheckpointError>("safetensors: {}", fmt::format(format, std::forward<Args>(args)...));
}

// At most `limit` bytes of `text`, cut on a UTF-8 character boundary, with "..." if cut:
// error messages quote parts of the file, which may be megabytes long.
std::string clip(std::string text, std::size_t limit = 60) {
  if (text.size() <= limit) return text;
  while (limit > 0 && (static_cast<unsigned char>(text[limit]) & 0xC0) == 0x80) --limit;
  text.resize(limit);
  return text + "...";
}

// A JSON value (or a name, as a JSON string) the way it appears in the file, for messages.
std::string show(const Json& value) {
  return clip(value.dump(-1, ' ', false, Json::error_handler_t::replace));
}

uint64_t read_u64_le(std::span<const std::byte, 8> bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | std::to_integer<uint64_t>(bytes[i]);
  return value;
}

// Parses the header text, refusing duplicate keys (a JSON parser would silently keep one of
// them, so two readers could disagree on what the file holds) and deep nesting.
Json parse_header(std::span<const std::byte> header) {
  if (header.empty() || header[0] != std::byte{'{'}) {
    bad("expected the header to be a JSON object starting with '{{', got {}",
        header.empty() ? std::string("an empty header")
                       : show(std::string(1, static_cast<char>(header[0]))));
  }
  std::vector<std::set<std::string>> keys_seen;  // one set per open object, innermost last
  auto check = [&](int depth, Json::parse_event_t event, Json& parsed) {
    using Event = Json::parse_event_t;
    if ((event == Event::object_start || event == Event::array_start) && depth >= kMaxDepth) {
      bad("expected a header nested at most {} levels deep, got deeper", kMaxDepth);
    }
    if (event == Event::object_start) keys_seen.emplace_back();
    if (event == Event::object_end) keys_seen.pop_back();
    if (event == Event::key && !keys_seen.back().insert(parsed.get<std::string>()).second) {
      if (depth == 1 && parsed != "__metadata__") bad("duplicate tensor name {}", show(parsed));
      bad("duplicate key {} in the header", show(parsed));
    }
    return true;
  };
  const char* text = reinterpret_cast<const char*>(header.data());
  try {
    return Json::parse(text, text + header.size(), check);
  } catch (const Json::exception& e) {  // syntax errors, bad UTF-8, number overflow
    bad("header is not valid JSON: {}", clip(e.what(), 200));
  }
}

std::map<std::string, std::string> parse_metadata(const Json& value) {
  if (!value.is_object())
    bad("expected __metadata__ to be an object of strings, got {}", show(value));
  std::map<std::string, std::string> metadata;
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      bad("expected __metadata__ value {} to be a string, got {}", show(key), show(item));
    }
    metadata.emplace(key, item.get<std::string>());
  }
  return metadata;
}

Dtype parse_dtype(const std::string& name, const Json& value) {
  for (Dtype dtype : {Dtype::F32, Dtype::F64, Dtype::I64}) {
    if (value.is_string() && value.get<std::string>() == dtype_name(dtype)) return dtype;
  }
  bad("tensor {}: unknown dtype {} (expected \"F32\", \"F64\" or \"I64\")", show(name),
      show(value));
}

std::vector<int64_t> parse_shape(const std::string& name, const Json& value) {
  // Each dim must fit Entry's int64_t; nlohmann stores every non-negative integer as unsigned.
  auto is_dim = [](const Json& dim) {
    return dim.is_number_unsigned() &&
           dim.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max());
  };
  if (!value.is_array() || !std::all_of(value.begin(), value.end(), is_dim)) {
    bad("tensor {}: expected shape to be a list of non-negative integers, got {}", show(name),
        show(value));
  }
  return value.get<std::vector<int64_t>>();
}

// A tensor's place in the data section: [begin, end) relative to its first byte.
struct Range {
  uint64_t begin = 0;
  uint64_t end = 0;
};

Range parse_offsets(const std::string& name, const Json& value, uint64_t data_size) {
  if (!value.is_array() || value.size() != 2 || !value[0].is_number_unsigned() ||
      !value[1].is_number_unsigned() || value[0].get<uint64_t>() > value[1].get<uint64_t>()) {
    bad("tensor {}: expected data_offsets [begin, end] with 0 <= begin <= end, got {}", show(name),
        show(value));
  }
  Range range{value[0].get<uint64_t>(), value[1].get<uint64_t>()};
  if (range.end > data_size) {
    bad("tensor {}: data_offsets [{}, {}] run past the end of the data section ({} bytes)",
        show(name), range.begin, range.end, data_size);
  }
  return range;
}

// Checks one header entry; `entry.data` is filled later, once all ranges are known to tile.
Entry parse_entry(const std::string& name, const Json& value, uint64_t data_size, Range& range) {
  if (!value.is_object()) {
    bad("tensor {}: expected an object with dtype, shape and data_offsets, got {}", show(name),
        show(value));
  }
  for (const auto& [key, item] : value.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      bad("tensor {}: unexpected key {} (expected dtype, shape and data_offsets)", show(name),
          show(key));
    }
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(key)) bad("tensor {}: missing \"{}\"", show(name), key);
  }
  Entry entry{name, parse_dtype(name, value.at("dtype")), parse_shape(name, value.at("shape")), {}};
  range = parse_offsets(name, value.at("data_offsets"), data_size);
  std::optional<uint64_t> needed = byte_size(entry.dtype, entry.shape);
  if (!needed) {
    bad("tensor {}: shape {} holds more than 2^64 bytes", show(name), show(value.at("shape")));
  }
  if (*needed != range.end - range.begin) {
    bad("tensor {}: {} of shape {} needs {} bytes, but data_offsets [{}, {}] hold {}", show(name),
        dtype_name(entry.dtype), show(value.at("shape")), *needed, range.begin, range.end,
        range.end - range.begin);
  }
  return entry;
}

// The ranges must tile [0, data_size) exactly. Sorted by (begin, end), each must start where
// the previous one ended: earlier is an overlap, later a gap. The spec forbids gaps so that no
// bytes can hide in a checkpoint unseen by every reader. Returns the tensors in file order
// (empty tensors at the same offset stay in header order, which is by name).
std::vector<std::size_t> check_tiling(const std::vector<Entry>& entries,
                                      const std::vector<Range>& ranges, uint64_t data_size) {
  std::vector<std::size_t> order(entries.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::pair(ranges[a].begin, ranges[a].end) < std::pair(ranges[b].begin, ranges[b].end);
  });
  uint64_t covered = 0;  // the data section is tiled up to here
  for (std::size_t k = 0; k < order.size(); ++k) {
    const Range& range = ranges[order[k]];
    if (range.begin < covered) {
      const Range& prev = ranges[order[k - 1]];
      bad("tensors {} [{}, {}] and {} [{}, {}] overlap", show(entries[order[k - 1]].name),
          prev.begin, prev.end, show(entries[order[k]].name), range.begin, range.end);
    }
    if (range.begin > covered) break;
    covered = range.end;
  }
  if (covered != data_size) {
    auto next = std::find_if(order.begin(), order.end(),
                             [&](std::size_t i) { return ranges[i].begin > covered; });
    uint64_t gap_end = next == order.end() ? data_size : ranges[*next].begin;
    bad("data section bytes [{}, {}) belong to no tensor (expected the tensors to cover all {} "
        "bytes, with no gaps)",
        covered, gap_end, data_size);
  }
  return order;
}

}  // namespace

std::optional<uint64_t> byte_size(Dtype dtype, std::span<const int64_t> shape) {
  if (std::any_of(shape.begin(), shape.end(), [](int64_t dim) { return dim < 0; })) return {};
  // A zero dim makes the tensor empty whatever the other dims are, even if their product
  // alone would overflow.
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  uint64_t bytes = dtype_size(dtype);
  for (int64_t dim : shape) {
    if (__builtin_mul_overflow(bytes, uint64_t(dim), &bytes)) return {};
  }
  return bytes;
}

namespace {

// The header length field, checked against what follows it (`after_length` bytes).
uint64_t checked_header_size(std::span<const std::byte, 8> field, uint64_t after_length) {
  const uint64_t header_size = read_u64_le(field);
  if (header_size > kMaxHeaderBytes) {
    bad("header length {} is over the {} byte limit (a corrupt length field?)", header_size,
        kMaxHeaderBytes);
  }
  if (header_size > after_length) {
    bad("header length {} runs past the end of the file (expected at most {} bytes)", header_size,
        after_length);
  }
  return header_size;
}

// What a header says of a data section of `data_size` bytes, all of it checked: the tensors in
// file order, their data not yet read, and where each one's bytes lie (ranges[i] for tensor i).
struct Layout {
  File file;
  std::vector<Range> ranges;
};

Layout parse_layout(std::span<const std::byte> header_bytes, uint64_t data_size) {
  const Json header = parse_header(header_bytes);
  Layout layout;
  std::vector<Entry> entries;
  std::vector<Range> ranges;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      layout.file.metadata = parse_metadata(value);
      continue;
    }
    ranges.emplace_back();
    entries.push_back(parse_entry(key, value, data_size, ranges.back()));
  }
  for (std::size_t i : check_tiling(entries, ranges, data_size)) {
    layout.file.tensors.push_back(std::move(entries[i]));
    layout.ranges.push_back(ranges[i]);
  }
  return layout;
}

File read_file_unnamed(const std::string& path) {
  auto os_fail = [&](const char* what) {
    bad("cannot read '{}': {} failed: {}", path, what, std::strerror(errno));
  };
  // O_NONBLOCK: opening a FIFO would otherwise wait for a writer, forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) os_fail("open");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) os_fail("fstat");
  if (const mode_t m = info.st_mode; !S_ISREG(m)) {
    bad("cannot read '{}': expected a regular file, got {}", path,
        S_ISDIR(m)    ? "a directory"
        : S_ISFIFO(m) ? "a FIFO"
        : S_ISSOCK(m) ? "a socket"
                      : "a device");
  }
  const auto size = static_cast<uint64_t>(std::max<off_t>(info.st_size, 0));
  // Exactly `count` bytes at `offset`, or an error: the file may shrink while it is read.
  auto read_at = [&](std::byte* out, uint64_t count, uint64_t offset) {
    while (count > 0) {
      const ssize_t got = ::pread(fd, out, count, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) os_fail("read");
      if (got == 0) bad("cannot read '{}': the file shrank while it was read", path);
      out += got, count -= uint64_t(got), offset += uint64_t(got);
    }
  };
  if (size < 8) bad("expected at least 8 bytes (the header length), got {} bytes", size);
  std::array<std::byte, 8> field{};
  read_at(field.data(), 8, 0);
  const uint64_t header_size = checked_header_size(field, size - 8);
  std::vector<std::byte> header(header_size);  // at most kMaxHeaderBytes, and in the file
  read_at(header.data(), header_size, 8);
  Layout layout = parse_layout(header, size - 8 - header_size);
  const uint64_t data_start = 8 + header_size;
  for (std::size_t i = 0; i < layout.ranges.size(); ++i) {
    const Range& range = layout.ranges[i];
    std::vector<std::byte>& data = layout.file.tensors[i].data;
    try {
      data.resize(range.end - range.begin);
    } catch (const std::exception&) {  // bad_alloc or length_error: a file larger than memory
      bad("cannot read '{}': tensor {} needs {} bytes, more than can be allocated", path,
          show(layout.file.tensors[i].name), range.end - range.begin);
    }
    read_at(data.data(), data.size(), data_start + range.begin);
  }
  return std::move(layout.file);
}

}  // namespace

File parse(std::span<const std::byte> bytes) {
  if (bytes.size() < 8)
    bad("expected at least 8 bytes (the header length), got {} bytes", bytes.size());
  const uint64_t header_size = checked_header_size(bytes.first<8>(), bytes.size() - 8);
  const std::span<const std::byte> data = bytes.subspan(8 + header_size);  // (data section)
  Layout layout = parse_layout(bytes.subspan(8, header_size), data.size());
  for (std::size_t i = 0; i < layout.ranges.size(); ++i) {
    const Range& range = layout.ranges[i];
    const auto slice = data.subspan(range.begin, range.end - range.begin);
    layout.file.tensors[i].data.assign(slice.begin(), slice.end());
  }
  return std::move(layout.file);
}

// read_file reads the length field and the header first, checked against the file's size before
// anything is allocated for the data, then each tensor straight into its buffer. Every error
// names the path (each message of bad() starts with "safetensors: ").
File read_file(const std::string& path) {
  try {
    return read_file_unnamed(path);
  } catch (const CheckpointError& e) {
    const std::string_view message = e.what();
    constexpr std::string_view prefix = "safetensors: ";
    if (message.starts_with(std::string(prefix) + "cannot read '")) throw;  // names it already
    fail<CheckpointError>("safetensors: '{}': {}", path, message.substr(prefix.size()));
  }
}

}  // namespace mg::safetensors
