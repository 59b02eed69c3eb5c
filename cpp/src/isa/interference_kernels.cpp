// Gram tile micro-kernel and fused reductions, compiled once per ISA (NEARORTHO_ISA
// names the namespace). Every g_ij is the dot product accumulated in the order
// k = 0, 1, ..., n - 1 (one fused multiply-add per k where the ISA has FMA, see
// CMakeLists.txt), so on a given ISA its bits do not depend on the tile or the
// thread: max, argmax, histogram and top-k are exactly reproducible. Tests:
// tests/test_interference.py (ISA forced in turn, threads 1 vs 2).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "nearortho/isa_kernel_file.hpp"
#include "nearortho/interference_kernels.hpp"

namespace nearortho {
namespace NEARORTHO_ISA {
namespace {

#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
#elif defined(__AVX2__)
constexpr int kVectorBytes = 32;
#else
constexpr int kVectorBytes = 16;  // SSE2 on x86-64, generic lowering elsewhere
#endif
// Micro-tile height: 12 vector accumulators (a 64-byte panel row is 64 /
// kVectorBytes vectors), leaving registers for the B row and one broadcast.
constexpr int kMicroRows = 12 * kVectorBytes / 64;

template <class T> struct IntOf;
template <> struct IntOf<float> { using type = std::int32_t; };
template <> struct IntOf<double> { using type = std::int64_t; };

template <class T>
struct Simd {
  static constexpr int lanes = kVectorBytes / sizeof(T);
  static constexpr int per_panel = kPanelRows<T> / lanes;  // vectors per panel row
  // Values (registers, locals) have natural alignment; VU is the same vector for
  // loads and stores at element alignment (the partial-sum tile is a std::vector).
  typedef T V __attribute__((vector_size(kVectorBytes)));
  typedef T VU __attribute__((vector_size(kVectorBytes), aligned(sizeof(T))));
  using I = typename IntOf<T>::type;
  typedef I IV __attribute__((vector_size(kVectorBytes)));
  typedef double D __attribute__((vector_size(lanes * sizeof(double))));
};

// |x| by clearing the sign bits (exact, and -0 becomes +0 as std::abs does).
template <class T>
inline typename Simd<T>::V abs_v(typename Simd<T>::V x) {
  using S = Simd<T>;
  typename S::IV bits;
  std::memcpy(&bits, &x, sizeof x);
  bits &= typename S::IV{} + std::numeric_limits<typename S::I>::max();
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

// Whether any lane of a comparison mask is set, as a few 64-bit ORs.
template <class IV>
inline bool any_lane(const IV& mask) {
  std::uint64_t words[sizeof(IV) / 8];
  std::memcpy(words, &mask, sizeof words);
  std::uint64_t acc = 0;
  for (std::uint64_t w : words) acc |= w;
  return acc != 0;
}

// c (kMicroRows x kPanelRows, row-major) += A rows x B panel over k in [k0, k1).
// a[r] points at row r's coordinate 0 inside its panel (stride kPanelRows per k).
// Loads and stores go through the vector type (GCC lets a vector alias its
// element type) so the accumulators never have their address taken and stay in
// registers; vector * scalar broadcasts the A value.
template <class T>
inline void micro_kernel(const T* const* a, const T* b, std::int64_t k0, std::int64_t k1, T* c,
                         bool accumulate) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int NV = S::per_panel;
  constexpr int NR = kPanelRows<T>;
  V acc[kMicroRows][NV];
#pragma GCC unroll 16
  for (int r = 0; r < kMicroRows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      acc[r][v] = accumulate ? *reinterpret_cast<const typename S::VU*>(c + r * NR + v * S::lanes) : V{};
  const T* ar[kMicroRows];
#pragma GCC unroll 16
  for (int r = 0; r < kMicroRows; ++r) ar[r] = a[r] + k0 * NR;
  const T* bp = b + k0 * NR;
#pragma GCC unroll 4
  for (std::int64_t k = k0; k < k1; ++k) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = *reinterpret_cast<const typename S::VU*>(bp + v * S::lanes);
#pragma GCC unroll 16
    for (int r = 0; r < kMicroRows; ++r) {
      const T x = *ar[r];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] += bv[v] * x;
      ar[r] += NR;
    }
    bp += NR;
  }
#pragma GCC unroll 16
  for (int r = 0; r < kMicroRows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) *reinterpret_cast<typename S::VU*>(c + r * NR + v * S::lanes) = acc[r][v];
}

// (a, j) beats (a2, j2): larger |g|, then smaller partner index.
template <class T>
inline bool beats(T a, std::int64_t j, T a2, std::int64_t j2) {
  return a > a2 || (a == a2 && j < j2);
}

template <class T>
class Reducer {
 public:
  Reducer(const TileParams<T>& p, TileScratch<T>& s) : p_(p), s_(s) {}

