// The safetensors layer on its own: round trips, the exact bytes of a small file, every
// validation error parse() can give (messages pinned), and crash safety of write_file.
#include <sys/stat.h>

#include <bit>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/safetensors.hpp"

namespace st = mg::safetensors;
namespace fs = std::filesystem;
using Catch::Contains;

// Entry data is raw little-endian bytes; building it with memcpy is only right on such a host.
static_assert(std::endian::native == std::endian::little);

namespace {

template <typename T>
std::vector<std::byte> bytes_of(const std::vector<T>& values) {
  std::vector<std::byte> out(values.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

std::vector<std::byte> bytes_of(const std::string& text) {
  std::vector<std::byte> out(text.size());
  std::memcpy(out.data(), text.data(), text.size());
  return out;
}

// A file from a hand-written header (unpadded) and `data_size` zero bytes of data.
std::vector<std::byte> raw_file(const std::string& header, std::size_t data_size = 0) {
  std::vector<std::byte> out(8);
  for (int i = 0; i < 8; ++i) out[i] = std::byte((uint64_t(header.size()) >> (8 * i)) & 0xFF);
  for (char c : header) out.push_back(std::byte(c));
  out.resize(out.size() + data_size);
  return out;
}

// The parse error for a hand-written header, or "" if it parsed.
std::string parse_error(const std::string& header, std::size_t data_size = 0) {
  try {
    st::parse(raw_file(header, data_size));
  } catch (const mg::CheckpointError& e) {
    return e.what();
  }
  return "";
}

std::vector<std::byte> slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars{std::istreambuf_iterator<char>(in), {}};
  std::vector<std::byte> out(chars.size());
  if (!out.empty()) std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

// A fresh folder under the system temp dir, removed with everything in it at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string name = (fs::temp_directory_path() / "minigrad_st_XXXXXX").string();
    REQUIRE(::mkdtemp(name.data()) != nullptr);
    path = name;
  }
  ~TempDir() { fs::remove_all(path); }
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& item : fs::directory_iterator(path)) {
      names.push_back(item.path().filename().string());
    }
    return names;
  }
};

st::File sample_file() {
  st::File file;
  file.tensors.push_back(
      {"0.weight", st::Dtype::F32, {2, 3}, bytes_of<float>({1, -2, 3, 4, 5, 6})});
  file.tensors.push_back({"0.bias", st::Dtype::F64, {3}, bytes_of<double>({0.5, -1e300, 7})});
  file.tensors.push_back({"1.num_batches_tracked", st::Dtype::I64, {}, bytes_of<int64_t>({-42})});
  file.tensors.push_back({"empty", st::Dtype::F32, {0, 5}, {}});
  file.tensors.push_back({"ids", st::Dtype::I64, {2}, bytes_of<int64_t>({INT64_MIN, INT64_MAX})});
  file.metadata = {{"format", "pt"}, {"epoch", "3"}};
  return file;
}

}  // namespace

TEST_CASE("safetensors: round trip keeps every dtype, shape, byte, order and metadata") {
  const st::File file = sample_file();
  const std::vector<std::byte> bytes = st::serialize(file);
  REQUIRE(st::parse(bytes) == file);
  // Writing what we read gives the same bytes: the layout is a function of the File alone.
  REQUIRE(st::serialize(st::parse(bytes)) == bytes);

  st::File nothing;
  REQUIRE(st::parse(st::serialize(nothing)) == nothing);
  st::File only_empty;
  only_empty.tensors.push_back({"e", st::Dtype::F64, {3, 0}, {}});
  REQUIRE(st::parse(st::serialize(only_empty)) == only_empty);
}

TEST_CASE("safetensors: a small file has exactly the documented bytes") {
  st::File file;
  file.tensors.push_back({"a", st::Dtype::F32, {2}, bytes_of<float>({1.0f, 2.0f})});
  file.tensors.push_back({"b", st::Dtype::I64, {1}, bytes_of<int64_t>({-2})});
  file.metadata = {{"k", "v"}};
  const std::string json =
      R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}})";
  REQUIRE(json.size() == 133);  // so three spaces pad the header to 136, a multiple of 8

  std::vector<std::byte> expected = bytes_of(std::string("\x88\0\0\0\0\0\0\0", 8));  // 136, LE
  const std::vector<std::byte> header = bytes_of(json + "   ");
  expected.insert(expected.end(), header.begin(), header.end());
  for (int b : {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40}) {  // 1.0f, 2.0f
    expected.push_back(std::byte(b));
  }
  for (int b : {0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}) expected.push_back(std::byte(b));
  REQUIRE(st::serialize(file) == expected);
  REQUIRE(st::parse(expected) == file);
}

