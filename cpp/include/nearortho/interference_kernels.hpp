// The per-ISA part of the interference pass: one Gram tile computed by a
// register-blocked micro-kernel and reduced while each micro-tile is in L1
// (cpp/src/isa/interference_kernels.cpp, compiled once per instruction set;
// cpp/src/interference.cpp schedules tiles and merges). Tests:
// tests/test_interference*.py (ISA forced in turn).
#pragma once
#include <atomic>
#include <cstdint>
#include <limits>
#include <vector>

#include "nearortho/interference.hpp"
#include "nearortho/isa.hpp"

namespace nearortho {

// Rows are packed in panels of kPanelRows<T> rows (64 bytes of one k), k-major:
// row r, coordinate k sits at panel(r) * panel_stride + k * kPanelRows + r % kPanelRows.
template <class T>
constexpr int kPanelRows = 64 / sizeof(T);

// Tile edge (rows and columns of the Gram tile one thread owns at a time): 144
// is a multiple of every micro-tile height (3, 6, 8) and width (8, 16, 24, 48);
// the 144 x 144 tile of partial sums (81 KiB in float) stays in L2 while k
// blocks of A and B stream past it (see kDepth in interference_kernels.cpp).
constexpr std::int64_t kTile = 144;

// The default histogram of few bins is counted into copies, lane l into copy
// l % copies, summed at the end: an increment waits for the last one of its bin,
// and with few bins the increments of a micro-tile are a chain (n = 64, 8 bins:
// the pass took a fifth longer than with 1024).
constexpr int kHistogramCopies = 4;
inline int histogram_copies(std::int64_t bins) { return bins <= 256 ? kHistogramCopies : 1; }

template <class T>
struct TileParams {
  const T* a = nullptr;            // packed panels of A's rows from a_first on
  std::int64_t a_stride = 0;       // elements between A panels
  std::int64_t a_first = 0;        // a multiple of kTile: no tile straddles two blocks
  std::int64_t m_a = 0;
  const T* b = nullptr;            // packed panels of B's rows from b_first on (A's when symmetric)
  std::int64_t b_stride = 0;
  std::int64_t b_first = 0;
  std::int64_t m_b = 0;
  std::int64_t n = 0;
  bool symmetric = false;          // only pairs i < j
  std::int64_t i0 = 0, j0 = 0;     // first row / column of this tile
  std::int64_t bins = 1;
  int hist_copies = 1;             // histogram_copies(bins)
  T scale = 1;                     // bins / (hi - lo), default histogram mode
  bool refine = false;             // see InterferenceOptions::refine
  double hist_lo = 0, hist_hi = 1, refine_scale = 1;
  double collect_lo = 0, collect_hi = -1;
  std::int64_t collect_cap = 0;
  const T* thresholds = nullptr;   // largest T <= each threshold, so |g| > t is exact
  int n_thresholds = 0;
  bool per_row = false;            // per-row sums of squares (the lists are in TileScratch)
  bool column_slots = false;       // the columns' slots are wanted too (symmetric, or B's rows)
  bool collect_pairs = false;      // pairs with key >= pair_threshold (key: g or |g|)
  bool pair_signed = false;
  T pair_threshold = 0;            // smallest T >= the threshold, so key >= t is exact
  std::int64_t pair_cap = 0;
  std::atomic<std::int64_t>* pair_slots = nullptr;  // pairs kept by all threads so far
};

// The best partners of each local slot in the current tile, best first by
// ranks_before (nearortho/ranking.hpp) on a key, |g| or (by_sign) g: the per-row
// maximum is the list of length 1 by |g|, the signed maximum the list of length
// 1 by g, top-k the list of length k by |g|. Candidates keep the key and g.
template <class T>
struct SlotLists {
  // below every key of a pair in the pass (finite) and above the -inf of masked pairs
  static constexpr T kNoFloor = std::numeric_limits<T>::lowest();
  int k = 0;                       // 0: the list is not wanted
  bool by_sign = false;
  std::vector<int> count;
  std::vector<T> key, value;
  std::vector<std::int64_t> index;
  // The global list's last entry when it is full (index -1 when not), from the
  // snapshot at the start of the tile, and the least key a candidate must reach
  // (>=) to be looked at: that entry, or this list's last once full.
  std::vector<T> global_last;
  std::vector<std::int64_t> global_last_index;
  std::vector<T> floor;

  void assign(std::size_t slots, int length, bool signed_key) {
    k = length;
    by_sign = signed_key;
    count.assign(slots, 0);
    key.assign(slots * length, T(0));
    value.assign(slots * length, T(0));
    index.assign(slots * length, -1);
    global_last.assign(slots, kNoFloor);
    global_last_index.assign(slots, -1);
    floor.assign(slots, kNoFloor);
  }
};

// One thread's state. Local slots [0, kTile) are the tile's rows, [kTile, 2 kTile)
// its columns (used when column_slots); the driver merges them into the global
// per-row arrays after each tile and resets them.
template <class T>
struct TileScratch {
  std::vector<T> partial;          // kTile x kTile partial dot products (micro-tile order)
  std::vector<T> strips;           // the tile's rows of A, a micro-tile's rows together per k
  std::int64_t strips_i0 = -1;     // first row they hold (-1: none; reset for each pair of blocks)
  double sum_abs = 0, sum_sq = 0;  // (the pass has the sum of g from the rows' sums)
  T max_abs = -1;
  std::int64_t max_i = -1, max_j = -1;
  std::vector<std::int64_t> hist;   // hist_copies x (bins + 1): the last of each counts pairs outside the pass, unread
  std::int64_t below = 0, above = 0;
  std::vector<std::int64_t> count_above;
  std::vector<double> collected;
  bool collect_overflow = false;
  std::vector<double> slot_sumsq;  // per local slot
  SlotLists<T> row_best;           // per_row: the maximum |g| and its partner
  SlotLists<T> signed_best;        // per_row: the maximum g and its partner
  SlotLists<T> topk;
  std::int64_t rows_i0 = -1;       // first row of the rows the row slots hold (-1: none)
  std::int64_t pair_count = 0;     // pairs at or above the threshold, all counted
  std::vector<PairHit> pairs;      // those this thread kept (within pair_cap in all)
};

struct InterferenceKernels {
  void (*tile_f32)(const TileParams<float>& p, TileScratch<float>& s);
  void (*tile_f64)(const TileParams<double>& p, TileScratch<double>& s);
};

const InterferenceKernels& interference_kernels(Isa isa);

}  // namespace nearortho