  // Every statistic of one pair (i, j) whose local slots are (ri, cj).
  inline void element(std::int64_t i, std::int64_t j, int ri, int cj, T g) {
    const T ag = std::abs(g);
    const double gd = g;
    s_.sum += gd;
    s_.sum_abs += std::abs(gd);
    s_.sum_sq += gd * gd;
    global_max(ag, i, j);
    histogram(ag);
    for (int t = 0; t < p_.n_thresholds; ++t) s_.count_above[t] += ag > p_.thresholds[t];
    if (p_.per_row) {
      slot_max(ri, ag, j);
      s_.slot_sumsq[ri] += gd * gd;
      if (p_.symmetric) {
        slot_max(static_cast<int>(kTile) + cj, ag, i);
        s_.slot_sumsq[kTile + cj] += gd * gd;
      }
    }
    if (p_.topk > 0) {
      offer(ri, ag, g, j);
      if (p_.symmetric) offer(static_cast<int>(kTile) + cj, ag, g, i);
    }
  }

  inline void global_max(T ag, std::int64_t i, std::int64_t j) {
    if (ag > s_.max_abs ||
        (ag == s_.max_abs && (i < s_.max_i || (i == s_.max_i && j < s_.max_j)))) {
      s_.max_abs = ag;
      s_.max_i = i;
      s_.max_j = j;
    }
  }

  inline void slot_max(int slot, T ag, std::int64_t partner) {
    if (beats(ag, partner, s_.slot_max[slot], s_.slot_arg[slot])) {  // slot_max starts at -1
      s_.slot_max[slot] = ag;
      s_.row_floor[slot] = std::max(s_.row_floor[slot], ag);
      s_.slot_arg[slot] = partner;
    }
  }

  inline std::int64_t default_bin(T ag) const {
    const std::int64_t b = static_cast<std::int64_t>(ag * p_.scale);
    return b < p_.bins ? b : p_.bins - 1;
  }

  inline void histogram(T ag) {
    if (!p_.refine) {
      ++s_.hist[default_bin(ag)];
      return;
    }
    const double x = ag;
    if (x < p_.hist_lo) {
      ++s_.below;
    } else if (x > p_.hist_hi) {
      ++s_.above;
    } else {
      const std::int64_t b = static_cast<std::int64_t>((x - p_.hist_lo) * p_.refine_scale);
      ++s_.hist[b < p_.bins ? b : p_.bins - 1];
    }
    if (x >= p_.collect_lo && x <= p_.collect_hi) {
      if (static_cast<std::int64_t>(s_.collected.size()) < p_.collect_cap)
        s_.collected.push_back(x);
      else
        s_.collect_overflow = true;
    }
  }

