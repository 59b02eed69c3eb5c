// Gram tile micro-kernel and fused reductions, compiled once per ISA (NEARORTHO_ISA
// names the namespace). Every g_ij is the dot product accumulated in the order
// k = 0, 1, ..., n - 1 (one fused multiply-add per k where the ISA has FMA, see
// CMakeLists.txt), so on a given ISA its bits do not depend on the tile or the
// thread: max, argmax, histogram and top-k are exactly reproducible. Each
// statistic is written once (Reducer) and reduces whole micro-tiles; pairs outside
// the pass are masked, not given a second code path. Tests:
// tests/test_interference.py (ISA forced in turn, threads 1 vs 2).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "nearortho/isa_kernel_file.hpp"
#include "nearortho/interference_kernels.hpp"
#include "nearortho/isa_vectors.hpp"
#include "nearortho/ranking.hpp"

namespace nearortho {
namespace NEARORTHO_ISA {
namespace {

// Micro-tile: kMicroRows rows of A by kMicroPanels panels of B (each 64 bytes of
// one k), kept in vector accumulators. Each k step loads the B vectors and
// broadcasts one A value per row: like BLAS kernels, at least 1.5 FMAs per load,
// so the FMA units, not the loads, set the pace.
// The k loop runs in blocks of kDepth, each of which loads and stores every
// micro-tile's partial sums and restarts the streams of A strips and B panels.
// A product this bound by the FMAs needs little bandwidth (a k step reads 24-32
// bytes of A and 64-192 of B for 12-24 FMAs, 6 cycles or more), so deep blocks
// served from L2 or L3 beat shallow ones kept in L1: 1024 against 128 (AVX-512)
// or 256 (AVX2) was 3-5% faster on a Zen 4 core at n = 256 to 4096, with a
// plateau from 512 (scalar: 1% faster).
#if defined(__AVX512F__)
constexpr int kMicroRows = 8;    // 8 x 3 zmm accumulators: 3 loads + 8 broadcasts per 24 FMAs
constexpr int kMicroPanels = 3;
#elif defined(__AVX2__)
constexpr int kMicroRows = 6;    // 6 x 2 ymm accumulators: 2 loads + 6 broadcasts per 12 FMAs
constexpr int kMicroPanels = 1;
#else
constexpr int kMicroRows = 3;     // 3 x 4 xmm accumulators (of 16 registers)
constexpr int kMicroPanels = 1;
#endif
constexpr std::int64_t kDepth = 1024;
template <class T>
constexpr int kMicroCols = kMicroPanels * kPanelRows<T>;
static_assert(kTile % kMicroRows == 0 && kTile % kMicroCols<float> == 0 && kTile % kMicroCols<double> == 0,
              "a tile holds whole micro-tiles");

// The ISA's vector types (isa_vectors.hpp) with the micro-tile's shape in vectors.
template <class T>
struct TileSimd : Simd<T> {
  static constexpr int row_vectors = kMicroCols<T> / Simd<T>::lanes;    // vectors per micro-tile row
  static constexpr int panel_vectors = kPanelRows<T> / Simd<T>::lanes;  // vectors per panel
};

template <class V>
inline V max_v(V x, V y) {
  return x > y ? x : y;
}

template <class V>
inline V min_v(V x, V y) {
  return x < y ? x : y;
}

// The histogram bins of the micro-tile reduced last, counted while the next
// micro-tile's product runs: there the increments use the load and store ports,
// which the FMA-bound loop leaves idle, instead of adding their own time after it
// (n = 64: 2.6 -> 2.3 ns a pair on one Zen 3 core). Pairs outside the pass count
// into the spare bin past the last, which nobody reads.
template <class T>
struct PendingCounts {
  alignas(64) std::uint32_t bin[kMicroRows * kMicroCols<T>];
  int n = 0;
  std::int64_t* hist = nullptr;

