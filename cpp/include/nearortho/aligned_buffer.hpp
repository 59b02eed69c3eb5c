// 64-byte aligned arrays (one cache line, one AVX-512 vector) for packed panels
// and per-thread tiles. Used by cpp/src/interference.cpp and cpp/src/gradient.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace nearortho {

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

template <class T>
using AlignedArray = std::unique_ptr<T, AlignedFree>;

// Uninitialised; throws std::bad_alloc like new. Arrays of 4 MiB or more start on
// a 2 MiB boundary and ask Linux for transparent huge pages (as numpy does for its
// large arrays): the micro-kernels stream panels from many 4 KiB pages at once,
// which would miss the first-level TLB, and the first touch faults 512 times less.
template <class T>
AlignedArray<T> aligned_array(std::int64_t count) {
  constexpr std::size_t kHuge = std::size_t(2) << 20;
  const std::size_t bytes = static_cast<std::size_t>(count) * sizeof(T);
  const std::size_t align = bytes >= 2 * kHuge ? kHuge : 64;
  const std::size_t rounded = (bytes + align - 1) / align * align;  // aligned_alloc wants a multiple
  void* p = std::aligned_alloc(align, rounded == 0 ? align : rounded);
  if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align == kHuge) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing
#endif
  return AlignedArray<T>(static_cast<T*>(p));
}

}  // namespace nearortho
