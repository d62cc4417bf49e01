// The one place tensor memory comes from. Every tensor's data and gradient buffer is taken from
// and given back to this caching allocator, so a training loop that repeats the same shapes
// reuses the same blocks instead of asking the OS for fresh pages every step (a fresh 4 KiB page
// costs about 11 µs on a small VM: an allocation per step is many times slower than the math).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mg {

struct AllocatorStats {
  int64_t os_allocations = 0;  // blocks obtained from the system allocator
  int64_t cache_hits = 0;      // requests served from the cache
  int64_t bytes_cached = 0;    // bytes held in the cache, free for reuse
  int64_t bytes_in_use = 0;    // bytes handed out and not yet given back
};

// Returns at least `bytes` bytes aligned to 64 (one cache line, the widest AVX-512 load).
// Blocks are cached by size class (powers of two, and quarter steps above 4 KiB). Throws
// std::bad_alloc when the system has no such block, and for any request above 2^62 bytes.
void* allocate(std::size_t bytes);
// Gives a block from allocate() back to the cache. `bytes` is the size that was asked for.
void deallocate(void* ptr, std::size_t bytes);

AllocatorStats allocator_stats();

}  // namespace mg