  void count_from(int i) {
    for (; i < n; ++i) ++hist[bin[i]];
    n = 0;
  }
};

// c (kMicroRows x kMicroCols, row-major) += A rows x B panels over k in [k0, k1),
// counting the pending bins as it goes: 2, 4 or 8 with each k step, the fewest
// that count them all within the steps where there are enough (AVX-512's 384 bins
// at n = 64 need 6 a step; with 2 a step, 256 were counted after the loop, with
// nothing to hide behind: 2.29 -> 2.13 ns a pair on one Zen 4 core).
// a points at the rows' strip (kMicroRows values per k), b[p] at panel p's
// coordinate 0 (stride kPanelRows per k). Loads and stores go through the vector type (GCC
// lets a vector alias its element type) so the accumulators never have their
// address taken and stay in registers; vector * scalar broadcasts the A value.
template <class T>
inline void micro_kernel(const T* a, const T* const* b, std::int64_t k0, std::int64_t k1, T* c,
                         bool accumulate, PendingCounts<T>& pending) {
  using S = TileSimd<T>;
  using V = typename S::V;
  using VU = typename S::VU;
  constexpr int NV = S::row_vectors;
  constexpr int PV = S::panel_vectors;
  constexpr int NR = kPanelRows<T>;
  constexpr int MC = kMicroCols<T>;
  V acc[kMicroRows][NV];
#pragma GCC unroll 16
  for (int r = 0; r < kMicroRows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      acc[r][v] = accumulate ? *reinterpret_cast<const VU*>(c + r * MC + v * S::lanes) : V{};
  const T* ar = a + k0 * kMicroRows;
  const T* bp[kMicroPanels];
#pragma GCC unroll 4
  for (int q = 0; q < kMicroPanels; ++q) bp[q] = b[q] + k0 * NR;
  auto step = [&]() __attribute__((always_inline)) {
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = *reinterpret_cast<const VU*>(bp[v / PV] + (v % PV) * S::lanes);
#pragma GCC unroll 16
    for (int r = 0; r < kMicroRows; ++r) {
      const T x = ar[r];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] += bv[v] * x;
    }
    ar += kMicroRows;
#pragma GCC unroll 4
    for (int q = 0; q < kMicroPanels; ++q) bp[q] += NR;
  };
  const std::int64_t steps = k1 - k0;
  const int per_step = pending.n <= 2 * steps ? 2 : pending.n <= 4 * steps ? 4 : 8;
  const std::int64_t counting_steps = std::min<std::int64_t>(steps, pending.n / per_step);
  std::int64_t* hist = pending.hist;
  auto counting = [&](auto per) __attribute__((always_inline)) {  // per: per_step as a constant
    constexpr int C = decltype(per)::value;
#pragma GCC unroll 2
    for (std::int64_t k = 0; k < counting_steps; ++k) {
      step();
#pragma GCC unroll 8
      for (int c = 0; c < C; ++c) ++hist[pending.bin[C * k + c]];
    }
  };
  if (per_step == 2)
    counting(std::integral_constant<int, 2>{});
  else if (per_step == 4)
    counting(std::integral_constant<int, 4>{});
  else
    counting(std::integral_constant<int, 8>{});
#pragma GCC unroll 4
  for (std::int64_t k = k0 + counting_steps; k < k1; ++k) step();
  pending.count_from(static_cast<int>(per_step * counting_steps));
#pragma GCC unroll 16
  for (int r = 0; r < kMicroRows; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) *reinterpret_cast<VU*>(c + r * MC + v * S::lanes) = acc[r][v];
}

// A finished micro-tile, ready to reduce. Pairs outside the pass (past an edge,
// or j <= i when symmetric) hold g = 0 and |g| = -inf: they add nothing to a sum
// and never reach a maximum, a threshold or a floor (keys by sign take the -inf
// too, see Reducer::key); only the histogram, which counts every lane, tests for them.
// A masked micro-tile keeps its |g| (with the -inf) in vectors, and so does
// every micro-tile where the ISA has registers for them: AVX-512's 24 kept
// vectors were spilled to the stack and read back, so there |g| comes from g
// where it is used, one and with a load from L1 (n = 64, one Zen 4 core: 4%
// faster on AVX-512, 1.5% slower on AVX2).
#if defined(__AVX512F__)
constexpr bool kKeepAbs = false;
#else
constexpr bool kKeepAbs = true;
#endif

template <class T, bool kMaskedTile>
struct MicroTile {
  using V = typename Simd<T>::V;
  static constexpr bool kMasked = kMaskedTile;
  static constexpr bool kKept = kMasked || kKeepAbs;
  static constexpr int L = Simd<T>::lanes;
  T* c;                 // g, row-major (read where it was computed, not copied)
  V kept_abs[kKept ? kMicroRows : 1][TileSimd<T>::row_vectors];
  std::int64_t r0, c0;  // global row of g[0], column of its lane 0
  int rl0, cl0;         // their local slots

