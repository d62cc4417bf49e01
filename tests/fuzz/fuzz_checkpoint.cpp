// libFuzzer target for mg::safetensors::parse (built and run by scripts/fuzz.sh).
// The property: any byte string either parses or throws CheckpointError; never a crash, a
// sanitizer report, another exception or an allocation beyond -malloc_limit_mb. And whatever
// parse accepts must survive serialize -> parse unchanged.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/safetensors.hpp"

namespace {

void check(std::span<const std::byte> bytes) {
  namespace st = mg::safetensors;
  st::File file;
  try {
    file = st::parse(bytes);
  } catch (const mg::CheckpointError&) {
    return;  // the expected outcome for almost every input
  }
  // serialize throwing here (an uncaught exception) is a finding too: parse let through
  // something the writer refuses.
  if (!(st::parse(st::serialize(file)) == file)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  check(bytes);

  // Most mutations of the JSON change its length, so the 8-byte length field no longer matches
  // and parse stops early. To let the fuzzer explore the header checks too, also try the input
  // with the length field rewritten to end the header at its last '}'.
  std::vector<std::byte> fixed(bytes.begin(), bytes.end());
  for (std::size_t end = fixed.size(); end > 8; --end) {
    if (fixed[end - 1] != std::byte{'}'}) continue;
    const uint64_t header_size = end - 8;
    for (int i = 0; i < 8; ++i) fixed[i] = std::byte((header_size >> (8 * i)) & 0xFF);
    check(fixed);
    break;
  }
  return 0;
}