  // Top-k candidate for a local slot; the list stays sorted best first.
  inline void offer(int slot, T ag, T g, std::int64_t partner) {
    if (s_.global_kth_abs[slot] >= 0 &&
        !beats(ag, partner, s_.global_kth_abs[slot], s_.global_kth_index[slot]))
      return;
    const int k = p_.topk;
    const std::size_t base = static_cast<std::size_t>(slot) * k;
    int count = s_.topk_count[slot];
    if (count == k &&
        !beats(ag, partner, s_.topk_abs[base + k - 1], s_.topk_index[base + k - 1]))
      return;
    int pos = count < k ? count : k - 1;
    while (pos > 0 && beats(ag, partner, s_.topk_abs[base + pos - 1], s_.topk_index[base + pos - 1])) {
      s_.topk_abs[base + pos] = s_.topk_abs[base + pos - 1];
      s_.topk_signed[base + pos] = s_.topk_signed[base + pos - 1];
      s_.topk_index[base + pos] = s_.topk_index[base + pos - 1];
      --pos;
    }
    s_.topk_abs[base + pos] = ag;
    s_.topk_signed[base + pos] = g;
    s_.topk_index[base + pos] = partner;
    if (count < k) s_.topk_count[slot] = ++count;
    if (count == k) s_.topk_floor[slot] = std::max(s_.topk_floor[slot], s_.topk_abs[base + k - 1]);
  }

  // A micro-tile with rows [r0, r0 + kMicroRows) and columns [c0, c0 + panel) where
  // some pairs are outside the pass (edges, the diagonal) or refine mode is on.
  void masked(const T* c, std::int64_t r0, std::int64_t c0) {
    constexpr int NR = kPanelRows<T>;
    for (int r = 0; r < kMicroRows; ++r) {
      const std::int64_t i = r0 + r;
      if (i >= p_.m_a) break;
      for (int q = 0; q < NR; ++q) {
        const std::int64_t j = c0 + q;
        if (j >= p_.m_b) break;
        if (p_.symmetric && j <= i) continue;
        element(i, j, static_cast<int>(i - p_.i0), static_cast<int>(j - p_.j0), c[r * NR + q]);
      }
    }
  }