  explicit MicroTile(T* g_values) : c(g_values) {
    if constexpr (kKept)
      for (int r = 0; r < kMicroRows; ++r)
        for (int v = 0; v < TileSimd<T>::row_vectors; ++v) kept_abs[r][v] = abs_v(g(r, v));
  }
  V g(int r, int v) const { return load<T>(c + r * kMicroCols<T> + v * L); }
  V ag(int r, int v) const {
    if constexpr (kKept) return kept_abs[r][v];
    return abs_v(g(r, v));
  }
  T abs_at(int r, int q) const { return ag(r, q / L)[q % L]; }
  T at(int r, int q) const { return c[r * kMicroCols<T> + q]; }
};

// Reduces the micro-tiles of one Gram tile. Sums stay in vectors for the whole
// tile (finish() adds them to the thread's totals), so no micro-tile pays for a
// horizontal sum; everything else is looked at lane by lane only where a vector
// test says a lane can change a result.
template <class T>
class Reducer {
  using S = TileSimd<T>;
  using V = typename S::V;
  using IV = typename S::IV;
  using DV = typename Simd<double>::V;  // sums in float64, native vectors
  static constexpr int DL = Simd<double>::lanes;
  static constexpr int kWide = S::lanes / DL;  // double vectors per vector of g
  static constexpr int NV = S::row_vectors;
  static constexpr int L = S::lanes;
  static constexpr int MC = kMicroCols<T>;

  // The micro-tile's largest |g| in vectors: per row (lanes: columns mod L), per
  // column vector, and over all, shared by the coherence and the lists' screen.
  struct Maxima {
    V row[kMicroRows], col[NV], all;

    template <class Tile>
    explicit Maxima(const Tile& t) {
      for (int v = 0; v < NV; ++v) col[v] = t.ag(0, v);
      for (int r = 0; r < kMicroRows; ++r) {
        row[r] = t.ag(r, 0);
        for (int v = 1; v < NV; ++v) row[r] = max_v(row[r], t.ag(r, v));
        for (int v = 0; v < NV; ++v) col[v] = max_v(col[v], t.ag(r, v));
      }
      all = col[0];
      for (int v = 1; v < NV; ++v) all = max_v(all, col[v]);
    }
  };

 public:
  Reducer(const TileParams<T>& p, TileScratch<T>& s)
      : p_(p), s_(s) {
    pending_.hist = s.hist.data();
    for (SlotLists<T>* list : {&s.row_best, &s.signed_best, &s.topk})
      if (list->k > 0) lists_[n_lists_++] = list;
    if (p_.per_row)
      for (auto& slot : row_sq_)
        for (DV& x : slot) x = DV{};
  }

