// Gradient of the pair surrogate F(W) = sum_{i<j} (max(|g_ij| - t, 0) / s)^p,
// g_ij = <w_i, w_j> (raw inner products of the rows as given), in one fused
// tiled pass over the upper triangle that never holds an m x m matrix.
// p = 2, t = 0, s = 1 is the frame potential sum_{i<j} g_ij^2. Tests:
// tests/test_gradient.py.
#pragma once
#include <cstdint>
#include <functional>

namespace nearortho {

struct SurrogateOptions {
  int p = 2;          // integer power >= 2 (so the weight of g = 0 is exactly 0)
  double t = 0.0;     // threshold >= 0: only |g| > t counts (a hinge when t > 0)
  double s = 1.0;     // scale > 0: keeps (|g| - t) / s near 1 so high powers neither
                      //   underflow nor overflow
  int threads = 0;    // <= 0: OpenMP default
  // Polled by the calling thread between rounds of tiles (about every 50 ms) with
  // the rounds done and the total; returning true stops the pass (cancelled).
  std::function<bool(std::int64_t done, std::int64_t total)> poll;
};

struct SurrogateTotals {
  double value = 0;                      // F, float64 sum in a fixed order
  double max_abs = -1;                   // max |g_ij| over i < j
  std::int64_t max_i = -1, max_j = -1;   // its pair, smallest (i, j) on ties
  bool cancelled = false;
};

// w: (m, n) row-major, finite, m >= 2; grad: (m, n) row-major output,
// grad_i = dF/dw_i = sum_{j != i} p d_ij^(p-1) sign(g_ij) / s * w_j with
// d_ij = max(|g_ij| - t, 0) / s. Terms with d^p below the smallest normal
// number of T are dropped (so no subnormal arithmetic); a d^p above T's range
// gives an infinite value. Extra memory: three (m, n) copies (rows padded to a
// 144-row block and to an odd number of cache lines) and one tile per thread.
template <class T>
SurrogateTotals surrogate_gradient(const T* w, std::int64_t m, std::int64_t n,
                                   const SurrogateOptions& options, T* grad);

}  // namespace nearortho
