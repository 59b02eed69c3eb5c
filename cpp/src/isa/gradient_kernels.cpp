// One tile of the surrogate gradient, compiled once per ISA (NEARORTHO_ISA names
// the namespace): the Gram block G = W_I W_J^T, its weights c_ij = dF/dg_ij in
// place, then grad_I += C W_J and grad_J += C^T W_I. All three products use one
// register-blocked micro-kernel that accumulates each output element over its
// inner index in increasing order, so a gradient element's bits depend only on
// the tile edge and the order tiles reach its row block (fixed by the driver,
// cpp/src/gradient.cpp), never on threads. The tile's surrogate is a float64 sum
// in row order. Tests: tests/test_gradient.py (ISA forced in turn, threads 1 vs 2).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "nearortho/isa_kernel_file.hpp"
#include "nearortho/gradient_kernels.hpp"
#include "nearortho/isa_vectors.hpp"
#include "nearortho/surrogate_terms.hpp"

namespace nearortho {
namespace NEARORTHO_ISA {
namespace {

// Micro-tile: 12 vector accumulators (kMicroRows rows of one 64-byte panel
// width), leaving registers for the B row and one broadcast.
constexpr int kMicroRows = 12 * kVectorBytes / 64;
// Depth block of the Gram product. 256 k kept a 64-byte panel of B in L1, but
// deep blocks are faster, as in the interference kernel: (2048, 4096), one Zen 4
// core, 1024 k gained 1% on AVX-512 and on AVX2, (768, 4096) 2% on AVX-512.
constexpr std::int64_t kDepth = 1024;
static_assert(kGradientTileUnit % kMicroRows == 0, "tile edge must hold whole micro-tiles");

// Where the micro-kernel's kMicroRows broadcast values sit for step l:
// rows form a[r * stride + l] (rows of a row-major matrix), columns form
// a[l * stride + r] (kMicroRows adjacent columns).
enum class Form { rows, columns };

// c[r][q] (+)= sum_{l < count} a_r(l) * b[l * b_step + q] for r < kMicroRows,
// q < kPanelRows, each sum in increasing l. c has row stride ldc.
template <class T, Form form>
inline void micro_kernel(const T* a, std::int64_t a_stride, const T* b, std::int64_t b_step,
                         std::int64_t count, T* c, std::int64_t ldc, bool accumulate) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int NV = kPanelRows<T> / S::lanes;  // vectors per 64-byte panel row
  V acc[kMicroRows][NV];
#pragma GCC unroll 16
  for (int r = 0; r < kMicroRows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = accumulate ? load(c + r * ldc + v * S::lanes) : V{};
  const T* ar[kMicroRows];  // rows form: each row's start
#pragma GCC unroll 16
  for (int r = 0; r < kMicroRows; ++r) ar[r] = a + r * a_stride;
#pragma GCC unroll 2
  for (std::int64_t l = 0; l < count; ++l) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = load(b + v * S::lanes);
#pragma GCC unroll 16
    for (int r = 0; r < kMicroRows; ++r) {
      const T x = form == Form::rows ? ar[r][l] : a[r];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] += bv[v] * x;
    }
    if constexpr (form == Form::columns) a += a_stride;
    b += b_step;
  }
#pragma GCC unroll 16
  for (int r = 0; r < kMicroRows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) store(c + r * ldc + v * S::lanes, acc[r][v]);
}

// Asks for one cache line of each of kMicroRows rows a stride apart (a hint:
// addresses past a row's end are never faulted on).
template <class T>
inline void prefetch_rows(const T* a, std::int64_t stride) {
#pragma GCC unroll 16
  for (int r = 0; r < kMicroRows; ++r) __builtin_prefetch(a + r * stride);
}

// The pairs of tile row r that count: i < j < m (j > i inside a diagonal tile).
struct RowRange {
  std::int64_t lo, hi;  // local columns lo < q < hi
};

// The thread's best pair: the largest |g|, ties to the smallest (i, j). A vector
// pass finds the row's largest valid |g|; only a row that can win is scanned.
template <class T>
void track_max(const GradientTile<T>& p, GradientScratch<T>& s, const T* row, std::int64_t r,
               RowRange range) {
  using S = Simd<T>;
  using V = typename S::V;
  using IV = typename S::IV;
  using I = typename S::I;
  constexpr int L = S::lanes;
  IV iota;
  for (int l = 0; l < L; ++l) iota[l] = static_cast<I>(l);
  const IV sign = IV{} + std::numeric_limits<I>::min();
  V best = V{} - 1;
  for (std::int64_t v = 0; v < p.edge / L; ++v) {
    const V ag = bit_cast_vector<V>(bit_cast_vector<IV>(load(row + v * L)) & ~sign);
    const IV q = iota + static_cast<I>(v * L);
    best = ((q > static_cast<I>(range.lo)) & (q < static_cast<I>(range.hi)) & (ag > best)) ? ag : best;
  }
  T row_best = best[0];
  for (int l = 1; l < L; ++l) row_best = std::max(row_best, best[l]);
  if (row_best < 0 || row_best < s.max_abs) return;
  const std::int64_t i = p.i0 + r;
  for (std::int64_t q = range.lo + 1; q < range.hi; ++q) {
    if (std::abs(row[q]) != row_best) continue;
    const std::int64_t j = p.j0 + q;
    if (row_best > s.max_abs || i < s.max_i || (i == s.max_i && j < s.max_j)) {
      s.max_abs = row_best;
      s.max_i = i;
      s.max_j = j;
    }
    return;
  }
}

// The Gram tile c is replaced by the weights c_ij = p d^(p-1) sign(g) / s of the
// pairs that count (0 elsewhere); the tile's surrogate sum d^p (float64, row by
// row), the thread's best pair, and which micro-tile rows and columns hold a
// nonzero weight are recorded.
template <class T>
void weights(const GradientTile<T>& p, GradientScratch<T>& s) {
  using S = Simd<T>;
  using V = typename S::V;
  using IV = typename S::IV;
  using I = typename S::I;
  using D = typename S::D;
  constexpr int L = S::lanes;
  const std::int64_t edge = p.edge;
  const std::int64_t vectors = edge / L;
  IV iota;
  for (int l = 0; l < L; ++l) iota[l] = static_cast<I>(l);
  const IV sign = IV{} + std::numeric_limits<I>::min();
  const V t = V{} + p.terms.t, inv_s = V{} + p.terms.inv_s, cutoff = V{} + p.terms.cutoff;
  const V scale = V{} + p.terms.scale;
  IV col_any[kMaxGradientEdge / L];
  for (std::int64_t v = 0; v < vectors; ++v) col_any[v] = IV{};
  std::fill(s.row_nonzero, s.row_nonzero + edge / kMicroRows, false);
  std::fill(s.col_nonzero, s.col_nonzero + edge / kMicroRows, false);
  const std::int64_t col_end = std::clamp<std::int64_t>(p.m - p.j0, 0, edge);
  double value = 0;
  for (std::int64_t r = 0; r < edge; ++r) {
    T* row = s.c + r * s.ldc;
    const RowRange range{p.i0 == p.j0 ? r : -1, p.i0 + r < p.m ? col_end : 0};
    track_max(p, s, row, r, range);
    const IV lo = IV{} + static_cast<I>(range.lo), hi = IV{} + static_cast<I>(range.hi);
    D sum{};
    IV row_any{};
    for (std::int64_t v = 0; v < vectors; ++v) {
      const V g = load(row + v * L);
      const V ag = bit_cast_vector<V>(bit_cast_vector<IV>(g) & ~sign);
      const IV q = iota + static_cast<I>(v * L);
      V d = (ag - t) * inv_s;
      d = ((q > lo) & (q < hi) & (d >= cutoff)) ? d : V{};
      const V dp = power(d, p.terms.p - 1);
      sum += __builtin_convertvector(dp * d, D);
      const IV nonzero = d != V{};
      row_any |= nonzero;
      col_any[v] |= nonzero;
      store(row + v * L, bit_cast_vector<V>(bit_cast_vector<IV>(dp * scale) | (bit_cast_vector<IV>(g) & sign & nonzero)));
    }
    for (int l = 0; l < L; ++l) value += sum[l];
    if (any_lane(row_any)) s.row_nonzero[r / kMicroRows] = true;
  }
  s.value = value;
  for (std::int64_t v = 0; v < vectors; ++v)
    for (int l = 0; l < L; ++l)
      if (col_any[v][l]) s.col_nonzero[(v * L + l) / kMicroRows] = true;
}

template <class T>
void tile(const GradientTile<T>& p, GradientScratch<T>& s) {
  constexpr std::int64_t NR = kPanelRows<T>;
  constexpr std::int64_t MR = kMicroRows;
  const std::int64_t groups = p.edge / MR, panels = p.edge / NR;
  // G = W_I W_J^T in depth blocks: one B panel stays in L1 while the A rows of
  // the block stream from L2
  for (std::int64_t k0 = 0; k0 < p.n; k0 += kDepth) {
    const std::int64_t kc = std::min(kDepth, p.n - k0);
    for (std::int64_t jp = 0; jp < panels; ++jp) {
      const T* b = p.panels + ((p.j0 / NR) + jp) * p.panel_stride + k0 * NR;
      for (std::int64_t ig = 0; ig < groups; ++ig)
        micro_kernel<T, Form::rows>(p.rows + (p.i0 + ig * MR) * p.ld + k0, p.ld, b, NR, kc,
                                    s.c + ig * MR * s.ldc + jp * NR, s.ldc, k0 > 0);
    }
  }
  weights(p, s);
  // grad_I += C W_J and grad_J += C^T W_I, one strip of kPanelRows columns at a
  // time so the strip of W (edge cache lines) stays in L1. Each call fetches the
  // next strip's lines of its group's rows of W and of grad, one line a row:
  // rows a stride apart defeat the hardware prefetcher, and waiting for them
  // cost a tenth of the pass at n = 768 (bench/bench_gradient.py).
  const std::int64_t width = (p.n + NR - 1) / NR * NR;
  for (std::int64_t k = 0; k < width; k += NR)
    for (std::int64_t ig = 0; ig < groups; ++ig) {
      T* out = p.grad + (p.i0 + ig * MR) * p.ld + k;
      prefetch_rows(p.rows + (p.j0 + ig * MR) * p.ld + k + NR, p.ld);
      if (!s.row_nonzero[ig]) continue;
      prefetch_rows(out + NR, p.ld);
      micro_kernel<T, Form::rows>(s.c + ig * MR * s.ldc, s.ldc, p.rows + p.j0 * p.ld + k, p.ld, p.edge, out,
                                  p.ld, true);
    }
  for (std::int64_t k = 0; k < width; k += NR)
    for (std::int64_t jg = 0; jg < groups; ++jg) {
      T* out = p.grad + (p.j0 + jg * MR) * p.ld + k;
      prefetch_rows(p.rows + (p.i0 + jg * MR) * p.ld + k + NR, p.ld);
      if (!s.col_nonzero[jg]) continue;
      prefetch_rows(out + NR, p.ld);
      micro_kernel<T, Form::columns>(s.c + jg * MR, s.ldc, p.rows + p.i0 * p.ld + k, p.ld, p.edge, out,
                                     p.ld, true);
    }
}

}  // namespace

extern const GradientKernels kGradientKernels;
const GradientKernels kGradientKernels = {&tile<float>, &tile<double>};

}  // namespace NEARORTHO_ISA
}  // namespace nearortho
