#include "core/allocator.hpp"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <new>
#include <vector>

namespace mg {
namespace {

constexpr std::size_t kAlignment = 64;

// Under AddressSanitizer the cache is bypassed, so a use after free is still caught.
#ifdef __SANITIZE_ADDRESS__
constexpr bool kCaching = false;
#else
constexpr bool kCaching = true;
#endif

// No machine has 2^62 bytes (4 EiB) to give; a larger request is refused with bad_alloc before
// it is rounded, so the size arithmetic below never wraps around. Where size_t has 32 bits
// (WebAssembly, docs/playground.md) the same margin gives 2^30 bytes (1 GiB).
constexpr std::size_t kMaxBytes = std::size_t{1} << (std::numeric_limits<std::size_t>::digits - 2);

// Rounds a request up to its size class: powers of two up to 4 KiB, then steps of a quarter of
// the power of two below (5, 6, 7, 8 KiB, 10, 12, 14, 16 KiB, ...): at most 25% slack.
// Requires 0 < bytes <= kMaxBytes.
std::size_t size_class(std::size_t bytes) {
  if (bytes <= 4096) return std::max(kAlignment, std::bit_ceil(bytes));
  const std::size_t step = std::bit_ceil(bytes) / 8;  // a quarter of the power of two below
  return (bytes + step - 1) / step * step;
}

struct Cache {
  std::mutex mutex;
  std::map<std::size_t, std::vector<void*>> free_blocks;  // size class -> cached blocks
  AllocatorStats stats;
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: tensors in static storage may outlive main
  return *c;
}

}  // namespace

void* allocate(std::size_t bytes) {
  if (bytes > kMaxBytes) throw std::bad_alloc();
  const std::size_t size = size_class(std::max<std::size_t>(bytes, 1));
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.stats.cache_hits++;
      c.stats.bytes_cached -= static_cast<int64_t>(size);
      c.stats.bytes_in_use += static_cast<int64_t>(size);
      return p;
    }
  }
  void* p = std::aligned_alloc(kAlignment, size);
  if (!p) throw std::bad_alloc();  // nothing was counted
  std::lock_guard lock(c.mutex);
  c.stats.os_allocations++;
  c.stats.bytes_in_use += static_cast<int64_t>(size);
  return p;
}

void deallocate(void* ptr, std::size_t bytes) {
  if (!ptr) return;
  const std::size_t size = size_class(std::max<std::size_t>(bytes, 1));
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  c.stats.bytes_in_use -= static_cast<int64_t>(size);
  if (!kCaching) {
    std::free(ptr);
    return;
  }
  c.free_blocks[size].push_back(ptr);
  c.stats.bytes_cached += static_cast<int64_t>(size);
}

AllocatorStats allocator_stats() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  return c.stats;
}

}  // namespace mg