TEST_CASE("safetensors: parse accepts what the spec allows") {
  // Unpadded headers (other writers), keys in any order, tensors stored out of header order,
  // whitespace, scalars, and an empty tensor whose other dims are huge.
  REQUIRE(parse_error(R"({"b":{"shape":[1],"data_offsets":[4,8],"dtype":"F32"},)"
                      R"( "a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}  )",
                      8) == "");
  const st::File file =
      st::parse(raw_file(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                         R"("a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})",
                         8));
  REQUIRE(file.tensors.size() == 2);
  CHECK(file.tensors[0].name == "a");  // data order
  REQUIRE(parse_error(R"({"e":{"dtype":"I64","shape":[9223372036854775807,0],)"
                      R"("data_offsets":[0,0]}})") == "");
}

TEST_CASE("safetensors: parse refuses a truncated or oversized header") {
  const std::vector<std::byte> five(5);
  REQUIRE_THROWS_WITH(st::parse(five),
                      "safetensors: expected at least 8 bytes (the header "
                      "length), got 5 bytes");
  std::vector<std::byte> bytes = raw_file("{}");
  bytes[0] = std::byte(100);
  REQUIRE_THROWS_WITH(st::parse(bytes),
                      "safetensors: header length 100 runs past the end of the "
                      "file (expected at most 2 bytes)");
  for (int i = 0; i < 8; ++i) bytes[i] = std::byte(0xFF);  // 2^64 - 1: 8 + length would wrap
  REQUIRE_THROWS_WITH(st::parse(bytes), Contains("header length 18446744073709551615 is over the "
                                                 "100000000 byte limit"));
  bytes[7] = std::byte(0);
  bytes[0] = std::byte(0x01);  // 100 MB + 1 in a file far shorter: refused before allocating
  REQUIRE_THROWS_WITH(st::parse(bytes), Contains("is over the 100000000 byte limit"));
}

TEST_CASE("safetensors: parse refuses a header that is not a JSON object") {
  CHECK_THAT(parse_error(""), Contains("expected the header to be a JSON object starting with "
                                       "'{', got an empty header"));
  CHECK_THAT(parse_error("[1, 2]"), Contains("JSON object starting with '{', got \"[\""));
  CHECK_THAT(parse_error(" {}"), Contains("got \" \""));
  CHECK_THAT(parse_error("{abc"), Contains("safetensors: header is not valid JSON: "));
  CHECK_THAT(parse_error("{} x"), Contains("header is not valid JSON"));
  CHECK_THAT(parse_error("{\"\xff\":1}"), Contains("header is not valid JSON"));
  CHECK_THAT(parse_error(R"({"a":1e999})"), Contains("header is not valid JSON"));
  CHECK_THAT(parse_error(R"({"a":[[[[[[[[[[1]]]]]]]]]]})"),
             Contains("expected a header nested at most 8 levels deep, got deeper"));
}

TEST_CASE("safetensors: parse refuses bad entries, naming the tensor") {
  const std::string ok = R"("dtype":"F32","shape":[2],"data_offsets":[0,8])";
  CHECK(parse_error("{\"w\":{" + ok + "}}", 8) == "");
  CHECK_THAT(
      parse_error(R"({"w":3})"),
      Contains("tensor \"w\": expected an object with dtype, shape and data_offsets, got 3"));
  CHECK_THAT(parse_error(R"({"w":{"dtype":"F32","shape":[2]}})"),
             Contains("tensor \"w\": missing \"data_offsets\""));
  CHECK_THAT(parse_error("{\"w\":{" + ok + ",\"extra\":1}}", 8),
             Contains("tensor \"w\": unexpected key \"extra\" (expected dtype, shape and "
                      "data_offsets)"));
  CHECK_THAT(
      parse_error(R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4),
      Contains("tensor \"w\": unknown dtype \"F16\" (expected \"F32\", \"F64\" or \"I64\")"));
  CHECK_THAT(parse_error(R"({"w":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", 8),
             Contains("unknown dtype 4"));
}

