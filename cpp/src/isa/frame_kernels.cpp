// Frame kernels compiled once per ISA (NEARORTHO_ISA names the namespace).
// Every copy rounds identically: no FMA contraction, no reassociation, and the
// same operation order in scalar and vector code, so frames are bit-identical
// whatever ISA runs them. Tests: tests/test_frame.py (ISA forced in turn).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "nearortho/isa_kernel_file.hpp"
#include "nearortho/frame_kernels.hpp"
#include "nearortho/philox.hpp"

namespace nearortho {
namespace NEARORTHO_ISA {
namespace {

inline float float_from_bits(std::uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}

inline std::uint32_t bits_from_float(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// Natural log of a normal float in (0, 1]: Cephes logf's reduction and
// polynomial, branch-free so loops of it vectorise. Max error about 1 ulp.
inline float log_unit(float x) {
  const std::uint32_t bits = bits_from_float(x);
  float e = static_cast<float>(static_cast<int>(bits >> 23) - 127);
  float mant = float_from_bits((bits & 0x007FFFFFu) | 0x3F800000u);  // [1, 2)
  const bool upper = mant > 1.41421356f;
  mant = upper ? mant * 0.5f : mant;
  e = upper ? e + 1.0f : e;
  const float f = mant - 1.0f;  // [sqrt(1/2) - 1, sqrt(2) - 1)
  const float z = f * f;
  float p = 7.0376836292e-2f;
  p = p * f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  float y = p * f * z;
  y = y + -2.12194440e-4f * e;
  y = y - 0.5f * z;
  return f + y + 0.693359375f * e;
}

// cos and sin of 2*pi*u for u in [0, 1): quadrant reduction (exact in float)
// and Cephes' minimax polynomials on [-pi/4, pi/4].
inline void cos_sin_turns(float u, float& c, float& s) {
  const float v = 4.0f * u;
  const float k = std::floor(v + 0.5f);
  const float f = (v - k) * 1.57079632679489662f;
  const float z = f * f;
  const float sf = f + f * z * ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f);
  const float cf = 1.0f - 0.5f * z +
                   z * z * ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z +
                            4.166664568298827e-2f);
  const int q = static_cast<int>(k) & 3;
  const float cq = (q == 0) ? cf : (q == 1) ? -sf : (q == 2) ? -cf : sf;
  const float sq = (q == 0) ? sf : (q == 1) ? cf : (q == 2) ? -sf : -cf;
  c = cq;
  s = sq;
}

// Scales a row to unit norm; the sum of squares runs in double over eight fixed
// lanes (vectorisable, and the same order on every ISA).
inline void normalize_row(float* row, std::int64_t n) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  const std::int64_t body = n - n % 8;
  for (std::int64_t j = 0; j < body; j += 8)
    for (int l = 0; l < 8; ++l) lane[l] += static_cast<double>(row[j + l]) * row[j + l];
  for (std::int64_t j = body; j < n; ++j) lane[j - body] += static_cast<double>(row[j]) * row[j];
  const double sum = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
  if (sum == 0.0) {  // only possible for tiny n; fall back to a fixed unit vector
    row[0] = 1.0f;
    return;
  }
  const float scale = static_cast<float>(1.0 / std::sqrt(sum));
  for (std::int64_t j = 0; j < n; ++j) row[j] *= scale;
}

// Words of Philox blocks 0..blocks-1, stored k-major: word k of block b at
// w[k * blocks + b].
inline void philox_words_generic(const RowGenerator& gen, std::int64_t first, std::int64_t blocks,
                                 std::uint32_t* w) {
  for (std::int64_t b = first; b < blocks; ++b) {
    const Philox4x32 x = gen.block(static_cast<std::uint32_t>(b));
    w[b] = x.v[0];
    w[blocks + b] = x.v[1];
    w[2 * blocks + b] = x.v[2];
    w[3 * blocks + b] = x.v[3];
  }
}

#if defined(__AVX2__)
// 32x32 -> 64-bit products of eight lanes by a constant, split into high and low words.
inline void mul_hi_lo(__m256i a, __m256i multiplier, __m256i& hi, __m256i& lo) {
  const __m256i even = _mm256_mul_epu32(a, multiplier);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), multiplier);
  lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