  // A micro-tile where every pair counts: the same statistics as element(), with
  // vector tests deciding which few values need the scalar bookkeeping.
  void full(const T* c, std::int64_t r0, std::int64_t c0) {
    using S = Simd<T>;
    using V = typename S::V;
    using IV = typename S::IV;
    using D = typename S::D;
    constexpr int NV = S::per_panel;
    constexpr int NR = kPanelRows<T>;
    constexpr int L = S::lanes;
    const int rl0 = static_cast<int>(r0 - p_.i0);
    const int cl0 = static_cast<int>(c0 - p_.j0);
    V g[kMicroRows][NV], ag[kMicroRows][NV];
    std::memcpy(g, c, sizeof g);
    for (int r = 0; r < kMicroRows; ++r)
      for (int v = 0; v < NV; ++v) ag[r][v] = abs_v<T>(g[r][v]);

    // float64 sums; g^2 is exact in double for float input
    D sum{}, sum_abs{}, sum_sq{};
    D col_sq[NV];
    for (int v = 0; v < NV; ++v) col_sq[v] = D{};
    for (int r = 0; r < kMicroRows; ++r) {
      D row_sq{};
      for (int v = 0; v < NV; ++v) {
        const D d = __builtin_convertvector(g[r][v], D);
        const D da = __builtin_convertvector(ag[r][v], D);
        sum += d;
        sum_abs += da;
        row_sq += d * d;
        col_sq[v] += d * d;
      }
      sum_sq += row_sq;
      if (p_.per_row) s_.slot_sumsq[rl0 + r] += hsum(row_sq);
    }
    s_.sum += hsum(sum);
    s_.sum_abs += hsum(sum_abs);
    s_.sum_sq += hsum(sum_sq);
    if (p_.per_row && p_.symmetric)
      for (int v = 0; v < NV; ++v)
        for (int l = 0; l < L; ++l) s_.slot_sumsq[kTile + cl0 + v * L + l] += col_sq[v][l];

    // maxima: row maxima, then the tile's; per column when symmetric
    V all = ag[0][0];
    for (int r = 0; r < kMicroRows; ++r)
      for (int v = 0; v < NV; ++v) all = all > ag[r][v] ? all : ag[r][v];
    const T tile_max = hmax(all);
    if (tile_max >= s_.max_abs) {
      for (int r = 0; r < kMicroRows; ++r)
        for (int q = 0; q < NR; ++q)
          if (ag[r][q / L][q % L] == tile_max) global_max(tile_max, r0 + r, c0 + q);
    }
    // per-row maxima: a vector test against each row's floor (the best so far,
    // globally or in this tile) decides whether the scalar search runs at all
    if (p_.per_row) {
      IV any{};
      for (int r = 0; r < kMicroRows; ++r) {
        const V floor = V{} + s_.row_floor[rl0 + r];
        for (int v = 0; v < NV; ++v) any |= ag[r][v] >= floor;
      }
      if (any_lane(any))
        for (int r = 0; r < kMicroRows; ++r) {
          V mx = ag[r][0];
          for (int v = 1; v < NV; ++v) mx = mx > ag[r][v] ? mx : ag[r][v];
          const T best = hmax(mx);
          if (best < s_.row_floor[rl0 + r]) continue;
          for (int q = 0; q < NR; ++q)
            if (ag[r][q / L][q % L] == best) {
              slot_max(rl0 + r, best, c0 + q);
              break;
            }
        }
      if (p_.symmetric)
        for (int v = 0; v < NV; ++v) {
          V cm = ag[0][v];
          for (int r = 1; r < kMicroRows; ++r) cm = cm > ag[r][v] ? cm : ag[r][v];
          V floor;
          std::memcpy(&floor, &s_.row_floor[kTile + cl0 + v * L], sizeof floor);
          const IV hit = cm >= floor;
          if (!any_lane(hit)) continue;
          for (int l = 0; l < L; ++l) {
            if (!hit[l]) continue;
            for (int r = 0; r < kMicroRows; ++r)
              if (ag[r][v][l] == cm[l]) {
                slot_max(static_cast<int>(kTile) + cl0 + v * L + l, cm[l], r0 + r);
                break;
              }
          }
        }
    }

    // histogram: bins computed in vectors, counted in scalar
    const V scale = V{} + p_.scale;
    const IV last = IV{} + static_cast<typename S::I>(p_.bins - 1);
    for (int r = 0; r < kMicroRows; ++r)
      for (int v = 0; v < NV; ++v) {
        IV b = __builtin_convertvector(ag[r][v] * scale, IV);
        b = b < last ? b : last;
        for (int l = 0; l < L; ++l) ++s_.hist[b[l]];
      }

    for (int t = 0; t < p_.n_thresholds; ++t) {
      const V thr = V{} + p_.thresholds[t];
      IV count{};
      for (int r = 0; r < kMicroRows; ++r)
        for (int v = 0; v < NV; ++v) count -= ag[r][v] > thr;
      std::int64_t total = 0;
      for (int l = 0; l < L; ++l) total += count[l];
      s_.count_above[t] += total;
    }

    if (p_.topk > 0) {
      IV any{};
      for (int r = 0; r < kMicroRows; ++r) {
        const V floor = V{} + s_.topk_floor[rl0 + r];
        for (int v = 0; v < NV; ++v) any |= ag[r][v] >= floor;
      }
      V col_floor[NV];
      if (p_.symmetric)
        for (int v = 0; v < NV; ++v) {
          std::memcpy(&col_floor[v], &s_.topk_floor[kTile + cl0 + v * L], sizeof(V));
          for (int r = 0; r < kMicroRows; ++r) any |= ag[r][v] >= col_floor[v];
        }
      if (any_lane(any)) topk_candidates(g, ag, r0, c0);
    }
  }

