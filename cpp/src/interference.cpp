// Interference pass: walks pairs of row blocks (the triangle of them, or all of
// A x B; one pair when the sources are packed whole), packs (and normalises) the
// two blocks in use from their row sources (packed_rows.cpp), schedules the Gram
// tiles of that pair over OpenMP threads, and merges each thread's partial
// statistics. The per-ISA tile kernel is in isa/interference_kernels.cpp. Tests:
// tests/test_interference*.py, tests/test_streaming.py.
#include "nearortho/interference.hpp"

#include <algorithm>
#include <atomic>
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
#include "nearortho/interference_setup.hpp"
#include "nearortho/parallel_errors.hpp"
#include "nearortho/ranking.hpp"
#include "nearortho/threads.hpp"
#include "packed_rows.hpp"

namespace nearortho {

NEARORTHO_KERNEL_TABLE(InterferenceKernels, kInterferenceKernels, interference_kernels)

namespace {

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
  Pass(const RowSource<T>& a, const RowSource<T>* b, const InterferenceOptions& opt,
       const InterferenceRows& rows, const InterferenceRows& cols)
      : opt_(opt), rows_(rows), cols_(cols), threads_(resolve_threads(opt.threads)), a_(a), b_(b ? *b : a),
        poll_(poll_callback_), tile_kernel_(tile_function(interference_kernels(active_isa()))) {
    check_options();
    symmetric_ = b == nullptr;
    const std::int64_t m = a.rows(), m2 = b_.rows();
    p_.m_a = m;
    p_.m_b = m2;
    p_.n = a.cols();
    p_.symmetric = symmetric_;
    p_.bins = opt.bins;
    p_.hist_copies = opt.refine ? 1 : histogram_copies(opt.bins);
    p_.refine = opt.refine;
    p_.per_row = opt.per_row;
    lists_ = opt.per_row || opt.topk > 0;
    columns_ = lists_ && (symmetric_ || opt.columns);  // symmetric: the column's rows are A's
    p_.column_slots = columns_;
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
    block_rows_ = opt.block_rows > 0 ? opt.block_rows : std::max(m, m2);
    buffers_.resize(static_cast<std::size_t>(threads_));
    const std::int64_t ba = (m + kTile - 1) / kTile, bb = (m2 + kTile - 1) / kTile;
    total_tiles_ = symmetric_ ? ba * (ba + 1) / 2 : ba * bb;  // progress reports count tiles
  }

  InterferenceTotals run() {
    sumsq_a_ = squared_norms(a_, opt_.normalize, threads_, buffers_, poll_);
    if (!symmetric_ && !poll_.fired()) sumsq_b_ = squared_norms(b_, opt_.normalize, threads_, buffers_, poll_);
    if (poll_.fired()) return cancelled();
    set_histogram_range();
    a_side_.init(rows_, p_.m_a, opt_.per_row, opt_.topk);
    if (!symmetric_ && columns_) b_side_.init(cols_, p_.m_b, opt_.per_row, opt_.topk);
    std::atomic<std::int64_t> pair_slots{0};
    p_.pair_slots = &pair_slots;
    std::vector<TileScratch<T>> scratch(static_cast<std::size_t>(threads_));
    for (auto& s : scratch) init_scratch(s);
    const std::int64_t blocks_a = (p_.m_a + block_rows_ - 1) / block_rows_;
    const std::int64_t blocks_b = (p_.m_b + block_rows_ - 1) / block_rows_;
    // Serpentine order over the blocks of B: the block packed last is the first
    // needed by the next block of A, so it is not read again.
    for (std::int64_t I = 0; I < blocks_a && !stopped(); ++I) {
      const PackedBlock<T>& block_a = packed(a_, I, nullptr, sumsq_a_);
      const std::int64_t J0 = symmetric_ ? I : 0, count = blocks_b - J0;
      for (std::int64_t step = 0; step < count && !stopped(); ++step) {
        const std::int64_t J = I % 2 == 0 ? J0 + step : blocks_b - 1 - step;
        const PackedBlock<T>& block_b =
            symmetric_ && J == I ? block_a : packed(b_, J, &block_a, symmetric_ ? sumsq_a_ : sumsq_b_);
        if (stopped()) break;
        run_tiles(block_a, block_b, scratch);
        if (!stopped()) sum_ += block_pair_sum(block_a, block_b);
      }
    }
    a_.check_unchanged();  // a file rewritten during the last read
    b_.check_unchanged();
    if (!stopped() && opt_.poll && opt_.poll(total_tiles_, total_tiles_)) stop_.store(true);
    InterferenceTotals out = merge_totals(scratch);
    out.cancelled = stopped();
    return out;
  }

 private:
  bool stopped() const { return stop_.load() || poll_.fired(); }

  InterferenceTotals cancelled() const {
    InterferenceTotals out;
    out.cancelled = true;
    return out;
  }