TEST_CASE("safetensors: parse refuses shapes that are not lists of non-negative ints") {
  const std::string expected =
      "tensor \"w\": expected shape to be a list of non-negative "
      "integers, got ";
  for (const std::string shape :
       {"[-1]", "[1.5]", "[\"2\"]", "2", "[[2]]", "null", "[9223372036854775808]", "[true]"}) {
    CHECK_THAT(
        parse_error(R"({"w":{"dtype":"F32","shape":)" + shape + R"(,"data_offsets":[0,0]}})"),
        Contains(expected + shape));
  }
  // 2^32 * 2^32 * 4 bytes wraps to 0 in 64 bits, which would match data_offsets [0, 0].
  CHECK_THAT(parse_error(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],)"
                         R"("data_offsets":[0,0]}})"),
             Contains("tensor \"w\": shape [4294967296,4294967296] holds more than 2^64 bytes"));
}

TEST_CASE("safetensors: parse refuses bad data_offsets and sizes") {
  auto entry = [](const std::string& offsets) {
    return R"({"w":{"dtype":"F32","shape":[2],"data_offsets":)" + offsets + "}}";
  };
  for (const std::string offsets : {"[8,4]", "[0]", "[0,8,8]", "[-1,8]", "\"0-8\"", "[0,8.0]"}) {
    CHECK_THAT(parse_error(entry(offsets), 8),
               Contains("tensor \"w\": expected data_offsets [begin, end] with 0 <= begin <= "
                        "end, got " +
                        offsets));
  }
  CHECK_THAT(parse_error(entry("[0,16]"), 8),
             Contains("tensor \"w\": data_offsets [0, 16] run past the end of the data section "
                      "(8 bytes)"));
  CHECK_THAT(parse_error(entry("[18446744073709551615,18446744073709551615]"), 8),
             Contains("run past the end of the data section"));
  CHECK_THAT(parse_error(entry("[0,12]"), 12),
             Contains("tensor \"w\": F32 of shape [2] needs 8 bytes, but data_offsets [0, 12] "
                      "hold 12"));
}

TEST_CASE("safetensors: parse refuses overlaps, gaps and uncovered bytes") {
  auto two = [](const std::string& a, const std::string& b) {
    return R"({"a":{"dtype":"F32","shape":[2],"data_offsets":)" + a +
           R"(},"b":{"dtype":"F32","shape":[2],"data_offsets":)" + b + "}}";
  };
  CHECK(parse_error(two("[0,8]", "[8,16]"), 16) == "");
  CHECK_THAT(parse_error(two("[0,8]", "[4,12]"), 12),
             Contains("safetensors: tensors \"a\" [0, 8] and \"b\" [4, 12] overlap"));
  CHECK_THAT(parse_error(two("[0,8]", "[0,8]"), 8), Contains("overlap"));
  CHECK_THAT(parse_error(two("[0,8]", "[12,20]"), 20),
             Contains("safetensors: data section bytes [8, 12) belong to no tensor (expected the "
                      "tensors to cover all 20 bytes, with no gaps)"));
  CHECK_THAT(parse_error(two("[0,8]", "[8,16]"), 20),
             Contains("bytes [16, 20) belong to no tensor"));
  CHECK_THAT(parse_error("{}", 4), Contains("bytes [0, 4) belong to no tensor"));
  CHECK_THAT(parse_error(two("[4,12]", "[12,20]"), 20), Contains("bytes [0, 4) belong to no"));
}

TEST_CASE("safetensors: parse refuses duplicate names and bad metadata") {
  const std::string w = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  CHECK_THAT(parse_error("{\"w\":" + w + ",\"w\":" + w + "}", 4),
             Contains("safetensors: duplicate tensor name \"w\""));
  CHECK_THAT(
      parse_error(R"({"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4),
      Contains("duplicate key \"dtype\" in the header"));
  CHECK_THAT(parse_error(R"({"__metadata__":{"a":"1","a":"2"}})"),
             Contains("duplicate key \"a\" in the header"));
  CHECK_THAT(parse_error(R"({"__metadata__":{},"__metadata__":{}})"),
             Contains("duplicate key \"__metadata__\""));
  CHECK_THAT(parse_error(R"({"__metadata__":[1]})"),
             Contains("safetensors: expected __metadata__ to be an object of strings, got [1]"));
  CHECK_THAT(parse_error(R"({"__metadata__":{"epoch":3}})"),
             Contains("safetensors: expected __metadata__ value \"epoch\" to be a string, got 3"));
}

TEST_CASE("safetensors: error messages stay short when the file quotes megabytes") {
  const std::string long_name(100000, 'x');
  const std::string message = parse_error("{\"" + long_name + "\":3}");
  CHECK_THAT(message, Contains("tensor \"xxxx"));
  CHECK(message.size() < 300);
}

