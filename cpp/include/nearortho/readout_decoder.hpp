// The readout Monte Carlo's per-readout arithmetic, shared by the CPU passes
// (cpp/src/simulate.cpp; the ISA kernel's vector twin of histogram_entry is
// InactiveReducer in cpp/src/isa/simulate_kernels.cpp) and the CUDA backend
// (cpp/cuda/simulate.cu), so both decide and bin a readout alike.
// Tests: tests/test_simulate.py, tests/test_cuda.py.
#pragma once
#include <cmath>
#include <cstdint>

#include "nearortho/host_device.hpp"

namespace nearortho {

// The threshold decoder, and the level decoder of AmplitudeKind::levels.
struct ReadoutDecoder {
  double threshold = 0.5;      // "on" when r > threshold (|r| > threshold if signed)
  bool signed_decoder = false;
  double amplitude = 1.0;      // a: the levels are a j / K
  double levels = 1.0;         // K

  NEARORTHO_HOST_DEVICE bool on(double r) const { return (signed_decoder ? fabs(r) : r) > threshold; }

  // Whether the nearest level j' in 1..K of a j' / K to |r| (ties away from
  // zero), or the sign when signed, misses the true level j of amplitude a.
  NEARORTHO_HOST_DEVICE bool level_wrong(double r, double a, std::int32_t j) const {
    const double magnitude = signed_decoder ? fabs(r) : r;
    const double guess = fmin(levels, fmax(1.0, round(magnitude * levels / amplitude)));  // NaN: 1
    const bool sign_wrong = signed_decoder && ((r < 0) != (a < 0));
    return sign_wrong || guess != static_cast<double>(j);
  }
};

// The histogram entry of an inactive readout: 1 + floor((r - lo) * scale),
// 0 (underflow, NaN too) to bins + 1 (overflow).
NEARORTHO_HOST_DEVICE inline std::int32_t histogram_entry(double r, double lo, double scale, std::int32_t bins) {
  double f = (r - lo) * scale;
  f = f > -1.0 ? f : -1.0;
  f = f < bins ? f : static_cast<double>(bins);
  return static_cast<std::int32_t>(f + 1.0);  // truncates: f + 1 >= 0
}

}  // namespace nearortho