  // The packed block J of source (rows [J * block_rows, ...)): the buffer that
  // holds it already, else it is packed into the buffer other than `keep`.
  const PackedBlock<T>& packed(const RowSource<T>& source, std::int64_t J, const PackedBlock<T>* keep,
                               const std::vector<double>& sumsq) {
    const std::int64_t first = J * block_rows_;
    for (auto& block : blocks_)
      if (block.holds(&source, first)) return block;
    PackedBlock<T>& into = &blocks_[0] == keep ? blocks_[1] : blocks_[0];
    pack_block(source, first, std::min(block_rows_, source.rows() - first), sumsq, opt_.normalize, threads_,
               buffers_, poll_, into);
    return into;
  }

  // The Gram tiles of one pair of packed blocks (the triangle when they are one).
  void run_tiles(const PackedBlock<T>& block_a, const PackedBlock<T>& block_b,
                 std::vector<TileScratch<T>>& scratch) {
    const std::int64_t I0 = block_a.first / kTile, J0 = block_b.first / kTile;
    const std::int64_t rows = (block_a.rows + kTile - 1) / kTile, cols = (block_b.rows + kTile - 1) / kTile;
    const bool triangle = &block_a == &block_b;
    const std::int64_t tiles = triangle ? rows * (rows + 1) / 2 : rows * cols;
    const int threads = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(threads_, tiles)));
    TileParams<T> params = p_;
    params.a = block_a.data.get();
    params.a_stride = block_a.stride;
    params.a_first = block_a.first;
    params.b = block_b.data.get();
    params.b_stride = block_b.stride;
    params.b_first = block_b.first;
    for (auto& s : scratch) s.strips_i0 = -1;  // the blocks' buffers may hold other rows now
    ParallelErrors errors;
#pragma omp parallel num_threads(threads)
    {
      const int tid = thread_slot();
      TileScratch<T>& s = scratch[static_cast<std::size_t>(tid)];
      TileParams<T> p = params;
#pragma omp for schedule(dynamic, 1)
      for (std::int64_t t = 0; t < tiles; ++t) {
        if (stopped()) continue;
        errors.run([&] {  // the poll calls Python; refine mode grows the collected values
          if (tid == 0) tiles_started_.store(tiles_done_ + t, std::memory_order_relaxed);
          if (poll_.stopped()) return;
          std::int64_t I, J;
          if (triangle) {
            triangle_tile(t, rows, I, J);
          } else {
            I = t / cols;
            J = t % cols;
          }
          p.i0 = (I0 + I) * kTile;
          p.j0 = (J0 + J) * kTile;
          begin_tile(s, p);
          tile_kernel_(p, s);
          end_tile(s, p);
        });
        if (errors.failed()) stop_.store(true);
      }
    }
    errors.rethrow();
    for (auto& s : scratch) flush_rows(s);
    tiles_done_ += tiles;
  }

  void check_options() const {
    const std::int64_t m = a_.rows(), n = a_.cols(), m2 = b_.rows();
    const std::string& a_name = a_.name();
    const bool symmetric = &a_ == &b_;
    if (n < 1 || m < 1) throw std::invalid_argument(a_name + " must not be empty");
    if (symmetric && m < 2) throw std::invalid_argument(a_name + " needs at least 2 rows for pairs");
    if (!symmetric && m2 < 1) throw std::invalid_argument(b_.name() + " must not be empty");
    if (!symmetric && b_.cols() != n)
      throw std::invalid_argument(b_.name() + " must have rows of length " + std::to_string(n) + " like " + a_name);
    if (opt_.bins < 1 || opt_.bins > kMaxBins)
      throw std::invalid_argument("bins must be in [1, " + std::to_string(kMaxBins) + "]");
    if (!opt_.precision.empty())
      throw std::invalid_argument("precision " + opt_.precision + " needs the CUDA backend's tensor cores");
    if (opt_.block_rows < 0 || opt_.block_rows % kTile != 0)
      throw std::invalid_argument("block_rows must be a nonnegative multiple of " + std::to_string(kTile));
    const std::int64_t candidates = symmetric ? m - 1 : m2;
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

  void set_histogram_range() {
    const HistogramRange range = histogram_range<T>(opt_, sumsq_a_, symmetric_ ? nullptr : &sumsq_b_, a_.name());
    hist_lo_ = range.lo;
    hist_hi_ = range.hi;
    p_.hist_lo = range.lo;
    p_.hist_hi = range.hi;
    p_.scale = static_cast<T>(range.scale);
    p_.refine_scale = range.scale;
  }

  void init_scratch(TileScratch<T>& s) const {
    const std::size_t slots = 2 * kTile;
    s.partial.assign(kTile * kTile, T(0));
    s.hist.assign(static_cast<std::size_t>(p_.hist_copies * (opt_.bins + 1)), 0);  // + a spare bin (PendingCounts)
    s.count_above.assign(thresholds_.size(), 0);
    s.slot_sumsq.assign(slots, 0.0);
    s.row_best.assign(slots, static_cast<int>(a_side_.best.k), false);
    s.signed_best.assign(slots, static_cast<int>(a_side_.signed_best.k), true);
    s.topk.assign(slots, static_cast<int>(a_side_.topk.k), false);
  }

  // The side whose rows are the tile's columns.
  Side& column_side() { return symmetric_ ? a_side_ : b_side_; }

  // Snapshot of each row's current best and k-th best, so a tile only looks at
  // values that can still change the global per-row results. A thread's row
  // slots stay with it while its tiles stay in one block row (with dynamic
  // scheduling over the triangle in row-major order they mostly do): they are
  // merged once when it moves on (flush_rows), not after every tile, so the
  // threads, which work on the same block row, rarely meet at its lock. A list
  // is the best of what was offered to it, and a snapshot only raises floors
  // (values that can no longer make the list), so when a list is merged changes
  // no result.
  void begin_tile(TileScratch<T>& s, const TileParams<T>& p) {
    if (!lists_) return;
    if (s.rows_i0 != p.i0) {
      flush_rows(s);
      for_block_rows(a_side_, 0, p.i0, [&](std::size_t slot, std::int64_t row) { snapshot(s, a_side_, slot, row); });
      s.rows_i0 = p.i0;
    }
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
    if (!columns_) return;
    Side& cols = column_side();
    for_block_rows(cols, kTile, p.j0, [&](std::size_t slot, std::int64_t row) { merge_slot(s, cols, slot, row); });
  }

  // Merges the row slots a thread still holds (see begin_tile).
  void flush_rows(TileScratch<T>& s) {
    if (s.rows_i0 < 0) return;
    for_block_rows(a_side_, 0, s.rows_i0,
                   [&](std::size_t slot, std::int64_t row) { merge_slot(s, a_side_, slot, row); });
    s.rows_i0 = -1;
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
    out.sum = sum_;
    out.hist_lo = hist_lo_;
    out.hist_hi = hist_hi_;
    out.hist.assign(static_cast<std::size_t>(opt_.bins), 0);
    out.count_above.assign(thresholds_.size(), 0);
    std::size_t kept = 0;
    for (const auto& s : scratch) kept += s.pairs.size();
    out.pairs.reserve(kept);
    for (auto& s : scratch) {
      out.sum_abs += s.sum_abs;
      out.sum_sq += s.sum_sq;
      if (s.max_i >= 0 && ranks_before(static_cast<double>(s.max_abs), PairIndex{s.max_i, s.max_j}, out.max_abs,
                                       PairIndex{out.max_i, out.max_j})) {
        out.max_abs = s.max_abs;
        out.max_i = s.max_i;
        out.max_j = s.max_j;
      }
      for (std::size_t b = 0; b < out.hist.size(); ++b)
        for (int c = 0; c < p_.hist_copies; ++c) out.hist[b] += s.hist[c * (out.hist.size() + 1) + b];
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
  const RowSource<T>& a_;
  const RowSource<T>& b_;  // a_ itself when symmetric
  bool symmetric_ = true;
  bool lists_ = false;    // any per-row output wanted
  bool columns_ = false;  // ... for the tile's columns too
  std::int64_t block_rows_ = 0;
  std::vector<double> sumsq_a_, sumsq_b_;  // rows' sums of squares (packing scales by them)
  std::vector<RowBuffer<T>> buffers_;      // per thread, for file reads
  PackedBlock<T> blocks_[2];
  std::atomic<std::int64_t> tiles_started_{0};
  std::int64_t tiles_done_ = 0, total_tiles_ = 0;  // tiles of the block pairs finished, of the pass
  std::function<bool()> poll_callback_ = [this] {
    return opt_.poll && opt_.poll(tiles_started_.load(std::memory_order_relaxed), total_tiles_);
  };
  InterruptPoll poll_;  // from the calling thread, about every 50 ms
  std::atomic<bool> stop_{false};
  TileParams<T> p_;
  // one ISA for the whole pass: a cap set while it runs (another thread's
  // set_max_isa, or its own progress callback) would otherwise mix the roundings
  // of two ISAs between its block pairs
  void (*tile_kernel_)(const TileParams<T>&, TileScratch<T>&);
  std::vector<T> thresholds_;
  Side a_side_, b_side_;
  double hist_lo_ = 0, hist_hi_ = 1;
  double sum_ = 0;  // of g over the pairs of the blocks done (block_pair_sum)
};

}  // namespace

template <class T>
InterferenceTotals interference(const RowSource<T>& a, const RowSource<T>* b, const InterferenceOptions& options,
                                const InterferenceRows& rows, const InterferenceRows& cols) {
  Pass<T> pass(a, b, options, rows, cols);
  return pass.run();
}

template InterferenceTotals interference<float>(const RowSource<float>&, const RowSource<float>*,
                                                const InterferenceOptions&, const InterferenceRows&,
                                                const InterferenceRows&);
template InterferenceTotals interference<double>(const RowSource<double>&, const RowSource<double>*,
                                                 const InterferenceOptions&, const InterferenceRows&,
                                                 const InterferenceRows&);

}  // namespace nearortho