TEST_CASE("safetensors: serialize refuses entries it could not read back") {
  st::File file;
  file.tensors.push_back({"w", st::Dtype::F64, {2}, bytes_of<double>({1})});
  REQUIRE_THROWS_WITH(st::serialize(file),
                      "safetensors: cannot write tensor \"w\": F64 of shape "
                      "[2] needs 16 bytes of data, got 8");
  file.tensors[0] = {"w", st::Dtype::F32, {-1, 2}, {}};
  REQUIRE_THROWS_WITH(st::serialize(file), Contains("expected non-negative dims whose byte size "
                                                    "fits 64 bits, got shape [-1, 2]"));
  file.tensors[0] = {"w", st::Dtype::F32, {}, bytes_of<float>({1})};
  file.tensors.push_back(file.tensors[0]);
  REQUIRE_THROWS_WITH(st::serialize(file), "safetensors: cannot write two tensors named \"w\"");
  file.tensors = {{"__metadata__", st::Dtype::F32, {0}, {}}};
  REQUIRE_THROWS_WITH(st::serialize(file),
                      Contains("cannot write a tensor named \"__metadata__\""));
  file.tensors = {{"bad\xff", st::Dtype::F32, {0}, {}}};
  REQUIRE_THROWS_WITH(st::serialize(file), Contains("cannot write a header with invalid UTF-8"));
}

TEST_CASE("safetensors: write_file and read_file round trip and name the path on errors") {
  TempDir dir;
  const std::string path = (dir.path / "model.safetensors").string();
  st::write_file(path, sample_file());
  REQUIRE(st::read_file(path) == sample_file());
  REQUIRE(slurp(path) == st::serialize(sample_file()));
  REQUIRE(dir.listing() == std::vector<std::string>{"model.safetensors"});

  const std::string missing = (dir.path / "missing.safetensors").string();
  REQUIRE_THROWS_WITH(st::read_file(missing), "safetensors: cannot read '" + missing +
                                                  "': open failed: No such file or directory");
  REQUIRE_THROWS_WITH(st::read_file(dir.path.string()),
                      "safetensors: cannot read '" + dir.path.string() +
                          "': expected a regular file, got a directory");
  const std::string nowhere = (dir.path / "no" / "such" / "folder.safetensors").string();
  REQUIRE_THROWS_WITH(
      st::write_file(nowhere, sample_file()),
      Contains("safetensors: cannot write '" + nowhere + "': open '" + nowhere + ".tmp' failed"));
  REQUIRE_THROWS_WITH(st::write_file(nowhere, sample_file()),
                      Contains("failed: No such file or directory"));
}

// Writes `bytes` to `path` as they are.
void put(const fs::path& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

TEST_CASE("safetensors: read_file names the path in every parse error") {
  TempDir dir;
  const fs::path path = dir.path / "model.safetensors";
  std::vector<std::byte> bytes = st::serialize(sample_file());
  uint64_t header_size = 0;  // the length field, little-endian
  for (int i = 7; i >= 0; --i)
    header_size = (header_size << 8) | std::to_integer<uint64_t>(bytes[i]);
  bytes.resize(40);  // the header cut short
  put(path, bytes);
  REQUIRE_THROWS_WITH(st::read_file(path.string()),
                      "safetensors: '" + path.string() + "': header length " +
                          std::to_string(header_size) +
                          " runs past the end of the file (expected at most 32 bytes)");
  put(path, {std::byte{1}, std::byte{2}});
  REQUIRE_THROWS_WITH(st::read_file(path.string()),
                      "safetensors: '" + path.string() +
                          "': expected at least 8 bytes (the header length), got 2 bytes");
  put(path, raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4));
  REQUIRE_THROWS_WITH(st::read_file(path.string()),
                      Contains("safetensors: '" + path.string() + "': tensor \"w\""));
}

TEST_CASE("safetensors: read_file refuses a FIFO at once and reads no data before the header") {
  TempDir dir;
  const fs::path fifo = dir.path / "pipe.safetensors";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Without O_NONBLOCK the open would wait for a writer that never comes.
  REQUIRE_THROWS_WITH(st::read_file(fifo.string()), "safetensors: cannot read '" + fifo.string() +
                                                        "': expected a regular file, got a FIFO");

#if defined(__SANITIZE_ADDRESS__)
  return;  // ASan aborts on an allocation it cannot serve (the tests' ASAN_OPTIONS), not throws
#endif
  // A sparse file of 2^42 bytes whose header claims all of it for one tensor: the header is
  // valid, and the tensor cannot be allocated. The error says so; nothing is read first.
  const fs::path huge = dir.path / "huge.safetensors";
  const uint64_t floats = (uint64_t{1} << 40) - 16;
  const std::string header = R"({"w":{"dtype":"F32","shape":[)" + std::to_string(floats) +
                             R"(],"data_offsets":[0,)" + std::to_string(floats * 4) + "]}}";
  put(huge, raw_file(header));
  std::error_code error;
  fs::resize_file(huge, 8 + header.size() + floats * 4, error);
  if (error) {  // a file system without sparse files this large: the rest cannot be shown here
    WARN("skipped the sparse-file case: " << error.message());
    return;
  }
  REQUIRE_THROWS_WITH(st::read_file(huge.string()),
                      "safetensors: cannot read '" + huge.string() + "': tensor \"w\" needs " +
                          std::to_string(floats * 4) + " bytes, more than can be allocated");
}