// Eight Philox blocks at a time with the same integer operations as
// philox4x32_10, so the words are identical to the generic path.
inline void philox_words(const RowGenerator& gen, std::int64_t blocks, std::uint32_t* w) {
  const __m256i mul0 = _mm256_set1_epi32(static_cast<int>(0xD2511F53u));
  const __m256i mul1 = _mm256_set1_epi32(static_cast<int>(0xCD9E8D57u));
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  std::int64_t b = 0;
  for (; b + 8 <= blocks; b += 8) {
    __m256i c0 = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(b)), lane);
    __m256i c1 = _mm256_set1_epi32(static_cast<int>(gen.r0));
    __m256i c2 = _mm256_set1_epi32(static_cast<int>(gen.r1));
    __m256i c3 = _mm256_set1_epi32(static_cast<int>(gen.stream));
    std::uint32_t k0 = gen.k0, k1 = gen.k1;
    for (int round = 0; round < 10; ++round) {
      __m256i hi0, lo0, hi1, lo1;
      mul_hi_lo(c0, mul0, hi0, lo0);
      mul_hi_lo(c2, mul1, hi1, lo1);
      c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
      c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
      c1 = lo1;
      c3 = lo0;
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(w + b), c0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(w + blocks + b), c1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(w + 2 * blocks + b), c2);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(w + 3 * blocks + b), c3);
  }
  philox_words_generic(gen, b, blocks, w);
}
#else
inline void philox_words(const RowGenerator& gen, std::int64_t blocks, std::uint32_t* w) {
  philox_words_generic(gen, 0, blocks, w);
}
#endif

// Row layout: Philox block b of the row's gaussian stream gives words
// (b, blocks + b, 2 blocks + b, 3 blocks + b); pair p uses words p and pairs + p
// for Box-Muller and fills coordinates p (cosine) and pairs + p (sine).
void gaussian_rows_f32(std::uint64_t seed, std::int64_t n, std::int64_t row_begin,
                       std::int64_t row_end, float* out) {
  const std::int64_t pairs = (n + 1) / 2;
  const std::int64_t blocks = (2 * pairs + 3) / 4;
  std::vector<std::uint32_t> words(static_cast<std::size_t>(4 * blocks));
  std::uint32_t* w = words.data();
  for (std::int64_t row = row_begin; row < row_end; ++row) {
    philox_words(RowGenerator(seed, static_cast<std::uint64_t>(row), Stream::gaussian), blocks, w);
    float* o = out + (row - row_begin) * n;
    const std::int64_t full = n / 2;  // pairs whose sine is kept too
    for (std::int64_t p = 0; p < full; ++p) {
      const float u1 = (static_cast<float>(w[p] >> 8) + 0.5f) * 0x1p-24f;  // (0, 1)
      const float u2 = static_cast<float>(w[pairs + p] >> 8) * 0x1p-24f;    // [0, 1)
      const float r = std::sqrt(-2.0f * log_unit(u1));
      float c, s;
      cos_sin_turns(u2, c, s);
      o[p] = r * c;
      o[pairs + p] = r * s;
    }
    if (full < pairs) {  // odd n: the last pair keeps its cosine only
      const float u1 = (static_cast<float>(w[full] >> 8) + 0.5f) * 0x1p-24f;
      const float u2 = static_cast<float>(w[pairs + full] >> 8) * 0x1p-24f;
      float c, s;
      cos_sin_turns(u2, c, s);
      o[full] = std::sqrt(-2.0f * log_unit(u1)) * c;
    }
    normalize_row(o, n);
  }
}

