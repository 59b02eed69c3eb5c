// Interference pass: packs (and normalises) the rows once, schedules Gram tiles of
// the upper triangle (or of all of A B^T) over OpenMP threads, and merges each
// thread's partial statistics. The per-ISA tile kernel is in
// isa/interference_kernels.cpp. Tests: tests/test_interference*.py.
#include "nearortho/interference.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "nearortho/aligned_buffer.hpp"
#include "nearortho/interference_kernels.hpp"
#include "nearortho/parallel_errors.hpp"
#include "nearortho/ranking.hpp"
#include "nearortho/threads.hpp"

namespace nearortho {

NEARORTHO_KERNEL_TABLE(InterferenceKernels, kInterferenceKernels, interference_kernels)

namespace {

// Rows packed in 64-byte panels (see kPanelRows). The panel stride has an odd
// number of k steps, so consecutive panels are never a multiple of 4 KiB apart
// and the rows of one micro-tile do not fight over L1 sets.
template <class T>
struct Packed {
  AlignedArray<T> data;
  std::int64_t stride = 0;
  std::vector<double> norms;  // row norms of the input
};

template <class T>
Packed<T> pack(const T* x, std::int64_t m, std::int64_t n, bool normalize, int threads,
               const char* name) {
  constexpr std::int64_t NR = kPanelRows<T>;
  Packed<T> p;
  p.stride = (n | 1) * NR;
  const std::int64_t panels = (m + NR - 1) / NR;
  const std::size_t count = static_cast<std::size_t>(panels * p.stride);
  p.data = aligned_array<T>(static_cast<std::int64_t>(count));
  p.norms.assign(static_cast<std::size_t>(m), 0.0);
  T* out = p.data.get();
  std::fill(out + (panels - 1) * p.stride, out + panels * p.stride, T(0));  // padding rows
  std::atomic<std::int64_t> bad_value{m}, zero_row{m};
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::int64_t panel = 0; panel < panels; ++panel) {
    for (std::int64_t i = panel * NR; i < std::min(m, (panel + 1) * NR); ++i) {
      const T* row = x + i * n;
      double sq = 0;
      bool finite = true;
      for (std::int64_t k = 0; k < n; ++k) {
        finite &= std::isfinite(row[k]);
        sq += static_cast<double>(row[k]) * row[k];
      }
      if (!finite) {
        std::int64_t cur = bad_value.load();
        while (i < cur && !bad_value.compare_exchange_weak(cur, i)) {}
        continue;
      }
      p.norms[static_cast<std::size_t>(i)] = std::sqrt(sq);
      if (normalize && sq == 0) {
        std::int64_t cur = zero_row.load();
        while (i < cur && !zero_row.compare_exchange_weak(cur, i)) {}
        continue;
      }
      const double scale = normalize ? 1.0 / std::sqrt(sq) : 1.0;
      T* dst = out + panel * p.stride + i % NR;
      for (std::int64_t k = 0; k < n; ++k) dst[k * NR] = static_cast<T>(row[k] * scale);
    }
  }
  if (bad_value.load() < m)
    throw std::invalid_argument(std::string(name) + " contains NaN or Inf (row " +
                                std::to_string(bad_value.load()) + ")");
  if (zero_row.load() < m)
    throw std::invalid_argument(std::string(name) + " has a zero row (row " +
                                std::to_string(zero_row.load()) +
                                "); normalize=True needs every row nonzero");
  return p;
}

// The largest T not above t, so that (T)|g| > it exactly when |g| > t.
template <class T>
T threshold_below(double t) {
  T r = static_cast<T>(t);
  if (static_cast<double>(r) > t) r = std::nextafter(r, -std::numeric_limits<T>::infinity());
  return r;
}

// The smallest T not below t, so that (T)g >= it exactly when g >= t.
template <class T>
T threshold_above(double t) {
  T r = static_cast<T>(t);
  if (static_cast<double>(r) < t) r = std::nextafter(r, std::numeric_limits<T>::infinity());
  return r;
}

// Tile (I, J) of the t-th tile in row-major order over the upper triangle.
void triangle_tile(std::int64_t t, std::int64_t blocks, std::int64_t& I, std::int64_t& J) {
  // row I starts at I * blocks - I * (I - 1) / 2; start from the real root and fix rounding
  const double b = 2.0 * blocks + 1.0;
  I = static_cast<std::int64_t>((b - std::sqrt(b * b - 8.0 * static_cast<double>(t))) / 2.0);
  auto start = [blocks](std::int64_t i) { return i * blocks - i * (i - 1) / 2; };
  I = std::max<std::int64_t>(0, std::min(I, blocks - 1));
  while (I > 0 && start(I) > t) --I;
  while (I + 1 < blocks && start(I + 1) <= t) ++I;
  J = I + (t - start(I));
}

// A global per-row list of best partners (m x k, best first, index -1 when
// empty), ranked by |g| or (by_sign) by g: the per-row maximum (k = 1, by |g|,
// holding magnitudes), the signed maximum (k = 1, by g) or top-k (by |g|,
// holding signed values).
struct RowList {
  double* value = nullptr;
  std::int64_t* index = nullptr;
  std::int64_t k = 0;
  bool magnitude = false;  // value holds |g| rather than g
  bool by_sign = false;

