// std::bit_cast for the WebAssembly build. Debian's emscripten 3.1.6 ships libc++ 13, whose <bit>
// lacks std::bit_cast (C++20); wasm.mk includes this header first in every source file. It gives
// the standard's definition through the compiler's __builtin_bit_cast (clang 14 has it), and
// nothing at all where the library already provides std::bit_cast.
#pragma once

#include <bit>
#include <type_traits>

#ifndef __cpp_lib_bit_cast
namespace std {
template <class To, class From>
requires(sizeof(To) == sizeof(From) && is_trivially_copyable_v<To> &&
         is_trivially_copyable_v<From>) constexpr To bit_cast(const From& from) noexcept {
  return __builtin_bit_cast(To, from);
}
}  // namespace std
#endif