TEST_CASE("safetensors: write_file writes through a symbolic link and refuses a non-file") {
  TempDir dir;
  const fs::path real = dir.path / "real.safetensors";
  const fs::path link = dir.path / "link.safetensors";
  st::write_file(real.string(), sample_file());
  fs::create_symlink("real.safetensors", link);  // relative, as `ln -s` makes it
  st::File changed = sample_file();
  changed.metadata["epoch"] = "4";
  st::write_file(link.string(), changed);
  REQUIRE(fs::is_symlink(link));
  REQUIRE(st::read_file(real.string()) == changed);
  // A dangling link: the save creates the file it leads to.
  const fs::path dangling = dir.path / "dangling.safetensors";
  fs::create_symlink(dir.path / "new.safetensors", dangling);
  st::write_file(dangling.string(), sample_file());
  REQUIRE(st::read_file((dir.path / "new.safetensors").string()) == sample_file());

  const fs::path fifo = dir.path / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  REQUIRE_THROWS_WITH(st::write_file(fifo.string(), sample_file()),
                      "safetensors: cannot write '" + fifo.string() +
                          "': expected a regular file or a new path, got a device, FIFO or "
                          "socket");
  REQUIRE(fs::is_fifo(fifo));
  // What an earlier save left at the temporary name is taken over only if it is a file: a link
  // there would send the checkpoint into the file it leads to, a FIFO would block the save.
  const fs::path precious = dir.path / "precious.txt";
  { std::ofstream(precious) << "precious"; }
  fs::create_symlink(precious, dir.path / "c.safetensors.tmp");
  const std::string refused = "': open (something other than a regular file is there) '";
  REQUIRE_THROWS_WITH(st::write_file((dir.path / "c.safetensors").string(), sample_file()),
                      Contains(refused) && Contains("failed: File exists"));
  CHECK(slurp(precious).size() == 8);
  REQUIRE(::mkfifo((dir.path / "d.safetensors.tmp").c_str(), 0600) == 0);
  REQUIRE_THROWS_WITH(st::write_file((dir.path / "d.safetensors").string(), sample_file()),
                      Contains(refused));
  REQUIRE_THROWS_WITH(st::write_file(dir.path.string(), sample_file()),
                      Contains("expected a regular file or a new path, got a directory"));
}

TEST_CASE("safetensors: a crash at any step of write_file keeps the previous checkpoint") {
  using st::testing::FailPoint;
  const auto [point, step] = GENERATE(table<FailPoint, std::string>({
      {FailPoint::AfterOpen, "simulated crash after opening the temporary file"},
      {FailPoint::HalfWritten, "simulated crash with the temporary file half written"},
      {FailPoint::BeforeRename, "simulated crash before renaming the temporary file"},
  }));
  TempDir dir;
  const std::string path = (dir.path / "ckpt.safetensors").string();
  st::File old_file = sample_file();
  st::write_file(path, old_file);
  const std::vector<std::byte> old_bytes = slurp(path);

  st::File new_file = sample_file();
  new_file.metadata = {{"format", "pt"}, {"epoch", "4"}};
  new_file.tensors.push_back({"more", st::Dtype::F64, {64}, std::vector<std::byte>(512)});
  st::testing::set_fail_point(point);
  REQUIRE_THROWS_WITH(st::write_file(path, new_file),
                      "safetensors: cannot write '" + path + "': " + step + " (testing hook)");
  CHECK(slurp(path) == old_bytes);
  CHECK(st::read_file(path) == old_file);
  CHECK(dir.listing() == std::vector<std::string>{"ckpt.safetensors"});  // no temp file left

  // The hook fires once; the next write goes through and replaces the checkpoint.
  st::write_file(path, new_file);
  CHECK(st::read_file(path) == new_file);
  CHECK(dir.listing() == std::vector<std::string>{"ckpt.safetensors"});
}
