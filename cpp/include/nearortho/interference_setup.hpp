// The parts of an interference pass's set-up that every backend shares (the CPU
// core in cpp/src/interference.cpp, CUDA in cpp/cuda/interference.cu), so both
// bin, threshold and reject inputs identically. Tests: tests/test_interference*.py,
// tests/test_cuda.py.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "nearortho/interference.hpp"

namespace nearortho {

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

// The checks of the rows' first pass: the first row with NaN or Inf, or
// (normalising) the first zero row, or the first nonzero row whose sum of squares
// is not a normal float64 (1 / sqrt of it would be 0, inf or inexact); m when there is none.
inline void throw_if_bad_rows(const std::string& name, std::int64_t bad_value, std::int64_t zero_row,
                              std::int64_t m, std::int64_t unscalable_row) {
  if (bad_value < m)
    throw std::invalid_argument(name + " contains NaN or Inf (row " +
                                std::to_string(bad_value) + ")");
  if (zero_row < m)
    throw std::invalid_argument(name + " has a zero row (row " +
                                std::to_string(zero_row) + "); normalize=True needs every row nonzero");
  if (unscalable_row < m)
    throw std::invalid_argument(name + " has a row whose squared norm overflows or underflows float64 (row " +
                                std::to_string(unscalable_row) +
                                ": entries beyond about 1e154 or all below about 1e-154), so it cannot be "
                                "normalised; rescale " + name + " (e.g. divide it by its largest |entry|)");
}

struct HistogramRange {
  double lo = 0, hi = 1;
  double scale = 1;  // bins / (hi - lo)
};

// [0, 1] for cosines; for raw products [0, the largest possible |g|] from the
// rows' sums of squares (Cauchy-Schwarz), so every value lands in a bin without a
// first pass; the options' own range when they give one. b_sumsq is null for
// pairs within A.
template <class T>
HistogramRange histogram_range(const InterferenceOptions& opt, const std::vector<double>& a_sumsq,
                               const std::vector<double>* b_sumsq, const std::string& a_name) {
  double lo = 0, hi = 1;
  if (!opt.normalize) {
    // every partial sum of a dot product is at most |a| |b|: keep it finite in T
    std::vector<double> na = a_sumsq;
    std::sort(na.begin(), na.end(), std::greater<double>());
    const double nb = b_sumsq == nullptr ? na[1] : *std::max_element(b_sumsq->begin(), b_sumsq->end());
    hi = std::sqrt(na[0]) * std::sqrt(nb);
    if (!(hi < 0.25 * static_cast<double>(std::numeric_limits<T>::max())))
      throw std::invalid_argument(a_name + " has rows so long that their inner products overflow " +
                                  (sizeof(T) == 4 ? "float32" : "float64") +
                                  "; use normalize=True or float64");
  }
  if (opt.hist_hi > opt.hist_lo) {
    lo = opt.hist_lo;
    hi = opt.hist_hi;
  }
  // all-zero or subnormal ranges: keep |g| * scale finite (everything lands in bin 0)
  if (!std::isfinite(static_cast<T>(static_cast<double>(opt.bins) / (hi - lo)))) hi = lo + 1;
  if (!opt.refine) lo = 0;  // the default histogram bins |g| * scale
  return {lo, hi, static_cast<double>(opt.bins) / (hi - lo)};
}

}  // namespace nearortho
