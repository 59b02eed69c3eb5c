// The arithmetic of the surrogate's terms (gradient.hpp), shared by the CPU
// kernel (cpp/src/isa/gradient_kernels.cpp) and the CUDA one (cpp/cuda/gradient.cu),
// so both weigh a given g_ij with the same float operations.
// Tests: tests/test_gradient.py, tests/test_cuda.py.
#pragma once
#include <cstdint>

#include "nearortho/gradient.hpp"
#include "nearortho/host_device.hpp"

namespace nearortho {

// F's constants in T. A pair's d = (|g| - t) * inv_s; terms with d < cutoff are
// dropped (d^p would be subnormal); a kept term adds d^(p-1) * d to F and has
// the weight dF/dg = d^(p-1) * scale with the sign of g (scale = p * inv_s).
template <class T>
struct SurrogateTerms {
  int p = 2;
  T t = 0, inv_s = 1, cutoff = 0, scale = 2;
};

// The options checked (std::invalid_argument naming the bad one, or W's shape:
// n >= 1, m >= 2) and turned into F's constants.
template <class T>
SurrogateTerms<T> surrogate_terms(std::int64_t m, std::int64_t n, const SurrogateOptions& options);

// x^e for an integer e >= 1 by repeated squaring (x a number or a GCC vector);
// for 0 <= x < 1 every factor is >= x^e, so nothing is subnormal when x^e is normal.
template <class V>
NEARORTHO_HOST_DEVICE static inline V power(V x, int e) {  // static: one copy per ISA build
  V r = x;
  bool started = false;
  while (true) {
    if (e & 1) {
      r = started ? r * x : x;
      started = true;
    }
    e >>= 1;
    if (e == 0) return r;
    x = x * x;
  }
}

}  // namespace nearortho