 private:
  // The scalar top-k offers of a micro-tile that has at least one candidate.
  template <class V>
  void topk_candidates(const V (&g)[kMicroRows][Simd<T>::per_panel],
                       const V (&ag)[kMicroRows][Simd<T>::per_panel], std::int64_t r0,
                       std::int64_t c0) {
    constexpr int NR = kPanelRows<T>;
    constexpr int L = Simd<T>::lanes;
    const int rl0 = static_cast<int>(r0 - p_.i0);
    const int cl0 = static_cast<int>(c0 - p_.j0);
    for (int r = 0; r < kMicroRows; ++r)
      for (int q = 0; q < NR; ++q) {
        const T a = ag[r][q / L][q % L];
        if (a >= s_.topk_floor[rl0 + r]) offer(rl0 + r, a, g[r][q / L][q % L], c0 + q);
        if (p_.symmetric && a >= s_.topk_floor[kTile + cl0 + q])
          offer(static_cast<int>(kTile) + cl0 + q, a, g[r][q / L][q % L], r0 + r);
      }
  }

  template <class V>
  static T hmax(const V& x) {
    T h = x[0];
    for (int l = 1; l < Simd<T>::lanes; ++l) h = h > x[l] ? h : x[l];
    return h;
  }

  template <class D>
  static double hsum(const D& x) {
    double t = 0;
    for (int l = 0; l < static_cast<int>(sizeof(D) / sizeof(double)); ++l) t += x[l];
    return t;
  }

  const TileParams<T>& p_;
  TileScratch<T>& s_;
};

template <class T>
void tile(const TileParams<T>& p, TileScratch<T>& s) {
  constexpr int NR = kPanelRows<T>;
  constexpr std::int64_t MR = kMicroRows;
  constexpr std::int64_t groups = kTile / MR;
  constexpr std::int64_t panels = kTile / NR;
  const std::int64_t rows = std::min(kTile, p.m_a - p.i0);
  const std::int64_t cols = std::min(kTile, p.m_b - p.j0);
  const std::int64_t n_groups = (rows + MR - 1) / MR;
  const std::int64_t n_panels = (cols + NR - 1) / NR;
  Reducer<T> reduce(p, s);
  const T* arows[groups][MR];
  for (std::int64_t gr = 0; gr < n_groups; ++gr)
    for (std::int64_t r = 0; r < MR; ++r) {
      // rows past the end read a real row; their pairs are masked out
      const std::int64_t i = std::min(p.i0 + gr * MR + r, p.m_a - 1);
      arows[gr][r] = p.a + (i / NR) * p.a_stride + i % NR;
    }
  for (std::int64_t k0 = 0; k0 < p.n; k0 += kDepth) {
    const std::int64_t k1 = std::min(p.n, k0 + kDepth);
    const bool last = k1 == p.n;
    for (std::int64_t cp = 0; cp < n_panels; ++cp) {
      const std::int64_t c0 = p.j0 + cp * NR;
      const T* bpanel = p.b + (c0 / NR) * p.b_stride;
      for (std::int64_t gr = 0; gr < n_groups; ++gr) {
        const std::int64_t r0 = p.i0 + gr * MR;
        if (p.symmetric && c0 + NR - 1 <= r0) continue;  // every j <= i
        T* c = s.partial.data() + (gr * panels + cp) * MR * NR;
        micro_kernel<T>(arows[gr], bpanel, k0, k1, c, k0 > 0);
        if (!last) continue;
        const bool full = !p.refine && r0 + MR <= p.m_a && c0 + NR <= p.m_b &&
                          (!p.symmetric || r0 + MR - 1 < c0);
        if (full)
          reduce.full(c, r0, c0);
        else
          reduce.masked(c, r0, c0);
      }
    }
  }
}

}  // namespace

extern const InterferenceKernels kInterferenceKernels;
const InterferenceKernels kInterferenceKernels = {&tile<float>, &tile<double>};

}  // namespace NEARORTHO_ISA
}  // namespace nearortho
