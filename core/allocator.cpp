#include "core/allocator.hpp"

#include <cassert>
#include <cstdlib>
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

// Rounds a request up to its size class: powers of two up to 4 KiB, then steps of a quarter of
// the power of two below (5, 6, 7, 8 KiB, 10, 12, 14, 16 KiB, ...): at most 25% slack.
std::size_t size_class(std::size_t bytes) {
  std::size_t c = kAlignment;
  while (c < bytes && c < 4096) c *= 2;
  if (c >= bytes) return c;
  std::size_t pow2 = 4096;
  while (pow2 * 2 < bytes) pow2 *= 2;
  const std::size_t step = pow2 / 4;
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
  if (bytes == 0) bytes = 1;
  const std::size_t size = size_class(bytes);
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    c.stats.bytes_in_use += static_cast<int64_t>(size);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.stats.cache_hits++;
      c.stats.bytes_cached -= static_cast<int64_t>(size);
      return p;
    }
    c.stats.os_allocations++;
  }
  void* p = std::aligned_alloc(kAlignment, size);
  if (!p) throw std::bad_alloc();
  return p;
}

void deallocate(void* ptr, std::size_t bytes) {
  if (!ptr) return;
  if (bytes == 0) bytes = 1;
  const std::size_t size = size_class(bytes);
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