  double key(double g) const { return by_sign ? g : std::abs(g); }
  double last_key(std::int64_t row) const { return key(value[row * k + k - 1]); }
  std::int64_t last_index(std::int64_t row) const { return index[row * k + k - 1]; }

  // Inserts (g, partner) into row's list, keeping it best first by ranks_before.
  void insert(std::int64_t row, double g, std::int64_t partner) {
    std::int64_t* idx = index + row * k;
    double* val = value + row * k;
    const double a = key(g);
    if (idx[k - 1] >= 0 && !ranks_before(a, partner, key(val[k - 1]), idx[k - 1])) return;
    std::int64_t pos = k - 1;
    while (pos > 0 && (idx[pos - 1] < 0 || ranks_before(a, partner, key(val[pos - 1]), idx[pos - 1]))) {
      idx[pos] = idx[pos - 1];
      val[pos] = val[pos - 1];
      --pos;
    }
    idx[pos] = partner;
    val[pos] = magnitude ? a : g;
  }
};

// The global per-row results of one side: the rows of A, or of B for the
// columns of an A-vs-B pass. Each block of kTile rows has its lock.
struct Side {
  std::int64_t m = 0;
  RowList best, signed_best, topk;  // k = 0 when not wanted
  double* sumsq = nullptr;
  std::vector<std::mutex> locks;

  void init(const InterferenceRows& rows, std::int64_t rows_m, bool per_row, std::int64_t k) {
    m = rows_m;
    locks = std::vector<std::mutex>(static_cast<std::size_t>((m + kTile - 1) / kTile));
    if (per_row) {
      best = RowList{rows.row_max, rows.row_argmax, 1, true, false};
      signed_best = RowList{rows.row_signed_max, rows.row_signed_argmax, 1, false, true};
      sumsq = rows.row_sumsq;
      std::fill(rows.row_max, rows.row_max + m, -1.0);
      std::fill(rows.row_argmax, rows.row_argmax + m, std::int64_t{-1});
      std::fill(rows.row_signed_max, rows.row_signed_max + m, -std::numeric_limits<double>::infinity());
      std::fill(rows.row_signed_argmax, rows.row_signed_argmax + m, std::int64_t{-1});
      std::fill(rows.row_sumsq, rows.row_sumsq + m, 0.0);
    }
    if (k > 0) {
      topk = RowList{rows.topk_value, rows.topk_index, k, false, false};
      std::fill(rows.topk_index, rows.topk_index + m * k, std::int64_t{-1});
      std::fill(rows.topk_value, rows.topk_value + m * k, 0.0);
    }
  }
};

template <class T>
class Pass {
 public:
  Pass(const T* a, std::int64_t m, std::int64_t n, const T* b, std::int64_t m2,
       const InterferenceOptions& opt, const InterferenceRows& rows, const InterferenceRows& cols,
       const char* a_name, const char* b_name)
      : opt_(opt), rows_(rows), cols_(cols), threads_(resolve_threads(opt.threads)) {
    check_options(m, n, b, m2, a_name);
    symmetric_ = b == nullptr;
    pa_ = pack(a, m, n, opt.normalize, threads_, a_name);
    if (!symmetric_) pb_ = pack(b, m2, n, opt.normalize, threads_, b_name);
    const Packed<T>& pb = symmetric_ ? pa_ : pb_;
    p_.a = pa_.data.get();
    p_.a_stride = pa_.stride;
    p_.m_a = m;
    p_.b = pb.data.get();
    p_.b_stride = pb.stride;
    p_.m_b = symmetric_ ? m : m2;
    p_.n = n;
    p_.symmetric = symmetric_;
    p_.bins = opt.bins;
    p_.refine = opt.refine;
    p_.per_row = opt.per_row;
    lists_ = opt.per_row || opt.topk > 0;
    columns_ = lists_ && (symmetric_ || opt.columns);  // symmetric: the column's rows are A's
    p_.column_slots = columns_;
    set_histogram_range(pb, a_name);
    for (double t : opt.thresholds) thresholds_.push_back(threshold_below<T>(t));
    p_.thresholds = thresholds_.data();
    p_.n_thresholds = static_cast<int>(thresholds_.size());
    p_.collect_lo = opt.collect_lo;
    p_.collect_hi = opt.collect_hi;
    p_.collect_cap = opt.collect_cap;
    p_.collect_pairs = opt.pair_cap >= 0;
    p_.pair_signed = opt.pair_signed;
    p_.pair_threshold = threshold_above<T>(opt.pair_threshold);
    p_.pair_cap = opt.pair_cap;
  }

