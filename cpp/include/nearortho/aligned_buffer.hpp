// 64-byte aligned arrays (one cache line, one AVX-512 vector) for packed panels
// and per-thread tiles. Used by cpp/src/interference.cpp and cpp/src/gradient.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

namespace nearortho {

struct AlignedFree {
  void operator()(void* p) const { ::operator delete(p, std::align_val_t(64)); }
};

template <class T>
using AlignedArray = std::unique_ptr<T, AlignedFree>;

// Uninitialised; throws std::bad_alloc like new.
template <class T>
AlignedArray<T> aligned_array(std::int64_t count) {
  return AlignedArray<T>(static_cast<T*>(::operator new(static_cast<std::size_t>(count) * sizeof(T),
                                                         std::align_val_t(64))));
}

}  // namespace nearortho