  // Every statistic of the micro-tile whose partial sums c (row-major) start at
  // row r0, column c0. kMasked: some of its pairs are outside the pass.
  template <bool kMasked>
  void run(T* c, std::int64_t r0, std::int64_t c0) {
    MicroTile<T, kMasked> t(c);
    t.r0 = r0;
    t.c0 = c0;
    t.rl0 = static_cast<int>(r0 - p_.i0);
    t.cl0 = static_cast<int>(c0 - p_.j0);
    if constexpr (kMasked) mask(t);
    if (p_.per_row && p_.column_slots)
      sums<true>(t);
    else
      sums<false>(t);
    const Maxima best(t);
    coherence(t, best);
    if (p_.refine)
      refined_histogram(t);
    else if (p_.hist_copies > 1)
      histogram<true>(t);
    else
      histogram<false>(t);
    thresholds(t, best);
    if (p_.collect_pairs) pairs(t, best);
    for (int l = 0; l < n_lists_; ++l)
      if (may_offer(*lists_[l], t, best)) best_partners(*lists_[l], t);
  }

  PendingCounts<T>& pending() { return pending_; }

  // Adds the tile's sums to the thread's: the totals, each row slot's g^2 and the
  // threshold counts.
  void finish() {
    pending_.count_from(0);
    s_.sum_abs += hsum(sum_abs_);
    s_.sum_sq += hsum(sum_sq_);
    if (p_.per_row)
      for (int slot = 0; slot < kTile; ++slot) s_.slot_sumsq[slot] += hsum(row_sq_[slot]);
  }

  static double hsum(const DV (&x)[kWide]) {
    double t = 0;
    for (int w = 0; w < kWide; ++w)
      for (int l = 0; l < DL; ++l) t += x[w][l];
    return t;
  }

 private:
  void mask(MicroTile<T, true>& t) const {
    for (int r = 0; r < kMicroRows; ++r)
      for (int q = 0; q < MC; ++q) {
        const std::int64_t i = t.r0 + r, j = t.c0 + q;
        if (i < p_.m_a && j < p_.m_b && (!p_.symmetric || j > i)) continue;
        t.c[r * MC + q] = T(0);
        t.kept_abs[r][q / L][q % L] = -std::numeric_limits<T>::infinity();
      }
  }

  // float64 sums of |g| and g^2 (exact in double for float input), and the
  // per-slot sums of g^2 of its rows (and, kColumns, of its columns). The sum of
  // g comes from the rows' sums instead (block_pair_sum in packed_rows.hpp).
  template <bool kColumns, class Tile>
  void sums(const Tile& t) {
    DV sum_abs[kWide], sum_sq[kWide];  // locals, so that the adds stay in registers
    DV col_sq[NV][kWide];
    for (int w = 0; w < kWide; ++w) {
      sum_abs[w] = sum_sq[w] = DV{};
      for (int v = 0; v < NV; ++v) col_sq[v][w] = DV{};
    }
    for (int r = 0; r < kMicroRows; ++r) {
      DV row_sq[kWide];
      for (int w = 0; w < kWide; ++w) row_sq[w] = DV{};
      for (int v = 0; v < NV; ++v) {
        DV d[kWide];  // |g| (masked pairs: 0, not -inf); widening it spares an abs per double vector
        widen(Tile::kMasked ? abs_v(t.g(r, v)) : t.ag(r, v), d);
        for (int w = 0; w < kWide; ++w) {
          sum_abs[w] += d[w];
          row_sq[w] += d[w] * d[w];
          if constexpr (kColumns) col_sq[v][w] += d[w] * d[w];
        }
      }
      for (int w = 0; w < kWide; ++w) {
        sum_sq[w] += row_sq[w];
        if (p_.per_row) row_sq_[t.rl0 + r][w] += row_sq[w];
      }
    }
    for (int w = 0; w < kWide; ++w) {
      sum_abs_[w] += sum_abs[w];
      sum_sq_[w] += sum_sq[w];
    }
    if constexpr (kColumns) {
      double* slot = &s_.slot_sumsq[kTile + t.cl0];
      for (int v = 0; v < NV; ++v)
        for (int w = 0; w < kWide; ++w) {
          double* x = slot + v * L + w * DL;
          store<double>(x, load<double>(x) + col_sq[v][w]);
        }
    }
  }

