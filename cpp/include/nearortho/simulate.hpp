// Monte Carlo readout through a frame W (m x n, rows used as given): per trial,
// encode x = sum_k a_k w_k, read out r = W x for all m features, and reduce the
// readouts on the fly into float64 sums and exact counts. Tests: tests/test_simulate.py.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "nearortho/activations.hpp"

namespace nearortho {

struct ReadoutSpec {
  double threshold = 0.5;   // decoder says "on" when r > threshold (|r| > threshold if signed)
  bool signed_decoder = false;
  double hist_lo = -1.0, hist_hi = 1.0;  // histogram of inactive readouts
  std::int64_t bins = 256;
};

// Sums over a range of trials. Counts are exact; float sums are float64, summed
// per trial and then over trials in order, so they do not depend on the thread count.
struct ReadoutTotals {
  std::int64_t trials = 0;
  std::int64_t inactive = 0, active = 0;          // readouts seen of each kind
  std::int64_t false_positives = 0, false_negatives = 0, level_errors = 0;
  double inactive_sum = 0, inactive_sumsq = 0;    // r_i, i inactive
  double active_error_sum = 0, active_error_sumsq = 0;  // r_k - a_k, k active
  double amplitude_sumsq = 0;                     // a_k^2, k active
  double trial_errors_sumsq = 0;                  // sum over trials of (FP + FN in the trial)^2
  std::vector<std::int64_t> histogram;            // bins + 2: [underflow, bins..., overflow]

  // Adds the totals of later trials (same histogram bins; throws std::invalid_argument
  // otherwise): merging calls in trial order keeps the sums' order fixed.
  ReadoutTotals& operator+=(const ReadoutTotals& later);
};

// Explicit activations in CSR form: trial t has index[offset[t] .. offset[t+1]),
// strictly increasing indices in [0, m), values the signed amplitudes.
struct ExplicitActivations {
  const std::int64_t* offset = nullptr;
  const std::int64_t* index = nullptr;
  const double* value = nullptr;
};

// How readouts are computed. dense: r = W x per trial (m n multiply-adds per
// trial). gram: columns of W W^T for a block of features, then r_i = sum over
// active k of a_k <w_i, w_k> (m^2 n once per call plus l m per trial), cheaper when
// a call has many more trials than features. Both agree to float tolerance.
enum class ReadoutPath { dense = 0, gram = 1 };

template <class T>
struct FrameView {
  const T* data = nullptr;  // m x n, row-major, C-contiguous
  std::int64_t m = 0, n = 0;
};

// Running sums of one trial of a call while its readouts stream past.
struct TrialSums {
  double inactive_sum = 0, inactive_sumsq = 0, error_sum = 0, error_sumsq = 0, amplitude_sumsq = 0;
  std::int64_t fp = 0, fn = 0, level_errors = 0, next = 0;  // next: active readouts seen (position in the list)
};

// The totals of a call's trials (m features each), folded in trial order, with
// the histogram already summed: every backend folds so.
ReadoutTotals fold_trials(const std::vector<TrialSums>& sums, std::int64_t m, std::vector<std::int64_t> histogram);

// The checks every backend's simulate_readout makes first (std::invalid_argument).
template <class T>
void check_readout_call(const FrameView<T>& W, const ActivationSpec& spec, const ExplicitActivations* given,
                        std::int64_t trial_begin, std::int64_t trial_end, const ReadoutSpec& readout);

// `interrupted` (simulate_readout, pair_sumsq) is polled on the calling thread about
// every 50 ms; once it returns true the call returns early with partial results,
// which the caller (who knows it fired) discards.
//
// Trials [trial_begin, trial_end) drawn from spec (or taken from explicit, whose
// trial t is explicit trial t - trial_begin). Level decoding (nearest of a j / K)
// runs for sampled activations of AmplitudeKind::levels.
template <class T>
ReadoutTotals simulate_readout(const FrameView<T>& W, const ActivationSpec& spec,
                               const ExplicitActivations* explicit_activations,
                               std::int64_t trial_begin, std::int64_t trial_end,
                               const ReadoutSpec& readout, ReadoutPath path, int threads,
                               const std::function<bool()>& interrupted = nullptr);

// The raw readouts r = W x (trials x m, float64 out) for explicit activations: the
// same kernels as simulate_readout, exposed so tests can compare every value;
// polls `interrupted` as simulate_readout does (then `out` is partly written).
template <class T>
void readout_values(const FrameView<T>& W, const ExplicitActivations& activations,
                    std::int64_t trials, double* out, ReadoutPath path, int threads,
                    const std::function<bool()>& interrupted = nullptr);

// Sum over pairs i < j of <w_i, w_j>^2 for the rows of W (the readout noise
// predictions use its mean). Dot products in T, squares summed in float64 per band
// of rows, bands folded in order: independent of threads. Cost m^2 n / 2.
template <class T>
double pair_sumsq(const FrameView<T>& W, int threads, const std::function<bool()>& interrupted = nullptr);

}  // namespace nearortho