// Four doubles (GCC/Clang vector extension: one AVX register, two SSE2 ones).
// Only element-wise mul, add and sub, so each lane rounds as scalar code would
// and every ISA gets the same bits.
typedef double v4d __attribute__((vector_size(32)));
inline v4d load4(const double* p) {
  v4d x;
  std::memcpy(&x, p, sizeof x);
  return x;
}
inline void store4(double* p, v4d x) { std::memcpy(p, &x, sizeof x); }

// Without AVX a v4d takes two SSE2 registers: tiles shrink so their
// accumulators still fit in registers. Tile shape never changes the order of
// any sum, so the bits stay the same.
#if defined(__AVX2__)
constexpr int kTile = 4;
#else
constexpr int kTile = 2;
#endif

// Dots of two q rows (q0, q0 + n) with R v rows: 2 R accumulators of 4 lanes.
template <int R>
inline void dots_tile(const double* q0, std::int64_t n, const double* const* y, std::int64_t c0,
                      std::int64_t c1, double* acc0, std::int64_t stride) {
  const std::int64_t body = c0 + (c1 - c0) / 4 * 4;
  const double* q1 = q0 + n;
  const double* yt[R];
  v4d a0[R], a1[R];
  for (int t = 0; t < R; ++t) {
    yt[t] = y[t];
    a0[t] = load4(acc0 + t * stride);
    a1[t] = load4(acc0 + t * stride + 4);
  }
  for (std::int64_t k = c0; k < body; k += 4) {
    const v4d x0 = load4(q0 + k), x1 = load4(q1 + k);
    for (int t = 0; t < R; ++t) {
      const v4d z = load4(yt[t] + k);
      a0[t] += x0 * z;
      a1[t] += x1 * z;
    }
  }
  for (std::int64_t k = body; k < c1; ++k)
    for (int t = 0; t < R; ++t) {
      a0[t][k % 4] += q0[k] * y[t][k];
      a1[t][k % 4] += q1[k] * y[t][k];
    }
  for (int t = 0; t < R; ++t) {
    store4(acc0 + t * stride, a0[t]);
    store4(acc0 + t * stride + 4, a1[t]);
  }
}

void block_dots_f64(const double* q, std::int64_t n, std::int64_t j0, std::int64_t j1,
                    const double* const* v, std::int64_t r4, std::int64_t c0, std::int64_t c1,
                    std::int64_t p, double* acc) {
  for (std::int64_t j = j0; j < j1; j += 2)
    for (std::int64_t i = 0; i < r4; i += kTile)
      dots_tile<kTile>(q + j * n, n, v + i, c0, c1, acc + 4 * (i * p + j), 4 * p);
}

// Columns [4 first, 4 (first + V)) of the 4x8 tile; per j one load of each
// vector of q feeds four rows.
template <int V>
inline void update_tile(const double* packed, std::int64_t p, const double* const* c, double* tile,
                        int first) {
  v4d a[4][V];
  for (int t = 0; t < 4; ++t)
    for (int w = 0; w < V; ++w) a[t][w] = load4(tile + 8 * t + 4 * (first + w));
  for (std::int64_t j = 0; j < p; ++j) {
    v4d x[V];
    for (int w = 0; w < V; ++w) x[w] = load4(packed + 8 * j + 4 * (first + w));
    for (int t = 0; t < 4; ++t)
      for (int w = 0; w < V; ++w) a[t][w] -= c[t][j] * x[w];
  }
  for (int t = 0; t < 4; ++t)
    for (int w = 0; w < V; ++w) store4(tile + 8 * t + 4 * (first + w), a[t][w]);
}

void block_update_f64(const double* packed, std::int64_t p, const double* const* c,
                      double* tile) {
  if (kTile == 4) {
    update_tile<2>(packed, p, c, tile, 0);
  } else {
    update_tile<1>(packed, p, c, tile, 0);
    update_tile<1>(packed, p, c, tile, 1);
  }
}

}  // namespace

extern const FrameKernels kFrameKernels;
const FrameKernels kFrameKernels = {&gaussian_rows_f32, &block_dots_f64, &block_update_f64};

}  // namespace NEARORTHO_ISA
}  // namespace nearortho