  // The lanes of x as doubles, in kWide native vectors.
  static void widen(const V& x, DV (&out)[kWide]) {
    typedef double D __attribute__((vector_size(sizeof(out))));
    const D d = __builtin_convertvector(x, D);
    std::memcpy(out, &d, sizeof d);
  }

  // The largest |g| and its pair; a vector test first decides whether any lane
  // reaches the thread's maximum so far.
  template <class Tile>
  void coherence(const Tile& t, const Maxima& best) {
    if (lane_bits(best.all >= splat<V>(s_.max_abs)) == 0) return;
    const T top = hmax(best.all);
    for (int r = 0; r < kMicroRows; ++r)
      for (int q = 0; q < MC; ++q)
        if (t.abs_at(r, q) == top &&
            ranks_before(top, PairIndex{t.r0 + r, t.c0 + q}, s_.max_abs, PairIndex{s_.max_i, s_.max_j})) {
          s_.max_abs = top;
          s_.max_i = t.r0 + r;
          s_.max_j = t.c0 + q;
        }
  }

  // Default histogram: bins of |g| * scale on [0, bins), computed in vectors and
  // left pending, to be counted during the next micro-tile's product. The bin is
  // clamped before it is converted: |g| far above the range (an explicit hist_hi
  // below the values) would leave the integer range, and the conversion give a bin
  // far past the end. Pairs outside the pass (|g| = -inf) take the spare bin, also
  // chosen before the conversion. Bins (at most 2^24) are converted to int32 lanes,
  // the pending counts' own width, for doubles too: AVX2 has no conversion from
  // double to int64, and GCC converted lane by lane (98 scalar conversions in its
  // kernel). kCopies: each lane counts into its copy (histogram_copies).
  template <bool kCopies, class Tile>
  void histogram(const Tile& t) {
    using Bins = typename S::I32;
    const V scale = splat<V>(p_.scale);
    const V last = splat<V>(static_cast<T>(p_.bins - 1));  // exact: bins <= 2^24
    const V spare = splat<V>(static_cast<T>(p_.bins));
    Bins copy{};  // where each lane's copy starts: lane l counts into copy l % kHistogramCopies
    if constexpr (kCopies)
      for (int l = 0; l < L; ++l) copy[l] = static_cast<std::int32_t>((l % kHistogramCopies) * (p_.bins + 1));
    for (int r = 0; r < kMicroRows; ++r)
      for (int v = 0; v < NV; ++v) {
        const V x = t.ag(r, v);
        V y = x * scale;
        y = y < last ? y : last;
        if constexpr (Tile::kMasked) y = x >= 0 ? y : spare;
        Bins b = __builtin_convertvector(y, Bins);
        if constexpr (kCopies) b += copy;
        std::memcpy(&pending_.bin[(r * NV + v) * L], &b, sizeof b);
      }
    pending_.n = kMicroRows * MC;
  }