  InterferenceTotals run() {
    const std::int64_t ba = (p_.m_a + kTile - 1) / kTile;
    const std::int64_t bb = (p_.m_b + kTile - 1) / kTile;
    const std::int64_t tiles = symmetric_ ? ba * (ba + 1) / 2 : ba * bb;
    const int threads = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(threads_, tiles)));
    a_side_.init(rows_, p_.m_a, opt_.per_row, opt_.topk);
    if (!symmetric_ && columns_) b_side_.init(cols_, p_.m_b, opt_.per_row, opt_.topk);
    std::atomic<std::int64_t> pair_slots{0};
    p_.pair_slots = &pair_slots;
    std::vector<TileScratch<T>> scratch(static_cast<std::size_t>(threads));
    for (auto& s : scratch) init_scratch(s);
    const auto& kernels = interference_kernels(active_isa());
    const auto tile_kernel = tile_function(kernels);
    std::atomic<bool> stop{false};
    ParallelErrors errors;
    using clock = std::chrono::steady_clock;
#pragma omp parallel num_threads(threads)
    {
      const int tid = thread_slot();
      TileScratch<T>& s = scratch[static_cast<std::size_t>(tid)];
      TileParams<T> p = p_;
      auto next_poll = clock::now() + std::chrono::milliseconds(50);
#pragma omp for schedule(dynamic, 1)
      for (std::int64_t t = 0; t < tiles; ++t) {
        if (stop.load(std::memory_order_relaxed)) continue;
        errors.run([&] {  // the poll calls Python; refine mode grows the collected values
          if (tid == 0 && opt_.poll && clock::now() >= next_poll) {
            if (opt_.poll(t, tiles)) stop.store(true);
            next_poll = clock::now() + std::chrono::milliseconds(50);
          }
          std::int64_t I, J;
          if (symmetric_) {
            triangle_tile(t, ba, I, J);
          } else {
            I = t / bb;
            J = t % bb;
          }
          p.i0 = I * kTile;
          p.j0 = J * kTile;
          begin_tile(s, p);
          tile_kernel(p, s);
          end_tile(s, p);
        });
        if (errors.failed()) stop.store(true);
      }
    }
    errors.rethrow();
    if (!stop.load() && opt_.poll && opt_.poll(tiles, tiles)) stop.store(true);
    InterferenceTotals out = merge_totals(scratch);
    out.cancelled = stop.load();
    return out;
  }

 private:
  void check_options(std::int64_t m, std::int64_t n, const T* b, std::int64_t m2,
                     const char* a_name) const {
    if (n < 1 || m < 1) throw std::invalid_argument(std::string(a_name) + " must not be empty");
    if (b == nullptr && m < 2)
      throw std::invalid_argument(std::string(a_name) + " needs at least 2 rows for pairs");
    if (b != nullptr && m2 < 1) throw std::invalid_argument("B must not be empty");
    if (opt_.bins < 1) throw std::invalid_argument("bins must be >= 1");
    const std::int64_t candidates = b == nullptr ? m - 1 : m2;
    if (opt_.topk < 0 || opt_.topk > candidates)  // topk = candidates: the complete lists
      throw std::invalid_argument("topk must be in [0, " + std::to_string(candidates) +
                                  "], the number of partners per row");
  }

  static auto tile_function(const InterferenceKernels& k) {
    if constexpr (std::is_same_v<T, float>)
      return k.tile_f32;
    else
      return k.tile_f64;
  }

  // [0, 1] for cosines; for raw products [0, the largest possible |g|] from the row
  // norms (Cauchy-Schwarz), so every value lands in a bin without a first pass.
  void set_histogram_range(const Packed<T>& pb, const char* a_name) {
    double lo = 0, hi = 1;
    if (!opt_.normalize) {
      // every partial sum of a dot product is at most |a| |b|: keep it finite in T
      std::vector<double> na = pa_.norms;
      std::sort(na.begin(), na.end(), std::greater<double>());
      const double nb = symmetric_ ? na[1] : *std::max_element(pb.norms.begin(), pb.norms.end());
      hi = na[0] * nb;
      if (!(hi < 0.25 * static_cast<double>(std::numeric_limits<T>::max())))
        throw std::invalid_argument(std::string(a_name) + " has rows so long that their inner products overflow " +
                                    (sizeof(T) == 4 ? "float32" : "float64") +
                                    "; use normalize=True or float64");
    }
    if (opt_.hist_hi > opt_.hist_lo) {
      lo = opt_.hist_lo;
      hi = opt_.hist_hi;
    }
    // all-zero or subnormal ranges: keep |g| * scale finite (everything lands in bin 0)
    if (!std::isfinite(static_cast<T>(static_cast<double>(opt_.bins) / (hi - lo)))) hi = lo + 1;
    if (!opt_.refine) lo = 0;  // the vector path bins |g| * scale
    hist_lo_ = lo;
    hist_hi_ = hi;
    p_.hist_lo = lo;
    p_.hist_hi = hi;
    p_.scale = static_cast<T>(static_cast<double>(opt_.bins) / (hi - lo));
    p_.refine_scale = static_cast<double>(opt_.bins) / (hi - lo);
  }

  void init_scratch(TileScratch<T>& s) const {
    const std::size_t slots = 2 * kTile;
    s.partial.assign(kTile * kTile, T(0));
    s.hist.assign(static_cast<std::size_t>(opt_.bins), 0);
    s.count_above.assign(thresholds_.size(), 0);
    s.slot_sumsq.assign(slots, 0.0);
    s.row_best.assign(slots, static_cast<int>(a_side_.best.k), false);
    s.signed_best.assign(slots, static_cast<int>(a_side_.signed_best.k), true);
    s.topk.assign(slots, static_cast<int>(a_side_.topk.k), false);
  }

  // The side whose rows are the tile's columns.
  Side& column_side() { return symmetric_ ? a_side_ : b_side_; }

  // Snapshot of each row's current best and k-th best, so a tile only looks at
  // values that can still change the global per-row results.
  void begin_tile(TileScratch<T>& s, const TileParams<T>& p) {
    if (!lists_) return;
    for_block_rows(a_side_, 0, p.i0, [&](std::size_t slot, std::int64_t row) { snapshot(s, a_side_, slot, row); });
    if (!columns_) return;
    Side& cols = column_side();
    for_block_rows(cols, kTile, p.j0, [&](std::size_t slot, std::int64_t row) { snapshot(s, cols, slot, row); });
  }

  // fn(slot, row) for the rows of the side's block starting at row0, under its lock.
  template <class Fn>
  static void for_block_rows(Side& side, std::int64_t slot0, std::int64_t row0, Fn fn) {
    const std::int64_t end = std::min(kTile, side.m - row0);
    std::lock_guard<std::mutex> guard(side.locks[static_cast<std::size_t>(row0 / kTile)]);
    for (std::int64_t r = 0; r < end; ++r) fn(static_cast<std::size_t>(slot0 + r), row0 + r);
  }

  static void snapshot(TileScratch<T>& s, const Side& side, std::size_t slot, std::int64_t row) {
    snapshot(s.row_best, side.best, slot, row);
    snapshot(s.signed_best, side.signed_best, slot, row);
    snapshot(s.topk, side.topk, slot, row);
  }

  static void snapshot(SlotLists<T>& list, const RowList& global, std::size_t slot, std::int64_t row) {
    if (global.k == 0) return;
    const std::int64_t idx = global.last_index(row);
    list.global_last_index[slot] = idx;
    list.global_last[slot] = idx < 0 ? SlotLists<T>::kNoFloor : static_cast<T>(global.last_key(row));
    list.floor[slot] = list.global_last[slot];
  }

  void end_tile(TileScratch<T>& s, const TileParams<T>& p) {
    if (!lists_) return;
    for_block_rows(a_side_, 0, p.i0, [&](std::size_t slot, std::int64_t row) { merge_slot(s, a_side_, slot, row); });
    if (!columns_) return;
    Side& cols = column_side();
    for_block_rows(cols, kTile, p.j0, [&](std::size_t slot, std::int64_t row) { merge_slot(s, cols, slot, row); });
  }

  void merge_slot(TileScratch<T>& s, Side& side, std::size_t slot, std::int64_t row) const {
    if (opt_.per_row) side.sumsq[row] += s.slot_sumsq[slot];
    s.slot_sumsq[slot] = 0;
    merge_slot(s.row_best, side.best, slot, row);
    merge_slot(s.signed_best, side.signed_best, slot, row);
    merge_slot(s.topk, side.topk, slot, row);
  }

  static void merge_slot(SlotLists<T>& list, RowList& global, std::size_t slot, std::int64_t row) {
    const std::size_t base = slot * static_cast<std::size_t>(list.k);
    for (int c = 0; c < list.count[slot]; ++c) global.insert(row, list.value[base + c], list.index[base + c]);
    list.count[slot] = 0;
  }

  InterferenceTotals merge_totals(std::vector<TileScratch<T>>& scratch) const {
    InterferenceTotals out;
    out.hist_lo = hist_lo_;
    out.hist_hi = hist_hi_;
    out.hist.assign(static_cast<std::size_t>(opt_.bins), 0);
    out.count_above.assign(thresholds_.size(), 0);
    std::size_t kept = 0;
    for (const auto& s : scratch) kept += s.pairs.size();
    out.pairs.reserve(kept);
    for (auto& s : scratch) {
      out.sum += s.sum;
      out.sum_abs += s.sum_abs;
      out.sum_sq += s.sum_sq;
      if (s.max_i >= 0 && ranks_before(static_cast<double>(s.max_abs), PairIndex{s.max_i, s.max_j}, out.max_abs,
                                       PairIndex{out.max_i, out.max_j})) {
        out.max_abs = s.max_abs;
        out.max_i = s.max_i;
        out.max_j = s.max_j;
      }
      for (std::size_t b = 0; b < out.hist.size(); ++b) out.hist[b] += s.hist[b];
      for (std::size_t t = 0; t < out.count_above.size(); ++t) out.count_above[t] += s.count_above[t];
      out.below += s.below;
      out.above += s.above;
      out.collected.insert(out.collected.end(), s.collected.begin(), s.collected.end());
      out.collect_overflow |= s.collect_overflow;
      out.pair_count += s.pair_count;
      out.pairs.insert(out.pairs.end(), s.pairs.begin(), s.pairs.end());
      std::vector<PairHit>().swap(s.pairs);  // at most pair_cap pairs in all, now held twice
    }
    if (out.pair_count > opt_.pair_cap) std::vector<PairHit>().swap(out.pairs);
    if (static_cast<std::int64_t>(out.collected.size()) > opt_.collect_cap) out.collect_overflow = true;
    if (out.collect_overflow) out.collected.clear();
    return out;
  }

  const InterferenceOptions& opt_;
  InterferenceRows rows_, cols_;
  int threads_;
  bool symmetric_ = true;
  bool lists_ = false;    // any per-row output wanted
  bool columns_ = false;  // ... for the tile's columns too
  Packed<T> pa_, pb_;
  TileParams<T> p_;
  std::vector<T> thresholds_;
  Side a_side_, b_side_;
  double hist_lo_ = 0, hist_hi_ = 1;
};

}  // namespace

template <class T>
InterferenceTotals interference(const T* a, std::int64_t m, std::int64_t n, const T* b,
                                std::int64_t m2, const InterferenceOptions& options,
                                const InterferenceRows& rows, const InterferenceRows& cols,
                                const char* a_name, const char* b_name) {
  Pass<T> pass(a, m, n, b, m2, options, rows, cols, a_name, b_name);
  return pass.run();
}

template InterferenceTotals interference<float>(const float*, std::int64_t, std::int64_t,
                                                const float*, std::int64_t,
                                                const InterferenceOptions&, const InterferenceRows&,
                                                const InterferenceRows&, const char*, const char*);
template InterferenceTotals interference<double>(const double*, std::int64_t, std::int64_t,
                                                 const double*, std::int64_t,
                                                 const InterferenceOptions&, const InterferenceRows&,
                                                 const InterferenceRows&, const char*, const char*);

}  // namespace nearortho
