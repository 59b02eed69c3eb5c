// GCC vector types of the ISA a per-ISA kernel file is compiled for (include it
// after isa_kernel_file.hpp, inside no namespace): the widths follow the compile
// flags, so everything lives in nearortho::<isa> and no two copies ever meet.
// Used by cpp/src/isa/gradient_kernels.cpp, interference_kernels.cpp and
// simulate_kernels.cpp.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace nearortho {
namespace NEARORTHO_ISA {

#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
#elif defined(__AVX2__)
constexpr int kVectorBytes = 32;
#else
constexpr int kVectorBytes = 16;  // SSE2 on x86-64, generic lowering elsewhere
#endif

template <class T> struct IntOf;
template <> struct IntOf<float> { using type = std::int32_t; };
template <> struct IntOf<double> { using type = std::int64_t; };

// V: a register of T; VU: the same at element alignment, for loads and stores
// (GCC lets a vector alias its element type); IV: the matching integer (and
// comparison mask) vector; I32: the lanes as int32; D: the lanes widened to double.
template <class T>
struct Simd {
  static constexpr int lanes = kVectorBytes / sizeof(T);
  typedef T V __attribute__((vector_size(kVectorBytes)));
  typedef T VU __attribute__((vector_size(kVectorBytes), aligned(sizeof(T))));
  using I = typename IntOf<T>::type;
  typedef I IV __attribute__((vector_size(kVectorBytes)));
  typedef std::int32_t I32 __attribute__((vector_size(lanes * sizeof(std::int32_t))));
  typedef double D __attribute__((vector_size(lanes * sizeof(double))));
};

template <class T>
inline typename Simd<T>::V load(const T* x) {
  return *reinterpret_cast<const typename Simd<T>::VU*>(x);
}

template <class T>
inline void store(T* x, typename Simd<T>::V v) {
  *reinterpret_cast<typename Simd<T>::VU*>(x) = v;
}

// Every lane set to x: x - (+0) is x for every x (-0 too), so this folds to one
// broadcast, where V{} + x keeps an add (0 + -0 is +0) and a lane-by-lane
// loop may be built from inserts.
template <class V, class T>
inline V splat(T x) {
  return x - V{};
}

// |x| of a float or double vector by clearing the sign bits (exact, and -0
// becomes +0 as std::abs does).
template <class V>
inline V abs_v(V x) {
  using I = typename IntOf<std::remove_cv_t<std::remove_reference_t<decltype(x[0])>>>::type;
  typedef I IV __attribute__((vector_size(sizeof(V))));
  IV bits;
  std::memcpy(&bits, &x, sizeof x);
  bits &= IV{} + std::numeric_limits<I>::max();
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

// The bits of one vector as another of the same size.
template <class To, class From>
inline To bit_cast_vector(const From& x) {
  static_assert(sizeof(To) == sizeof(From), "same size only");
  To out;
  std::memcpy(&out, &x, sizeof out);
  return out;
}

// Bit l set when lane l of a comparison mask (all ones or zero per lane) is set:
// one movemask where the ISA has it, so a caller can visit only the set lanes.
template <class IV>
inline std::uint32_t lane_bits(const IV& mask) {
  constexpr int kLaneBytes = sizeof(mask[0]);
  static_assert(sizeof(IV) / kLaneBytes <= 32, "at most 32 lanes");
#if defined(__AVX512F__)
  if constexpr (sizeof(IV) == 64) {
    __m512i x;
    std::memcpy(&x, &mask, sizeof x);
    if constexpr (kLaneBytes == 4)
      return _mm512_cmplt_epi32_mask(x, _mm512_setzero_si512());
    else
      return _mm512_cmplt_epi64_mask(x, _mm512_setzero_si512());
  }
#endif
#if defined(__AVX__)
  if constexpr (sizeof(IV) == 32) {
    __m256 x;
    std::memcpy(&x, &mask, sizeof x);
    if constexpr (kLaneBytes == 4)
      return static_cast<std::uint32_t>(_mm256_movemask_ps(x));
    else
      return static_cast<std::uint32_t>(_mm256_movemask_pd(_mm256_castps_pd(x)));
  }
#endif
#if defined(__SSE2__)
  if constexpr (sizeof(IV) == 16) {
    __m128 x;
    std::memcpy(&x, &mask, sizeof x);
    if constexpr (kLaneBytes == 4)
      return static_cast<std::uint32_t>(_mm_movemask_ps(x));
    else
      return static_cast<std::uint32_t>(_mm_movemask_pd(_mm_castps_pd(x)));
  }
#endif
  std::uint32_t bits = 0;
  for (int l = 0; l < static_cast<int>(sizeof(IV) / kLaneBytes); ++l)
    bits |= static_cast<std::uint32_t>(mask[l] != 0) << l;
  return bits;
}

#if defined(__AVX512F__)
// The bits of an AVX-512 comparison (kPredicate: _CMP_GT_OQ, ...) into a mask.
template <int kPredicate, class V>
inline std::uint32_t avx512_compare_bits(const V& x, const V& y) {
  if constexpr (sizeof(x[0]) == 4) {
    __m512 a, b;
    std::memcpy(&a, &x, sizeof a);
    std::memcpy(&b, &y, sizeof b);
    return _mm512_cmp_ps_mask(a, b, kPredicate);
  } else {
    __m512d a, b;
    std::memcpy(&a, &x, sizeof a);
    std::memcpy(&b, &y, sizeof b);
    return _mm512_cmp_pd_mask(a, b, kPredicate);
  }
}
#endif

// lane_bits(x > y) and lane_bits(x >= y), with AVX-512's compare-into-mask kept
// as it is: GCC turns the generic form into a mask, a move of it into a vector
// and a compare back.
template <class V>
inline std::uint32_t lane_bits_greater(const V& x, const V& y) {
#if defined(__AVX512F__)
  if constexpr (sizeof(V) == 64) return avx512_compare_bits<_CMP_GT_OQ>(x, y);
#endif
  return lane_bits(x > y);
}

template <class V>
inline std::uint32_t lane_bits_at_least(const V& x, const V& y) {
#if defined(__AVX512F__)
  if constexpr (sizeof(V) == 64) return avx512_compare_bits<_CMP_GE_OQ>(x, y);
#endif
  return lane_bits(x >= y);
}

// Whether any lane of a comparison mask is set.
template <class IV>
inline bool any_lane(const IV& mask) {
  return lane_bits(mask) != 0;
}

}  // namespace NEARORTHO_ISA
}  // namespace nearortho
