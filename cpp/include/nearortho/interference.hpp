// Interference statistics of a frame: one tiled pass over the pairs i < j of rows
// of W (or all pairs of rows of A and B) that reduces every Gram tile on the fly
// and never holds the m x m Gram matrix. Tests: tests/test_interference*.py.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nearortho/row_source.hpp"

namespace nearortho {

// Most histogram bins: bin numbers stay exact in float32, where the CPU tile bins |g|.
constexpr std::int64_t kMaxBins = std::int64_t{1} << 24;

struct InterferenceOptions {
  bool normalize = true;            // g = cosine (true) or raw inner product
  std::int64_t bins = 1024;         // histogram of |g| on [hist_lo, hist_hi], at most kMaxBins
  double hist_lo = 0.0;             // hist_hi <= hist_lo: [0, 1] if normalize, else
  double hist_hi = 0.0;             //   [0, bound] with bound from the row norms
  bool refine = false;              // true: values outside [hist_lo, hist_hi) are counted
                                    //   in below/above instead of clamped, and values in
                                    //   [collect_lo, collect_hi] are collected
  double collect_lo = 0.0, collect_hi = -1.0;
  std::int64_t collect_cap = 0;     // collect at most this many values (then overflow)
  std::vector<double> thresholds;   // count |g| > t for each t
  std::int64_t topk = 0;            // partners per row kept, 0 for none (at most all of them)
  bool per_row = true;              // per-row maxima (of |g| and of g) and sums of squares
  bool columns = true;              // with b: the per-row outputs for the rows of b too
  // Pairs collected: (i, j, g) with |g| >= pair_threshold (pair_signed: g >= it), all
  // counted exactly, at most pair_cap kept (pair_cap < 0: none collected).
  double pair_threshold = 1.0;
  bool pair_signed = false;
  std::int64_t pair_cap = -1;
  // Gram tiles on tensor cores: "" (the working dtype), "tf32" or "bf16" (CUDA,
  // float32 only): exact fields are then re-checked in float64 (see the CUDA
  // backend), the other fields carry InterferenceTotals::gram_error.
  std::string precision;
  int threads = 0;                  // <= 0: OpenMP default
  std::int64_t block_rows = 0;      // rows packed at a time per side (a multiple of kTile);
                                    //   0: each source whole
  std::int64_t device_bytes = 0;    // CUDA, rows in host memory: device memory the pass may
                                    //   use (0: the free memory less a margin); less than
                                    //   the rows need: A a superblock at a time
  // Polled by the calling thread between tiles (about every 50 ms, and once at
  // the end; the CUDA backend also after its first tile, and with 0 done while it
  // reads host rows' norms) with the tiles started and the total; returning true
  // stops the pass early and sets InterferenceTotals::cancelled.
  std::function<bool(std::int64_t done, std::int64_t total)> poll;
};

// Per-row outputs of one side, allocated by the caller (one entry per row of A, or
// of B for the columns); null when not wanted. j runs over the partners: the other
// rows of A, or the rows of the other side.
struct InterferenceRows {
  double* row_max = nullptr;              // max_j |g_ij| (per_row)
  std::int64_t* row_argmax = nullptr;     // its j (smallest j on ties)
  double* row_signed_max = nullptr;       // max_j g_ij (per_row)
  std::int64_t* row_signed_argmax = nullptr;
  double* row_sumsq = nullptr;            // sum_j g_ij^2 (per_row)
  std::int64_t* topk_index = nullptr;     // rows x topk, best first, ties by smaller j
  double* topk_value = nullptr;           // rows x topk signed g
};

// A pair above the threshold of InterferenceOptions (i in A, j in A or B).
struct PairHit {
  std::int64_t i, j;
  double g;
};

struct InterferenceTotals {
  double sum = 0, sum_abs = 0, sum_sq = 0;  // float64 sums over pairs (sum: from the rows' sums)
  double max_abs = -1;                      // coherence, and its pair (smallest (i, j) on ties)
  std::int64_t max_i = -1, max_j = -1;
  double hist_lo = 0, hist_hi = 1;          // histogram range actually used
  std::vector<std::int64_t> hist;           // bins counts
  std::int64_t below = 0, above = 0;        // refine mode only
  std::vector<std::int64_t> count_above;    // one per threshold
  std::vector<double> collected;            // refine mode: |g| in [collect_lo, collect_hi]
  bool collect_overflow = false;
  std::int64_t pair_count = 0;              // pairs at or above pair_threshold (exact)
  std::vector<PairHit> pairs;               // all of them when pair_count <= pair_cap, else none
  // With a tensor-core precision: the bound on |g used - g in float64| of every
  // entry behind the sums, histogram, counts and collected values (0: entries in
  // the working dtype), and the candidates re-checked in float64 for the exact
  // fields.
  double gram_error = 0;
  std::int64_t rechecked = 0;
  bool tensor_fallback = false;  // too many candidates: the pass ran again without tensor cores
  bool cancelled = false;
};

// a: m rows of length n; b: m2 rows of length n, or null for the pairs i < j of a.
// rows: per-row outputs for the rows of a; cols: for the rows of b (unused without b).
// Throws std::invalid_argument (message names the source) for NaN/Inf, zero rows
// when normalising, inner products that would overflow T, or bad sizes, before
// any tile is computed; FileReadError when a file source ends early or changes
// while it is read.
// Extra memory: the rows' sums of squares (8 bytes a row), two packed blocks of
// block_rows rows (or each source whole), rows rounded up to a 64-byte panel
// (16 float or 8 double rows) times (n | 1) coordinates, plus per thread a file
// read buffer (row_buffer_bytes), a 144 x 144 tile, a copy of 144 rows, the histogram and
// 288 * (topk + 2) candidates, and the collected pairs (at most pair_cap in all).
// With blocks the pass walks pairs of blocks (the triangle of them, or all of
// A x B); every per-row result and every exact field is the same as with whole
// sources, the float64 sums equal to rounding.
template <class T>
InterferenceTotals interference(const RowSource<T>& a, const RowSource<T>* b, const InterferenceOptions& options,
                                const InterferenceRows& rows, const InterferenceRows& cols);

}  // namespace nearortho
