// Activation sampling for the readout Monte Carlo: Floyd's algorithm for l
// distinct features, geometric gaps for independent Bernoulli(p) features, with
// Philox keyed by (seed, trial) so trial t never depends on threads or batches.
// Tests: tests/test_simulate.py.
#include "nearortho/activations.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "nearortho/philox.hpp"

namespace nearortho {

void validate(const ActivationSpec& spec) {
  if (spec.m < 1) throw std::invalid_argument("m must be >= 1");
  if (spec.p < 0 && (spec.l < 0 || spec.l > spec.m))
    throw std::invalid_argument("l must be in [0, m]");
  if (spec.p > 1 || std::isnan(spec.p)) throw std::invalid_argument("p must be in [0, 1]");
  if (!(spec.amplitude > 0) || !std::isfinite(spec.amplitude))
    throw std::invalid_argument("amplitude must be finite and > 0");
  if (spec.kind == AmplitudeKind::levels && spec.levels < 1)
    throw std::invalid_argument("levels must be >= 1");
}

std::int64_t max_active(const ActivationSpec& spec) { return spec.p >= 0 ? spec.m : spec.l; }

namespace {

// A uniform double in (0, 1] from 64 random bits (53 of them used).
inline double unit_open_closed(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t x = ((static_cast<std::uint64_t>(hi) << 32) | lo) >> 11;
  return static_cast<double>(x + 1) * 0x1.0p-53;
}

std::int64_t floyd(const ActivationSpec& spec, std::uint64_t trial, SamplerScratch& scratch,
                   std::int64_t* index) {
  const std::int64_t m = spec.m, l = spec.l;
  if (static_cast<std::int64_t>(scratch.mark.size()) < m) scratch.mark.assign(m, 0);
  const RowGenerator gen(spec.seed, trial, Stream::activation_indices);
  for (std::int64_t k = 0; k < l; ++k) {
    const std::int64_t j = m - l + k;
    const Philox4x32 b = gen.block(static_cast<std::uint32_t>(k / 2));
    const int w = 2 * static_cast<int>(k % 2);
    std::int64_t pick = static_cast<std::int64_t>(bounded(b.v[w], b.v[w + 1], j + 1));
    if (scratch.mark[pick]) pick = j;
    scratch.mark[pick] = 1;
    index[k] = pick;
  }
  for (std::int64_t k = 0; k < l; ++k) scratch.mark[index[k]] = 0;
  std::sort(index, index + l);
  return l;
}

// Gaps between successive active features are geometric with parameter p.
std::int64_t bernoulli(const ActivationSpec& spec, std::uint64_t trial, std::int64_t* index) {
  if (spec.p <= 0) return 0;
  const RowGenerator gen(spec.seed, trial, Stream::activation_indices);
  const double log_q = std::log1p(-spec.p);  // -inf when p == 1: every gap is 0
  std::int64_t count = 0;
  double pos = -1;
  for (std::uint32_t draw = 0;; ++draw) {
    const Philox4x32 b = gen.block(draw / 2);
    const int w = 2 * static_cast<int>(draw % 2);
    const double gap = spec.p >= 1 ? 0.0 : std::floor(std::log(unit_open_closed(b.v[w], b.v[w + 1])) / log_q);
    pos += 1 + gap;
    if (pos >= static_cast<double>(spec.m)) return count;
    index[count++] = static_cast<std::int64_t>(pos);
  }
}

}  // namespace

std::int64_t sample_trial(const ActivationSpec& spec, std::uint64_t trial, SamplerScratch& scratch,
                          std::int64_t* index, double* value, std::int32_t* level) {
  const std::int64_t count = spec.p >= 0 ? bernoulli(spec, trial, index) : floyd(spec, trial, scratch, index);
  const RowGenerator values(spec.seed, trial, Stream::activation_values);
  const RowGenerator signs(spec.seed, trial, Stream::activation_signs);
  const double a = spec.amplitude;
  for (std::int64_t k = 0; k < count; ++k) {
    double v = a;
    std::int32_t j = 0;
    if (spec.kind != AmplitudeKind::boolean) {
      const Philox4x32 b = values.block(static_cast<std::uint32_t>(k / 2));
      const int w = 2 * static_cast<int>(k % 2);
      if (spec.kind == AmplitudeKind::uniform) {
        v = a * unit_open_closed(b.v[w], b.v[w + 1]);
      } else {
        j = static_cast<std::int32_t>(bounded(b.v[w], b.v[w + 1], static_cast<std::uint64_t>(spec.levels))) + 1;
        v = a * static_cast<double>(j) / static_cast<double>(spec.levels);
      }
    }
    if (spec.signed_amplitudes) {
      const Philox4x32 b = signs.block(static_cast<std::uint32_t>(k / 128));
      const std::uint32_t word = b.v[(k / 32) % 4];
      if ((word >> (k % 32)) & 1u) v = -v;
    }
    value[k] = v;
    if (level) level[k] = j;
  }
  return count;
}

}  // namespace nearortho