  // Refine mode (the passes of an exact quantile): |g| outside [hist_lo, hist_hi]
  // counted below / above, and the values in [collect_lo, collect_hi] collected.
  template <class Tile>
  void refined_histogram(const Tile& t) {
    for (int r = 0; r < kMicroRows; ++r)
      for (int q = 0; q < MC; ++q) {
        const double x = t.abs_at(r, q);
        if (!(x >= 0)) continue;  // outside the pass
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
  }

  // Counts from each comparison's lane bits: a compare into a mask, then a
  // popcount on the integer ports, which the vector work leaves idle (counters
  // per lane took a mask-to-vector move and a subtract on the vector ports).
  // Thresholds in the tail, as they mostly are, are above the whole micro-tile:
  // one test of its maximum skips them.
  template <class Tile>
  void thresholds(const Tile& t, const Maxima& best) {
    for (int k = 0; k < p_.n_thresholds; ++k) {
      const V thr = splat<V>(p_.thresholds[k]);
      if (lane_bits_greater(best.all, thr) == 0) continue;
      std::int64_t count = 0;
      for (int r = 0; r < kMicroRows; ++r)
        for (int v = 0; v < NV; ++v) count += __builtin_popcount(lane_bits_greater(t.ag(r, v), thr));
      s_.count_above[k] += count;
    }
  }

  // The key lists and pairs rank by: |g|, or g itself (masked pairs: -inf).
  template <class Tile>
  static V key(const Tile& t, bool by_sign, int r, int v) {
    if (!by_sign) return t.ag(r, v);
    if constexpr (Tile::kMasked) return t.ag(r, v) >= 0 ? t.g(r, v) : t.ag(r, v);
    return t.g(r, v);
  }

  // Pairs whose key reaches the threshold: all counted, each kept while the
  // threads together hold fewer than pair_cap.
  template <class Tile>
  void pairs(const Tile& t, const Maxima& best) {
    const V threshold = splat<V>(p_.pair_threshold);
    if (!any_lane(best.all >= threshold)) return;  // every key is at most |g|
    IV count{};
    for (int r = 0; r < kMicroRows; ++r)
      for (int v = 0; v < NV; ++v) count -= key(t, p_.pair_signed, r, v) >= threshold;
    std::int64_t total = 0;
    for (int l = 0; l < L; ++l) total += count[l];
    if (total == 0) return;
    s_.pair_count += total;
    for (int r = 0; r < kMicroRows; ++r)
      for (int v = 0; v < NV; ++v)
        for (std::uint32_t bits = lane_bits(key(t, p_.pair_signed, r, v) >= threshold); bits != 0; bits &= bits - 1) {
          const int q = v * L + __builtin_ctz(bits);
          if (p_.pair_slots->load(std::memory_order_relaxed) < p_.pair_cap &&  // spare the atomic add when full
              p_.pair_slots->fetch_add(1, std::memory_order_relaxed) < p_.pair_cap)
            s_.pairs.push_back(PairHit{t.r0 + r, t.c0 + q, static_cast<double>(t.at(r, q))});
        }
  }

  // Whether the list may take a pair of this micro-tile: whether some row's or
  // column's largest |g| reaches its floor. Every list's key is at most |g|
  // (g <= |g|), so the maxima of |g| screen the list by sign too, without maxima
  // of g of its own (which cost as much as they saved). A screen per list, not one
  // against the lowest of their floors: the default list by |g|, whose floors are
  // above those of the list by sign, was offered every micro-tile that only the
  // list by sign could take (one Zen 4 core, AVX-512: n = 64, m = 8192 4% faster,
  // m = 16384 and AVX2 unchanged). With the default per-row lists it says yes
  // more often than one might think (n = 64, m = 16384: for 9% of micro-tiles by
  // a row, 24% by a column, whose floors start each tile from the rows above it).
  template <class Tile>
  bool may_offer(const SlotLists<T>& list, const Tile& t, const Maxima& best) const {
    IV any{};
    for (int r = 0; r < kMicroRows; ++r) any |= best.row[r] >= splat<V>(list.floor[t.rl0 + r]);
    if (p_.column_slots)
      for (int v = 0; v < NV; ++v) any |= best.col[v] >= load<T>(&list.floor[kTile + t.cl0 + v * L]);
    return any_lane(any);
  }

  // Offers every value that reaches its row's (or, with column slots, its
  // column's) floor to the list. The lanes that reach the floors as they are
  // when it starts are found first, with no branch per row or column vector:
  // those, taken at random, cost more than the maxima they tested (one Zen 4
  // core, n = 64, m = 8192: AVX2 1.94 -> 1.84 ns a pair, AVX-512 1.97 -> 1.94).
  // Floors only rise while the micro-tile is offered, so each of those lanes is
  // tested again against the floors of the moment.
  template <class Tile>
  void best_partners(SlotLists<T>& list, const Tile& t) {
    const T* col_floor = &list.floor[kTile + t.cl0];
    static_assert(kMicroRows * NV <= 32, "a bit for each vector of the micro-tile");
    std::uint32_t hits[kMicroRows * NV];
    std::uint32_t vectors = 0;  // bit r * NV + v: hits[r * NV + v] has a lane
    V col_floors[NV];  // (without column slots: above every key)
    for (int v = 0; v < NV; ++v)
      col_floors[v] = p_.column_slots ? load<T>(col_floor + v * L) : splat<V>(std::numeric_limits<T>::infinity());
    for (int r = 0; r < kMicroRows; ++r) {
      const V row_floor = splat<V>(list.floor[t.rl0 + r]);
      for (int v = 0; v < NV; ++v) {
        const std::uint32_t bits = lane_bits_at_least(key(t, list.by_sign, r, v), min_v(row_floor, col_floors[v]));
        hits[r * NV + v] = bits;
        vectors |= static_cast<std::uint32_t>(bits != 0) << (r * NV + v);
      }
    }
    for (; vectors != 0; vectors &= vectors - 1) {
      const int h = __builtin_ctz(vectors), r = h / NV, v = h % NV;
      const int row_slot = t.rl0 + r;
      for (std::uint32_t bits = hits[h]; bits != 0; bits &= bits - 1) {
        const int q = v * L + __builtin_ctz(bits);
        const T g = t.at(r, q), a = list.by_sign ? g : std::abs(g);
        const int col_slot = static_cast<int>(kTile) + t.cl0 + q;
        if (a >= list.floor[row_slot]) offer(list, row_slot, a, g, t.c0 + q);
        if (p_.column_slots && a >= list.floor[col_slot]) offer(list, col_slot, a, g, t.r0 + r);
      }
    }
  }

  // Inserts a candidate (key a) into a slot's list (kept best first) unless the
  // global list's last entry or the slot's own full list already ranks before it.
  static void offer(SlotLists<T>& list, int slot, T a, T g, std::int64_t partner) {
    if (list.global_last_index[slot] >= 0 &&
        !ranks_before(a, partner, list.global_last[slot], list.global_last_index[slot]))
      return;
    const int k = list.k;
    const std::size_t base = static_cast<std::size_t>(slot) * k;
    int count = list.count[slot];
    if (count == k && !ranks_before(a, partner, list.key[base + k - 1], list.index[base + k - 1])) return;
    int pos = count < k ? count : k - 1;
    while (pos > 0 && ranks_before(a, partner, list.key[base + pos - 1], list.index[base + pos - 1])) {
      list.key[base + pos] = list.key[base + pos - 1];
      list.value[base + pos] = list.value[base + pos - 1];
      list.index[base + pos] = list.index[base + pos - 1];
      --pos;
    }
    list.key[base + pos] = a;
    list.value[base + pos] = g;
    list.index[base + pos] = partner;
    if (count < k) list.count[slot] = ++count;
    if (count == k) list.floor[slot] = std::max(list.floor[slot], list.key[base + k - 1]);
  }

  static T hmax(const V& x) {
    T h = x[0];
    for (int l = 1; l < L; ++l) h = h > x[l] ? h : x[l];
    return h;
  }

  const TileParams<T>& p_;
  TileScratch<T>& s_;
  DV sum_abs_[kWide] = {}, sum_sq_[kWide] = {};
  DV row_sq_[kTile][kWide];  // per local row slot, with per_row
  SlotLists<T>* lists_[3] = {};  // the wanted lists of best partners
  int n_lists_ = 0;
  PendingCounts<T> pending_;
};

// The tile's rows of A regrouped so that each micro-tile's rows lie together for
// each k (as BLAS packs its A): a k step then reads kMicroRows consecutive values
// instead of one from each of kMicroRows rows of a 64-byte panel line, so the
// lines the product streams through L1 are used whole. A thread's consecutive
// tiles mostly share their rows: the strips are kept until the rows change.
template <class T>
const T* a_strips(const TileParams<T>& p, TileScratch<T>& s) {
  constexpr int NR = kPanelRows<T>;
  const std::int64_t n = p.n;
  if (s.strips_i0 == p.i0) return s.strips.data();
  s.strips.resize(static_cast<std::size_t>(kTile * n));
  const std::int64_t rows = std::min(kTile, p.m_a - p.i0);
  for (std::int64_t gr = 0; gr * kMicroRows < rows; ++gr) {
    const T* in[kMicroRows];  // row r's coordinate 0 in its panel
    bool together = true;     // the rows follow each other in one panel
    for (int r = 0; r < kMicroRows; ++r) {
      // rows past the end copy a real row; their pairs are masked out
      const std::int64_t i = std::min(p.i0 + gr * kMicroRows + r, p.m_a - 1) - p.a_first;
      in[r] = p.a + (i / NR) * p.a_stride + i % NR;
      together = together && in[r] == in[0] + r;
    }
    T* out = s.strips.data() + gr * kMicroRows * n;
    for (std::int64_t k = 0; k < n; ++k)  // k outer: each panel line is read once
      if (together)
        std::memcpy(out + k * kMicroRows, in[0] + k * NR, sizeof(T) * kMicroRows);
      else
        for (int r = 0; r < kMicroRows; ++r) out[k * kMicroRows + r] = in[r][k * NR];
  }
  s.strips_i0 = p.i0;
  return s.strips.data();
}

template <class T>
void tile(const TileParams<T>& p, TileScratch<T>& s) {
  constexpr int NR = kPanelRows<T>;
  constexpr std::int64_t MR = kMicroRows;
  constexpr std::int64_t MC = kMicroCols<T>;
  constexpr std::int64_t col_blocks = kTile / MC;
  const std::int64_t rows = std::min(kTile, p.m_a - p.i0);
  const std::int64_t cols = std::min(kTile, p.m_b - p.j0);
  const std::int64_t n_groups = (rows + MR - 1) / MR;
  const std::int64_t n_col_blocks = (cols + MC - 1) / MC;
  const std::int64_t last_panel = (p.m_b - 1 - p.b_first) / NR;  // of the last block
  Reducer<T> reduce(p, s);
  const T* strips = a_strips(p, s);
  for (std::int64_t k0 = 0; k0 < p.n; k0 += kDepth) {
    const std::int64_t k1 = std::min(p.n, k0 + kDepth);
    const bool last = k1 == p.n;
    for (std::int64_t cb = 0; cb < n_col_blocks; ++cb) {
      const std::int64_t c0 = p.j0 + cb * MC;
      const T* bpanels[kMicroPanels];
      for (int q = 0; q < kMicroPanels; ++q)  // panels past the end read a real panel, masked out
        bpanels[q] = p.b + std::min((c0 - p.b_first) / NR + q, last_panel) * p.b_stride;
      for (std::int64_t gr = 0; gr < n_groups; ++gr) {
        const std::int64_t r0 = p.i0 + gr * MR;
        if (p.symmetric && c0 + MC - 1 <= r0) continue;  // every j <= i
        T* c = s.partial.data() + (gr * col_blocks + cb) * MR * MC;
        micro_kernel<T>(strips + gr * MR * p.n, bpanels, k0, k1, c, k0 > 0, reduce.pending());
        if (!last) continue;
        const bool full = r0 + MR <= p.m_a && c0 + MC <= p.m_b && (!p.symmetric || r0 + MR - 1 < c0);
        if (full)
          reduce.template run<false>(c, r0, c0);
        else
          reduce.template run<true>(c, r0, c0);
      }
    }
  }
  reduce.finish();
}

}  // namespace

extern const InterferenceKernels kInterferenceKernels;
const InterferenceKernels kInterferenceKernels = {&tile<float>, &tile<double>};

}  // namespace NEARORTHO_ISA
}  // namespace nearortho
