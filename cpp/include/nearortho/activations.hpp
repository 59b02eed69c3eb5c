// Sparse activations for the readout Monte Carlo: which features are on in a
// trial and with what amplitude, a pure function of (seed, trial).
// Tests: tests/test_simulate.py (statistics of the sampler, thread invariance).
#pragma once
#include <cstdint>
#include <vector>

namespace nearortho {

enum class AmplitudeKind { boolean = 0, uniform = 1, levels = 2 };

struct ActivationSpec {
  std::int64_t m = 0;         // number of features
  std::int64_t l = 0;         // exactly l distinct active features (used when p < 0)
  double p = -1.0;            // if >= 0: each feature active independently with probability p
  AmplitudeKind kind = AmplitudeKind::boolean;
  double amplitude = 1.0;     // a: boolean -> a, uniform -> U(0, a], levels -> a * j / K
  std::int64_t levels = 1;    // K for AmplitudeKind::levels
  bool signed_amplitudes = false;  // multiply each amplitude by an independent random sign
  std::uint64_t seed = 0;
};

void validate(const ActivationSpec& spec);  // throws std::invalid_argument

// Most features a trial can activate (l, or m when p >= 0): the buffer size sample_trial needs.
std::int64_t max_active(const ActivationSpec& spec);

// Reusable per-thread scratch for sample_trial (a membership mark per feature).
struct SamplerScratch {
  std::vector<std::uint8_t> mark;
};

// Writes trial t's active features, indices strictly increasing, and their signed
// amplitudes (level numbers 1..K into level when non-null and kind is levels, else 0).
// Returns how many are active.
std::int64_t sample_trial(const ActivationSpec& spec, std::uint64_t trial, SamplerScratch& scratch,
                          std::int64_t* index, double* value, std::int32_t* level);

}  // namespace nearortho
